//! `span-sentinel watch`: the sentinel alone, for as long as it runs, verified over rolling
//! windows and exposed as Prometheus metrics — the continuous checker (Tempo's vulture, Loki's
//! canary) that also checks alerts.
//!
//! It reuses `run`'s plan, the harness (target), the sender, poller and checks; what is its
//! own is shaped by running for hours: `traces` retires decided ledger records so memory stays
//! flat, `alerts` decides bursts as their clear limit passes, `windows` judges each window and
//! keeps totals, `metrics` and `server` expose them, and its plan (`config::watch`) gives each
//! process a fresh seed so a restart judges only what it sent itself.

pub mod alerts;
pub mod engine;
pub mod metrics;
pub mod server;
pub mod traces;
pub mod windows;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::verify::status::{Millis, Status};
use windows::{Totals, WindowVerdict};

/// Why the watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Ctrl-C or SIGTERM.
    Signal,
    /// `--duration` passed.
    Duration,
}

/// One check over the whole watch.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSummary {
    /// Which check.
    pub name: &'static str,
    /// Fail if any window failed it, pass if some passed and none failed, else inconclusive.
    pub status: Status,
    /// Windows in which it passed.
    pub windows_pass: u64,
    /// Windows with too few samples to judge it.
    pub windows_inconclusive: u64,
    /// Windows in which it failed.
    pub windows_fail: u64,
}

/// What a watch measured.
#[derive(Debug, Clone)]
pub struct WatchOutcome {
    /// Where spans went.
    pub target: String,
    /// This process's seed.
    pub seed: u64,
    /// This process's start, unix ns (mixed into the seed).
    pub epoch_unix_ns: u64,
    /// The profile file, if any.
    pub profile: Option<PathBuf>,
    /// Where `/metrics` was served.
    pub metrics_addr: SocketAddr,
    /// Window length.
    pub window: Duration,
    /// When the sentinel started sending, unix ns.
    pub started_unix_ns: u64,
    /// How long it sent.
    pub ran_for: Duration,
    /// Why it ended.
    pub stopped_by: StopReason,
    /// Freshness of every trace found, ms.
    pub freshness_ms: Option<Millis>,
    /// Burst start to firing, ms.
    pub detect_delay_ms: Option<Millis>,
    /// Burst end to resolving, ms.
    pub clear_delay_ms: Option<Millis>,
    /// Lifetime counts.
    pub totals: Totals,
    /// Every check over the whole watch.
    pub checks: Vec<CheckSummary>,
    /// Windows judged.
    pub windows_total: u64,
    /// The last windows (at most `windows::KEEP_WINDOWS`), oldest first.
    pub windows: Vec<WindowVerdict>,
    /// The worst check status.
    pub verdict: Status,
    /// Things the user should know.
    pub warnings: Vec<String>,
}
