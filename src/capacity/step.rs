//! One step of a capacity search, measured and judged: why it ran (`Purpose`), what the load
//! did in it (the generator's shortfall, the target's refusals as the pseudo-checks
//! `load_backpressure` and `load_refused`), how its checks came out against the baseline
//! (`StepResult`), and what a whole search or staircase concluded (`CapacityResult`, `End`).
//! Both the adaptive search and the fixed staircase read steps through these types.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::config::capacity::SearchSettings;
use crate::verify::status::Status;

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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Refusals beyond the limit give way as the pseudo-check `load_refused`.
    #[test]
    fn refused_load_gives_way() {
        let check = refused(0.001, 100_000, 150, 0).expect("0.15% refused gives way");
        assert_eq!(
            (check.name.as_ref(), check.status),
            ("load_refused", Status::Degraded)
        );
        assert!(check.evidence.contains("refused 150"), "{}", check.evidence);
        assert!(refused(0.001, 100_000, 50, 50).is_none());
    }
}
