//! The plan of a capacity search: the `[capacity]` profile section and its flags → a `RunPlan`
//! whose phases are warmup, baseline, `settle-0` (sentinel alone while the baseline's traces are
//! decided and judged), then pairs of (`step-k`: sentinel plus load, `settle-k`: sentinel alone
//! while step k's traces are decided and judged), as many pairs as fit in the time limit. Each
//! judgement happens within its settle phase, so the next step starts on time and sends its
//! load for its whole `step`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Overrides;
use super::run::{Phase, RunPlan, build};
use crate::config::load::field_error;
use crate::config::{Profile, ProfileSource};
use crate::error::UsageError;
use crate::sentinel::errors::BurstSchedule;
use crate::units::duration as dur;
use crate::verify::status::PhaseKind;

/// The `[capacity]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CapacitySection {
    /// `search` (the default: grow, confirm, bisect, deciding each step from the last) or
    /// `staircase` (the fixed steps start, start×growth (or +increment), … up to the maximum,
    /// each run to its end whatever the previous one showed: what segments can share).
    pub plan: PlanKind,
    /// Offered load of the first step, spans per second.
    #[serde(deserialize_with = "crate::units::rate::de")]
    pub start_spans_per_sec: f64,
    /// Each step multiplies the rate by this (> 1) — unless `increment` is set.
    pub growth: f64,
    /// Each step adds this many spans per second instead (0: multiply by `growth`).
    #[serde(deserialize_with = "crate::units::rate::de")]
    pub increment: f64,
    /// The highest rate tried; a search that holds there reports "at least this".
    #[serde(deserialize_with = "crate::units::rate::de")]
    pub max_spans_per_sec: f64,
    /// How long each step's load runs.
    #[serde(with = "dur")]
    pub step: Duration,
    /// Sentinel alone after each step, while that step's traces are decided (at least the
    /// sentinel's `settle` + `freshness_timeout` is best).
    #[serde(with = "dur")]
    pub settle: Duration,
    /// Unverified warm-up before the baseline.
    #[serde(with = "dur")]
    pub warmup: Duration,
    /// The sentinel alone: the reference every step is judged against.
    #[serde(with = "dur")]
    pub baseline: Duration,
    /// Bisection steps between the last good and the first bad rate (0: none).
    pub bisect: u32,
    /// A step that achieved less than this fraction of its offered rate was limited by the
    /// generator, not the target.
    pub generator_limit: f64,
    /// The whole search, drain included, ends within this.
    #[serde(with = "dur")]
    pub time_limit: Duration,
    /// A step whose load the target refused (rejected) or left unanswered (failed) for more
    /// than this share of the spans sent gives way (pseudo-check `load_refused`): a target that
    /// refuses load quickly does not sustain it.
    pub refused_limit: f64,
}

impl Default for CapacitySection {
    fn default() -> Self {
        Self {
            plan: PlanKind::Search,
            start_spans_per_sec: 100_000.0,
            growth: 2.0,
            increment: 0.0,
            max_spans_per_sec: 10_000_000.0,
            step: Duration::from_secs(8),
            settle: Duration::from_secs(5),
            warmup: Duration::from_secs(3),
            baseline: Duration::from_secs(14),
            bisect: 2,
            generator_limit: 0.9,
            time_limit: Duration::from_secs(180),
            refused_limit: 0.001,
        }
    }
}

/// How a capacity test chooses its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// Each step's rate decided from the previous step's evidence.
    #[default]
    Search,
    /// Fixed steps known before the run, every one run to its end.
    Staircase,
}

impl<'de> Deserialize<'de> for PlanKind {
    /// Names the field in the error, whatever wrong value it holds.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "search" => Ok(Self::Search),
            "staircase" => Ok(Self::Staircase),
            other => Err(serde::de::Error::custom(format!(
                "`plan` is {other:?}: must be \"search\" or \"staircase\""
            ))),
        }
    }
}

/// How the search moves between rates.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSettings {
    /// The steps' rates when the plan is a staircase (`None`: the adaptive search).
    pub staircase: Option<Vec<f64>>,
    /// This process's share of the load (1 without segments).
    pub share: f64,
    /// First rate.
    pub start: f64,
    /// How the rate grows after a good step.
    pub growth: Growth,
    /// Highest rate.
    pub max: f64,
    /// Bisection steps.
    pub bisect: u32,
    /// Fraction of the offered rate below which the generator was the limit.
    pub generator_limit: f64,
    /// Steps that fit in the time limit.
    pub max_steps: usize,
    /// The time limit.
    pub time_limit: Duration,
    /// Share of a step's spans refused or unanswered above which the step gives way.
    pub refused_limit: f64,
}

