//! `fidelity --prometheus` against Debian's `prometheus` scraping the embedded pipeline's
//! `/metrics`: the quantiles the real Prometheus reads with `histogram_quantile` must equal the
//! project's own `prom-classic` computation over the same values and buckets, so each validates
//! the other.

use std::net::SocketAddr;
use std::process::ExitCode;

use serde_json::Value;

use crate::support::assert_matches_schema;
use crate::support::peers::{free_port, start_prometheus};

/// The (distribution, q) → reported ns of one row of the report's schemes.
fn row(report: &Value, scheme: &str) -> Vec<(String, f64, u64)> {
    let row = report["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scheme"] == scheme)
        .unwrap_or_else(|| panic!("no {scheme} row: {report:#}"));
    row["distributions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| {
            d["quantiles"].as_array().unwrap().iter().map(|q| {
                let name = d["name"].as_str().unwrap().to_owned();
                (
                    name,
                    q["q"].as_f64().unwrap(),
                    q["reported"].as_u64().unwrap(),
                )
            })
        })
        .collect()
}

#[test]
fn prometheus_histogram_quantile_equals_the_prom_classic_computation() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline_port, prometheus_port) = (free_port(), free_port());
    let pipeline_http = SocketAddr::from(([127, 0, 0, 1], pipeline_port));
    let _prometheus = start_prometheus(dir.path(), prometheus_port, pipeline_http, None);
    let profile = dir.path().join("fidelity.toml");
    std::fs::write(
        &profile,
        format!(
            "[fidelity]\nspans_per_distribution = 1000\n\n[pipeline]\nhttp_listen = \"{pipeline_http}\"\n"
        ),
    )
    .unwrap();
    let json = dir.path().join("fidelity.json");
    let url = format!("http://127.0.0.1:{prometheus_port}");
    let code = span_sentinel::cli::main_with_args([
        "span-sentinel",
        "fidelity",
        profile.to_str().unwrap(),
        "--seed",
        "11",
        "--quiet",
        "--schemes",
        "prom-classic",
        "--prometheus",
        &url,
        "--json",
        json.to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(code, ExitCode::SUCCESS, "{report:#}");
    assert_matches_schema("fidelity.schema.json", &report);
    assert!(
        report["warnings"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    let ours = row(&report, "prom-classic");
    let theirs = row(&report, "prometheus");
    assert_eq!(ours.len(), 8 * 5, "{report:#}");
    assert_eq!(
        ours.iter().map(|(d, q, _)| (d, q)).collect::<Vec<_>>(),
        theirs.iter().map(|(d, q, _)| (d, q)).collect::<Vec<_>>()
    );
    for ((d, q, a), (_, _, b)) in ours.iter().zip(&theirs) {
        // Both are rounded to whole nanoseconds from floats that differ only by rounding
        // (Prometheus works in seconds, scaled by rate()).
        assert!(
            a.abs_diff(*b) <= 1,
            "{d} q={q}: prom-classic {a} ns, Prometheus {b} ns"
        );
    }
    // Not vacuous: a quarter of log-uniform 1 µs..1 h lies past the last bound, 15 s, so both
    // read its max as that bound.
    let max = ours
        .iter()
        .find(|(d, q, _)| d == "log_uniform" && *q == 1.0)
        .unwrap();
    assert_eq!(max.2, 15_000_000_000, "the highest finite bound, 15 s");
}
