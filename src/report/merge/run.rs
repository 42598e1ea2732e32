//! Adding up the `run` reports of a test's segments: the sentinel ran in one of them, the others
//! sent their share of the load beside it. The merged report keeps the sentinel segment's
//! evidence and checks (judged once), sums every phase's load over the segments, and judges the
//! checks again with that whole load: a load phase whose merged load fell short of the whole
//! offered rate makes its passing checks inconclusive, as one process's run would.

use crate::error::UsageError;
use crate::report::human_rate;
use crate::report::mergeable::{self, Histograms};
use crate::report::run::{LoadSummary, PhaseReport, RunReport};
use crate::run::timeline::Sample;
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

/// Adds `theirs`' HDR histograms into `mine`'s, losslessly; errors name the file and field.
fn add_histograms(
    mine: &mut LoadSummary,
    theirs: &LoadSummary,
    path: &std::path::Path,
) -> Result<(), UsageError> {
    let Some(t) = &theirs.histograms else {
        return Ok(());
    };
    let Some(m) = &mine.histograms else {
        mine.histograms = Some(t.clone());
        return Ok(());
    };
    let decode = |field: &str, text: &str| {
        mergeable::decode(text).map_err(|e| {
            UsageError::new(format!(
                "{}: field `load.histograms.{field}`: {e}",
                path.display()
            ))
        })
    };
    let mut lag = decode("schedule_lag_us", &m.schedule_lag_us)?;
    let mut latency = decode("export_latency_us", &m.export_latency_us)?;
    // Same significant digits everywhere, auto-resizing: adding cannot fail.
    let _ = lag.add(decode("schedule_lag_us", &t.schedule_lag_us)?);
    let _ = latency.add(decode("export_latency_us", &t.export_latency_us)?);
    mine.histograms = Some(Histograms::of(&lag, &latency));
    Ok(())
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
        add_histograms(&mut mine.load, &theirs.load, &other.path)?;
    }
    add_timeline(&mut m.timeline.samples, &other.report.timeline.samples);
    Ok(())
}

/// Adds `theirs` into `mine` second by second on the common clock (the run's start): a sample
/// is added to the sample of the same phase and the same second; a second only `theirs` has is
/// kept as it is.
fn add_timeline(mine: &mut Vec<Sample>, theirs: &[Sample]) {
    let second = |s: &Sample| s.t_s.round() as i64;
    for t in theirs {
        match mine
            .iter_mut()
            .find(|m| m.phase == t.phase && second(m) == second(t))
        {
            Some(m) => {
                m.achieved_spans_per_sec += t.achieved_spans_per_sec;
                m.offered_spans_per_sec = m
                    .offered_spans_per_sec
                    .zip(t.offered_spans_per_sec)
                    .map(|(a, b)| a + b);
            }
            None => mine.push(t.clone()),
        }
    }
    mine.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
}

/// `segment I (FILE)`, as merged reports name a segment.
fn segment_name(input: &Input) -> String {
    let index = input.report.segment.as_ref().map_or(0, |s| s.index);
    format!("segment {index} ({})", input.path.display())
}

/// Why a segment's share of load phase `i` is not there: the phase did not finish in it (the
/// segment was stopped or killed before its end), or its load could not run.
fn segment_gap(input: &Input, i: usize) -> Option<String> {
    let phase = input.report.phases.get(i)?;
    if !phase.completed {
        return Some(format!(
            "{}: the phase did not finish (the segment was stopped or killed)",
            segment_name(input)
        ));
    }
    let e = phase.load.load_error.as_ref()?;
    Some(format!(
        "{}: the load could not run: {e}",
        segment_name(input)
    ))
}

/// Why load phase `p`'s whole load falls short of what the segments were asked to offer: the
/// spans the target acknowledged, summed, below `limit` of the summed offered rate.
fn shortfall(p: &PhaseReport, limit: f64) -> Option<String> {
    let l = &p.load;
    let offered = l.offered_spans_per_sec? * p.duration_s;
    let acked = l.acked_spans as f64;
    (acked < limit * offered).then(|| {
        format!(
            "the target acknowledged {} of the {} spans/s all segments were asked to offer \
             (below {limit} of it, checks.generator_limit)",
            human_rate(acked / p.duration_s.max(1e-9)),
            human_rate(offered / p.duration_s.max(1e-9)),
        )
    })
}

