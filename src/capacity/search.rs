//! The step planner: after each step's evidence is judged against the baseline (with
//! `run::verdict::judge_evidence`, the path `run` judges by, so its integrity rules hold here
//! too), decides the next step — grow the rate, confirm a
//! first degradation once, bisect between the last good and the first bad rate, or stop.
//!
//! A step holds only when every check passes: an `inconclusive` check ends the search with what
//! is known so far, never counts as held. The capacity is the rate the target acknowledged, not
//! the rate sent: a step whose load was refused or left unanswered beyond `refused_limit` gives
//! way as the pseudo-check `load_refused`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::config::capacity::{SearchSettings, step_phase};
use crate::config::run::Phase;
use crate::engine::RateProfile;
use crate::run::evidence::PhaseEvidence;
use crate::run::execute::PhaseOutcome;
use crate::run::verdict;
use crate::run::walk::{Conductor, Next};
use crate::verify::checks::{self, Check, CheckTolerances};
use crate::verify::status::{PhaseKind, Status};

/// Why a step was run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Raising the rate.
    Grow,
    /// Repeating a first degradation.
    Confirm,
    /// Between the last good and the first bad rate.
    Bisect,
    /// A step of a fixed staircase (`plan = "staircase"`), run whatever the previous showed.
    Staircase,
}

/// How one check fared in a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepCheck {
    /// The check (borrowed when judged, owned when read back from a saved report).
    pub name: Cow<'static, str>,
    /// Its status against the baseline.
    pub status: Status,
    /// The value in the step.
    pub observed: Option<f64>,
    /// Why.
    pub evidence: String,
}

/// A step short of its offered rate with workers waiting for answers at least this share of
/// the time was held back by the target.
const BACKPRESSURE_SHARE: f64 = 0.5;

/// Why a step fell short of its offered rate, if it did.
#[derive(Debug, Clone, PartialEq)]
struct Shortfall {
    /// Short on the generator's side: it could not send faster.
    generator_limited: bool,
    /// Short because the target answered too slowly: a pseudo-check that gave way.
    backpressure: Option<StepCheck>,
}

/// Tells a generator short of CPU from a target that slowed its answers until the generator,
/// with every in-flight slot taken, fell short of the offered rate. The first only bounds the
/// capacity from below; the second is the target giving way, and the step says so.
fn shortfall(limit: f64, offered: f64, achieved: f64, waiting: f64) -> Shortfall {
    let short = achieved < limit * offered;
    let backpressure = (short && waiting >= BACKPRESSURE_SHARE).then(|| StepCheck {
        name: "load_backpressure".into(),
        status: Status::Degraded,
        observed: Some(achieved / offered),
        evidence: format!(
            "the target took {} of {} spans/s offered: the load's workers waited for its \
             answers {:.0}% of the time with every in-flight slot taken",
            crate::units::rate::human(achieved),
            crate::units::rate::human(offered),
            waiting * 100.0
        ),
    });
    Shortfall {
        generator_limited: short && backpressure.is_none(),
        backpressure,
    }
}

/// The pseudo-check of a step whose load the target refused (rejected) or left unanswered
/// (failed) for more than `limit` of the spans sent; `None` when it did not.
fn refused(limit: f64, sent: u64, rejected: u64, failed: u64) -> Option<StepCheck> {
    let share = (rejected + failed) as f64 / sent.max(1) as f64;
    (share > limit).then(|| StepCheck {
        name: "load_refused".into(),
        status: Status::Degraded,
        observed: Some(share),
        evidence: format!(
            "the target refused {rejected} and left {failed} unanswered of {sent} load spans \
             ({:.2}% > {:.2}% allowed by refused_limit)",
            share * 100.0,
            limit * 100.0
        ),
    })
}

