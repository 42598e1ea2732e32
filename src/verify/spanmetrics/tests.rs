//! The mapping from Prometheus answers (written from the HTTP API's documented JSON) to the
//! histogram check, both ways: A/A answers pass, a shifted distribution, a short count or a
//! missing series fail.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::answer::{Answer, RawSeries};
use super::buckets::{by_operation, increase};
use super::{DurationUnit, SpanmetricsPlan};
use crate::verify::histograms::{BucketedSeries, compare};

/// The connector's default explicit buckets, ms.
const BOUNDS_MS: [f64; 16] = [
    2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0, 5000.0,
    10000.0, 15000.0,
];

fn plan() -> SpanmetricsPlan {
    SpanmetricsPlan::connector_defaults("sentinel")
}

/// A classic `_bucket` vector answer: one entry of `(span_kind, op, values ns)` per raw series.
fn classic(series: &[(&str, &str, &[u64])]) -> Value {
    let mut result = Vec::new();
    for (kind, op, values) in series {
        let les = BOUNDS_MS
            .iter()
            .map(|b| (b.to_string(), *b))
            .chain([("+Inf".to_string(), f64::INFINITY)]);
        for (le, bound) in les {
            let n = values.iter().filter(|v| **v as f64 / 1e6 <= bound).count();
            result.push(json!({
                "metric": {
                    "__name__": "traces_span_metrics_duration_milliseconds_bucket",
                    "service_name": "checkout", "span_name": op, "span_kind": kind,
                    "status_code": "STATUS_CODE_UNSET", "tenant_id": "sentinel", "le": le
                },
                "value": [1765158000.0, n.to_string()]
            }));
        }
    }
    json!({"status": "success", "data": {"resultType": "vector", "result": result}})
}

/// A native histogram answer of `values` (ns) for `op` with exponential buckets of schema 3
/// (base 2^(1/8)), bounds in ms, `(lower, upper]`.
fn native(op: &str, values: &[u64]) -> Value {
    let base = 2f64.powf(1.0 / 8.0);
    let mut counts: BTreeMap<i32, u64> = BTreeMap::new();
    for v in values {
        let ms = *v as f64 / 1e6;
        // The index i with base^(i-1) < ms <= base^i.
        let mut i = (ms.ln() / base.ln()).ceil() as i32;
        while base.powi(i - 1) >= ms {
            i -= 1;
        }
        while base.powi(i) < ms {
            i += 1;
        }
        *counts.entry(i).or_default() += 1;
    }
    let buckets: Vec<Value> = counts
        .iter()
        .map(|(i, n)| {
            json!([
                0,
                base.powi(i - 1).to_string(),
                base.powi(*i).to_string(),
                n.to_string()
            ])
        })
        .collect();
    json!({"status": "success", "data": {"resultType": "vector", "result": [{
        "metric": {"__name__": "traces_span_metrics_duration_milliseconds",
                   "service_name": "checkout", "span_name": op, "tenant_id": "sentinel"},
        "histogram": [1765158000.0, {
            "count": values.len().to_string(),
            "sum": (values.iter().sum::<u64>() as f64 / 1e6).to_string(),
            "buckets": buckets
        }]
    }]}})
}

fn raw(answer: Value) -> Vec<RawSeries> {
    serde_json::from_value::<Answer>(answer)
        .unwrap()
        .into_vector()
        .unwrap()
        .series()
}

fn empty() -> Value {
    json!({"status": "success", "data": {"resultType": "vector", "result": []}})
}

/// Read from an answer at the window's start and one at its end.
fn read(start: Value, end: Value) -> Vec<BucketedSeries> {
    by_operation(&increase(raw(start), raw(end)), &plan()).unwrap()
}

fn expected(op: &str, values: &[u64]) -> BTreeMap<(String, String), Vec<u64>> {
    BTreeMap::from([(("checkout".to_string(), op.to_string()), values.to_vec())])
}

/// Durations from 1 ms to 1.5 s, log-spread, ns (deterministic).
fn durations(n: u64) -> Vec<u64> {
    (0..n)
        .map(|i| (1e6 * 1500f64.powf(i as f64 / n as f64)) as u64 + i % 7)
        .collect()
}

#[test]
fn classic_buckets_of_two_span_kinds_sum_into_one_series_and_pass_a_a() {
    let v = durations(1000);
    let (a, b) = v.split_at(400);
    let s = read(
        empty(),
        classic(&[
            ("SPAN_KIND_SERVER", "base/op", a),
            ("SPAN_KIND_CLIENT", "base/op", b),
        ]),
    );
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].series.count, 1000);
    assert_eq!(s[0].buckets.len(), 5);
    let c = compare(expected("base/op", &v), &s);
    assert_eq!(c.problem, None, "{:?}", c.rows);
    assert_eq!(c.max_rel_error, Some(0.0));
    // The maximum lies in (1000, 1400] ms or above: the widest bucket is the resolution.
    let widest = c.resolution.unwrap();
    assert!(widest.upper_ns.is_none_or(|u| u >= 1.4e9), "{widest}");
    assert!(c.rows.iter().all(|r| r.bucket.is_some()));
}

