//! The OpenTelemetry exponential bucket histogram, from the data model's specification: at scale
//! `s` the base is 2^(2^−s) and bucket `i` holds the values in (base^i, base^(i+1)]; zeros go to
//! the zero bucket. The SDK default aggregation starts at scale 20 and keeps at most 160
//! contiguous buckets: when a value would need more, the scale drops by as many steps as it takes
//! (each step merges pairs of buckets, index `i` becoming `i >> 1`).
//!
//! Values are recorded in milliseconds, as the spanmetrics connector does. No quantile reader is
//! specified; this one interpolates exponentially inside the bucket that reaches the rank (as
//! Prometheus reads exponential buckets) and clamps the answer to the data point's min and max.

use std::collections::BTreeMap;

use super::{Series, words};

/// Default largest number of buckets of the SDK's exponential aggregation.
pub const MAX_SIZE: i64 = 160;
/// Default largest scale of the SDK's exponential aggregation.
pub const MAX_SCALE: i32 = 20;

/// The bucket index of `v` > 0 at `scale`, by the specification's mapping functions: exact for
/// powers of two, the logarithm otherwise (scale > 0), the binary exponent (scale ≤ 0).
pub fn index(v: f64, scale: i32) -> i64 {
    let (exp, exact) = exponent(v);
    if scale <= 0 {
        let e = if exact { exp - 1 } else { exp };
        return e >> -scale;
    }
    if exact {
        return (exp << scale) - 1;
    }
    let factor = std::f64::consts::LOG2_E * f64::from(1u32 << scale);
    (v.ln() * factor).floor() as i64
}

/// The unbiased binary exponent of `v` (v in [2^e, 2^(e+1))) and whether `v` is exactly 2^e.
fn exponent(v: f64) -> (i64, bool) {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let significand = bits & ((1u64 << 52) - 1);
    if biased == 0 {
        // Subnormal: the exponent of its leading bit.
        let lead = 63 - i64::from(significand.leading_zeros());
        return (lead - 1074, significand.is_power_of_two());
    }
    (biased - 1023, significand == 0)
}

/// Buckets at a scale that shrinks to keep at most `max_size` of them (contiguous for OTel, or
/// populated for Prometheus native histograms).
#[derive(Debug, Clone)]
pub struct Exponential {
    pub(super) scale: i32,
    pub(super) counts: BTreeMap<i64, u64>,
    pub(super) zero: u64,
    pub(super) min: f64,
    pub(super) max: f64,
    max_size: i64,
    contiguous: bool,
}

impl Exponential {
    /// Empty, starting at `scale`.
    pub fn new(scale: i32, max_size: i64, contiguous: bool) -> Self {
        Self {
            scale,
            counts: BTreeMap::new(),
            zero: 0,
            min: f64::INFINITY,
            max: 0.0,
            max_size,
            contiguous,
        }
    }

    /// Records `v` (in the scheme's unit).
    pub fn record(&mut self, v: f64) {
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if v <= 0.0 {
            self.zero += 1;
            return;
        }
        let i = index(v, self.scale);
        let mut c = 0;
        while self.too_many(i, c) {
            c += 1;
        }
        if c > 0 {
            self.scale -= c;
            let old = std::mem::take(&mut self.counts);
            for (k, n) in old {
                *self.counts.entry(k >> c).or_default() += n;
            }
        }
        *self.counts.entry(i >> c).or_default() += 1;
    }

    /// Whether adding index `i` after a downscale by `c` would exceed the size.
    fn too_many(&self, i: i64, c: i32) -> bool {
        let first = self.counts.keys().next().map_or(i, |&k| k.min(i)) >> c;
        let last = self.counts.keys().next_back().map_or(i, |&k| k.max(i)) >> c;
        if self.contiguous {
            return last - first + 1 > self.max_size;
        }
        let mut keys: Vec<i64> = self.counts.keys().map(|k| k >> c).collect();
        keys.push(i >> c);
        keys.sort_unstable();
        keys.dedup();
        keys.len() as i64 > self.max_size
    }

    /// Contiguous buckets from the lowest to the highest populated one.
    pub fn span(&self) -> usize {
        match (self.counts.keys().next(), self.counts.keys().next_back()) {
            (Some(a), Some(b)) => (b - a + 1) as usize,
            _ => 0,
        }
    }

