//! What a check is judged on: the evidence of one phase (what the verifier counted and
//! measured), and how strict the checks are (`CheckTolerances`, a profile's `[checks]`). The
//! measures and the judging in `checks` both read these.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::units::duration as dur;

/// How strict the checks are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckTolerances {
    /// Fewer traces that must be assembled than this in a phase makes trace checks
    /// inconclusive.
    pub min_traces: u64,
    /// Lowest acceptable completeness at baseline (1.0: no trace may be missing).
    pub completeness_min: f64,
    /// Drop in completeness from baseline that counts as degraded, when also significant.
    pub completeness_drop: f64,
    /// Significance level of the two-proportion test.
    pub p_value: f64,
    /// Highest acceptable freshness p99 at baseline.
    #[serde(with = "dur")]
    pub freshness_limit: Duration,
    /// Freshness p99 above baseline × factor + slack is degraded.
    pub freshness_factor: f64,
    /// See `freshness_factor`.
    #[serde(with = "dur")]
    pub freshness_slack: Duration,
    /// Highest acceptable relative error of a reported histogram quantile.
    pub histogram_tolerance: f64,
    /// Longest acceptable alert detection delay.
    #[serde(with = "dur")]
    pub detect_limit: Duration,
    /// Longest acceptable alert clear delay (after the burst ends).
    #[serde(with = "dur")]
    pub clear_limit: Duration,
    /// Delays above baseline × factor + slack are degraded.
    pub delay_factor: f64,
    /// See `delay_factor`.
    #[serde(with = "dur")]
    pub delay_slack: Duration,
    /// A load phase whose load reached less than this share of its offered rate (or sent for
    /// less than this share of the phase) did not put the target under the load it claims to:
    /// its checks are at least `inconclusive`.
    pub generator_limit: f64,
}

impl Default for CheckTolerances {
    fn default() -> Self {
        Self {
            min_traces: 20,
            completeness_min: 1.0,
            completeness_drop: 0.01,
            p_value: 0.01,
            freshness_limit: Duration::from_secs(10),
            freshness_factor: 2.0,
            freshness_slack: Duration::from_millis(500),
            histogram_tolerance: 0.005,
            detect_limit: Duration::from_secs(3),
            clear_limit: Duration::from_secs(5),
            delay_factor: 2.0,
            delay_slack: Duration::from_secs(1),
            generator_limit: 0.9,
        }
    }
}

/// Everything the verifier measured in one phase.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Traces that had to be assembled.
    pub expected: u64,
    /// Found with the expected content.
    pub verified: u64,
    /// Not found in time.
    pub missing: u64,
    /// Of the missing, those the target never accepted (refused, or no answer).
    pub missing_unacked: u64,
    /// Found with other content; the first difference seen.
    pub incorrect: u64,
    /// An example difference.
    pub incorrect_example: Option<String>,
    /// Assembled although below the threshold, or assembled twice.
    pub unexpected: u64,
    /// Freshness of every trace found.
    pub freshness: Vec<Duration>,
    /// Largest relative quantile error over the phase's series, `None` without data.
    pub histogram_max_rel_error: Option<f64>,
    /// Why the histogram check fails besides the error (e.g. a count mismatch).
    pub histogram_problem: Option<String>,
    /// Bursts that started in the phase.
    pub bursts: u64,
    /// Bursts the alert fired for.
    pub detected: u64,
    /// Bursts whose firing notification reached the webhook.
    pub notified: u64,
    /// The alert source sends no webhook notifications (Prometheus): detection alone counts.
    pub notifications_not_expected: bool,
    /// Bursts after which the alert resolved.
    pub cleared: u64,
    /// Firing transitions outside every burst (plus grace).
    pub spurious: u64,
    /// Detection delay of every detected burst.
    pub detect_delays: Vec<Duration>,
    /// Clear delay of every cleared burst.
    pub clear_delays: Vec<Duration>,
}

impl Evidence {
    /// Traces the target assembled, with the expected content or not: what completeness
    /// counts, so a wrong attribute is `trace_content`'s finding and not also a lost trace.
    pub fn found(&self) -> u64 {
        self.verified + self.incorrect
    }
}
