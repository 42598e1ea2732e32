//! Histogram fidelity: the quantiles the target reports for the sentinel's series against the
//! exact quantiles of the durations the sentinel knows it had accepted.
//!
//! A target either reports each quantile as a value (the reference pipeline: judged by relative
//! error) or only the bucket it lies in (a Prometheus histogram, classic or native: the exact
//! quantile must lie inside the reported bucket, the bucket's width is the resolution of the
//! check, and a quantile outside it is a problem whatever the tolerance).

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
    /// |reported − expected| / expected; with a bucket, the distance from the bucket / expected
    /// (0 inside it).
    pub rel_error: f64,
    /// The bucket the target placed the quantile in, when it reports buckets (the resolution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<Bucket>,
}

/// A histogram bucket `(lower, upper]`, ns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Lower bound, ns.
    pub lower_ns: f64,
    /// Upper bound, ns; `None` is +Inf.
    pub upper_ns: Option<f64>,
}

impl Bucket {
    /// Slack at the bounds for float rounding of unit conversions (relative).
    const SLACK: f64 = 1e-9;

    /// How far `v` (ns) lies outside the bucket, ns (0 inside; the bounds count as inside, so
    /// rounding of a duration that equals a bound is not a miss).
    pub fn distance(&self, v: u64) -> f64 {
        let v = v as f64;
        let slack = |b: f64| b.abs() * Self::SLACK;
        if v < self.lower_ns - slack(self.lower_ns) {
            return self.lower_ns - v;
        }
        match self.upper_ns {
            Some(u) if v > u + slack(u) => v - u,
            _ => 0.0,
        }
    }

    /// The bucket's width, ns (`None` for the +Inf bucket).
    pub fn width_ns(&self) -> Option<f64> {
        self.upper_ns.map(|u| u - self.lower_ns)
    }

    /// The value a bucket stands for when a single one is needed: its upper bound, or its lower
    /// bound for the +Inf bucket.
    pub fn representative_ns(&self) -> u64 {
        self.upper_ns.unwrap_or(self.lower_ns).round() as u64
    }
}

impl std::fmt::Display for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |ns: f64| ns / 1e6;
        match self.upper_ns {
            Some(u) => write!(f, "({}, {}] ms", ms(self.lower_ns), ms(u)),
            None => write!(f, "({}, +Inf) ms", ms(self.lower_ns)),
        }
    }
}

/// What a target reports for one series: [`Series`] with exact values, or a series whose
/// quantiles are only known to lie in a bucket.
pub trait Reported {
    /// The series' identity, count and representative values.
    fn series(&self) -> &Series;
    /// The bucket quantile `q` (one of [`QUANTILES`]) lies in; `None`: the value is exact.
    fn bucket(&self, _q: f64) -> Option<Bucket> {
        None
    }
}

impl Reported for Series {
    fn series(&self) -> &Series {
        self
    }
}

/// A series read from a bucketed histogram: the values of `series` are each bucket's
/// [`Bucket::representative_ns`], `buckets` holds the bucket of each of [`QUANTILES`] (empty when
/// the series counted nothing).
#[derive(Debug, Clone)]
pub struct BucketedSeries {
    /// Identity, count and representative values.
    pub series: Series,
    /// The bucket of each quantile, in the order of [`QUANTILES`].
    pub buckets: Vec<Bucket>,
}

impl Reported for BucketedSeries {
    fn series(&self) -> &Series {
        &self.series
    }

    fn bucket(&self, q: f64) -> Option<Bucket> {
        let i = QUANTILES.iter().position(|x| *x == q)?;
        self.buckets.get(i).copied()
    }
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
    /// The first series whose count differs from the spans accepted, that is absent, or whose
    /// quantile lies outside the bucket the target placed it in.
    pub problem: Option<String>,
    /// With a bucketed target, the resolution of the check: the widest bucket that held a
    /// compared quantile (`None` for exact values).
    pub resolution: Option<Bucket>,
}