/// The step of `load` at `offered` spans/s (this process's share of it), with the sentinel's
/// `checks` (empty in a segment without the sentinel) and the load's own pseudo-checks.
pub fn measure(
    settings: &SearchSettings,
    phase: String,
    (offered, purpose): (f64, Purpose),
    load: &crate::engine::LoadOutcome,
    checks: Vec<StepCheck>,
) -> StepResult {
    let t = load.total.total();
    let secs = load.sending.as_secs_f64().max(1e-9);
    let offered = offered * settings.share;
    let achieved = t.sent as f64 / secs;
    let waiting = load.waiting_for_acks_share();
    let mut step = StepResult {
        phase,
        purpose,
        offered_spans_per_sec: offered,
        achieved_spans_per_sec: achieved,
        acked_spans_per_sec: t.acked as f64 / secs,
        load_duration_s: load.sending.as_secs_f64(),
        acked_spans: t.acked,
        rejected_spans: t.rejected,
        failed_spans: t.failed,
        generator_limited: false,
        waiting_for_acks_share: waiting,
        status: Status::Inconclusive,
        checks: Vec::new(),
    };
    step.judge_load(
        settings.generator_limit,
        settings.refused_limit,
        t.sent,
        checks,
    );
    step
}

/// The pseudo-checks a step's own load decides (not the sentinel's).
const LOAD_CHECKS: [&str; 2] = ["load_backpressure", "load_refused"];

impl StepResult {
    /// Sets the step's status from the sentinel's `checks` and its load's pseudo-checks,
    /// judged from its counters with these limits (`sent` spans in all); with no sentinel
    /// check the step is inconclusive. `merge` judges each summed step this way again.
    pub fn judge_load(
        &mut self,
        generator_limit: f64,
        refused_limit: f64,
        sent: u64,
        mut checks: Vec<StepCheck>,
    ) {
        let short = shortfall(
            generator_limit,
            self.offered_spans_per_sec,
            self.achieved_spans_per_sec,
            self.waiting_for_acks_share,
        );
        checks.retain(|c| !LOAD_CHECKS.contains(&c.name.as_ref()));
        let sentinel = !checks.is_empty();
        checks.extend(short.backpressure);
        checks.extend(refused(
            refused_limit,
            sent,
            self.rejected_spans,
            self.failed_spans,
        ));
        self.generator_limited = short.generator_limited;
        self.status = match checks.iter().map(|c| c.status).max() {
            Some(s) if sentinel || s >= Status::Degraded => s,
            _ => Status::Inconclusive,
        };
        self.checks = checks;
    }
}

/// One measured step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// The phase name (`step-k`).
    pub phase: String,
    /// Why it ran.
    pub purpose: Purpose,
    /// Offered load, spans/s.
    pub offered_spans_per_sec: f64,
    /// Achieved load (spans sent per second of the step's load).
    pub achieved_spans_per_sec: f64,
    /// Load the target acknowledged, spans/s: what the capacity is made of.
    #[serde(default)]
    pub acked_spans_per_sec: f64,
    /// How long the step's load was sent, s (0 in reports saved before it was recorded).
    #[serde(default)]
    pub load_duration_s: f64,
    /// Load spans the target accepted.
    pub acked_spans: u64,
    /// Load spans refused for good.
    pub rejected_spans: u64,
    /// Load spans without a definitive answer.
    pub failed_spans: u64,
    /// The generator reached less than the limit fraction of the offered rate on its own (not
    /// held back by the target's slow answers).
    pub generator_limited: bool,
    /// Share of the sending time the generator's workers waited for the target to answer
    /// with every in-flight slot taken (0 to 1; 0 in reports saved before it was measured).
    #[serde(default)]
    pub waiting_for_acks_share: f64,
    /// The worst check status.
    pub status: Status,
    /// Every check.
    pub checks: Vec<StepCheck>,
}

impl StepResult {
    /// The checks that gave way (`degraded` or `fail`), in the order they were judged, joined
    /// with ", " (empty when every check held).
    pub fn gave_way(&self) -> String {
        let names: Vec<&str> = self
            .checks
            .iter()
            .filter(|c| c.status >= Status::Degraded)
            .map(|c| c.name.as_ref())
            .collect();
        names.join(", ")
    }

    /// Whether every check held: passed. (`degraded` or `fail` means it gave way; with an
    /// `inconclusive` check the step proves nothing either way.)
    pub fn held(&self) -> bool {
        self.status == Status::Pass
    }

    /// The checks that were inconclusive, joined with ", ".
    pub fn inconclusive(&self) -> String {
        let names: Vec<&str> = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Inconclusive)
            .map(|c| c.name.as_ref())
            .collect();
        names.join(", ")
    }
}

