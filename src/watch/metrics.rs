//! The metrics `watch` exposes at `/metrics`, in the Prometheus text exposition format
//! (version 0.0.4): counters of what the sentinel sent and what became of it, fixed-bucket
//! histograms of freshness and alert delays, and a gauge of each check's status in the last
//! closed window.
//!
//! Everything is a fixed-size array behind one mutex: the registry never grows, however long
//! the process runs, and a scrape is one lock and one string.

use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::verify::status::Status;

/// Prefix of every metric name.
pub const PREFIX: &str = "span_sentinel";

/// A monotonically increasing count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Ambient traces sent.
    TracesSent,
    /// Traces that had to be assembled, found with the expected content.
    TracesVerified,
    /// Traces that had to be assembled, not found within the freshness timeout.
    TracesMissing,
    /// Traces found with other content than sent.
    TracesIncorrect,
    /// This process's traces assembled although below the assembly threshold.
    TracesUnexpected,
    /// Error bursts whose alert fired (and notified the webhook).
    BurstsDetected,
    /// Error bursts whose alert did not fire, or fired without notifying.
    BurstsMissed,
    /// Firing transitions outside every burst of this process.
    SpuriousAlerts,
    /// Rolling windows judged.
    Windows,
}

impl Counter {
    /// Every counter, in exposition order.
    pub const ALL: [Counter; 9] = [
        Counter::TracesSent,
        Counter::TracesVerified,
        Counter::TracesMissing,
        Counter::TracesIncorrect,
        Counter::TracesUnexpected,
        Counter::BurstsDetected,
        Counter::BurstsMissed,
        Counter::SpuriousAlerts,
        Counter::Windows,
    ];

    /// Name and help text.
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            Counter::TracesSent => ("traces_sent_total", "Ambient sentinel traces sent."),
            Counter::TracesVerified => (
                "traces_verified_total",
                "Traces that had to be assembled and were found as sent.",
            ),
            Counter::TracesMissing => (
                "traces_missing_total",
                "Traces that had to be assembled and were not found within the freshness timeout.",
            ),
            Counter::TracesIncorrect => (
                "traces_incorrect_total",
                "Traces found with other content than sent.",
            ),
            Counter::TracesUnexpected => (
                "traces_unexpected_total",
                "Traces of this process assembled although below the assembly threshold.",
            ),
            Counter::BurstsDetected => (
                "error_bursts_detected_total",
                "Error bursts whose alert fired and notified the webhook.",
            ),
            Counter::BurstsMissed => (
                "error_bursts_missed_total",
                "Error bursts whose alert did not fire (or did not notify).",
            ),
            Counter::SpuriousAlerts => (
                "spurious_alerts_total",
                "Firing transitions of the sentinel's rule outside every burst of this process.",
            ),
            Counter::Windows => ("windows_total", "Rolling verification windows judged."),
        }
    }
}

/// A histogram of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Histogram {
    /// Intended send time to first found, of every found trace.
    Freshness,
    /// Burst start to the alert's firing transition.
    DetectDelay,
    /// Burst end to the alert's resolving transition.
    ClearDelay,
}

impl Histogram {
    /// Every histogram, in exposition order.
    pub const ALL: [Histogram; 3] = [
        Histogram::Freshness,
        Histogram::DetectDelay,
        Histogram::ClearDelay,
    ];

