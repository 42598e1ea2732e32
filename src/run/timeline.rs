//! The run's timeline: one sample per second of what the progress display shows, and the
//! intervals in which error bursts ran and the sentinel's alert was firing — what the HTML
//! report draws across the phases.
//!
//! Samples are taken from the walker's per-second [`Progress`], so the timeline costs one small
//! record per second, never one per span. The alert state of a sample is set at the end of the
//! run from the alert transitions the target recorded (the same evidence the checks judge), not
//! from what the webhook happened to have heard at that second.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::progress::Progress;
use crate::verify::api::Transition;

/// One second of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds since the start of the run (the start of its first phase).
    pub t_s: f64,
    /// The phase it fell in.
    pub phase: String,
    /// Load offered in the last second, spans/s (0 outside load phases; null for `max`).
    pub offered_spans_per_sec: Option<f64>,
    /// Load sent in the last second, spans/s.
    pub achieved_spans_per_sec: f64,
    /// p99 of the load's schedule lag in the last second, ms (null outside load phases).
    pub lag_p99_ms: Option<f64>,
    /// p99 of the freshness (send to found) of the traces found in the last second, ms (null
    /// when none was found).
    pub freshness_p99_ms: Option<f64>,
    /// Ambient traces sent so far that must be assembled.
    pub traces_expected: u64,
    /// Of those, found with the expected content so far.
    pub traces_verified: u64,
    /// Of those, not found within the freshness timeout so far.
    pub traces_missing: u64,
    /// Whether the sentinel's alert was firing at `t_s`.
    pub alert_firing: bool,
}

impl Sample {
    /// The sample of one progress report (`alert_firing` as heard live, see [`Timeline::settle`]).
    pub fn of(p: &Progress) -> Self {
        Self {
            t_s: p.t.as_secs_f64(),
            phase: p.phase.clone(),
            offered_spans_per_sec: p.offered_rate,
            achieved_spans_per_sec: p.load_rate,
            lag_p99_ms: p.lag_p99_ms,
            freshness_p99_ms: p.freshness_p99_ms,
            traces_expected: p.expected,
            traces_verified: p.verified,
            traces_missing: p.missing,
            alert_firing: p.alert == "firing",
        }
    }
}

/// A span of time, seconds since the start of the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Start.
    pub start_s: f64,
    /// End.
    pub end_s: f64,
}

impl Interval {
    /// Whether `t` falls in `[start, end)`.
    pub fn contains(&self, t: f64) -> bool {
        self.start_s <= t && t < self.end_s
    }
}

/// Samples and intervals of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// One per second of every phase run.
    pub samples: Vec<Sample>,
    /// When the sentinel's error bursts ran.
    pub bursts: Vec<Interval>,
    /// When the sentinel's alert was firing, from the target's transitions.
    pub alert_firing: Vec<Interval>,
}

impl Timeline {
    /// Fills in the intervals once the run is over: `bursts` as planned, and the firing
    /// intervals of alert `rule` from `transitions` (unix ns; those before `start_unix_ns` are
    /// another run's). A firing not resolved by `end` is drawn up to `end`. Each sample's
    /// `alert_firing` is then read from the intervals.
    pub fn settle(
        &mut self,
        bursts: Vec<Interval>,
        rule: &str,
        transitions: &[Transition],
        start_unix_ns: u64,
        end: Duration,
    ) {
        let secs = |ns: u64| ns.saturating_sub(start_unix_ns) as f64 / 1e9;
        let mut ordered: Vec<&Transition> = transitions
            .iter()
            .filter(|t| t.rule == rule && t.at_unix_nano >= start_unix_ns)
            .collect();
        ordered.sort_by_key(|t| t.at_unix_nano);
        let mut firing = Vec::new();
        let mut open: Option<f64> = None;
        for t in ordered {
            match (t.state.as_str(), open) {
                ("firing", None) => open = Some(secs(t.at_unix_nano)),
                ("firing", Some(_)) => {}
                (_, Some(start)) => {
                    firing.push(Interval {
                        start_s: start,
                        end_s: secs(t.at_unix_nano),
                    });
                    open = None;
                }
                (_, None) => {}
            }
        }
        let last = self.samples.last().map_or(0.0, |s| s.t_s);
        if let Some(start) = open {
            firing.push(Interval {
                start_s: start,
                end_s: end.as_secs_f64().max(last).max(start),
            });
        }
        for s in &mut self.samples {
            s.alert_firing = firing.iter().any(|i| i.contains(s.t_s));
        }
        self.bursts = bursts;
        self.alert_firing = firing;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transition(state: &str, at_s: u64) -> Transition {
        Transition {
            rule: "sentinel".into(),
            state: state.into(),
            at_unix_nano: 1_000_000_000_000 + at_s * 1_000_000_000,
        }
    }

    #[test]
    fn firing_intervals_pair_transitions_and_stay_open_to_the_end() {
        let mut t = Timeline::default();
        let history = [
            transition("firing", 3),
            transition("ok", 6),
            transition("firing", 9),
        ];
        t.settle(
            Vec::new(),
            "sentinel",
            &history,
            1_000_000_000_000,
            Duration::from_secs(12),
        );
        assert_eq!(
            t.alert_firing,
            vec![
                Interval {
                    start_s: 3.0,
                    end_s: 6.0
                },
                Interval {
                    start_s: 9.0,
                    end_s: 12.0
                }
            ]
        );
    }
}