/// Why the search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// A check degraded (confirmed), and bisection is done.
    Degraded,
    /// The generator could not reach the offered rate while every check held.
    GeneratorLimited,
    /// Every check held at the maximum rate.
    MaxReached,
    /// The time limit left no room for another step.
    TimeLimit,
    /// Stopped by the user (Ctrl-C).
    Stopped,
    /// The baseline itself fails: nothing can be concluded.
    BaselineFailed,
    /// The load engine could not run.
    LoadError,
    /// A step's checks were inconclusive: it neither held nor gave way, so the search cannot
    /// go on from it.
    Inconclusive,
}

/// What the search concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityResult {
    /// The highest acknowledged rate at which every check held, below a confirmed
    /// degradation; `null` when no degradation was found (see `capacity_at_least`).
    pub max_sustainable_spans_per_sec: Option<f64>,
    /// The capacity is at least this (the highest acknowledged rate at which every check held).
    pub capacity_at_least: Option<f64>,
    /// The generator, not the target, was the limit: the capacity is not known, only a bound.
    pub generator_limited: bool,
    /// The check that gave way first.
    pub first_degraded_check: Option<String>,
    /// The offered rate at which it did.
    pub first_degraded_spans_per_sec: Option<f64>,
    /// Why the search ended.
    pub end: End,
}

/// The search, as a conductor of the run's phase walker.
pub struct Search {
    settings: SearchSettings,
    tolerances: CheckTolerances,
    rate: f64,
    purpose: Purpose,
    last_good: Option<usize>,
    first_bad: Option<(f64, String)>,
    bisections: u32,
    pending: Option<(f64, Purpose, PhaseOutcome)>,
    /// Checks of the baseline, judged absolutely.
    pub baseline: Vec<Check>,
    /// Every step measured, in order.
    pub steps: Vec<StepResult>,
    /// Why the search ended, once it has.
    pub end: Option<End>,
    /// What went wrong while judging (queries the target did not answer), by phase.
    pub warnings: Vec<String>,
    on_step: Box<dyn FnMut(&Search) + Send>,
}

impl Search {
    /// A search with these settings, judging with `tolerances`; `on_step` is called after the
    /// baseline and each step (to write partial results).
    pub fn new(
        settings: SearchSettings,
        tolerances: CheckTolerances,
        on_step: impl FnMut(&Search) + Send + 'static,
    ) -> Self {
        Self {
            tolerances,
            rate: settings.start,
            settings,
            purpose: Purpose::Grow,
            last_good: None,
            first_bad: None,
            bisections: 0,
            pending: None,
            baseline: Vec::new(),
            steps: Vec::new(),
            end: None,
            warnings: Vec::new(),
            on_step: Box::new(on_step),
        }
    }

    /// What the search concluded so far.
    pub fn result(&self) -> CapacityResult {
        if self.settings.staircase.is_some() {
            return super::staircase::conclude(&self.steps, self.end);
        }
        let good = self.last_good.map(|i| self.steps[i].acked_spans_per_sec);
        let end = self.end.unwrap_or(End::Stopped);
        CapacityResult {
            max_sustainable_spans_per_sec: good.filter(|_| end == End::Degraded),
            capacity_at_least: good,
            generator_limited: end == End::GeneratorLimited,
            first_degraded_check: self.first_bad.as_ref().map(|b| b.1.clone()),
            first_degraded_spans_per_sec: self.first_bad.as_ref().map(|b| b.0),
            end,
        }
    }

    fn judge_baseline(&mut self, evidence: &[PhaseEvidence]) {
        let phases = [("baseline".to_string(), PhaseKind::Baseline, &evidence[1])];
        self.baseline = verdict::judge_evidence(&phases, &self.tolerances);
        if checks::verdict(&self.baseline) == Status::Fail {
            self.end = Some(End::BaselineFailed);
        }
    }

    fn judge_step(&mut self, k: usize, evidence: &[PhaseEvidence]) {
        let Some((offered, purpose, outcome)) = self.pending.take() else {
            return;
        };
        let name = format!("step-{}", k + 1);
        let Some(load) = outcome.load.as_ref() else {
            self.end = Some(End::LoadError);
            return;
        };
        let checks = judge_step_checks(
            &name,
            &evidence[1],
            &evidence[step_phase(k)],
            &self.tolerances,
        );
        let step = measure(&self.settings, name, (offered, purpose), load, checks);
        self.steps.push(step);
        if self.settings.staircase.is_none() {
            self.decide();
        }
    }