/// How the rate grows after a good step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Growth {
    /// Multiply by this.
    Factor(f64),
    /// Add this.
    Increment(f64),
}

impl SearchSettings {
    /// The rate after a good step at `rate`, capped at the maximum.
    pub fn grow(&self, rate: f64) -> f64 {
        let next = match self.growth {
            Growth::Factor(f) => rate * f,
            Growth::Increment(i) => rate + i,
        };
        next.min(self.max)
    }

    /// The staircase's rates: start, then grown until the maximum (the last step is the
    /// maximum itself).
    pub fn steps(&self) -> Vec<f64> {
        let mut out = vec![self.start];
        while *out.last().unwrap_or(&self.max) < self.max {
            let next = self.grow(*out.last().unwrap_or(&self.max));
            out.push(next);
        }
        out
    }
}

/// A validated capacity search.
#[derive(Debug, Clone)]
pub struct CapacityPlan {
    /// The run it walks (phases laid out as above).
    pub run: RunPlan,
    /// How it moves between rates.
    pub search: SearchSettings,
    /// `search` or `staircase`.
    pub kind: PlanKind,
}

/// Flags of `capacity` that override the profile.
#[derive(Debug, Clone, Default)]
pub struct CapacityOverrides {
    /// What `run` takes too.
    pub run: Overrides,
    /// `--start`.
    pub start: Option<f64>,
    /// `--growth`.
    pub growth: Option<f64>,
    /// `--increment`.
    pub increment: Option<f64>,
    /// `--step`.
    pub step: Option<Duration>,
    /// `--max`.
    pub max: Option<f64>,
}

/// Index of the phase of step `k` (0-based); its settle phase follows it.
pub fn step_phase(k: usize) -> usize {
    3 + 2 * k
}

/// Reads the profile, applies the flags and lays the steps out.
pub fn capacity_plan(o: &CapacityOverrides) -> Result<CapacityPlan, UsageError> {
    let (mut profile, source) = Profile::read(o.run.profile.as_deref())?;
    let c = &mut profile.capacity;
    c.start_spans_per_sec = o.start.unwrap_or(c.start_spans_per_sec);
    c.growth = o.growth.unwrap_or(c.growth);
    c.increment = o.increment.unwrap_or(c.increment);
    c.step = o.step.unwrap_or(c.step);
    c.max_spans_per_sec = o.max.unwrap_or(c.max_spans_per_sec);
    let c = c.clone();
    let mut settings = validate(&c, &profile, source.as_ref())?;
    let period = c.step + c.settle;
    profile.sentinel.bursts = bursts(&c, period);
    let mut run = build(profile, source.as_ref(), &o.run)?;
    let segmented = !run.load.segment.segment.is_whole();
    if segmented && settings.staircase.is_none() {
        return Err(field_error(
            source.as_ref(),
            "capacity.plan",
            "is \"search\", which decides each step from the previous one's evidence: segments \
             cannot share that decision; use plan = \"staircase\" with --segment",
        ));
    }
    settings.share = run.load.segment.segment.share();
    run.phases = phases(&c, settings.max_steps, settings.staircase.as_deref());
    Ok(CapacityPlan {
        run,
        kind: c.plan,
        search: settings,
    })
}

