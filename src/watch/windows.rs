//! Rolling windows: every decision the watch makes (a trace verified, missing or incorrect, a
//! below-threshold trace checked, a burst detected or missed, a spurious firing) is counted in
//! the window open when it is made, in the lifetime totals and in the metrics registry. When a
//! window closes, its evidence is judged by the same absolute rules as a `run` baseline phase
//! (`verify::checks::judge`), so "pass" means the same in both commands.
//!
//! Memory is bounded: one window's evidence (its freshness samples: window × trace rate), the
//! last [`KEEP_WINDOWS`] verdicts, counters and fixed-size histograms.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram as Hdr;
use serde::Serialize;

use super::metrics::{Counter, Histogram, Registry};
use crate::sentinel::ledger::{Found, Outcome};
use crate::verify::alerts::{BurstOutcome, BurstWindow};
use crate::verify::checks::{self, Check, CheckTolerances, Evidence};
use crate::verify::status::{PhaseKind, Status};

/// Verdicts of past windows kept for the final report.
pub const KEEP_WINDOWS: usize = 100;

/// The alert checks of [`CHECKS`]: what a backend without alert history cannot answer.
pub const ALERT_CHECKS: [&str; 4] = [
    "alert_detection",
    "alert_detect_delay",
    "alert_clear_delay",
    "spurious_alerts",
];

/// The checks a window is judged on: `run`'s, without `histogram_error` (the target's
/// histograms are cumulative over every process that ever sent, so one process cannot judge
/// them after a restart).
pub const CHECKS: [&str; 8] = [
    "trace_completeness",
    "trace_content",
    "unexpected_traces",
    "freshness_p99_ms",
    "alert_detection",
    "alert_detect_delay",
    "alert_clear_delay",
    "spurious_alerts",
];

/// Lifetime counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Ambient traces sent.
    pub traces_sent: u64,
    /// Traces that had to be assembled and were decided.
    pub traces_expected_assembled: u64,
    /// Found as sent.
    pub traces_verified: u64,
    /// Not found within the freshness timeout.
    pub traces_missing: u64,
    /// Of the missing, those the target never accepted.
    pub traces_missing_unacked: u64,
    /// Found with other content.
    pub traces_incorrect: u64,
    /// Below-threshold traces searched for.
    pub traces_checked_unassembled: u64,
    /// Below-threshold traces found assembled.
    pub traces_unexpected: u64,
    /// Traces in no other column when the watch ended: not decided, not answered, or below the
    /// threshold and not searched for yet. `traces_sent` = `traces_verified` + `traces_missing`
    /// + `traces_incorrect` + `traces_checked_unassembled` + `traces_pending`.
    pub traces_pending: u64,
    /// Error bursts decided.
    pub error_bursts: u64,
    /// Bursts whose alert fired and notified the webhook.
    pub error_bursts_detected: u64,
    /// Bursts whose alert did not fire or did not notify.
    pub error_bursts_missed: u64,
    /// Bursts after which the alert resolved.
    pub error_bursts_cleared: u64,
    /// Bursts sent but not yet decidable when the watch ended.
    pub error_bursts_pending: u64,
    /// Firings outside every burst of this process.
    pub spurious_alerts: u64,
}

/// A closed window and its judgement.
#[derive(Debug, Clone, Serialize)]
pub struct WindowVerdict {
    /// 0 for the first window.
    pub index: u64,
    /// Start, unix ns.
    pub start_unix_ns: u64,
    /// End, unix ns (earlier than start + window for the last, partial one).
    pub end_unix_ns: u64,
    /// The worst status of its checks.
    pub verdict: Status,
    /// Ambient traces sent in it.
    pub traces_sent: u64,
    /// What was decided in it (not since the start).
    #[serde(flatten)]
    pub figures: WindowFigures,
    /// Every check, with the evidence behind it.
    pub checks: Vec<Check>,
}

/// The decisions made in one window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WindowFigures {
    /// Traces found as sent.
    pub traces_verified: u64,
    /// Traces not found within the freshness timeout.
    pub traces_missing: u64,
    /// Traces found with other content.
    pub traces_incorrect: u64,
    /// Below-threshold traces found assembled.
    pub traces_unexpected: u64,
    /// Error bursts decided.
    pub error_bursts: u64,
    /// Of those, detected.
    pub error_bursts_detected: u64,
    /// Firings outside every burst.
    pub spurious_alerts: u64,
}