/// Checks of a load phase that a segment did not finish, whose load could not run, or whose
/// whole acknowledged load fell short of what was asked, cannot pass: the target was not under
/// the load the phase claims. A merged report with such a segment is at least `inconclusive`
/// and names it.
fn judge_again(m: &mut RunReport, inputs: &[Input]) {
    let limit = m.generator_limit;
    let mut gaps = Vec::new();
    for (i, p) in m.phases.iter().enumerate() {
        if p.kind != "load" {
            continue;
        }
        let mut why: Vec<String> = inputs.iter().filter_map(|x| segment_gap(x, i)).collect();
        gaps.extend(why.iter().map(|w| format!("{}: {w}", p.name)));
        why.extend(shortfall(p, limit).filter(|_| p.completed));
        if why.is_empty() {
            continue;
        }
        let why = why.join("; ");
        for c in m.checks.iter_mut().filter(|c| c.phase == p.name) {
            if c.status == Status::Pass {
                c.status = Status::Inconclusive;
                c.evidence = format!("{why}; {}", c.evidence);
            }
        }
    }
    m.verdict = checks::verdict(&m.checks);
    if !gaps.is_empty() {
        m.verdict = m.verdict.max(Status::Inconclusive);
        m.warnings.extend(gaps);
    }
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
    judge_again(&mut m, inputs);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::split::SegmentReport;

    fn segment(index: usize) -> Input {
        let text = include_str!("../../../tests/fixtures/run.json");
        let mut report: RunReport = serde_json::from_str(text).unwrap();
        let (start, end) = [("0", "1/2"), ("1/2", "1")][index];
        report.segment = Some(SegmentReport {
            start: start.into(),
            end: end.into(),
            index,
            count: 2,
        });
        report.sentinel_segment = Some(0);
        for p in &mut report.phases {
            p.load.offered_spans_per_sec = p.load.offered_spans_per_sec.map(|r| r / 2.0);
            p.load.acked_spans /= 2;
        }
        Input {
            path: format!("run-{index}.json").into(),
            report,
        }
    }

    fn sample(t_s: f64, achieved: f64) -> Sample {
        Sample {
            t_s,
            phase: "load".into(),
            offered_spans_per_sec: Some(100.0),
            achieved_spans_per_sec: achieved,
            lag_p99_ms: None,
            freshness_p99_ms: None,
            traces_expected: 0,
            traces_verified: 0,
            traces_missing: 0,
            alert_firing: false,
        }
    }

    // Regression (issue 28, point 2): merge paired samples by index, so a load-only segment's
    // (empty, or shifted) timeline added nothing, or added to the wrong second.
    #[test]
    fn timelines_add_up_second_by_second_on_the_common_clock() {
        let mut mine = vec![
            sample(10.02, 50.0),
            sample(11.01, 60.0),
            sample(12.03, 70.0),
        ];
        let theirs = [sample(11.0, 5.0), sample(12.0, 6.0), sample(13.0, 7.0)];
        add_timeline(&mut mine, &theirs);
        let sums: Vec<_> = mine.iter().map(|s| s.achieved_spans_per_sec).collect();
        assert_eq!(sums, [50.0, 65.0, 76.0, 7.0]);
        assert_eq!(mine[1].offered_spans_per_sec, Some(200.0));
    }

    // Issue 28, point 4: run reports carried no HDR histograms, so a merged run had no
    // whole-load latency percentiles.
    #[test]
    fn merged_load_phases_add_the_segments_histograms_losslessly() {
        let histogram = |values: &[u64]| {
            let mut h = crate::engine::stats::micros_histogram();
            for v in values {
                h.record(*v).unwrap();
            }
            h
        };
        let (a, b) = (histogram(&[100, 200, 300]), histogram(&[5_000, 9_000]));
        let mut sentinel = segment(0);
        let mut other = segment(1);
        for (input, h) in [(&mut sentinel, &a), (&mut other, &b)] {
            let load = input
                .report
                .phases
                .iter_mut()
                .find(|p| p.kind == "load")
                .unwrap();
            load.load.histograms = Some(Histograms::of(h, h));
        }
        let m = merge(&[sentinel, other]).unwrap();
        let load = m.phases.iter().find(|p| p.kind == "load").unwrap();
        let h = load.load.histograms.as_ref().expect("merged histograms");
        let latency = mergeable::decode(&h.export_latency_us).unwrap();
        assert_eq!(latency.len(), 5);
        assert_eq!(latency.max(), b.max());
        assert_eq!(latency.min(), a.min());
    }

    // Regression (issue 28, point 1): a load-only segment whose load never ran reported
    // `offered: 0` and no error, so the summed load showed no shortfall and the merge passed.
    #[test]
    fn a_segment_whose_load_never_ran_makes_the_merge_inconclusive_naming_it() {
        let sentinel = segment(0);
        let whole = merge(&[sentinel.clone(), segment(1)]).unwrap();
        assert_eq!(whole.verdict, Status::Pass, "{:?}", whole.warnings);
        let mut broken = segment(1);
        broken.report.checks.clear();
        for p in broken.report.phases.iter_mut().filter(|p| p.kind == "load") {
            p.load.acked_spans = 0;
            p.load.achieved_spans_per_sec = 0.0;
            p.load.load_error = Some("connection refused".into());
        }
        let m = merge(&[sentinel.clone(), broken]).unwrap();
        assert!(m.verdict >= Status::Inconclusive, "{:?}", m.verdict);
        let load = m.checks.iter().find(|c| c.phase == "load").unwrap();
        assert!(
            load.evidence
                .contains("segment 1 (run-1.json): the load could not run"),
            "{}",
            load.evidence
        );
        let mut killed = segment(1);
        killed.report.checks.clear();
        for p in &mut killed.report.phases {
            p.completed = false;
            p.load.acked_spans = 0;
        }
        let m = merge(&[sentinel, killed]).unwrap();
        assert!(m.verdict >= Status::Inconclusive, "{:?}", m.verdict);
        let named = m
            .warnings
            .iter()
            .any(|w| w.contains("segment 1 (run-1.json)"));
        assert!(named, "{:?}", m.warnings);
    }
}