    /// Sets the next rate and purpose, or the end, from the last step.
    fn decide(&mut self) {
        let i = self.steps.len() - 1;
        let step = &self.steps[i];
        let (held, offered, limited) = (
            step.held(),
            step.offered_spans_per_sec,
            step.generator_limited,
        );
        if held {
            self.last_good = Some(i);
            if limited {
                self.end = Some(End::GeneratorLimited);
            } else if let Some((bad, _)) = &self.first_bad {
                self.bisect(offered, *bad);
            } else if offered >= self.settings.max {
                self.end = Some(End::MaxReached);
            } else {
                self.rate = self.settings.grow(offered);
                self.purpose = Purpose::Grow;
            }
            return;
        }
        if step.status == Status::Inconclusive {
            self.end = Some(End::Inconclusive);
            return;
        }
        let gave_way = step
            .checks
            .iter()
            .find(|c| c.status >= Status::Degraded)
            .map_or(String::new(), |c| c.name.to_string());
        match step.purpose {
            Purpose::Grow | Purpose::Staircase => self.purpose = Purpose::Confirm,
            Purpose::Confirm | Purpose::Bisect => {
                if self.first_bad.as_ref().is_none_or(|(b, _)| offered < *b) {
                    self.first_bad = Some((offered, gave_way));
                }
                let good = self.last_good.map(|g| self.steps[g].offered_spans_per_sec);
                match good {
                    Some(good) => self.bisect(good, offered),
                    None => self.end = Some(End::Degraded),
                }
            }
        }
    }

    fn bisect(&mut self, good: f64, bad: f64) {
        if self.bisections >= self.settings.bisect || bad / good < 1.1 {
            self.end = Some(End::Degraded);
            return;
        }
        self.bisections += 1;
        self.rate = (good * bad).sqrt();
        self.purpose = Purpose::Bisect;
    }
}

/// A step's checks, judged against the baseline on the path `run` judges by (an unanswered
/// query fails, a comparison too small to see the drop is inconclusive, ...).
fn judge_step_checks(
    name: &str,
    baseline: &PhaseEvidence,
    step: &PhaseEvidence,
    tolerances: &CheckTolerances,
) -> Vec<StepCheck> {
    let phases = [
        ("baseline".to_string(), PhaseKind::Baseline, baseline),
        (name.to_string(), PhaseKind::Load, step),
    ];
    verdict::judge_evidence(&phases, tolerances)
        .into_iter()
        .filter(|c| c.phase == name)
        .map(|c| StepCheck {
            name: c.name,
            status: c.status,
            observed: c.observed,
            evidence: c.evidence,
        })
        .collect()
}

impl Conductor for Search {
    fn next(&mut self, index: usize, phase: &Phase) -> Next {
        if index < 3 {
            return Next::Run(None);
        }
        if self.end.is_some() {
            return Next::Stop;
        }
        if index % 2 == 0 {
            return Next::Run(None);
        }
        if let Some(RateProfile::Constant { spans_per_sec }) = &phase.load_rate {
            // A staircase step: its rate is the plan's, whatever the steps before showed.
            self.rate = *spans_per_sec;
            self.purpose = Purpose::Staircase;
        }
        Next::Run(Some(RateProfile::Constant {
            spans_per_sec: self.rate,
        }))
    }

    /// The settle phases (`settle-0` after the baseline, `settle-k` after step k): their
    /// evidence is gathered while they run.
    fn wants_evidence(&self, index: usize) -> bool {
        index >= 2 && index % 2 == 0
    }

    fn warnings(&mut self, phase: &Phase, warnings: Vec<String>) {
        self.warnings
            .extend(warnings.into_iter().map(|w| format!("{}: {w}", phase.name)));
    }