impl WindowFigures {
    fn of(e: &Evidence) -> Self {
        Self {
            traces_verified: e.verified,
            traces_missing: e.missing,
            traces_incorrect: e.incorrect,
            traces_unexpected: e.unexpected,
            error_bursts: e.bursts,
            error_bursts_detected: e.detected.min(e.notified),
            spurious_alerts: e.spurious,
        }
    }
}

/// Counts decisions into the open window, the totals and the registry.
pub struct Recorder {
    registry: Arc<Registry>,
    tolerances: CheckTolerances,
    index: u64,
    start_unix_ns: u64,
    window: Evidence,
    window_sent: u64,
    /// Lifetime counts.
    pub totals: Totals,
    /// Lifetime freshness, detection and clear delays, in ms.
    pub delays_ms: [Hdr<u64>; 3],
    /// The last closed windows, oldest first.
    pub history: VecDeque<WindowVerdict>,
    /// Windows judged so far.
    pub windows: u64,
    /// Per check (in [`CHECKS`] order): windows that ended pass, inconclusive, degraded, fail,
    /// unsupported (indexed by `metrics::status_code`).
    pub check_windows: [[u64; 5]; CHECKS.len()],
    /// Checks the backend cannot answer, with why: `unsupported` in every window, never a pass.
    unsupported: BTreeMap<&'static str, String>,
}

fn delay_histogram() -> Hdr<u64> {
    Hdr::new_with_bounds(1, 24 * 3600 * 1000, 3).expect("valid histogram bounds")
}

impl Recorder {
    /// A recorder whose first window starts at `start_unix_ns`.
    pub fn new(registry: Arc<Registry>, tolerances: CheckTolerances, start_unix_ns: u64) -> Self {
        Self {
            registry,
            tolerances,
            index: 0,
            start_unix_ns,
            window: Evidence::default(),
            window_sent: 0,
            totals: Totals::default(),
            delays_ms: [delay_histogram(), delay_histogram(), delay_histogram()],
            history: VecDeque::new(),
            windows: 0,
            check_windows: [[0; 5]; CHECKS.len()],
            unsupported: BTreeMap::new(),
        }
    }

