//! The phase walker: runs the plan's phases in order, with the load engine beside the sentinel
//! in load phases. A [`Conductor`] decides, phase by phase, whether to go on and at what load
//! rate, and may ask for the evidence gathered so far after a phase — which is how `capacity`
//! steps its load up and stops at the first step that degrades, while `run` walks a fixed list.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::evidence::{self, PhaseEvidence};
use super::execute::PhaseOutcome;
use crate::config::run::Phase;
use crate::engine::{LoadPlan, RateProfile, run_load};
use crate::progress::Progress;
use crate::sentinel::ledger::Found;
use crate::sentinel::sender::SentinelCtx;
use crate::sentinel::webhook::WebhookReceiver;
use crate::transport::Target;
use crate::verify::api::QueryClient;
use crate::verify::status::{Millis, PhaseKind};

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

    /// Whether the walker should gather the evidence so far once phase `index` has ended (the
    /// walker first waits until the traces sent so far are decided).
    fn wants_evidence(&self, _index: usize) -> bool {
        false
    }

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
    /// The unruly load of load phases (its target, duration and rate are set per phase).
    pub load: &'a LoadPlan,
    /// Where the load goes.
    pub target: &'a Target,
    /// Set by Ctrl-C: stop walking.
    pub stop: &'a Arc<AtomicBool>,
    /// The sentinel's webhook.
    pub webhook: &'a WebhookReceiver,
    /// The target's query API (for interim evidence).
    pub query: &'a QueryClient,
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
        for (i, phase) in plan.phases.iter().enumerate() {
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
            let outcome = self.phase(i, rate, on_progress).await;
            walked = plan.phase_start(i) + phase.duration;
            let evidence = if conductor.wants_evidence(i) && outcome.completed {
                Some(self.interim().await)
            } else {
                None
            };
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
        let last_rate = Arc::new(Mutex::new(LoadSecond::default()));
        let load_start = Instant::now();
        let offered = rate.clone();
        let load = rate.map(|rate| {
            let mut load_plan = self.load.clone();
            load_plan.target = self.target.clone();
            load_plan.duration = end.saturating_duration_since(Instant::now());
            load_plan.rate = rate;
            let (stop, last_rate) = (self.stop.clone(), last_rate.clone());
            tokio::task::spawn_blocking(move || {
                run_load(&load_plan, stop, |tick| {
                    let rate =
                        tick.last.total().sent as f64 / tick.last_len.as_secs_f64().max(1e-9);
                    let lag = &tick.last.lag_us;
                    let lag_p99_ms =
                        (!lag.is_empty()).then(|| lag.value_at_quantile(0.99) as f64 / 1e3);
                    *last_rate.lock().unwrap_or_else(|e| e.into_inner()) =
                        LoadSecond { rate, lag_p99_ms };
                })
            })
        });
        let mut last = Instant::now();
        while Instant::now() < end && !self.stop.load(Ordering::Relaxed) {
            let wait = (end - Instant::now()).min(Duration::from_secs(1));
            tokio::time::sleep(wait).await;
            let now = Instant::now();
            let second = *last_rate.lock().unwrap_or_else(|e| e.into_inner());
            let offered_rate = match &offered {
                None => Some(0.0),
                Some(r) => offered_between(r, last - load_start, now - load_start),
            };
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
            sentinel: PhaseEvidence::default(),
            completed: Instant::now() >= end,
        }
    }

    /// The evidence so far, once every trace sent so far is decided (bounded by the freshness
    /// timeout).
    async fn interim(&self) -> Vec<PhaseEvidence> {
        let ctx = self.ctx;
        let deadline = Instant::now() + ctx.plan.sentinel.freshness_timeout;
        while Instant::now() < deadline && !self.stop.load(Ordering::Relaxed) {
            let waiting = ctx
                .ledger()
                .traces
                .iter()
                .any(|r| r.must_assemble && r.found == Found::Waiting);
            if !waiting {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut warnings = Vec::new();
        let view = evidence::look(ctx, self.query, self.webhook, &mut warnings).await;
        evidence::collect(ctx, &view)
    }
}

fn not_run() -> PhaseOutcome {
    PhaseOutcome {
        load: None,
        load_error: None,
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

/// The rate `profile` offered between two offsets from the load's start; `None` for `max`.
fn offered_between(profile: &RateProfile, from: Duration, to: Duration) -> Option<f64> {
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