    /// The value at quantile `q` by exponential interpolation inside the bucket reaching rank
    /// q·count (linear inside the zero bucket, of width `zero_width`).
    pub fn interpolate(&self, q: f64, zero_width: f64) -> f64 {
        let total = self.zero + self.counts.values().sum::<u64>();
        if total == 0 {
            return f64::NAN;
        }
        let rank = q * total as f64;
        if self.zero > 0 && self.zero as f64 >= rank {
            return zero_width * (rank / self.zero as f64);
        }
        let mut below = self.zero as f64;
        let base_log2 = (-f64::from(self.scale)).exp2();
        for (&i, &n) in &self.counts {
            let cum = below + n as f64;
            if cum >= rank {
                let fraction = (rank - below) / n as f64;
                return ((i as f64 + fraction) * base_log2).exp2();
            }
            below = cum;
        }
        self.counts
            .keys()
            .next_back()
            .map_or(0.0, |&i| ((i + 1) as f64 * base_log2).exp2())
    }
}

/// The OpenTelemetry SDK's default exponential histogram, in milliseconds.
#[derive(Debug, Clone)]
pub struct OtelExponential(pub Exponential);

impl Default for OtelExponential {
    fn default() -> Self {
        Self(Exponential::new(MAX_SCALE, MAX_SIZE, true))
    }
}

impl Series for OtelExponential {
    fn record(&mut self, ns: u64) {
        self.0.record(ns as f64 / 1e6);
    }

    fn quantile(&self, q: f64) -> f64 {
        let e = &self.0;
        e.interpolate(q, 0.0).clamp(e.min, e.max) * 1e6
    }

    fn memory_bytes(&self) -> usize {
        // The contiguous counts, then scale, offset, zero count, count, sum, min and max.
        words(self.0.span() + 7)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapping_puts_powers_of_two_at_the_top_of_their_bucket() {
        // Scale 0, base 2: 4 = 2^2 closes bucket 1, (2, 4]; 3 is inside it; 5 opens bucket 2.
        assert_eq!((index(4.0, 0), index(3.0, 0), index(5.0, 0)), (1, 1, 2));
        // Scale −1, base 4: 4 closes bucket 0, (1, 4]; 16 closes bucket 1, (4, 16].
        assert_eq!(
            (index(4.0, -1), index(16.0, -1), index(17.0, -1)),
            (0, 1, 2)
        );
        // Scale 3, base 2^(1/8): 1 closes bucket −1; 1.5 has log2 0.585, ·8 = 4.68: bucket 4.
        assert_eq!((index(1.0, 3), index(1.5, 3)), (-1, 4));
        // Scale 20: 2^10 closes bucket 10·2^20 − 1.
        assert_eq!(index(1024.0, 20), (10 << 20) - 1);
    }

    #[test]
    fn the_scale_drops_until_160_buckets_span_the_values() {
        let mut h = OtelExponential::default();
        // 1 ms is index −1 at any positive scale; 1024 ms is 10·2^s − 1. The span is 10·2^s + 1:
        // 161 at scale 4 is one too many, 81 at scale 3 fits.
        for ms in [1.0, 1.5, 1024.0] {
            h.record((ms * 1e6) as u64);
        }
        assert_eq!(h.0.scale, 3);
        assert_eq!(h.0.counts.keys().copied().collect::<Vec<_>>(), [-1, 4, 79]);
        assert_eq!(h.memory_bytes(), 8 * (81 + 7));
        // p50: rank 1.5; bucket −1 holds 1, bucket 4 reaches 2: half-way through it in log
        // space, 2^((4 + 0.5)/8) = 2^0.5625 = 1.47683 ms.
        assert!(
            (h.quantile(0.5) - 1.476_826_1e6).abs() < 1.0,
            "{}",
            h.quantile(0.5)
        );
        // max: the top of bucket 79, 2^(80/8) = 1024 ms, within [min, max].
        assert!((h.quantile(1.0) - 1024e6).abs() < 1e-3);
    }

    #[test]
    fn zeros_go_to_the_zero_bucket() {
        let mut h = OtelExponential::default();
        h.record(0);
        h.record(0);
        h.record(1_000_000);
        assert_eq!(h.0.zero, 2);
        // p50: rank 1.5 ≤ 2 zeros: inside the zero bucket, and min is 0.
        assert_eq!(h.quantile(0.5), 0.0);
    }
}