    /// `checks` cannot be answered by the backend (`why` says which and what): each window
    /// judges them `unsupported`, whatever its evidence (none: the backend was not asked).
    pub fn unsupported(&mut self, checks: &[&'static str], why: &str) {
        for c in checks {
            self.unsupported.insert(c, why.to_owned());
        }
    }

    fn observe(&mut self, h: Histogram, d: Duration) {
        self.registry.observe(h, d);
        let _ = self.delays_ms[h as usize].record((d.as_millis() as u64).max(1));
    }

    /// The ledger holds `n` traces.
    pub fn ledger_traces(&self, n: usize) {
        self.registry.set_ledger_traces(n as u64);
    }

    /// `n` ambient traces were sent.
    pub fn traces_sent(&mut self, n: u64) {
        self.window_sent += n;
        self.totals.traces_sent += n;
        self.registry.add(Counter::TracesSent, n);
    }

    /// A trace that had to be assembled was decided.
    pub fn trace_decided(&mut self, found: &Found, outcome: Outcome) {
        let (e, t) = (&mut self.window, &mut self.totals);
        e.expected += 1;
        t.traces_expected_assembled += 1;
        match found {
            Found::Verified(after) => {
                e.verified += 1;
                t.traces_verified += 1;
                e.freshness.push(*after);
                self.registry.add(Counter::TracesVerified, 1);
                self.observe(Histogram::Freshness, *after);
            }
            Found::Incorrect { after, diff } => {
                e.incorrect += 1;
                t.traces_incorrect += 1;
                e.freshness.push(*after);
                e.incorrect_example.get_or_insert_with(|| diff.clone());
                self.registry.add(Counter::TracesIncorrect, 1);
                self.observe(Histogram::Freshness, *after);
            }
            Found::Missing | Found::Waiting => {
                e.missing += 1;
                t.traces_missing += 1;
                let unacked = u64::from(outcome != Outcome::Acked);
                e.missing_unacked += unacked;
                t.traces_missing_unacked += unacked;
                self.registry.add(Counter::TracesMissing, 1);
            }
        }
    }

    /// `checked` below-threshold traces were searched for; `unexpected` of them were assembled.
    pub fn unassembled_checked(&mut self, checked: u64, unexpected: u64) {
        self.totals.traces_checked_unassembled += checked;
        self.totals.traces_unexpected += unexpected;
        self.window.unexpected += unexpected;
        self.registry.add(Counter::TracesUnexpected, unexpected);
    }

    /// A burst was decided.
    pub fn burst_decided(&mut self, burst: &BurstWindow, o: &BurstOutcome) {
        let e = &mut self.window;
        e.bursts += 1;
        e.notified += u64::from(o.notified);
        self.totals.error_bursts += 1;
        if o.fired_ns.is_some() && o.notified {
            self.totals.error_bursts_detected += 1;
            self.registry.add(Counter::BurstsDetected, 1);
        } else {
            self.totals.error_bursts_missed += 1;
            self.registry.add(Counter::BurstsMissed, 1);
        }
        if let Some(d) = o.detect_delay(burst) {
            self.window.detected += 1;
            self.window.detect_delays.push(d);
            self.observe(Histogram::DetectDelay, d);
        }
        if let Some(d) = o.clear_delay(burst) {
            self.window.cleared += 1;
            self.window.clear_delays.push(d);
            self.totals.error_bursts_cleared += 1;
            self.observe(Histogram::ClearDelay, d);
        }
    }

    /// `n` firings outside every burst of this process.
    pub fn spurious(&mut self, n: u64) {
        self.window.spurious += n;
        self.totals.spurious_alerts += n;
        self.registry.add(Counter::SpuriousAlerts, n);
    }

    /// Closes the open window at `end_unix_ns`, judges it and opens the next.
    pub fn close_window(&mut self, end_unix_ns: u64) -> WindowVerdict {
        let evidence = std::mem::take(&mut self.window);
        let figures = WindowFigures::of(&evidence);
        let phase = format!("window-{}", self.index);
        let checks: Vec<Check> =
            checks::judge(&[(phase, PhaseKind::Baseline, evidence)], &self.tolerances)
                .into_iter()
                .filter(|c| CHECKS.contains(&c.name.as_ref()))
                .map(|mut c| {
                    if let Some(why) = self.unsupported.get(c.name.as_ref()) {
                        c.status = Status::Unsupported;
                        c.evidence = why.clone();
                    }
                    c
                })
                .collect();
        for c in &checks {
            self.registry.set_status(&c.name, c.status);
            if let Some(i) = CHECKS.iter().position(|n| *n == c.name) {
                self.check_windows[i][super::metrics::status_code(c.status) as usize] += 1;
            }
        }
        self.registry.add(Counter::Windows, 1);
        let verdict = WindowVerdict {
            index: self.index,
            start_unix_ns: self.start_unix_ns,
            end_unix_ns,
            verdict: checks::verdict(&checks),
            traces_sent: std::mem::take(&mut self.window_sent),
            figures,
            checks,
        };
        if self.history.len() == KEEP_WINDOWS {
            self.history.pop_front();
        }
        self.history.push_back(verdict.clone());
        self.index += 1;
        self.windows += 1;
        self.start_unix_ns = end_unix_ns;
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_checks_a_backend_cannot_answer_are_unsupported_in_every_window_never_pass() {
        let registry = Arc::new(Registry::new(&CHECKS));
        let mut rec = Recorder::new(registry.clone(), CheckTolerances::default(), 0);
        // With nothing found, spurious_alerts would read `pass` (0 found) and the others
        // `inconclusive`: the backend was never asked, so neither may stand.
        rec.unsupported(&ALERT_CHECKS, "unsupported by jaeger: alert history");
        for end in [1_000_000_000, 2_000_000_000] {
            let w = rec.close_window(end);
            for c in &w.checks {
                let alert = ALERT_CHECKS.contains(&c.name.as_ref());
                assert_eq!(c.status == Status::Unsupported, alert, "{c:?}");
                if alert {
                    assert_eq!(c.evidence, "unsupported by jaeger: alert history");
                }
            }
            assert_ne!(
                w.verdict,
                Status::Unsupported,
                "the verdict comes from the others"
            );
        }
        let i = CHECKS.iter().position(|c| *c == "spurious_alerts").unwrap();
        assert_eq!(rec.check_windows[i], [0, 0, 0, 0, 2]);
        assert!(
            registry
                .render()
                .contains("span_sentinel_check_status{check=\"spurious_alerts\"} 4")
        );
    }
}
