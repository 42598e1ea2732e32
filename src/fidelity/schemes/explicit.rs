//! Explicit-bucket schemes: the OpenTelemetry explicit bucket histogram and the Prometheus
//! classic histogram, over the same boundaries (by default the spanmetrics connector's).
//!
//! Both count a value in the first bucket whose upper bound is at or above it (bounds are
//! inclusive upper bounds in both specifications), with one overflow bucket. They differ in how
//! a quantile is read: Prometheus interpolates linearly from the previous bound (0 below the
//! first) and answers the highest finite bound for ranks in `+Inf`; an OpenTelemetry data point
//! also carries the minimum and maximum, so its reader here bounds the open first and last
//! buckets by them and clamps the answer to [min, max].

use std::sync::Arc;

use super::prom_classic::histogram_quantile;
use super::{Series, words};
use crate::pipeline::store::buckets::{bounds_ns, spanmetrics_default};

/// The spanmetrics connector's default boundaries in nanoseconds (the embedded pipeline's
/// `/metrics` default too).
pub fn spanmetrics_default_ns() -> Arc<[f64]> {
    bounds_ns(&spanmetrics_default())
        .iter()
        .map(|&ns| ns as f64)
        .collect()
}

/// Counts per bucket under ascending inclusive upper bounds, plus the overflow bucket.
#[derive(Debug, Clone)]
pub struct Buckets {
    bounds: Arc<[f64]>,
    counts: Vec<u64>,
    min: u64,
    max: u64,
}

impl Buckets {
    /// Empty buckets under `bounds` (ns, ascending; fractions allowed, as Prometheus' `le`).
    pub fn new(bounds: Arc<[f64]>) -> Self {
        let counts = vec![0; bounds.len() + 1];
        Self {
            bounds,
            counts,
            min: u64::MAX,
            max: 0,
        }
    }

    fn record(&mut self, ns: u64) {
        self.counts[self.bounds.partition_point(|&b| b < ns as f64)] += 1;
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
    }

    fn cumulative(&self) -> Vec<f64> {
        let mut total = 0;
        self.counts
            .iter()
            .map(|c| {
                total += c;
                total as f64
            })
            .collect()
    }

    fn upper(&self) -> Vec<f64> {
        self.bounds.to_vec()
    }
}

/// A Prometheus classic histogram read by `histogram_quantile`.
#[derive(Debug, Clone)]
pub struct PromClassic(pub Buckets);

impl PromClassic {
    /// With the spanmetrics connector's default boundaries.
    pub fn spanmetrics_default() -> Self {
        Self(Buckets::new(spanmetrics_default_ns()))
    }
}

impl Series for PromClassic {
    fn record(&mut self, ns: u64) {
        self.0.record(ns);
    }

    fn quantile(&self, q: f64) -> f64 {
        histogram_quantile(q, &self.0.upper(), &self.0.cumulative()).unwrap_or(f64::NAN)
    }

    fn memory_bytes(&self) -> usize {
        // One counter per bucket (with +Inf), then _sum and _count.
        words(self.0.counts.len() + 2)
    }
}

/// An OpenTelemetry explicit bucket histogram data point, read with its min and max.
#[derive(Debug, Clone)]
pub struct OtelExplicit(pub Buckets);

impl OtelExplicit {
    /// With the spanmetrics connector's default boundaries.
    pub fn spanmetrics_default() -> Self {
        Self(Buckets::new(spanmetrics_default_ns()))
    }
}

impl Series for OtelExplicit {
    fn record(&mut self, ns: u64) {
        self.0.record(ns);
    }

    fn quantile(&self, q: f64) -> f64 {
        let b = &self.0;
        let total: u64 = b.counts.iter().sum();
        if total == 0 {
            return f64::NAN;
        }
        let (min, max) = (b.min as f64, b.max as f64);
        let rank = q * total as f64;
        let mut below = 0.0;
        for (i, &c) in b.counts.iter().enumerate() {
            let cum = below + c as f64;
            if c > 0 && cum >= rank {
                let lower = if i == 0 { min } else { b.bounds[i - 1] };
                let upper = b.bounds.get(i).copied().unwrap_or(max);
                let at = lower.max(min)
                    + (upper.min(max) - lower.max(min)) * ((rank - below) / c as f64);
                return at.clamp(min, max);
            }
            below = cum;
        }
        max
    }

    fn memory_bytes(&self) -> usize {
        // One counter per bucket (with the overflow), then count, sum, min and max.
        words(self.0.counts.len() + 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn filled<S: Series>(mut s: S, values: &[u64]) -> S {
        values.iter().for_each(|&v| s.record(v));
        s
    }

    #[test]
    fn a_value_on_a_bound_counts_in_the_bucket_it_closes() {
        let mut b = Buckets::new(spanmetrics_default_ns());
        // 2 ms is the first bound: bucket 0; 2 ms + 1 ns: bucket 1 (2, 4]; 16 s: overflow.
        b.record(2 * MS);
        b.record(2 * MS + 1);
        b.record(16_000 * MS);
        assert_eq!((b.counts[0], b.counts[1], b.counts[16]), (1, 1, 1));
    }

    #[test]
    fn prom_classic_reads_spanmetrics_buckets_as_histogram_quantile_does() {
        // 3, 5, 7 and 9 ms: one in each of (2,4], (4,6], (6,8], (8,10] ms.
        let s = filled(
            PromClassic::spanmetrics_default(),
            &[3 * MS, 5 * MS, 7 * MS, 9 * MS],
        );
        // p50: rank 2 reaches (4,6] (cumulative 2) at its top: 6 ms.
        assert_eq!(s.quantile(0.5), 6.0 * MS as f64);
        // p90: rank 3.6 in (8,10] holding 1, 0.6 into it: 8 + 2·0.6 = 9.2 ms.
        assert!((s.quantile(0.9) - 9.2 * MS as f64).abs() < 1e-6);
        // 20 s lands in +Inf: p99 answers the highest finite bound, 15 s.
        let tail = filled(PromClassic::spanmetrics_default(), &[20_000 * MS]);
        assert_eq!(tail.quantile(0.99), 15_000.0 * MS as f64);
        assert_eq!(s.memory_bytes(), 8 * (17 + 2));
    }

    #[test]
    fn otel_explicit_bounds_the_open_buckets_by_min_and_max() {
        // 20 s and 40 s, both in the overflow bucket (15 s, +Inf) bounded above by max = 40 s.
        let s = filled(
            OtelExplicit::spanmetrics_default(),
            &[20_000 * MS, 40_000 * MS],
        );
        // p50: rank 1 of 2, half-way from max(15 s, min = 20 s) to 40 s: 30 s.
        assert_eq!(s.quantile(0.5), 30_000.0 * MS as f64);
        // max: rank 2 at the top: 40 s exactly (Prometheus would say 15 s).
        assert_eq!(s.quantile(1.0), 40_000.0 * MS as f64);
        // 1 ms and 1.5 ms in the first bucket (−∞, 2 ms], bounded below by min = 1 ms, above
        // by max = 1.5 ms: p50 = 1 + 0.5·1/2 = 1.25 ms.
        let low = filled(OtelExplicit::spanmetrics_default(), &[MS, 3 * MS / 2]);
        assert_eq!(low.quantile(0.5), 1.25 * MS as f64);
    }
}
