//! A Prometheus native histogram, from its specification: schema `s` (−4 to 8) gives base
//! 2^(2^−s), bucket key `k` holds (base^(k−1), base^k] (one more than the OpenTelemetry index
//! of the same bucket), zeros go to the zero bucket (threshold 2^−128 s, the Go client's default),
//! and only populated buckets are kept. As the Go client does with `NativeHistogramBucketFactor`
//! 1.1 (schema 3) and a bucket limit (160 here, the same as OpenTelemetry's default), the schema
//! drops by one while more buckets are populated than the limit.
//!
//! `histogram_quantile` on a native histogram interpolates exponentially inside the bucket that
//! reaches the rank (linearly inside the zero bucket). Values are in seconds.

use super::exponential::Exponential;
use super::{Series, words};

/// The schema of the Go client for a bucket factor of 1.1.
pub const SCHEMA: i32 = 3;
/// Populated buckets allowed before the schema drops.
pub const MAX_BUCKETS: i64 = 160;
/// The Go client's default zero threshold, seconds.
pub const ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// One native histogram series.
#[derive(Debug, Clone)]
pub struct PromNative(pub Exponential);

impl Default for PromNative {
    fn default() -> Self {
        Self(Exponential::new(SCHEMA, MAX_BUCKETS, false))
    }
}

impl PromNative {
    /// The populated buckets as Prometheus keys (upper bound base^key) with their counts.
    pub fn keyed(&self) -> Vec<(i64, u64)> {
        self.0.counts.iter().map(|(&i, &n)| (i + 1, n)).collect()
    }
}

impl Series for PromNative {
    fn record(&mut self, ns: u64) {
        self.0.record(ns as f64 / 1e9);
    }

    fn quantile(&self, q: f64) -> f64 {
        self.0.interpolate(q, ZERO_THRESHOLD) * 1e9
    }

    fn memory_bytes(&self) -> usize {
        // One count per populated bucket and one (offset, length) pair per run of them, then
        // schema, zero threshold, zero count, count and sum.
        let keys: Vec<i64> = self.0.counts.keys().copied().collect();
        let runs = 1 + keys.windows(2).filter(|w| w[1] != w[0] + 1).count();
        words(keys.len() + runs.min(keys.len()) + 5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_above_the_otel_index_and_the_quantile_is_exponential() {
        let mut h = PromNative::default();
        // 1 s = 2^0 closes the schema-3 bucket of key 0, (2^(−1/8), 1]; 2 s closes key 8.
        h.record(1_000_000_000);
        h.record(2_000_000_000);
        assert_eq!(h.keyed(), [(0, 1), (8, 1)]);
        // p50: rank 1 is the top of key 0: 1 s. p75: rank 1.5 is half-way through key 8,
        // (2^(7/8), 2], in log space: 2^(7.5/8) = 2^0.9375 = e^0.649831 = 1.915207 s.
        assert!((h.quantile(0.5) - 1e9).abs() < 1e-3);
        assert!(
            (h.quantile(0.75) - 1.915_207e9).abs() < 1e3,
            "{}",
            h.quantile(0.75)
        );
        // Two runs of one bucket: 2 counts, 2 spans, 5 fields.
        assert_eq!(h.memory_bytes(), 8 * 9);
    }

    #[test]
    fn the_schema_drops_when_more_than_160_buckets_are_populated() {
        let mut h = PromNative::default();
        // Powers of 1.1 from 1 s: each lands in its own schema-3 bucket (base 1.0905 < 1.1)
        // until 161 are populated; then the schema drops to 2.
        for k in 0..161 {
            h.record((1.1f64.powi(k) * 1e9) as u64);
        }
        assert_eq!(h.0.scale, 2);
        assert!(h.0.counts.len() <= 160);
    }

    #[test]
    fn zeros_read_as_zero() {
        let mut h = PromNative::default();
        h.record(0);
        assert!(h.quantile(0.5) < 1e-20);
    }
}