fn validate(
    c: &CapacitySection,
    p: &Profile,
    source: Option<&ProfileSource>,
) -> Result<SearchSettings, UsageError> {
    let bad = |field: &str, msg: &str| Err(field_error(source, &format!("capacity.{field}"), msg));
    let growth = validate_rates(c)
        .map_err(|(field, msg)| field_error(source, &format!("capacity.{field}"), msg))?;
    let fixed = c.warmup + c.baseline + c.settle + drain_allowance(p);
    let per_step = c.step + c.settle;
    let room = c.time_limit.saturating_sub(fixed);
    let max_steps = (room.as_secs_f64() / per_step.as_secs_f64()).floor() as usize;
    let staircase = (c.plan == PlanKind::Staircase).then(|| {
        let s = SearchSettings {
            staircase: None,
            share: 1.0,
            start: c.start_spans_per_sec,
            growth,
            max: c.max_spans_per_sec,
            bisect: 0,
            generator_limit: c.generator_limit,
            max_steps,
            time_limit: c.time_limit,
            refused_limit: c.refused_limit,
        };
        s.steps()
    });
    if let Some(steps) = staircase.as_ref().filter(|s| s.len() > max_steps) {
        return bad(
            "time_limit",
            &format!(
                "leaves room for {max_steps} steps, but the staircase from start_spans_per_sec \
                 to max_spans_per_sec has {}: raise time_limit or max_spans_per_sec, or shorten step",
                steps.len()
            ),
        );
    }
    if max_steps == 0 {
        return bad(
            "time_limit",
            &format!(
                "leaves no room for a step: warmup + baseline + drain take {fixed:?}, a step {per_step:?}"
            ),
        );
    }
    let max_steps = staircase.as_ref().map_or(max_steps, Vec::len);
    Ok(SearchSettings {
        staircase,
        share: 1.0,
        start: c.start_spans_per_sec,
        growth,
        max: c.max_spans_per_sec,
        bisect: c.bisect,
        generator_limit: c.generator_limit,
        max_steps,
        time_limit: c.time_limit,
        refused_limit: c.refused_limit,
    })
}

/// Checks the rates, the growth and the limits of `[capacity]`; returns the growth, or the
/// field (under `capacity.`) and what is wrong with it.
fn validate_rates(c: &CapacitySection) -> Result<Growth, (&'static str, &'static str)> {
    let rate_ok = |v: f64| v.is_finite() && v > 0.0;
    if !rate_ok(c.start_spans_per_sec) {
        return Err(("start_spans_per_sec", "must be positive (or use --start)"));
    }
    if !(c.max_spans_per_sec >= c.start_spans_per_sec && c.max_spans_per_sec.is_finite()) {
        return Err((
            "max_spans_per_sec",
            "must be at least the start rate (or use --max)",
        ));
    }
    let growth = if c.increment > 0.0 && c.increment.is_finite() {
        Growth::Increment(c.increment)
    } else if c.growth > 1.0 && c.growth.is_finite() && c.increment == 0.0 {
        Growth::Factor(c.growth)
    } else {
        return Err((
            "growth",
            "must be above 1 (flag --growth), or set a positive `increment` (flag --increment)",
        ));
    };
    if c.step.is_zero() || c.baseline.is_zero() {
        return Err(("step", "`step` and `baseline` must be positive"));
    }
    if !(c.generator_limit > 0.0 && c.generator_limit <= 1.0) {
        return Err(("generator_limit", "must lie in (0, 1]"));
    }
    if !(c.refused_limit >= 0.0 && c.refused_limit < 1.0) {
        return Err(("refused_limit", "must lie in [0, 1)"));
    }
    Ok(growth)
}

/// Time after the last step for the final drain and look (the sentinel's freshness timeout
/// plus a margin).
fn drain_allowance(p: &Profile) -> Duration {
    p.sentinel.freshness_timeout + p.sentinel.settle + Duration::from_secs(2)
}

/// One error burst per step, starting 1 s into it, and one early in the baseline when it is long
/// enough: every step's alert checks have a burst to judge.
fn bursts(c: &CapacitySection, period: Duration) -> BurstSchedule {
    let burst = (c.step / 3).min(Duration::from_millis(2500));
    let first_step = c.warmup + c.baseline + c.settle + Duration::from_secs(1);
    let mut offset = first_step;
    while offset >= c.warmup + period {
        offset -= period;
    }
    BurstSchedule {
        offset,
        period,
        burst,
    }
}

/// The phases; a staircase's step phases carry their rate, so that a segment without the
/// sentinel walks the same steps.
fn phases(c: &CapacitySection, steps: usize, staircase: Option<&[f64]>) -> Vec<Phase> {
    let p = |name: String, kind, duration| Phase {
        name,
        kind,
        duration,
        load_rate: None,
    };
    let mut out = vec![
        p("warmup".into(), PhaseKind::Warmup, c.warmup),
        p("baseline".into(), PhaseKind::Baseline, c.baseline),
        p("settle-0".into(), PhaseKind::Warmup, c.settle),
    ];
    for k in 1..=steps {
        let mut step = p(format!("step-{k}"), PhaseKind::Load, c.step);
        step.load_rate = staircase
            .and_then(|s| s.get(k - 1))
            .map(|&r| crate::engine::RateProfile::Constant { spans_per_sec: r });
        out.push(step);
        out.push(p(format!("settle-{k}"), PhaseKind::Warmup, c.settle));
    }
    out
}
