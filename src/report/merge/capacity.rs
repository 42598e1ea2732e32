//! Adding up the `capacity` reports of a fixed staircase's segments: every segment ran the same
//! steps at the same instants, the sentinel in one of them. Each step's load is summed over the
//! segments, the sentinel segment's checks are kept, each step is judged again from the summed
//! load (its own pseudo-checks: backpressure, refusals, generator limit), and the capacity is
//! read off the merged steps as `capacity` reads it.

use crate::capacity::End;
use crate::capacity::StepResult;
use crate::capacity::staircase::conclude;
use crate::config::capacity::PlanKind;
use crate::error::UsageError;
use crate::report::capacity::CapacityReport;

type Input = super::Input<CapacityReport>;

fn refuse(i: &Input, msg: impl std::fmt::Display) -> UsageError {
    UsageError::new(format!("{}: {msg}", i.path.display()))
}

/// Every report a finished staircase with the first one's steps.
fn same_staircase(inputs: &[Input]) -> Result<(), UsageError> {
    let first = &inputs[0];
    for i in inputs {
        if i.report.plan != PlanKind::Staircase {
            return Err(refuse(
                i,
                "field `plan` is \"search\": only the segments of a fixed staircase \
                 (plan = \"staircase\") can be merged, a search decides its steps as it goes",
            ));
        }
        if !i.report.finished {
            return Err(refuse(
                i,
                "field `finished` is false: a partial report (the run is still going or was \
                 stopped) cannot be merged",
            ));
        }
        if i.report.split.staircase_spans_per_sec != first.report.split.staircase_spans_per_sec {
            return Err(refuse(
                i,
                format!(
                    "field `staircase_spans_per_sec` is {:?}, but {} has {:?}: reports of \
                     different runs",
                    i.report.split.staircase_spans_per_sec,
                    first.path.display(),
                    first.report.split.staircase_spans_per_sec
                ),
            ));
        }
    }
    Ok(())
}

/// The report of the segment that ran the sentinel.
fn sentinel(inputs: &[Input]) -> Result<&Input, UsageError> {
    let k = inputs[0].report.split.sentinel_segment.unwrap_or(0);
    if let Some(other) = inputs
        .iter()
        .find(|i| i.report.split.sentinel_segment.unwrap_or(0) != k)
    {
        return Err(refuse(
            other,
            format!(
                "field `sentinel_segment` differs from {}'s ({k}): reports of different runs",
                inputs[0].path.display()
            ),
        ));
    }
    let index = |i: &&Input| i.report.split.segment.as_ref().map_or(0, |s| s.index);
    let mut ran = inputs.iter().filter(|i| index(i) == k);
    match (ran.next(), ran.next()) {
        (Some(one), None) => Ok(one),
        _ => Err(refuse(
            &inputs[0],
            format!(
                "field `sentinel_segment` is {k}, but not exactly one report is of segment {k}"
            ),
        )),
    }
}

/// Adds `theirs` (another segment's same step) into `mine`.
fn add_step(mine: &mut StepResult, theirs: &StepResult) {
    mine.offered_spans_per_sec += theirs.offered_spans_per_sec;
    mine.achieved_spans_per_sec += theirs.achieved_spans_per_sec;
    mine.acked_spans_per_sec += theirs.acked_spans_per_sec;
    mine.acked_spans += theirs.acked_spans;
    mine.rejected_spans += theirs.rejected_spans;
    mine.failed_spans += theirs.failed_spans;
    mine.load_duration_s = mine.load_duration_s.max(theirs.load_duration_s);
    mine.waiting_for_acks_share = mine
        .waiting_for_acks_share
        .max(theirs.waiting_for_acks_share);
}

/// Adds `other`'s steps into `m`'s, step by step.
fn add(m: &mut CapacityReport, other: &Input) -> Result<(), UsageError> {
    for step in &mut m.steps {
        let Some(theirs) = other.report.steps.iter().find(|s| s.phase == step.phase) else {
            return Err(refuse(
                other,
                format!(
                    "field `steps` has no {}, which the sentinel's segment ran: a segment that \
                     did not run every step cannot be merged",
                    step.phase
                ),
            ));
        };
        add_step(step, theirs);
    }
    Ok(())
}

/// The merged report of `inputs` (already checked to be one run's segments).
pub fn merge(inputs: &[Input]) -> Result<CapacityReport, UsageError> {
    same_staircase(inputs)?;
    let s = sentinel(inputs)?;
    let mut m = s.report.clone();
    for other in inputs.iter().filter(|i| !std::ptr::eq(*i, s)) {
        add(&mut m, other)?;
        m.warnings
            .extend(super::segment_warnings(&other.path, &other.report.warnings));
    }
    let limits = m.split.limits.ok_or_else(|| {
        refuse(
            s,
            "field `limits` is missing: a report written before merge cannot be merged",
        )
    })?;
    for step in &mut m.steps {
        let sent = step.acked_spans + step.rejected_spans + step.failed_spans;
        let checks = std::mem::take(&mut step.checks);
        step.judge_load(limits.generator_limit, limits.refused_limit, sent, checks);
    }
    let walk_end = Some(m.result.end)
        .filter(|e| matches!(e, End::Stopped | End::BaselineFailed | End::LoadError));
    m.result = conclude(&m.steps, walk_end.or(Some(End::TimeLimit)));
    let found = m
        .result
        .max_sustainable_spans_per_sec
        .or(m.result.capacity_at_least);
    m.require_met = m
        .require_spans_per_sec
        .map(|r| found.is_some_and(|f| f >= r));
    m.warnings.push(format!(
        "merged {} segments: the sentinel's checks (segment {}) judged beside the load of every segment",
        inputs.len(),
        m.split.sentinel_segment.unwrap_or(0)
    ));
    m.split.start = inputs
        .iter()
        .filter_map(|i| i.report.split.start.clone())
        .max_by(|a, b| a.late_ms.total_cmp(&b.late_ms));
    m.split.segment = None;
    m.split.merged_from = inputs
        .iter()
        .map(|i| i.path.display().to_string())
        .collect();
    Ok(m)
}
