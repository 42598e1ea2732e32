//! The verifier's vocabulary: the status of a check, the kind of a phase and the latency
//! summary every report prints. Reports, `watch` and `capacity` speak these words without
//! depending on how checks are judged, so they live apart from the judging.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The status of a check, and the overall verdict; ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Holds.
    Pass,
    /// The chosen backend cannot answer what the check needs (e.g. alert rules on Jaeger):
    /// not judged, never a pass; the verdict is taken over the checks that were judged.
    Unsupported,
    /// Too few samples to say.
    Inconclusive,
    /// Worse than at baseline beyond tolerance.
    Degraded,
    /// Fails even at baseline.
    Fail,
}

impl Status {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Unsupported => "unsupported",
            Status::Inconclusive => "inconclusive",
            Status::Degraded => "degraded",
            Status::Fail => "fail",
        }
    }
}

/// What a phase is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    /// Not verified: lets the target and the sentinel settle.
    Warmup,
    /// The sentinel alone; checks are judged absolutely.
    Baseline,
    /// The sentinel plus the unruly load; checks are judged against the baseline.
    Load,
    /// The sentinel alone after load; judged against the baseline.
    Recovery,
}

/// Median, 99th percentile and maximum, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Millis {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Millis {
    /// Nearest-rank percentiles of `values`; `None` when empty.
    pub fn of(values: &[Duration]) -> Option<Self> {
        let mut v: Vec<f64> = values.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Self {
            p50: at(0.5),
            p99: at(0.99),
            max: v[v.len() - 1],
        })
    }
}
