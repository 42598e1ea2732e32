//! `span-sentinel run` through the real pipeline: profiles/jaeger.toml passes at idle with
//! every check judged; a trace URL that answers but holds nothing fails `trace_completeness`;
//! Jaeger killed mid-run gives a failing or inconclusive check that names it.

use std::time::Duration;

use serde_json::Value;

use super::support::{RealPipeline, finish, short_profile};

fn report(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn checks(report: &Value) -> &Vec<Value> {
    report["checks"].as_array().unwrap()
}

#[test]
fn profiles_jaeger_passes_at_idle_with_every_check_judged_through_the_real_components() {
    let pipeline = RealPipeline::start();
    let json = pipeline.dir().join("run.json");
    let profile = concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/jaeger.toml");
    let mut cmd = pipeline.span_sentinel(&["run", profile, "--quiet", "--json"]);
    cmd.arg(&json);
    let out = finish(cmd, Duration::from_secs(150));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{summary}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&json);
    assert_eq!(r["verdict"], "pass", "{summary}");
    let roles: Vec<(&str, &str)> = r["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["role"].as_str().unwrap(), b["backend"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("traces", "jaeger"),
            ("histograms", "prometheus spanmetrics"),
            ("alerts", "prometheus"),
            ("notifications", "alertmanager")
        ]
    );
    for c in checks(&r) {
        assert_eq!(c["status"], "pass", "{c}");
    }
    for name in [
        "trace_completeness",
        "trace_content",
        "histogram_error",
        "alert_detection",
        "alert_notification",
    ] {
        assert!(
            checks(&r).iter().any(|c| c["name"] == name),
            "{name} judged: {summary}"
        );
    }
}

#[test]
fn a_trace_url_that_holds_nothing_of_the_sentinels_fails_completeness() {
    let pipeline = RealPipeline::start();
    let json = pipeline.dir().join("wrong.json");
    let profile = short_profile(pipeline.dir());
    // Prometheus answers HTTP, but holds no trace: every lookup is a 404.
    let wrong =
        pipeline
            .var("SPAN_SENTINEL_METRICS")
            .replacen("prometheus://", "jaeger+http://", 1);
    let mut cmd = pipeline.span_sentinel(&["run", "--quiet", "--traces", &wrong, "--json"]);
    cmd.arg(&json).arg(&profile);
    let out = finish(cmd, Duration::from_secs(90));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&json);
    assert_eq!(r["verdict"], "fail");
    let completeness = checks(&r)
        .iter()
        .find(|c| c["name"] == "trace_completeness")
        .unwrap();
    assert_eq!(completeness["status"], "fail", "{completeness}");
}

#[test]
fn killing_jaeger_mid_run_gives_a_check_that_names_it() {
    let pipeline = RealPipeline::start();
    let json = pipeline.dir().join("killed.json");
    let profile = short_profile(pipeline.dir());
    let mut cmd = pipeline.span_sentinel(&["run", "--quiet", "--json"]);
    cmd.arg(&json).arg(&profile);
    let out = std::thread::scope(|scope| {
        scope.spawn(|| {
            pipeline.wait_for_sentinel_in_jaeger(Duration::from_secs(60));
            pipeline.kill_jaeger();
        });
        finish(cmd, Duration::from_secs(90))
    });
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&json);
    assert!(
        ["fail", "inconclusive"].contains(&r["verdict"].as_str().unwrap()),
        "{r}"
    );
    let named = checks(&r).iter().any(|c| {
        let bad = c["status"] == "fail" || c["status"] == "inconclusive";
        bad && c["evidence"].as_str().unwrap().contains("jaeger")
    });
    assert!(named, "no failing check names jaeger: {:#}", r["checks"]);
}
