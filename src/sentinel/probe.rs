//! The latency probe: the root durations the ambient sentinel stream cycles through, chosen to
//! test the limits of a backend's latency histograms — from a microsecond to ten minutes,
//! log-spaced, plus values on and beside the power-of-two bucket edges of HDR histograms.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::units::duration as dur;

/// How the probe is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbeSpec {
    /// Shortest duration.
    #[serde(with = "dur")]
    pub min: Duration,
    /// Longest duration.
    #[serde(with = "dur")]
    pub max: Duration,
    /// Log-spaced points between `min` and `max` (both included).
    pub points: u32,
    /// Also include 2^k ns and its neighbours 2^k ± 1 ns for every power of two in range:
    /// HDR histograms start a new bucket at each power of two.
    pub bucket_edges: bool,
}

impl Default for ProbeSpec {
    fn default() -> Self {
        Self {
            min: Duration::from_micros(1),
            max: Duration::from_secs(600),
            points: 40,
            bucket_edges: true,
        }
    }
}

impl ProbeSpec {
    /// Checks the spec; errors name the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.min.is_zero() || self.min > self.max {
            return Err("`min` must be positive and at most `max`".into());
        }
        if self.points < 2 {
            return Err("`points` must be at least 2".into());
        }
        Ok(())
    }

    /// The probe's durations in nanoseconds, sorted and without repeats.
    pub fn durations_ns(&self) -> Vec<u64> {
        let (lo, hi) = (self.min.as_nanos() as f64, self.max.as_nanos() as f64);
        let steps = f64::from(self.points - 1);
        let mut v: Vec<u64> = (0..self.points)
            .map(|i| (lo * (hi / lo).powf(f64::from(i) / steps)).round() as u64)
            .collect();
        if self.bucket_edges {
            let (lo, hi) = (lo as u64, hi as u64);
            for k in 0..64 {
                let edge = 1u64 << k;
                for x in [edge - 1, edge, edge.saturating_add(1)] {
                    if (lo..=hi).contains(&x) {
                        v.push(x);
                    }
                }
            }
        }
        v.sort_unstable();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_probe_spans_a_microsecond_to_ten_minutes_with_bucket_edges() {
        let v = ProbeSpec::default().durations_ns();
        assert_eq!(v[0], 1_000);
        assert_eq!(*v.last().unwrap(), 600_000_000_000);
        assert!(
            v.contains(&(1 << 20)) && v.contains(&((1 << 20) - 1)) && v.contains(&((1 << 20) + 1))
        );
        assert!(v.windows(2).all(|w| w[0] < w[1]));
    }
}