    fn after(&mut self, index: usize, outcome: &PhaseOutcome, evidence: Option<&[PhaseEvidence]>) {
        if !outcome.completed {
            self.end.get_or_insert(End::Stopped);
            return;
        }
        match (index, evidence) {
            (2, Some(ev)) => self.judge_baseline(ev),
            (i, None) if i >= 3 && i % 2 == 1 => {
                self.pending = Some((self.rate, self.purpose, outcome.clone()));
            }
            (i, Some(ev)) if i >= 4 => self.judge_step((i - 4) / 2, ev),
            _ => return,
        }
        let steps = index.saturating_sub(2) / 2;
        if self.end.is_none() && index % 2 == 0 && steps >= self.settings.max_steps {
            self.end = Some(End::TimeLimit);
        }
        let mut on_step = std::mem::replace(&mut self.on_step, Box::new(|_| {}));
        on_step(self);
        self.on_step = on_step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::capacity::Growth;

    fn search() -> Search {
        let settings = SearchSettings {
            staircase: None,
            share: 1.0,
            start: 100.0,
            growth: Growth::Factor(2.0),
            max: 10_000.0,
            bisect: 2,
            generator_limit: 0.9,
            max_steps: 20,
            time_limit: std::time::Duration::from_secs(180),
            refused_limit: 0.001,
        };
        Search::new(settings, CheckTolerances::default(), |_| {})
    }

    /// Records a step at the search's current rate, achieving `achieved_share` of it.
    fn step(s: &mut Search, held: bool, achieved_share: f64) {
        let offered = s.rate;
        let status = if held { Status::Pass } else { Status::Degraded };
        s.steps.push(StepResult {
            phase: format!("step-{}", s.steps.len() + 1),
            purpose: s.purpose,
            offered_spans_per_sec: offered,
            achieved_spans_per_sec: offered * achieved_share,
            acked_spans_per_sec: offered * achieved_share,
            load_duration_s: 1.0,
            acked_spans: 0,
            rejected_spans: 0,
            failed_spans: 0,
            generator_limited: achieved_share < 0.9,
            waiting_for_acks_share: 0.0,
            status,
            checks: vec![StepCheck {
                name: "trace_completeness".into(),
                status,
                observed: None,
                evidence: String::new(),
            }],
        });
        s.decide();
    }

    fn evidence(expected: u64, verified: u64) -> PhaseEvidence {
        PhaseEvidence {
            evidence: crate::verify::checks::Evidence {
                expected,
                verified,
                missing: expected - verified,
                ..Default::default()
            },
            ..PhaseEvidence::default()
        }
    }

    // Regression (issue 28, point 6): capacity judged steps with `checks::judge` alone, so an
    // unanswered trace search read "0 found" and held, and too few traces to see the drop held.
    #[test]
    fn a_step_holds_to_the_runs_rules_unanswered_fails_and_too_few_traces_are_inconclusive() {
        let tol = CheckTolerances::default();
        let base = evidence(2000, 2000);
        let mut step = evidence(2000, 2000);
        step.unanswered.insert(
            "unexpected_traces",
            "could not search traces: HTTP 503".into(),
        );
        let checks = judge_step_checks("step-1", &base, &step, &tol);
        let unexpected = checks
            .iter()
            .find(|c| c.name == "unexpected_traces")
            .unwrap();
        assert_eq!(unexpected.status, Status::Fail, "{}", unexpected.evidence);
        assert!(
            unexpected.evidence.contains("HTTP 503"),
            "{}",
            unexpected.evidence
        );
        let checks = judge_step_checks("step-1", &evidence(40, 40), &evidence(40, 40), &tol);
        let completeness = checks
            .iter()
            .find(|c| c.name == "trace_completeness")
            .unwrap();
        assert_eq!(
            completeness.status,
            Status::Inconclusive,
            "{}",
            completeness.evidence
        );
    }

    #[test]
    fn grows_confirms_then_bisects_between_good_and_bad() {
        let mut s = search();
        step(&mut s, true, 1.0); // 100
        step(&mut s, true, 1.0); // 200
        assert_eq!(s.rate, 400.0);
        step(&mut s, false, 1.0); // 400 degrades
        assert_eq!((s.rate, s.purpose), (400.0, Purpose::Confirm));
        step(&mut s, false, 1.0); // confirmed
        assert_eq!(s.purpose, Purpose::Bisect);
        assert!((s.rate - (200.0f64 * 400.0).sqrt()).abs() < 1e-9);
        step(&mut s, true, 1.0); // ~283 holds
        step(&mut s, false, 1.0); // ~336 degrades: bisections used up
        let r = s.result();
        assert_eq!(r.end, End::Degraded);
        assert!((r.max_sustainable_spans_per_sec.unwrap() - 282.84).abs() < 0.01);
        assert_eq!(
            r.first_degraded_check.as_deref(),
            Some("trace_completeness")
        );
        assert!(!r.generator_limited);
    }

    #[test]
    fn a_degradation_that_does_not_repeat_is_not_a_capacity() {
        let mut s = search();
        step(&mut s, false, 1.0);
        step(&mut s, true, 1.0); // the confirmation holds: go on growing
        assert_eq!((s.rate, s.purpose), (200.0, Purpose::Grow));
        assert_eq!(s.result().first_degraded_check, None);
    }

    #[test]
    fn a_generator_that_falls_behind_gives_a_lower_bound_not_a_capacity() {
        let mut s = search();
        step(&mut s, true, 1.0);
        step(&mut s, true, 0.5); // 200 offered, 100 achieved
        let r = s.result();
        assert_eq!(r.end, End::GeneratorLimited);
        assert!(r.generator_limited);
        assert_eq!(r.max_sustainable_spans_per_sec, None);
        assert_eq!(r.capacity_at_least, Some(100.0));
    }

    #[test]
    fn a_rate_short_for_want_of_answers_is_the_target_giving_way() {
        // 400k offered, 316k achieved: with the workers waiting for answers 80% of the time
        // it is the target's backpressure; waiting 5% of the time, the generator's own limit.
        let target = shortfall(0.9, 400e3, 316e3, 0.8);
        assert!(!target.generator_limited);
        let check = target.backpressure.expect("the target gave way");
        assert_eq!(
            (check.name.as_ref(), check.status),
            ("load_backpressure", Status::Degraded)
        );
        assert!(check.evidence.contains("80%"), "{}", check.evidence);
        let generator = shortfall(0.9, 400e3, 316e3, 0.05);
        assert!(generator.generator_limited && generator.backpressure.is_none());
        let reached = shortfall(0.9, 400e3, 399e3, 0.8);
        assert!(!reached.generator_limited && reached.backpressure.is_none());
    }

    /// A step with an inconclusive check counted as held, and the search grew on it.
    #[test]
    fn an_inconclusive_step_is_not_held_and_ends_the_search() {
        let mut s = search();
        step(&mut s, true, 1.0);
        s.steps.push(StepResult {
            status: Status::Inconclusive,
            checks: vec![StepCheck {
                name: "alert_detection".into(),
                status: Status::Inconclusive,
                observed: None,
                evidence: String::new(),
            }],
            ..s.steps[0].clone()
        });
        s.decide();
        let r = s.result();
        assert_eq!(r.end, End::Inconclusive);
        assert_eq!(r.capacity_at_least, Some(100.0));
        assert_eq!(s.steps[1].inconclusive(), "alert_detection");
    }

    /// A target that refused everything quickly "sustained" any rate: capacity counted sent
    /// spans. Refusals beyond the limit give way, and the capacity is the acked rate.
    #[test]
    fn refused_load_gives_way_and_capacity_is_the_acked_rate() {
        let check = refused(0.001, 100_000, 150, 0).expect("0.15% refused gives way");
        assert_eq!(
            (check.name.as_ref(), check.status),
            ("load_refused", Status::Degraded)
        );
        assert!(check.evidence.contains("refused 150"), "{}", check.evidence);
        assert!(refused(0.001, 100_000, 50, 50).is_none());
        let mut s = search();
        step(&mut s, true, 1.0);
        s.steps[0].acked_spans_per_sec = 60.0;
        s.last_good = Some(0);
        assert_eq!(s.result().capacity_at_least, Some(60.0));
    }

    #[test]
    fn holding_at_the_maximum_ends_with_a_lower_bound() {
        let mut s = search();
        for _ in 0..8 {
            step(&mut s, true, 1.0);
        }
        assert_eq!(s.steps.last().unwrap().offered_spans_per_sec, 10_000.0);
        assert_eq!(s.result().end, End::MaxReached);
        assert_eq!(s.result().capacity_at_least, Some(10_000.0));
    }
}
