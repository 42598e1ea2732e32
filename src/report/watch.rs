//! The report of `span-sentinel watch`: JSON (`schemas/watch.schema.json`) and a terminal
//! summary of lifetime totals and of each check over the windows. Written when the watch ends
//! (duration over, Ctrl-C or SIGTERM); the live view is `/metrics`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::verify::status::{Millis, Status};
use crate::watch::windows::{Totals, WindowVerdict};
use crate::watch::{StopReason, WatchOutcome};

/// Name and version of the JSON layout.
pub const SCHEMA: &str = "span-sentinel/watch/v1";

/// One check over the whole watch.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRow {
    /// Which check.
    pub name: &'static str,
    /// Fail if any window failed it, pass if some passed and none failed, else inconclusive.
    pub status: Status,
    /// Windows in which it passed.
    pub windows_pass: u64,
    /// Windows with too few samples.
    pub windows_inconclusive: u64,
    /// Windows in which it failed.
    pub windows_fail: u64,
}

/// The JSON report.
#[derive(Debug, Clone, Serialize)]
pub struct WatchReport {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The worst check status.
    pub verdict: Status,
    /// Where spans went.
    pub target: String,
    /// This process's seed.
    pub seed: u64,
    /// This process's start, unix ns (mixed into the seed).
    pub epoch_unix_ns: u64,
    /// The profile file, if any.
    pub profile: Option<String>,
    /// Where `/metrics` was served.
    pub metrics_addr: String,
    /// Window length, seconds.
    pub window_s: f64,
    /// When the sentinel started sending, unix ns.
    pub started_unix_ns: u64,
    /// How long it sent, seconds.
    pub duration_s: f64,
    /// `signal` or `duration`.
    pub stopped_by: &'static str,
    /// Lifetime counts.
    pub totals: Totals,
    /// Freshness of every trace found, ms.
    pub freshness_ms: Option<Millis>,
    /// Burst start to firing, ms.
    pub detect_delay_ms: Option<Millis>,
    /// Burst end to resolving, ms.
    pub clear_delay_ms: Option<Millis>,
    /// Every check over the whole watch.
    pub checks: Vec<CheckRow>,
    /// Windows judged.
    pub windows_total: u64,
    /// The last windows, oldest first.
    pub windows: Vec<WindowVerdict>,
    /// Things the user should know.
    pub warnings: Vec<String>,
}

impl WatchReport {
    /// The report of `o`.
    pub fn new(o: &WatchOutcome) -> Self {
        Self {
            schema: SCHEMA,
            verdict: o.verdict,
            target: o.target.clone(),
            seed: o.seed,
            epoch_unix_ns: o.epoch_unix_ns,
            profile: o.profile.as_ref().map(|p| p.display().to_string()),
            metrics_addr: o.metrics_addr.to_string(),
            window_s: o.window.as_secs_f64(),
            started_unix_ns: o.started_unix_ns,
            duration_s: o.ran_for.as_secs_f64(),
            stopped_by: match o.stopped_by {
                StopReason::Signal => "signal",
                StopReason::Duration => "duration",
            },
            totals: o.totals.clone(),
            freshness_ms: o.freshness_ms,
            detect_delay_ms: o.detect_delay_ms,
            clear_delay_ms: o.clear_delay_ms,
            checks: o
                .checks
                .iter()
                .map(|c| CheckRow {
                    name: c.name,
                    status: c.status,
                    windows_pass: c.windows_pass,
                    windows_inconclusive: c.windows_inconclusive,
                    windows_fail: c.windows_fail,
                })
                .collect(),
            windows_total: o.windows_total,
            windows: o.windows.clone(),
            warnings: o.warnings.clone(),
        }
    }