/// Compares `expected` durations per (service, operation) with the `reported` series.
pub fn compare<R: Reported>(
    expected: BTreeMap<(String, String), Vec<u64>>,
    reported: &[R],
) -> Comparison {
    let mut out = Comparison::default();
    for ((service, operation), mut values) in expected {
        if values.is_empty() {
            continue;
        }
        values.sort_unstable();
        let name = format!("{service}/{operation}");
        let Some(found) = reported.iter().find(|r| {
            let s = r.series();
            s.service == service && s.operation == operation
        }) else {
            out.problem.get_or_insert(format!(
                "series {name} is missing ({} spans accepted)",
                values.len()
            ));
            // A series not reported is as wrong as one reporting zero: relative error 1.
            out.max_rel_error = Some(1.0);
            continue;
        };
        let series = found.series();
        if series.count != values.len() as u64 {
            out.problem.get_or_insert(format!(
                "series {name} counted {} spans of {} accepted",
                series.count,
                values.len()
            ));
        }
        for q in QUANTILES {
            let row = row(&name, q, exact_quantile(&values, q), found);
            out.max_rel_error = Some(out.max_rel_error.unwrap_or(0.0).max(row.rel_error));
            if let Some(b) = row.bucket.filter(|b| b.distance(row.expected) > 0.0) {
                out.problem.get_or_insert(format!(
                    "series {name}: {} of {} ms lies outside the bucket {b} the target placed \
                     it in",
                    q_name(q),
                    row.expected as f64 / 1e6
                ));
            }
            widen(&mut out.resolution, row.bucket);
            out.rows.push(row);
        }
    }
    out
}

/// The row of quantile `q` of series `name`, whose exact value is `expected`.
fn row(name: &str, q: f64, expected: u64, found: &impl Reported) -> QuantileRow {
    let reported = reported_at(found.series(), q);
    let bucket = found.bucket(q);
    let rel_error = match bucket {
        Some(b) if expected == 0 => f64::from(u8::from(b.distance(0) > 0.0)),
        Some(b) => b.distance(expected) / expected as f64,
        None => rel_error(expected, reported),
    };
    QuantileRow {
        series: name.to_owned(),
        q,
        expected,
        reported,
        rel_error,
        bucket,
    }
}

/// `p50`, `p99.9`, `max`.
fn q_name(q: f64) -> String {
    if q >= 1.0 {
        "max".into()
    } else {
        format!("p{}", (q * 1000.0).round() / 10.0)
    }
}

/// Keeps in `resolution` the wider of it and `bucket` (the +Inf bucket is the widest).
fn widen(resolution: &mut Option<Bucket>, bucket: Option<Bucket>) {
    let width = |b: &Bucket| b.width_ns().unwrap_or(f64::INFINITY);
    if let Some(b) = bucket
        && resolution.as_ref().is_none_or(|r| width(&b) > width(r))
    {
        *resolution = Some(b);
    }
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
        let none = compare::<Series>(expected, &[]);
        assert!(none.problem.unwrap().contains("missing"));
        // Known to be wrong, so never a silent "no data".
        assert_eq!(none.max_rel_error, Some(1.0));
    }

    #[test]
    fn a_bucket_holds_its_bounds_and_measures_the_miss_outside() {
        let b = Bucket {
            lower_ns: 1.024e6,
            upper_ns: Some(2.048e6),
        };
        assert_eq!(b.distance(1_024_000), 0.0);
        assert_eq!(b.distance(2_048_000), 0.0);
        assert_eq!(b.distance(2_048_001), 1.0);
        assert_eq!(b.distance(1_000_000), 24_000.0);
        assert_eq!(b.to_string(), "(1.024, 2.048] ms");
        let inf = Bucket {
            lower_ns: 1e9,
            upper_ns: None,
        };
        assert_eq!(inf.distance(u64::MAX), 0.0);
        assert_eq!(inf.representative_ns(), 1_000_000_000);
        assert_eq!(inf.to_string(), "(1000, +Inf) ms");
    }

    #[test]
    fn a_quantile_outside_its_bucket_is_a_problem_whatever_its_relative_error() {
        let series = Series {
            service: "s".into(),
            operation: "o".into(),
            count: 1,
            p50_ns: 2_000_000,
            p90_ns: 2_000_000,
            p99_ns: 2_000_000,
            p999_ns: 2_000_000,
            max_ns: 2_000_000,
        };
        let bucket = Bucket {
            lower_ns: 1e6,
            upper_ns: Some(2e6),
        };
        let reported = BucketedSeries {
            series,
            buckets: vec![bucket; 5],
        };
        let expected = |v: u64| BTreeMap::from([(("s".to_string(), "o".to_string()), vec![v])]);
        let inside = compare(expected(1_000_001), std::slice::from_ref(&reported));
        assert_eq!(inside.problem, None);
        assert_eq!(inside.max_rel_error, Some(0.0));
        assert_eq!(inside.resolution, Some(bucket));
        // 0.1 % above the bucket: a tiny relative error, but the target placed it wrongly.
        let outside = compare(expected(2_002_000), &[reported]);
        assert!(
            outside
                .problem
                .unwrap()
                .contains("p50 of 2.002 ms lies outside")
        );
        assert!(outside.max_rel_error.unwrap() < 0.001);
    }
}