#[test]
fn a_distribution_shifted_into_other_buckets_fails_although_counts_match() {
    let v = durations(1000);
    let shifted: Vec<u64> = v.iter().map(|d| d * 3 / 2).collect();
    let s = read(
        empty(),
        classic(&[("SPAN_KIND_SERVER", "base/op", &shifted)]),
    );
    let c = compare(expected("base/op", &v), &s);
    let problem = c.problem.expect("a shift must fail");
    assert!(problem.contains("outside the bucket"), "{problem}");
    assert!(c.max_rel_error.unwrap() > 0.0);
}

#[test]
fn a_short_count_and_a_missing_series_fail() {
    let v = durations(200);
    let s = read(
        empty(),
        classic(&[("SPAN_KIND_SERVER", "base/op", &v[1..])]),
    );
    let c = compare(expected("base/op", &v), &s);
    assert!(c.problem.unwrap().contains("counted 199 spans of 200"));
    let c = compare(expected("other/op", &v), &s);
    assert!(c.problem.unwrap().contains("missing"));
}

#[test]
fn only_what_a_series_gained_in_the_window_counts_and_a_reset_counts_from_zero() {
    let before = durations(300);
    let mut after = before.clone();
    let run = durations(50);
    after.extend(&run);
    let start = classic(&[("SPAN_KIND_SERVER", "base/op", &before)]);
    let s = read(
        start.clone(),
        classic(&[("SPAN_KIND_SERVER", "base/op", &after)]),
    );
    assert_eq!(s[0].series.count, 50);
    assert_eq!(compare(expected("base/op", &run), &s).problem, None);
    // The Collector restarted in the window: its counts fell, the end counts whole.
    let s = read(start, classic(&[("SPAN_KIND_SERVER", "base/op", &run)]));
    assert_eq!(s[0].series.count, 50);
    assert_eq!(compare(expected("base/op", &run), &s).problem, None);
}

#[test]
fn native_histograms_pass_a_a_and_fail_a_shift_of_one_bucket() {
    let v = durations(1000);
    let s = read(empty(), native("base/op", &v));
    assert_eq!(s[0].series.count, 1000);
    let c = compare(expected("base/op", &v), &s);
    assert_eq!(c.problem, None, "{:?}", c.rows);
    // Schema 3 buckets are 9 % wide: a 20 % shift moves every quantile out of its bucket.
    let shifted: Vec<u64> = v.iter().map(|d| d * 6 / 5).collect();
    let c = compare(
        expected("base/op", &v),
        &read(empty(), native("base/op", &shifted)),
    );
    assert!(c.problem.unwrap().contains("outside the bucket"));
}

#[test]
fn native_histograms_subtract_the_window_start() {
    let before = durations(100);
    let run = durations(40);
    let all: Vec<u64> = before.iter().chain(&run).copied().collect();
    let s = read(native("base/op", &before), native("base/op", &all));
    assert_eq!(s[0].series.count, 40);
    assert_eq!(compare(expected("base/op", &run), &s).problem, None);
}

#[test]
fn errors_and_other_result_types_are_not_read_as_empty() {
    let error: Answer = serde_json::from_value(json!({
        "status": "error", "errorType": "bad_data", "error": "parse error"
    }))
    .unwrap();
    assert!(error.into_vector().unwrap_err().contains("parse error"));
    let matrix: Answer = serde_json::from_value(json!({
        "status": "success", "data": {"resultType": "matrix", "result": []}
    }))
    .unwrap();
    assert!(matrix.into_vector().is_err());
}

#[test]
fn the_selector_holds_the_tenant_and_extra_matchers_and_units_parse() {
    let mut p = plan();
    p.matchers.push("job=\"otelcol\"".into());
    assert_eq!(
        p.selector(),
        "{span_name!=\"\",tenant_id=\"sentinel\",job=\"otelcol\"}"
    );
    assert_eq!("s".parse::<DurationUnit>(), Ok(DurationUnit::Seconds));
    assert!(
        "minutes"
            .parse::<DurationUnit>()
            .unwrap_err()
            .contains("ms or s")
    );
    assert_eq!(
        super::encode_query("a_b{c=~\"x/.+\"}[5ms]"),
        "a_b%7Bc%3D~%22x%2F.%2B%22%7D%5B5ms%5D"
    );
}