    /// The terminal summary.
    pub fn summary(&self) -> String {
        let (t, mut s) = (&self.totals, String::new());
        let _ = writeln!(
            s,
            "target {} | seed {} | {:.0} s in {} of {} s | stopped by {}",
            self.target,
            self.seed,
            self.duration_s,
            super::count(self.windows_total, "window"),
            self.window_s,
            self.stopped_by
        );
        let _ = writeln!(
            s,
            "traces: {} sent, {} of {} verified, {} missing ({} never accepted), {} incorrect, {} unexpected of {} checked, {} pending",
            t.traces_sent,
            t.traces_verified,
            t.traces_expected_assembled,
            t.traces_missing,
            t.traces_missing_unacked,
            t.traces_incorrect,
            t.traces_unexpected,
            t.traces_checked_unassembled,
            t.traces_pending
        );
        let _ = writeln!(
            s,
            "bursts: {} detected, {} missed, {} cleared, {} pending; {} spurious alerts",
            t.error_bursts_detected,
            t.error_bursts_missed,
            t.error_bursts_cleared,
            t.error_bursts_pending,
            t.spurious_alerts
        );
        let ms = |m: Option<Millis>| {
            m.map_or("-".into(), |m| {
                format!("p50 {:.0} p99 {:.0} max {:.0} ms", m.p50, m.p99, m.max)
            })
        };
        let _ = writeln!(s, "freshness: {}", ms(self.freshness_ms));
        let _ = writeln!(s, "alert detect delay: {}", ms(self.detect_delay_ms));
        let _ = writeln!(s, "alert clear delay: {}\n", ms(self.clear_delay_ms));
        self.checks_table(&mut s);
        let _ = writeln!(s, "\nverdict: {}", self.verdict.as_str());
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        s
    }

    /// One row per check: its status and how many windows passed, were inconclusive, failed.
    fn checks_table(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "{:<20} {:<13} {:>6} {:>13} {:>6}",
            "check", "status", "pass", "inconclusive", "fail"
        );
        for c in &self.checks {
            let _ = writeln!(
                s,
                "{:<20} {:<13} {:>6} {:>13} {:>6}",
                c.name,
                c.status.as_str(),
                c.windows_pass,
                c.windows_inconclusive,
                c.windows_fail
            );
        }
    }
}

/// The line of a window that closed, with that window's figures (not the totals so far):
/// `[window 3] pass | sent 2400 verified 790 missing 0 incorrect 0 unexpected 0 | bursts 1 detected 1 | spurious 0`.
pub fn window_line(w: &crate::watch::windows::WindowVerdict) -> String {
    let f = &w.figures;
    let failing: Vec<String> = w
        .checks
        .iter()
        .filter(|c| c.status != crate::verify::status::Status::Pass)
        .map(|c| format!("{} {}", c.name, c.status.as_str()))
        .collect();
    let mut line = format!(
        "[window {}] {} | sent {} verified {} missing {} incorrect {} unexpected {} | bursts {} detected {} | spurious {}",
        w.index,
        w.verdict.as_str(),
        w.traces_sent,
        f.traces_verified,
        f.traces_missing,
        f.traces_incorrect,
        f.traces_unexpected,
        f.error_bursts,
        f.error_bursts_detected,
        f.spurious_alerts,
    );
    if !failing.is_empty() {
        line.push_str(&format!(" | {}", failing.join(", ")));
    }
    line
}

/// The per-second progress line while a window is open (totals so far):
/// `[  12s window 0] sent 480 verified 150 missing 0 incorrect 0 | bursts 1 detected 1 missed 0`.
pub fn second_line(
    elapsed: std::time::Duration,
    window: u64,
    t: &crate::watch::windows::Totals,
) -> String {
    format!(
        "[{:>5.0}s window {window}] sent {} verified {} missing {} incorrect {} | bursts {} detected {} missed {}",
        elapsed.as_secs_f64(),
        t.traces_sent,
        t.traces_verified,
        t.traces_missing,
        t.traces_incorrect,
        t.error_bursts,
        t.error_bursts_detected,
        t.error_bursts_missed,
    )
}
