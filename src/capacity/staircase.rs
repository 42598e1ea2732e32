//! The conclusion of a fixed staircase (`[capacity] plan = "staircase"`): every step ran to its
//! end whatever the previous one showed, so the capacity is read off the steps afterwards, in
//! order — the same reading for one process and for the merged steps of its segments.

use super::step::{CapacityResult, End, StepResult};
use crate::verify::status::Status;

/// What the steps say, read in order: the capacity is the acknowledged rate of the last step
/// that held before the first one that gave way. A step that was inconclusive or held only
/// because the generator fell short ends the reading there (a bound, not a capacity).
/// `end` is the walk's own end when it did not get through the staircase (stopped, baseline
/// failed, load error).
pub fn conclude(steps: &[StepResult], end: Option<End>) -> CapacityResult {
    let mut good = None;
    let result = |end, good: Option<f64>| CapacityResult {
        max_sustainable_spans_per_sec: None,
        capacity_at_least: good,
        generator_limited: end == End::GeneratorLimited,
        first_degraded_check: None,
        first_degraded_spans_per_sec: None,
        end,
    };
    let walk_end = end.filter(|e| matches!(e, End::Stopped | End::BaselineFailed | End::LoadError));
    for st in steps {
        if st.held() {
            good = Some(st.acked_spans_per_sec);
            if st.generator_limited {
                return result(End::GeneratorLimited, good);
            }
            continue;
        }
        if st.status == Status::Inconclusive {
            return result(End::Inconclusive, good);
        }
        let check = st
            .checks
            .iter()
            .find(|c| c.status >= Status::Degraded)
            .map(|c| c.name.to_string());
        return CapacityResult {
            max_sustainable_spans_per_sec: good,
            first_degraded_check: check,
            first_degraded_spans_per_sec: Some(st.offered_spans_per_sec),
            ..result(End::Degraded, good)
        };
    }
    result(walk_end.unwrap_or(End::MaxReached), good)
}

#[cfg(test)]
mod tests {
    use super::conclude;
    use crate::capacity::step::{End, Purpose, StepCheck, StepResult};
    use crate::verify::status::Status;

    fn step(offered: f64, status: Status) -> StepResult {
        StepResult {
            phase: format!("step-{offered}"),
            purpose: Purpose::Staircase,
            offered_spans_per_sec: offered,
            achieved_spans_per_sec: offered,
            acked_spans_per_sec: offered * 0.99,
            load_duration_s: 1.0,
            acked_spans: 0,
            rejected_spans: 0,
            failed_spans: 0,
            generator_limited: false,
            waiting_for_acks_share: 0.0,
            status,
            checks: vec![StepCheck {
                name: "trace_completeness".into(),
                status,
                observed: None,
                evidence: String::new(),
            }],
        }
    }

    /// The capacity is the last step that held before the first that gave way, even when a
    /// later step (run anyway) held again.
    #[test]
    fn the_first_step_that_gives_way_ends_the_reading() {
        let steps = [
            step(100.0, Status::Pass),
            step(200.0, Status::Pass),
            step(400.0, Status::Degraded),
            step(800.0, Status::Pass),
        ];
        let r = conclude(&steps, Some(End::TimeLimit));
        assert_eq!(r.end, End::Degraded);
        assert_eq!(r.max_sustainable_spans_per_sec, Some(198.0));
        assert_eq!(r.first_degraded_spans_per_sec, Some(400.0));
        assert_eq!(
            r.first_degraded_check.as_deref(),
            Some("trace_completeness")
        );
    }

    #[test]
    fn every_step_holding_is_a_lower_bound_and_inconclusive_is_no_capacity() {
        let held = [step(100.0, Status::Pass), step(200.0, Status::Pass)];
        let r = conclude(&held, Some(End::TimeLimit));
        assert_eq!((r.end, r.capacity_at_least), (End::MaxReached, Some(198.0)));
        assert_eq!(r.max_sustainable_spans_per_sec, None);
        let unsure = [step(100.0, Status::Pass), step(200.0, Status::Inconclusive)];
        let r = conclude(&unsure, Some(End::TimeLimit));
        assert_eq!(
            (r.end, r.capacity_at_least),
            (End::Inconclusive, Some(99.0))
        );
        let mut limited = step(100.0, Status::Pass);
        limited.generator_limited = true;
        let r = conclude(&[limited, step(200.0, Status::Degraded)], None);
        assert!(r.generator_limited && r.end == End::GeneratorLimited);
        assert_eq!(
            conclude(&[], Some(End::BaselineFailed)).end,
            End::BaselineFailed
        );
    }
}
