//! The step planner: after each step's evidence is judged against the baseline (with
//! `run::verdict::judge_evidence`, the path `run` judges by, so its integrity rules hold here
//! too), decides the next step — grow the rate, confirm a
//! first degradation once, bisect between the last good and the first bad rate, or stop.
//!
//! A step holds only when every check passes: an `inconclusive` check ends the search with what
//! is known so far, never counts as held. The capacity is the rate the target acknowledged, not
//! the rate sent: a step whose load was refused or left unanswered beyond `refused_limit` gives
//! way as the pseudo-check `load_refused`.

use super::step::{CapacityResult, End, Purpose, StepCheck, StepResult, measure};
use crate::config::capacity::{SearchSettings, step_phase};
use crate::config::run::Phase;
use crate::engine::RateProfile;
use crate::run::evidence::PhaseEvidence;
use crate::run::verdict;
use crate::run::walk::PhaseOutcome;
use crate::run::walk::{Conductor, Next};
use crate::verify::checks::{self, Check, CheckTolerances};
use crate::verify::status::{PhaseKind, Status};

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
    /// spans. The capacity is the acked rate (refusals beyond the limit give way: `step`).
    #[test]
    fn capacity_is_the_acked_rate() {
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
