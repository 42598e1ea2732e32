//! The phase walker: runs the plan's phases in order, with the load engine beside the sentinel
//! in load phases. A [`Conductor`] decides, phase by phase, whether to go on and at what load
//! rate, and may ask for the evidence gathered so far after a phase — which is how `capacity`
//! steps its load up and stops at the first step that degrades, while `run` walks a fixed list.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::evidence::{self, PhaseEvidence};
use crate::config::run::Phase;
use crate::engine::{Anchor, LoadOutcome, LoadPlan, RateProfile, Tick, run_load_from};
use crate::progress::Progress;
use crate::sentinel::ledger::Found;
use crate::sentinel::sender::SentinelCtx;
use crate::sentinel::webhook::WebhookReceiver;
use crate::transport::Target;
use crate::verify::backend::Backend;
use crate::verify::status::{Millis, PhaseKind};

/// What one phase measured.
#[derive(Debug, Clone)]
pub struct PhaseOutcome {
    /// The load engine's outcome, for load phases.
    pub load: Option<LoadOutcome>,
    /// Why the load engine could not run, for load phases.
    pub load_error: Option<String>,
    /// The rate the load was asked for, for load phases (the profile's, or a capacity step's).
    pub offered: Option<RateProfile>,
    /// The sentinel's evidence.
    pub sentinel: PhaseEvidence,
    /// Whether the phase ran to its end (false when the run was stopped).
    pub completed: bool,
}

/// What a conductor says before a phase.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Run the phase; with this load rate beside the sentinel (`None`: the sentinel alone).
    Run(Option<RateProfile>),
    /// End the walk: this phase and the later ones are not run.
    Stop,
}

/// Decides the walk as it goes.
pub trait Conductor: Send {
    /// Before phase `index`: whether to run it, and with which load.
    fn next(&mut self, index: usize, phase: &Phase) -> Next;

    /// Whether the walker should gather the evidence of the phases before `index` while phase
    /// `index` runs (once their traces are decided), so judging them does not delay the phases
    /// after it.
    fn wants_evidence(&self, _index: usize) -> bool {
        false
    }

    /// What went wrong while gathering the evidence during `phase` (queries the target did not
    /// answer); called before [`Conductor::after`].
    fn warnings(&mut self, _phase: &Phase, _warnings: Vec<String>) {}

    /// After phase `index`: its outcome and, when asked for, the evidence of every phase so far.
    fn after(
        &mut self,
        _index: usize,
        _outcome: &PhaseOutcome,
        _evidence: Option<&[PhaseEvidence]>,
    ) {
    }
}

/// The conductor of `run`: every phase, the load in load phases at `[load].rate` (or the
/// phase's own rate).
#[derive(Debug, Clone)]
pub struct FixedPhases {
    /// The rate of load phases without their own.
    pub rate: RateProfile,
}

impl Conductor for FixedPhases {
    fn next(&mut self, _index: usize, phase: &Phase) -> Next {
        Next::Run(
            (phase.kind == PhaseKind::Load)
                .then(|| phase.load_rate.clone().unwrap_or_else(|| self.rate.clone())),
        )
    }
}

/// Everything the walker needs besides the conductor.
pub struct Walk<'a> {
    /// The sentinel's shared state.
    pub ctx: &'a Arc<SentinelCtx>,
    /// The run's phases, in order (what each is for and its load's rate).
    pub phases: &'a [Phase],
    /// The unruly load of load phases (its target, duration and rate are set per phase).
    pub load: &'a LoadPlan,
    /// Where the load goes.
    pub target: &'a Target,
    /// Set by Ctrl-C: stop walking.
    pub stop: &'a Arc<AtomicBool>,
    /// The sentinel's webhook.
    pub webhook: &'a WebhookReceiver,
    /// The target's query API (for interim evidence).
    pub query: &'a Backend,
}

