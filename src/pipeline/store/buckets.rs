//! Classic-bucket span-duration histograms, kept beside the HDR ones for `/metrics`: counts under
//! fixed inclusive upper bounds, by default the OpenTelemetry spanmetrics connector's, so an
//! operator's Prometheus reads the pipeline's latencies with `histogram_quantile` exactly as it
//! would read a collector's. One array per series, allocated when the series first appears;
//! recording a span is a binary search over the bounds and an increment.

use std::sync::Arc;
use std::time::Duration;

/// The spanmetrics connector's default explicit boundaries, milliseconds.
pub const SPANMETRICS_DEFAULT_MS: [u64; 16] = [
    2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000,
];

/// The spanmetrics connector's default boundaries as durations.
pub fn spanmetrics_default() -> Vec<Duration> {
    SPANMETRICS_DEFAULT_MS
        .iter()
        .map(|&ms| Duration::from_millis(ms))
        .collect()
}

/// Bounds in nanoseconds, ascending, duplicates removed.
pub fn bounds_ns(bounds: &[Duration]) -> Arc<[u64]> {
    let mut ns: Vec<u64> = bounds
        .iter()
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .collect();
    ns.sort_unstable();
    ns.dedup();
    ns.into()
}

/// One series' bucket counts (the last one is `+Inf`), non-cumulative, and the sum.
#[derive(Debug, Clone)]
pub struct DurationBuckets {
    bounds: Arc<[u64]>,
    counts: Box<[u64]>,
    sum_ns: u128,
}

impl DurationBuckets {
    /// Empty, under `bounds` (ns, ascending).
    pub fn new(bounds: Arc<[u64]>) -> Self {
        let counts = vec![0; bounds.len() + 1].into_boxed_slice();
        Self {
            bounds,
            counts,
            sum_ns: 0,
        }
    }

    /// Counts `ns` in the first bucket whose upper bound is at or above it.
    pub fn record(&mut self, ns: u64) {
        self.counts[self.bounds.partition_point(|&b| b < ns)] += 1;
        self.sum_ns += u128::from(ns);
    }

    /// Adds another series' counts (same bounds: one configuration per pipeline).
    pub fn add(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.sum_ns += other.sum_ns;
    }

    /// The upper bounds, ns (without `+Inf`).
    pub fn bounds(&self) -> &[u64] {
        &self.bounds
    }

    /// The counts per bucket, the last one `+Inf`.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The sum of the durations recorded, ns.
    pub fn sum_ns(&self) -> u128 {
        self.sum_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_on_a_bound_is_counted_under_it() {
        let mut b = DurationBuckets::new(bounds_ns(&spanmetrics_default()));
        b.record(2_000_000);
        b.record(2_000_001);
        b.record(20_000_000_000);
        assert_eq!((b.counts()[0], b.counts()[1], b.counts()[16]), (1, 1, 1));
        assert_eq!(b.sum_ns(), 20_004_000_001);
    }
}
