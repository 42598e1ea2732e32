//! Histogram fidelity: the quantiles the target reports for the sentinel's series against the
//! exact quantiles of the durations the sentinel knows it had accepted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::api::Series;

/// The quantiles compared; 1.0 is the maximum.
pub const QUANTILES: [f64; 5] = [0.5, 0.9, 0.99, 0.999, 1.0];

/// One quantile of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileRow {
    /// `service/operation`.
    pub series: String,
    /// The quantile (1.0 = max).
    pub q: f64,
    /// The exact value, ns.
    pub expected: u64,
    /// What the target reported, ns.
    pub reported: u64,
    /// |reported − expected| / expected.
    pub rel_error: f64,
}

/// The exact quantile `q` of sorted values: the smallest value with at least ⌈q·n⌉ values at or
/// below it (the rank definition HDR histograms approximate).
pub fn exact_quantile(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Relative error of `reported` against `expected` (0 when both are 0).
pub fn rel_error(expected: u64, reported: u64) -> f64 {
    if expected == 0 {
        return if reported == 0 { 0.0 } else { 1.0 };
    }
    (reported as f64 - expected as f64).abs() / expected as f64
}

/// The value `s` reports for quantile `q`, one of [`QUANTILES`] (anything else reads as the
/// maximum).
pub fn reported_at(s: &Series, q: f64) -> u64 {
    match q {
        0.5 => s.p50_ns,
        0.9 => s.p90_ns,
        0.99 => s.p99_ns,
        0.999 => s.p999_ns,
        _ => s.max_ns,
    }
}

/// What the comparison of one phase found.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Every quantile compared.
    pub rows: Vec<QuantileRow>,
    /// Largest relative error, `None` when nothing was compared.
    pub max_rel_error: Option<f64>,
    /// The first series whose count differs from the spans accepted, or that is absent.
    pub problem: Option<String>,
}

/// Compares `expected` durations per (service, operation) with the `reported` series.
pub fn compare(expected: BTreeMap<(String, String), Vec<u64>>, reported: &[Series]) -> Comparison {
    let mut out = Comparison::default();
    for ((service, operation), mut values) in expected {
        if values.is_empty() {
            continue;
        }
        values.sort_unstable();
        let name = format!("{service}/{operation}");
        let Some(series) = reported
            .iter()
            .find(|s| s.service == service && s.operation == operation)
        else {
            out.problem.get_or_insert(format!(
                "series {name} is missing ({} spans accepted)",
                values.len()
            ));
            // A series not reported is as wrong as one reporting zero: relative error 1.
            out.max_rel_error = Some(1.0);
            continue;
        };
        if series.count != values.len() as u64 {
            out.problem.get_or_insert(format!(
                "series {name} counted {} spans of {} accepted",
                series.count,
                values.len()
            ));
        }
        for q in QUANTILES {
            let (expected, reported) = (exact_quantile(&values, q), reported_at(series, q));
            let rel_error = rel_error(expected, reported);
            out.max_rel_error = Some(out.max_rel_error.unwrap_or(0.0).max(rel_error));
            out.rows.push(QuantileRow {
                series: name.clone(),
                q,
                expected,
                reported,
                rel_error,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_quantiles_agree_with_a_sort() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(exact_quantile(&v, 0.5), 500);
        assert_eq!(exact_quantile(&v, 0.999), 999);
        assert_eq!(exact_quantile(&v, 1.0), 1000);
        assert_eq!(exact_quantile(&[7], 0.5), 7);
    }

    #[test]
    fn count_mismatches_and_missing_series_are_problems() {
        let series = Series {
            service: "s".into(),
            operation: "o".into(),
            count: 2,
            p50_ns: 10,
            p90_ns: 20,
            p99_ns: 20,
            p999_ns: 20,
            max_ns: 20,
        };
        let mut expected = BTreeMap::new();
        expected.insert(("s".to_string(), "o".to_string()), vec![10, 20, 20]);
        let c = compare(expected.clone(), std::slice::from_ref(&series));
        assert!(c.problem.unwrap().contains("counted 2 spans of 3"));
        expected.insert(("s".to_string(), "x".to_string()), vec![1]);
        let none = compare(expected, &[]);
        assert!(none.problem.unwrap().contains("missing"));
        // Known to be wrong, so never a silent "no data".
        assert_eq!(none.max_rel_error, Some(1.0));
    }
}
