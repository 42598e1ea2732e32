//! Adding up the `run` reports of a test's segments: the sentinel ran in one of them, the others
//! sent their share of the load beside it. The merged report keeps the sentinel segment's
//! evidence and checks (judged once), sums every phase's load over the segments, and judges the
//! checks again with that whole load: a load phase whose merged load fell short of the whole
//! offered rate makes its passing checks inconclusive, as one process's run would.

use crate::error::UsageError;
use crate::report::human_rate;
use crate::report::run::{LoadSummary, RunReport};
use crate::verify::checks;
use crate::verify::status::Status;

type Input = super::Input<RunReport>;

/// The report of the segment that ran the sentinel.
fn sentinel(inputs: &[Input]) -> Result<&Input, UsageError> {
    let k = inputs[0].report.sentinel_segment.unwrap_or(0);
    if let Some(other) = inputs
        .iter()
        .find(|i| i.report.sentinel_segment.unwrap_or(0) != k)
    {
        return Err(UsageError::new(format!(
            "{}: field `sentinel_segment` differs from {}'s ({k}): reports of different runs",
            other.path.display(),
            inputs[0].path.display()
        )));
    }
    let mut ran = inputs
        .iter()
        .filter(|i| i.report.segment.as_ref().map_or(0, |s| s.index) == k);
    match (ran.next(), ran.next()) {
        (Some(one), None) => Ok(one),
        _ => Err(UsageError::new(format!(
            "{}: field `sentinel_segment` is {k}, but not exactly one report is of segment {k}",
            inputs[0].path.display()
        ))),
    }
}

fn add_load(mine: &mut LoadSummary, theirs: &LoadSummary) {
    mine.offered_spans_per_sec = mine
        .offered_spans_per_sec
        .zip(theirs.offered_spans_per_sec)
        .map(|(a, b)| a + b);
    mine.achieved_spans_per_sec += theirs.achieved_spans_per_sec;
    mine.acked_spans += theirs.acked_spans;
    mine.rejected_spans += theirs.rejected_spans;
    mine.failed_spans += theirs.failed_spans;
}

/// Adds `other`'s load, phase by phase and second by second, into `m`.
fn add(m: &mut RunReport, other: &Input) -> Result<(), UsageError> {
    let names = |r: &RunReport| r.phases.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    if names(m) != names(&other.report) {
        return Err(UsageError::new(format!(
            "{}: field `phases` is {:?}, the sentinel's segment has {:?}: reports of different runs",
            other.path.display(),
            names(&other.report),
            names(m)
        )));
    }
    for (mine, theirs) in m.phases.iter_mut().zip(&other.report.phases) {
        add_load(&mut mine.load, &theirs.load);
    }
    let samples = m.timeline.samples.iter_mut();
    for (mine, theirs) in samples.zip(&other.report.timeline.samples) {
        if mine.phase == theirs.phase {
            mine.achieved_spans_per_sec += theirs.achieved_spans_per_sec;
            mine.offered_spans_per_sec = mine
                .offered_spans_per_sec
                .zip(theirs.offered_spans_per_sec)
                .map(|(a, b)| a + b);
        }
    }
    Ok(())
}

/// Passing checks of a load phase whose whole load fell short of its offered rate become
/// inconclusive: the target was not under the load the phase claims.
fn judge_again(m: &mut RunReport) {
    let limit = m.generator_limit;
    for p in m.phases.iter().filter(|p| p.kind == "load" && p.completed) {
        let l = &p.load;
        let sent = (l.acked_spans + l.rejected_spans + l.failed_spans) as f64;
        let Some(offered) = l.offered_spans_per_sec.map(|r| r * p.duration_s) else {
            continue;
        };
        if sent >= limit * offered {
            continue;
        }
        let why = format!(
            "the load of all segments reached {} of the {} spans/s offered (below {limit} of it, checks.generator_limit)",
            human_rate(sent / p.duration_s.max(1e-9)),
            human_rate(offered / p.duration_s.max(1e-9)),
        );
        for c in m.checks.iter_mut().filter(|c| c.phase == p.name) {
            if c.status == Status::Pass {
                c.status = Status::Inconclusive;
                c.evidence = format!("{why}; {}", c.evidence);
            }
        }
    }
    m.verdict = checks::verdict(&m.checks);
}

/// The merged report of `inputs` (already checked to be one run's segments).
pub fn merge(inputs: &[Input]) -> Result<RunReport, UsageError> {
    let s = sentinel(inputs)?;
    let mut m = s.report.clone();
    let own_share = "the sentinel was judged beside this segment's share";
    m.warnings.retain(|w| !w.contains(own_share));
    for other in inputs.iter().filter(|i| !std::ptr::eq(*i, s)) {
        add(&mut m, other)?;
        m.warnings
            .extend(super::segment_warnings(&other.path, &other.report.warnings));
    }
    judge_again(&mut m);
    m.warnings.push(format!(
        "merged {} segments: the sentinel's checks (segment {}) judged beside the load of every segment",
        inputs.len(),
        m.sentinel_segment.unwrap_or(0)
    ));
    m.start = inputs
        .iter()
        .filter_map(|i| i.report.start.clone())
        .max_by(|a, b| a.late_ms.total_cmp(&b.late_ms));
    m.segment = None;
    m.merged_from = inputs
        .iter()
        .map(|i| i.path.display().to_string())
        .collect();
    Ok(m)
}
