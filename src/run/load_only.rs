//! A segment of a split test that does not run the sentinel: it walks the same phases on the
//! same clock and sends its share of the load in the load phases, so the sentinel's segment has
//! the whole load beside it. It observes nothing of the sentinel, so it judges no check: its
//! verdict is `inconclusive` and its report says where the sentinel ran.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::evidence::PhaseEvidence;
use super::execute::{RunOutcome, phases_anchor};
use super::timeline::{Sample, Timeline};
use super::walk::PhaseOutcome;
use super::walk::{not_run, offered_between, phase_anchor, phase_load};
use crate::config::run::{RunPlan, TargetPlan};
use crate::engine::{RateProfile, Tick, run_load_from};
use crate::verify::status::{PhaseKind, Status};

/// Walks `plan`'s phases with load only (until `stop`).
pub fn execute_load_only(plan: RunPlan, stop: Arc<AtomicBool>) -> anyhow::Result<RunOutcome> {
    let TargetPlan::External { target, .. } = &plan.target else {
        anyhow::bail!("a load-only segment needs an external target");
    };
    let target = target.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (anchor, start) = runtime.block_on(phases_anchor(&plan, &stop));
    let mut phases = Vec::with_capacity(plan.phases.len());
    let mut samples = Vec::new();
    for (i, phase) in plan.phases.iter().enumerate() {
        let offset = plan.phase_start(i);
        if !sleep_until(anchor.instant + offset, &stop) {
            phases.push(not_run());
            continue;
        }
        let rate = (phase.kind == PhaseKind::Load).then(|| {
            phase
                .load_rate
                .clone()
                .unwrap_or_else(|| plan.load.rate.clone())
        });
        let load = rate.clone().map(|rate| {
            let profile = rate.clone();
            let load = phase_load(&plan.load, &target, rate, phase.duration);
            let share = plan.load.segment.segment.share();
            run_load_from(&load, phase_anchor(anchor, offset), stop.clone(), |tick| {
                samples.push(second(&phase.name, offset, tick, &profile, share));
            })
        });
        let end = anchor.instant + offset + phase.duration;
        sleep_until(end, &stop);
        let (load, load_error) = match load {
            Some(Ok(outcome)) => (Some(outcome), None),
            Some(Err(e)) => (None, Some(e.to_string())),
            None => (None, None),
        };
        phases.push(PhaseOutcome {
            load,
            load_error,
            offered: rate,
            sentinel: PhaseEvidence::default(),
            completed: Instant::now() >= end,
        });
    }
    let mut outcome = outcome(plan, target.to_string(), phases, start);
    outcome.timeline.samples = samples;
    Ok(outcome)
}

/// One second of this segment's load, on the common clock (seconds since the run's start),
/// so that `merge` adds the segments' timelines second by second.
fn second(
    phase: &str,
    offset: Duration,
    tick: &Tick<'_>,
    rate: &RateProfile,
    share: f64,
) -> Sample {
    let len = tick.last_len.as_secs_f64().max(1e-9);
    let start = tick.elapsed.saturating_sub(tick.last_len);
    let lag = &tick.last.lag_us;
    Sample {
        t_s: (offset + tick.elapsed).as_secs_f64(),
        phase: phase.to_owned(),
        offered_spans_per_sec: offered_between(rate, start, tick.elapsed).map(|r| r * share),
        achieved_spans_per_sec: tick.last.total().sent as f64 / len,
        lag_p99_ms: (!lag.is_empty()).then(|| lag.value_at_quantile(0.99) as f64 / 1e3),
        freshness_p99_ms: None,
        traces_expected: 0,
        traces_verified: 0,
        traces_missing: 0,
        alert_firing: false,
    }
}

fn outcome(
    plan: RunPlan,
    target: String,
    phases: Vec<PhaseOutcome>,
    start: Option<crate::engine::start::Start>,
) -> RunOutcome {
    let warning = format!(
        "the sentinel ran in segment {} of {}: this segment (index {}) sent its share of the \
         load only and judged no check; the verdict is that segment's",
        plan.sentinel_segment, plan.load.segment.count, plan.load.segment.index
    );
    RunOutcome {
        plan: Arc::new(plan),
        target,
        phases,
        checks: Vec::new(),
        timeline: Timeline::default(),
        verdict: Status::Inconclusive,
        warnings: vec![warning],
        start,
        backends: Vec::new(),
    }
}

/// The outcome a segment of a split test reports before it starts: no phase finished, no
/// check judged. A segment writes it first, so that one killed before its end (SIGKILL leaves no
/// chance to write) leaves a report `merge` reads as unfinished, naming it, not a missing file.
pub fn unfinished(plan: &RunPlan) -> RunOutcome {
    let phases = plan.phases.iter().map(|_| not_run()).collect();
    RunOutcome {
        plan: Arc::new(plan.clone()),
        target: match &plan.target {
            TargetPlan::External { target, .. } => target.to_string(),
            TargetPlan::Embedded(_) => "embedded".into(),
        },
        phases,
        checks: Vec::new(),
        timeline: Timeline::default(),
        verdict: Status::Inconclusive,
        warnings: vec![format!(
            "segment {} of {} did not finish: this is the report it wrote when it started",
            plan.load.segment.index, plan.load.segment.count
        )],
        start: None,
        backends: Vec::new(),
    }
}

/// Sleeps until `until` in steps of at most 100 ms; `false` when stopped first.
fn sleep_until(until: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(100)));
    }
}
