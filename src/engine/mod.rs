//! The load engine: N share-nothing worker threads, each with an open-loop pacer, template
//! encoders and its own connections, whose measurements are merged once per second.

pub mod pacer;
pub mod schedule;
pub mod segment;
pub mod start;
pub mod stats;
pub mod worker;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam::channel;

pub use pacer::{RateProfile, RateStep};
pub use segment::{Fraction, Segment, SegmentPlace};
pub use stats::{Counts, Interval};

use crate::error::UnreachableError;
use crate::model::StreamModel;
use crate::placement::{self, CpuList};
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
    /// The share of the whole test this process sends (the whole test unless segmented) and
    /// its place among the segments.
    pub segment: SegmentPlace,
    /// Seed of every trace and span ID.
    pub seed: u64,
    /// `sha256:HEX` of what decides the spans of the whole test besides the seed (see
    /// `config::load::test_digest`): segments of one test share it, so `merge` can tell runs apart.
    pub test_digest: String,
    /// `--load-cpus`: the CPUs the worker threads are pinned to (unset: any).
    pub cpus: Option<CpuList>,
}

impl LoadPlan {
    /// Average rate this process offers (its segment's share) in spans per second; `None`
    /// for `max`.
    pub fn offered_spans_per_sec(&self) -> Option<f64> {
        self.rate
            .mean_rate(self.duration)
            .map(|r| r * self.segment.segment.share())
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
    /// What a worker measured during one second of the grid from the anchor (`second` 1 is
    /// the first; a worker's last interval is the part of a second up to its end).
    Interval {
        /// The worker.
        worker: usize,
        /// The second of the grid.
        second: u64,
        /// What it measured.
        interval: Interval,
    },
    /// The worker has finished (or could not reach the target).
    Done {
        /// The worker.
        worker: usize,
        /// Whether it reached the target.
        result: Result<(), UnreachableError>,
        /// How long it sent (the plan's duration unless stopped).
        sending: Duration,
    },
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
    /// The share of the whole test's rate this process offered (1 unless segmented).
    pub share: f64,
    /// Each second of the grid from the anchor, all streams summed: what was sent (and
    /// answered) in it; the last one may be part of a second.
    pub timeline: Vec<Counts>,
    /// Wall-clock start of the grid's first second (the anchor; `--start-at`'s instant when
    /// given), unix nanoseconds.
    pub start_unix_ns: u64,
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

/// Runs the plan from now to its end (or until `stop` is set), calling `on_tick` about once per
/// second.
pub fn run_load(
    plan: &LoadPlan,
    stop: Arc<AtomicBool>,
    on_tick: impl FnMut(&Tick<'_>),
) -> Result<LoadOutcome, UnreachableError> {
    run_load_from(plan, Anchor::now(), stop, on_tick)
}

/// [`run_load`] from `anchor` (a scheduled start, see [`start::wait_for`]).
pub fn run_load_from(
    plan: &LoadPlan,
    anchor: Anchor,
    stop: Arc<AtomicBool>,
    mut on_tick: impl FnMut(&Tick<'_>),
) -> Result<LoadOutcome, UnreachableError> {
    let (tx, rx) = channel::unbounded();
    std::thread::scope(|scope| {
        for index in 0..plan.threads {
            let worker = worker::Worker::new(index, plan, anchor, stop.clone(), tx.clone());
            let cpus = plan.cpus.as_ref();
            std::thread::Builder::new()
                .name(format!("load-{index}"))
                .spawn_scoped(scope, move || {
                    if let Some(cpus) = cpus {
                        // Checked against the machine when the plan was made.
                        placement::pin_current_thread(cpus).expect("pin a worker to --load-cpus");
                    }
                    worker.run()
                })
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
    let mut seconds = Seconds::new(plan.streams.len(), plan.threads);
    let mut sending = Duration::ZERO;
    let mut failure = None;
    while seconds.running() > 0 {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(WorkerMsg::Interval {
                worker,
                second,
                interval,
            }) => seconds.add(worker, second, &interval),
            Ok(WorkerMsg::Done {
                worker,
                result,
                sending: s,
            }) => {
                seconds.done(worker);
                sending = sending.max(s);
                if let Err(e) = result {
                    failure.get_or_insert(e);
                }
            }
            Err(channel::RecvTimeoutError::Timeout) => {}
            Err(channel::RecvTimeoutError::Disconnected) => break,
        }
        seconds.tick_complete(on_tick);
    }
    seconds.tick_rest(sending, on_tick);
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(LoadOutcome {
        total: seconds.total,
        elapsed: anchor.instant.elapsed(),
        sending,
        threads: plan.threads,
        share: plan.segment.segment.share(),
        timeline: seconds.timeline,
        start_unix_ns: anchor.start_unix_ns,
    })
}

/// The workers' intervals sorted into the seconds of the grid: a second is reported once every
/// running worker has handed it over, so each tick holds exactly that second's sends (the first
/// second included), however the flushes of the workers interleave.
struct Seconds {
    total: Interval,
    /// Each reported second's counters, all streams summed.
    timeline: Vec<Counts>,
    /// The seconds not yet reported; the first is `ticked + 1`.
    pending: std::collections::VecDeque<Interval>,
    ticked: u64,
    /// The last second each worker has handed over; `None` once it is done.
    flushed: Vec<Option<u64>>,
    streams: usize,
}

impl Seconds {
    fn new(streams: usize, workers: usize) -> Self {
        Self {
            total: Interval::new(streams),
            timeline: Vec::new(),
            pending: Default::default(),
            ticked: 0,
            flushed: vec![Some(0); workers],
            streams,
        }
    }

    fn running(&self) -> usize {
        self.flushed.iter().flatten().count()
    }

    fn add(&mut self, worker: usize, second: u64, interval: &Interval) {
        self.total.merge(interval);
        // A second already reported (a late worker) goes into the next one.
        let slot = second.saturating_sub(self.ticked + 1) as usize;
        while self.pending.len() <= slot {
            self.pending.push_back(Interval::new(self.streams));
        }
        self.pending[slot].merge(interval);
        if let Some(f) = &mut self.flushed[worker] {
            *f = (*f).max(second);
        }
    }

    fn done(&mut self, worker: usize) {
        self.flushed[worker] = None;
    }

    /// Reports every second that every running worker has handed over.
    fn tick_complete(&mut self, on_tick: &mut impl FnMut(&Tick<'_>)) {
        let Some(complete) = self.flushed.iter().flatten().min().copied() else {
            return;
        };
        while self.ticked < complete {
            let second = self
                .pending
                .pop_front()
                .unwrap_or(Interval::new(self.streams));
            self.ticked += 1;
            self.timeline.push(second.total());
            on_tick(&Tick {
                elapsed: FLUSH * self.ticked as u32,
                last: &second,
                last_len: FLUSH,
                total: &self.total,
            });
        }
    }

    /// Reports what is left once every worker is done: whole seconds, then the part of the
    /// last second up to the end of sending.
    fn tick_rest(&mut self, sending: Duration, on_tick: &mut impl FnMut(&Tick<'_>)) {
        while let Some(second) = self.pending.pop_front() {
            let start = FLUSH * self.ticked as u32;
            self.ticked += 1;
            self.timeline.push(second.total());
            if start >= sending {
                // Answers that came after the sending window: in the timeline, not in progress.
                continue;
            }
            let len = (sending - start).min(FLUSH);
            on_tick(&Tick {
                elapsed: start + len,
                last: &second,
                last_len: len,
                total: &self.total,
            });
        }
    }
}

const FLUSH: Duration = worker::FLUSH_EVERY;
