//! HDR histogram (the `hdrhistogram` crate), as the embedded pipeline keeps its series.

use hdrhistogram::Histogram;

use super::{Series, words};

/// One HDR series, auto-resizing.
#[derive(Debug, Clone)]
pub struct HdrSeries(pub Histogram<u64>);

impl HdrSeries {
    /// Empty, with `digits` significant digits (1 to 5).
    pub fn new(digits: u8) -> Self {
        Self(Histogram::new(digits.clamp(1, 5)).expect("1 to 5 digits are valid"))
    }
}

impl Series for HdrSeries {
    fn record(&mut self, ns: u64) {
        // `record` grows the histogram; only a value past u64 range would fall back to a clamp.
        if self.0.record(ns).is_err() {
            self.0.saturating_record(ns);
        }
    }

    fn quantile(&self, q: f64) -> f64 {
        self.0.value_at_quantile(q) as f64
    }

    fn memory_bytes(&self) -> usize {
        // The counts array (u64 per slot), then total count, min, max and the layout fields.
        words(self.0.distinct_values() + 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_digits_keep_values_within_one_part_in_a_thousand() {
        let mut h = HdrSeries::new(3);
        for v in [1_000u64, 2_047, 1_000_000, 123_456_789] {
            h.record(v);
        }
        // Below 2·10^3 every value is its own bucket; above, the unit is ≤ v/1000.
        assert_eq!(h.quantile(0.25), 1_000.0);
        let max = h.quantile(1.0);
        assert!((max - 123_456_789.0).abs() / 123_456_789.0 <= 1e-3, "{max}");
    }
}