    /// Name, help text and upper bounds of the buckets (seconds; `+Inf` is implied).
    pub fn describe(self) -> (&'static str, &'static str, &'static [f64]) {
        const BOUNDS: &[f64] = &[
            0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0,
        ];
        match self {
            Histogram::Freshness => (
                "trace_freshness_seconds",
                "Intended send time to first found, of every trace found.",
                BOUNDS,
            ),
            Histogram::DetectDelay => (
                "alert_detect_delay_seconds",
                "Error burst start to the alert's firing transition.",
                BOUNDS,
            ),
            Histogram::ClearDelay => (
                "alert_clear_delay_seconds",
                "Error burst end to the alert's resolving transition.",
                BOUNDS,
            ),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Buckets {
    /// Cumulative-free counts per bound, then one for `+Inf`.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Debug)]
struct Values {
    counters: [u64; Counter::ALL.len()],
    histograms: [Buckets; Histogram::ALL.len()],
    checks: Vec<(&'static str, Status)>,
    ledger_traces: u64,
}

/// The registry `watch` updates and `/metrics` renders.
#[derive(Debug)]
pub struct Registry {
    values: Mutex<Values>,
}

impl Registry {
    /// A registry with every counter at zero and every check in `checks` inconclusive.
    pub fn new(checks: &[&'static str]) -> Self {
        let histograms = Histogram::ALL.map(|h| Buckets {
            counts: vec![0; h.describe().2.len() + 1],
            ..Buckets::default()
        });
        Self {
            values: Mutex::new(Values {
                counters: [0; Counter::ALL.len()],
                histograms,
                checks: checks.iter().map(|c| (*c, Status::Inconclusive)).collect(),
                ledger_traces: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Values> {
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `n` to `counter`.
    pub fn add(&self, counter: Counter, n: u64) {
        self.lock().counters[counter as usize] += n;
    }

    /// The current value of `counter`.
    pub fn get(&self, counter: Counter) -> u64 {
        self.lock().counters[counter as usize]
    }

    /// Records one observation of `histogram`.
    pub fn observe(&self, histogram: Histogram, value: Duration) {
        let secs = value.as_secs_f64();
        let bounds = histogram.describe().2;
        let bucket = bounds
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(bounds.len());
        let mut v = self.lock();
        let h = &mut v.histograms[histogram as usize];
        h.counts[bucket] += 1;
        h.sum += secs;
        h.count += 1;
    }

    /// Sets the status of `check` in the last closed window.
    pub fn set_status(&self, check: &str, status: Status) {
        if let Some(c) = self.lock().checks.iter_mut().find(|(n, _)| *n == check) {
            c.1 = status;
        }
    }

    /// Sets how many traces the ledger holds (those still within their verification horizon).
    pub fn set_ledger_traces(&self, n: u64) {
        self.lock().ledger_traces = n;
    }

    /// The whole exposition.
    pub fn render(&self) -> String {
        let v = self.lock();
        let mut out = String::new();
        for c in Counter::ALL {
            let (name, help) = c.describe();
            let _ = writeln!(
                out,
                "# HELP {PREFIX}_{name} {help}\n# TYPE {PREFIX}_{name} counter\n{PREFIX}_{name} {}",
                v.counters[c as usize]
            );
        }
        for h in Histogram::ALL {
            render_histogram(&mut out, h, &v.histograms[h as usize]);
        }
        let _ = writeln!(
            out,
            "# HELP {PREFIX}_ledger_traces Traces the sentinel still follows (within their verification horizon); flat over time.\n# TYPE {PREFIX}_ledger_traces gauge\n{PREFIX}_ledger_traces {}",
            v.ledger_traces
        );
        let _ = writeln!(
            out,
            "# HELP {PREFIX}_check_status Status of each check in the last closed window: 0 pass, 1 inconclusive (too few samples), 2 degraded, 3 fail, 4 unsupported by the backend.\n# TYPE {PREFIX}_check_status gauge"
        );
        for (check, status) in &v.checks {
            let _ = writeln!(
                out,
                "{PREFIX}_check_status{{check=\"{check}\"}} {}",
                status_code(*status)
            );
        }
        out
    }
}

/// The gauge value of a status: its severity rank.
pub fn status_code(status: Status) -> u8 {
    match status {
        Status::Pass => 0,
        Status::Inconclusive => 1,
        Status::Degraded => 2,
        Status::Fail => 3,
        // Not a severity: the backend could not answer the check (kept apart from 0..=3).
        Status::Unsupported => 4,
    }
}

fn render_histogram(out: &mut String, h: Histogram, b: &Buckets) {
    let (name, help, bounds) = h.describe();
    let _ = writeln!(
        out,
        "# HELP {PREFIX}_{name} {help}\n# TYPE {PREFIX}_{name} histogram"
    );
    let mut cumulative = 0;
    for (i, count) in b.counts.iter().enumerate() {
        cumulative += count;
        let le = bounds.get(i).map_or("+Inf".to_owned(), |b| b.to_string());
        let _ = writeln!(out, "{PREFIX}_{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    let _ = writeln!(
        out,
        "{PREFIX}_{name}_sum {}\n{PREFIX}_{name}_count {}",
        b.sum, b.count
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_end_in_inf() {
        let r = Registry::new(&["trace_completeness"]);
        r.observe(Histogram::Freshness, Duration::from_millis(300));
        r.observe(Histogram::Freshness, Duration::from_secs(100));
        r.add(Counter::TracesSent, 3);
        r.set_status("trace_completeness", Status::Fail);
        let text = r.render();
        assert!(
            text.contains("span_sentinel_traces_sent_total 3\n"),
            "{text}"
        );
        assert!(text.contains("span_sentinel_trace_freshness_seconds_bucket{le=\"0.25\"} 0\n"));
        assert!(text.contains("span_sentinel_trace_freshness_seconds_bucket{le=\"0.5\"} 1\n"));
        assert!(text.contains("span_sentinel_trace_freshness_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("span_sentinel_trace_freshness_seconds_count 2\n"));
        assert!(text.contains("span_sentinel_check_status{check=\"trace_completeness\"} 3\n"));
    }
}
