//! The plan of `span-sentinel watch`: the same profile sections (`[sentinel]`, `[checks]`,
//! `[pipeline]`) and target flags as `run`, built by `config::run`, reduced to one open-ended
//! phase of the sentinel alone, plus the rolling window, how long to watch and where metrics
//! are served.
//!
//! Every process start mixes its start time into the seed (its *epoch*), so a restarted watch
//! never sends a trace ID an earlier process sent: it can only ever look up, and judge, traces
//! it knows it sent itself.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Overrides;
use super::run::{Phase, RunPlan, run_plan};
use crate::error::UsageError;
use crate::model::ids::mix64;
use crate::verify::status::PhaseKind;

/// Name of the one phase (and the prefix of every ambient span name).
pub const WATCH_PHASE: &str = "watch";

/// How long "forever" is: longer than any process lives, short enough for `Instant` sums.
pub const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// What `watch` takes from its flags.
#[derive(Debug, Clone)]
pub struct WatchOverrides {
    /// Profile, `--target`, `--query-url` and `--isolation`, as `run` takes them.
    pub run: Overrides,
    /// Length of a verification window.
    pub window: Duration,
    /// Stop after this long; `None` watches until Ctrl-C or SIGTERM.
    pub duration: Option<Duration>,
    /// Where `/metrics` is served (port 0 picks a free one).
    pub metrics_addr: SocketAddr,
}

/// A validated watch.
#[derive(Debug, Clone)]
pub struct WatchPlan {
    /// The sentinel, its checks and its target; one phase named `watch`.
    pub run: RunPlan,
    /// Length of a verification window.
    pub window: Duration,
    /// Stop after this long; `None` until stopped.
    pub duration: Option<Duration>,
    /// Where `/metrics` is served.
    pub metrics_addr: SocketAddr,
    /// This process's start, unix ns, mixed into the seed.
    pub epoch_unix_ns: u64,
}

/// Reads the profile and applies the flags.
pub fn watch_plan(o: &WatchOverrides) -> Result<WatchPlan, UsageError> {
    if o.window.is_zero() {
        return Err(UsageError::new("--window must be positive (e.g. 60s)"));
    }
    if o.duration.is_some_and(|d| d.is_zero()) {
        return Err(UsageError::new("--duration must be positive (e.g. 10m)"));
    }
    let mut run = run_plan(&o.run)?;
    let epoch_unix_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    run.seed = fresh_seed(run.seed, epoch_unix_ns);
    run.phases = vec![Phase {
        name: WATCH_PHASE.into(),
        kind: PhaseKind::Baseline,
        duration: o.duration.unwrap_or(FOREVER),
        load_rate: None,
    }];
    Ok(WatchPlan {
        run,
        window: o.window,
        duration: o.duration,
        metrics_addr: o.metrics_addr,
        epoch_unix_ns,
    })
}

/// The seed of one process: the profile's (or a random) seed mixed with the process's epoch.
pub fn fresh_seed(seed: u64, epoch_unix_ns: u64) -> u64 {
    mix64(seed ^ mix64(epoch_unix_ns))
}
