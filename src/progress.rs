//! The once-per-second progress of a run, in a module of its own at the bottom of the tree:
//! `run` produces it, `report` shows it and the run's timeline records it, so neither has to
//! import the other for it.

use std::time::Duration;

/// Progress of a run, once per second: what the progress display shows and what the run's
/// timeline records.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Current phase name.
    pub phase: String,
    /// Index of the current phase in the plan.
    pub index: usize,
    /// Time since the start of the run.
    pub t: Duration,
    /// Seconds into the phase.
    pub elapsed: Duration,
    /// Length of the phase.
    pub length: Duration,
    /// Ambient traces sent so far.
    pub sent: u64,
    /// Ambient traces sent so far that must be assembled.
    pub expected: u64,
    /// Verified so far.
    pub verified: u64,
    /// Missing so far.
    pub missing: u64,
    /// Load spans/s offered in the last second (0 outside load phases; `None` for `max`).
    pub offered_rate: Option<f64>,
    /// Load spans/s sent in the last second (0 outside load phases).
    pub load_rate: f64,
    /// p99 of the load's schedule lag in the last second, ms (`None` outside load phases).
    pub lag_p99_ms: Option<f64>,
    /// p99 freshness of the traces found in the last second, ms (`None` when none was found).
    pub freshness_p99_ms: Option<f64>,
    /// The last alert state the webhook heard (`ok` or `firing`).
    pub alert: String,
}
