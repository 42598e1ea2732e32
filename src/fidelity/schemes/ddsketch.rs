//! DDSketch (the `sketches-ddsketch` crate, a port of Datadog's implementation) with its
//! defaults: relative accuracy 1%, at most 2048 bins. Values in nanoseconds.

use sketches_ddsketch::{Config, DDSketch};

use super::{Series, words};

/// One DDSketch series.
#[derive(Clone)]
pub struct DdSketchSeries(pub DDSketch);

impl Default for DdSketchSeries {
    fn default() -> Self {
        Self(DDSketch::new(Config::defaults()))
    }
}

impl Series for DdSketchSeries {
    fn record(&mut self, ns: u64) {
        self.0.add(ns as f64);
    }

    fn quantile(&self, q: f64) -> f64 {
        self.0.quantile(q).ok().flatten().unwrap_or(f64::NAN)
    }

    fn memory_bytes(&self) -> usize {
        // One counter per bin, then min, max, sum, zero count and two stores' count, key range
        // and offset.
        words(self.0.length() + 4 + 2 * 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_comes_back_within_one_percent() {
        // γ = 1.01/0.99; 1000 ns has key ⌊ln 1000 / ln γ⌋ = ⌊6.90776 / 0.0200007⌋ = 345, read
        // back as γ^345 · 2γ/(γ+1) = 992.47 · 1.0100 = 1002.4 ns.
        let mut s = DdSketchSeries::default();
        s.record(1000);
        s.record(1000);
        let p50 = s.quantile(0.5);
        assert!((p50 - 1002.4).abs() < 0.1, "{p50}");
        // q = 1 is the exact max the sketch keeps.
        assert_eq!(s.quantile(1.0), 1000.0);
    }
}