impl Walk<'_> {
    /// Walks the phases; returns one outcome per phase of the plan and the offset at which the
    /// last phase run ended.
    pub async fn run(
        &self,
        conductor: &mut dyn Conductor,
        on_progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> (Vec<PhaseOutcome>, Duration) {
        let plan = &self.ctx.plan;
        let mut out = Vec::new();
        let mut walked = Duration::ZERO;
        let mut ended = false;
        for (i, phase) in self.phases.iter().enumerate() {
            let next = if ended || self.stop.load(Ordering::Relaxed) {
                Next::Stop
            } else {
                conductor.next(i, phase)
            };
            let Next::Run(rate) = next else {
                ended = true;
                out.push(not_run());
                continue;
            };
            let (outcome, evidence) = if conductor.wants_evidence(i) {
                let end = self.ctx.anchor.instant + plan.phase_start(i) + phase.duration;
                let (outcome, (evidence, warnings)) =
                    tokio::join!(self.phase(i, rate, on_progress), self.interim(i, end));
                conductor.warnings(phase, warnings);
                let completed = outcome.completed;
                (outcome, completed.then_some(evidence))
            } else {
                (self.phase(i, rate, on_progress).await, None)
            };
            walked = plan.phase_start(i) + phase.duration;
            conductor.after(i, &outcome, evidence.as_deref());
            out.push(outcome);
        }
        (out, walked)
    }

    /// Runs phase `i`, with the load engine at `rate` beside the sentinel when given.
    async fn phase(
        &self,
        i: usize,
        rate: Option<RateProfile>,
        on_progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> PhaseOutcome {
        let (ctx, plan) = (self.ctx, &self.ctx.plan);
        let phase = &plan.phases[i];
        let start = ctx.anchor.instant + plan.phase_start(i);
        let end = start + phase.duration;
        let (seconds_tx, mut seconds) = tokio::sync::mpsc::unbounded_channel();
        let load_start = Instant::now();
        let offered = rate.clone();
        let load = rate.map(|rate| {
            let load_plan = phase_load(self.load, self.target, rate, phase.duration);
            let anchor = phase_anchor(ctx.anchor, plan.phase_start(i));
            let stop = self.stop.clone();
            tokio::task::spawn_blocking(move || {
                run_load_from(&load_plan, anchor, stop, |tick| {
                    let _ = seconds_tx.send(LoadSecond::of(tick));
                })
            })
        });
        let mut last = Instant::now();
        let mut second = LoadSecond::default();
        while Instant::now() < end && !self.stop.load(Ordering::Relaxed) {
            let wait = (end - Instant::now()).min(Duration::from_secs(1));
            if load.is_some() {
                // A load second is shown once the engine has measured it, so every sample
                // describes the second before it (the first one included).
                let grace = wait + Duration::from_millis(500);
                if let Ok(Some(s)) = tokio::time::timeout(grace, seconds.recv()).await {
                    second = s;
                }
            } else {
                tokio::time::sleep(wait).await;
            }
            let now = Instant::now();
            let offered_rate = match &offered {
                None => Some(0.0),
                Some(r) => offered_between(r, last - load_start, now - load_start)
                    .map(|rate| rate * self.load.segment.segment.share()),
            };
            if let Some(wait) = self.query.last_queue_wait().await {
                let max = &mut ctx.ledger().queue_wait_max[i];
                *max = Some(max.map_or(wait, |m| m.max(wait)));
            }
            let mut p = progress(ctx, i, start, (last, now), self.webhook);
            p.offered_rate = offered_rate;
            p.load_rate = second.rate;
            p.lag_p99_ms = second.lag_p99_ms;
            on_progress(&p);
            last = now;
        }
        let (load, load_error) = match load {
            Some(handle) => match handle.await {
                Ok(Ok(outcome)) => (Some(outcome), None),
                Ok(Err(e)) => (None, Some(e.to_string())),
                Err(e) => (None, Some(format!("the load engine panicked: {e}"))),
            },
            None => (None, None),
        };
        PhaseOutcome {
            load,
            load_error,
            offered,
            sentinel: PhaseEvidence::default(),
            completed: Instant::now() >= end,
        }
    }

    /// The evidence of the phases before `phase`, gathered while it runs: once their traces
    /// are decided (bounded by the freshness timeout), and no earlier than shortly before
    /// `end`, so alerts have as long as possible to clear; plus the warnings of the queries.
    async fn interim(&self, phase: usize, end: Instant) -> (Vec<PhaseEvidence>, Vec<String>) {
        let ctx = self.ctx;
        let deadline = Instant::now() + ctx.plan.sentinel.freshness_timeout;
        while Instant::now() < deadline && !self.stop.load(Ordering::Relaxed) {
            let waiting = ctx
                .ledger()
                .traces
                .iter()
                .any(|r| r.phase < phase && r.must_assemble && r.found == Found::Waiting);
            if !waiting {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let look_at = end.checked_sub(LOOK_BEFORE_END).unwrap_or(end);
        while Instant::now() < look_at && !self.stop.load(Ordering::Relaxed) {
            let nap = (look_at - Instant::now()).min(Duration::from_millis(100));
            tokio::time::sleep(nap).await;
        }
        let mut warnings = Vec::new();
        let view = evidence::look(ctx, self.query, self.webhook, &mut warnings).await;
        (evidence::collect(ctx, &view), warnings)
    }
}

/// How long before the end of a phase the interim evidence is read: the time its queries may
/// take without delaying the next phase.
const LOOK_BEFORE_END: Duration = Duration::from_millis(500);

/// The load of one phase: `rate` for `duration`, to `target`.
pub fn phase_load(
    load: &LoadPlan,
    target: &Target,
    rate: RateProfile,
    duration: Duration,
) -> LoadPlan {
    let mut plan = load.clone();
    plan.target = target.clone();
    plan.duration = duration;
    plan.rate = rate;
    plan
}

/// The anchor of a phase that starts `offset` after the run's: the load of every segment of a
/// test paces and stamps the phase's batches from the same instant, however late its engine
/// started.
pub fn phase_anchor(run: Anchor, offset: Duration) -> Anchor {
    Anchor {
        instant: run.instant + offset,
        start_unix_ns: run.start_unix_ns + offset.as_nanos() as u64,
    }
}

/// The outcome of a phase that did not run.
pub fn not_run() -> PhaseOutcome {
    PhaseOutcome {
        load: None,
        load_error: None,
        offered: None,
        sentinel: PhaseEvidence::default(),
        completed: false,
    }
}

/// What the load engine measured in its last tick.
#[derive(Debug, Clone, Copy, Default)]
struct LoadSecond {
    /// Spans sent per second.
    rate: f64,
    /// p99 schedule lag, ms.
    lag_p99_ms: Option<f64>,
}

impl LoadSecond {
    fn of(tick: &Tick<'_>) -> Self {
        let lag = &tick.last.lag_us;
        Self {
            rate: tick.last.total().sent as f64 / tick.last_len.as_secs_f64().max(1e-9),
            lag_p99_ms: (!lag.is_empty()).then(|| lag.value_at_quantile(0.99) as f64 / 1e3),
        }
    }
}

/// The rate `profile` offered between two offsets from the load's start; `None` for `max`.
pub fn offered_between(profile: &RateProfile, from: Duration, to: Duration) -> Option<f64> {
    let (a, b) = (from.as_secs_f64(), to.as_secs_f64());
    let spans = profile.cumulative(b)? - profile.cumulative(a)?;
    Some(if b > a { spans / (b - a) } else { 0.0 })
}

/// The sentinel's side of a progress report (the load's fields are left at zero): counts so
/// far, and the freshness of the traces found within `second` — one pass over the ledger.
fn progress(
    ctx: &SentinelCtx,
    phase: usize,
    start: Instant,
    second: (Instant, Instant),
    webhook: &WebhookReceiver,
) -> Progress {
    let ledger = ctx.ledger();
    let (mut expected, mut verified, mut missing) = (0, 0, 0);
    let mut fresh = Vec::new();
    for r in &ledger.traces {
        expected += u64::from(r.must_assemble);
        let after = match &r.found {
            Found::Verified(after) => {
                verified += 1;
                Some(*after)
            }
            Found::Incorrect { after, .. } => Some(*after),
            Found::Missing => {
                missing += 1;
                None
            }
            Found::Waiting => None,
        };
        if let Some(after) = after.filter(|a| {
            let found = r.intended + *a;
            second.0 < found && found <= second.1
        }) {
            fresh.push(after);
        }
    }
    Progress {
        phase: ctx.plan.phases[phase].name.clone(),
        index: phase,
        t: ctx.anchor.instant.elapsed(),
        elapsed: start.elapsed(),
        length: ctx.plan.phases[phase].duration,
        sent: ledger.traces.len() as u64,
        expected,
        verified,
        missing,
        offered_rate: None,
        load_rate: 0.0,
        lag_p99_ms: None,
        freshness_p99_ms: Millis::of(&fresh).map(|m| m.p99),
        alert: webhook
            .received()
            .last()
            .map_or("ok".into(), |n| n.state.clone()),
    }
}
