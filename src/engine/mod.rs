//! The load engine: N share-nothing worker threads, each with an open-loop pacer, template
//! encoders and its own connections, whose measurements are merged once per second.

pub mod pacer;
pub mod stats;
pub mod worker;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam::channel;

pub use pacer::{RateProfile, RateStep};
pub use stats::{Counts, Interval};

use crate::error::UnreachableError;
use crate::model::StreamModel;
use crate::transport::{Target, TransportOptions};

/// A validated load: everything the engine needs, immutable while it runs.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Worker threads.
    pub threads: usize,
    /// Target spans per request; each stream rounds it to whole traces.
    pub batch_spans: usize,
    /// How the offered rate varies.
    pub rate: RateProfile,
    /// How long batches are scheduled.
    pub duration: Duration,
    /// The streams, compiled.
    pub streams: Vec<StreamModel>,
    /// Where spans go.
    pub target: Target,
    /// How they get there.
    pub transport: TransportOptions,
}

impl LoadPlan {
    /// Average offered rate in spans per second; `None` for `max`.
    pub fn offered_spans_per_sec(&self) -> Option<f64> {
        self.rate.mean_rate(self.duration)
    }
}

/// The same instant on the monotonic and the wall clock, so intended send times (monotonic) can
/// become span timestamps (unix nanoseconds).
#[derive(Debug, Clone, Copy)]
pub struct Anchor {
    /// Monotonic start.
    pub instant: Instant,
    /// Wall-clock start in nanoseconds since the unix epoch.
    pub start_unix_ns: u64,
}

impl Anchor {
    /// Now.
    pub fn now() -> Self {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            instant: Instant::now(),
            start_unix_ns: unix.as_nanos() as u64,
        }
    }

    /// Unix nanoseconds of a monotonic instant.
    pub fn unix_ns(&self, at: Instant) -> u64 {
        self.start_unix_ns + at.saturating_duration_since(self.instant).as_nanos() as u64
    }
}

/// What workers tell the collector.
#[derive(Debug)]
pub enum WorkerMsg {
    /// One reporting interval of a worker.
    Interval(usize, Interval),
    /// The worker has finished (or could not reach the target).
    Done(usize, Result<(), UnreachableError>),
}

/// Progress once per second while the engine runs.
#[derive(Debug)]
pub struct Tick<'a> {
    /// Time since the start.
    pub elapsed: Duration,
    /// What arrived during the last tick, all workers merged.
    pub last: &'a Interval,
    /// Length of the last tick.
    pub last_len: Duration,
    /// Everything so far.
    pub total: &'a Interval,
}

/// What a whole load run measured.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    /// All workers' intervals merged.
    pub total: Interval,
    /// From the start until every worker finished (including draining in-flight requests).
    pub elapsed: Duration,
    /// From the start until the last batch was scheduled (the sending window).
    pub sending: Duration,
    /// Worker threads that sent.
    pub threads: usize,
}

impl LoadOutcome {
    /// The share of the workers' sending time spent waiting for the target to answer, with
    /// every in-flight slot taken (0 to 1): high when the target's backpressure, not the
    /// generator, held the rate down.
    pub fn waiting_for_acks_share(&self) -> f64 {
        let budget = self.sending.as_secs_f64() * self.threads.max(1) as f64;
        (self.total.waiting_for_acks.as_secs_f64() / budget.max(1e-9)).min(1.0)
    }
}

/// Runs the plan to its end (or until `stop` is set), calling `on_tick` about once per second.
pub fn run_load(
    plan: &LoadPlan,
    stop: Arc<AtomicBool>,
    mut on_tick: impl FnMut(&Tick<'_>),
) -> Result<LoadOutcome, UnreachableError> {
    let (tx, rx) = channel::unbounded();
    let anchor = Anchor::now();
    std::thread::scope(|scope| {
        for index in 0..plan.threads {
            let worker = worker::Worker::new(index, plan, anchor, stop.clone(), tx.clone());
            std::thread::Builder::new()
                .name(format!("load-{index}"))
                .spawn_scoped(scope, move || worker.run())
                .expect("spawn a worker thread");
        }
        drop(tx);
        collect(plan, anchor, rx, &mut on_tick)
    })
}

fn collect(
    plan: &LoadPlan,
    anchor: Anchor,
    rx: channel::Receiver<WorkerMsg>,
    on_tick: &mut impl FnMut(&Tick<'_>),
) -> Result<LoadOutcome, UnreachableError> {
    let streams = plan.streams.len();
    let mut total = Interval::new(streams);
    let mut last = Interval::new(streams);
    let mut last_tick = anchor.instant;
    // Workers flush every second from the anchor; ticking half a second off that grid puts
    // exactly one flush of each worker in every tick. (Ticking 1 s after the previous tick
    // drifted across the flushes and showed alternating 0 and 2x rates.)
    let mut next_tick = anchor.instant + worker::FLUSH_EVERY + worker::FLUSH_EVERY / 2;
    let mut sending = Duration::ZERO;
    let mut failure = None;
    let mut running = plan.threads;
    while running > 0 {
        let msg = rx.recv_timeout(Duration::from_millis(100));
        match msg {
            Ok(WorkerMsg::Interval(_, interval)) => {
                total.merge(&interval);
                last.merge(&interval);
            }
            Ok(WorkerMsg::Done(_, result)) => {
                running -= 1;
                sending = sending.max(anchor.instant.elapsed().min(plan.duration));
                if let Err(e) = result {
                    failure.get_or_insert(e);
                }
            }
            Err(channel::RecvTimeoutError::Timeout) => {}
            Err(channel::RecvTimeoutError::Disconnected) => break,
        }
        let now = std::time::Instant::now();
        if now >= next_tick && running > 0 {
            while next_tick <= now {
                next_tick += worker::FLUSH_EVERY;
            }
            on_tick(&Tick {
                elapsed: now - anchor.instant,
                last: &last,
                last_len: now - last_tick,
                total: &total,
            });
            last = Interval::new(streams);
            last_tick = now;
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(LoadOutcome {
        total,
        elapsed: anchor.instant.elapsed(),
        sending,
        threads: plan.threads,
    })
}
