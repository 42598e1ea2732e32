//! Adding up the reports of a test's segments: counters summed, HDR histograms decoded and
//! added, timelines aligned by wall-clock second, rates, quantiles and warnings recomputed from
//! the merged data, as if one process had sent the whole test.

use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::Histogram;

use crate::engine::start::START_LAG_BUDGET;
use crate::error::UsageError;
use crate::report::load::{LagUs, LatencyUs, LoadReport, StreamReport, rate_warnings, rfc3339};
use crate::report::mergeable::{self, Histograms, SecondReport};
use crate::report::percentiles;
use crate::report::split::StartReport;

type Input = super::Input<LoadReport>;

/// The merged report of `inputs` (already checked to be one run's segments).
pub fn sum(inputs: &[Input]) -> Result<LoadReport, UsageError> {
    let first = &inputs[0].report;
    let mut m = first.clone();
    let (mut lag, mut latency) = histograms(&inputs[0])?;
    for input in &inputs[1..] {
        let r = &input.report;
        add_counters(&mut m, r, &input.path)?;
        let (l, e) = histograms(input)?;
        lag.add(&l).expect("decoded histograms add up");
        latency.add(&e).expect("decoded histograms add up");
    }
    let secs = m.duration_s.max(1e-9);
    m.achieved_spans_per_sec = m.sent_spans as f64 / secs;
    let lag_q = percentiles(&lag, &[0.5, 0.99, 1.0]).unwrap_or(vec![0, 0, 0]);
    m.schedule_lag_us = LagUs {
        p50: lag_q[0],
        p99: lag_q[1],
        max: lag_q[2],
    };
    m.export_latency_us = inputs
        .iter()
        .any(|i| i.report.export_latency_us.is_some())
        .then(|| LatencyUs::of(&latency))
        .flatten();
    m.histograms = Histograms::of(&lag, &latency);
    (m.timeline_start, m.timeline) = timeline(inputs)?;
    m.segment = None;
    m.start = start(inputs);
    m.warnings = warnings(&m, inputs);
    m.merged_from = inputs
        .iter()
        .map(|i| i.path.display().to_string())
        .collect();
    Ok(m)
}

/// Adds `r`'s counters, rates and streams into `m`.
fn add_counters(
    m: &mut LoadReport,
    r: &LoadReport,
    path: &std::path::Path,
) -> Result<(), UsageError> {
    if m.target != r.target && !m.target.split(", ").any(|t| t == r.target) {
        m.target = format!("{}, {}", m.target, r.target);
    }
    m.threads += r.threads;
    m.duration_s = m.duration_s.max(r.duration_s);
    m.offered_spans_per_sec = m
        .offered_spans_per_sec
        .zip(r.offered_spans_per_sec)
        .map(|(a, b)| a + b);
    m.sent_spans += r.sent_spans;
    m.acked_spans += r.acked_spans;
    m.rejected_spans += r.rejected_spans;
    m.failed_spans += r.failed_spans;
    m.batches += r.batches;
    m.bytes += r.bytes;
    m.retries += r.retries;
    m.throttled_s += r.throttled_s;
    if m.streams.len() != r.streams.len() {
        return Err(UsageError::new(format!(
            "{}: field `streams` has {} streams, the first report {}",
            path.display(),
            r.streams.len(),
            m.streams.len()
        )));
    }
    for (mine, theirs) in m.streams.iter_mut().zip(&r.streams) {
        add_stream(mine, theirs);
    }
    Ok(())
}

fn add_stream(mine: &mut StreamReport, theirs: &StreamReport) {
    mine.sent_spans += theirs.sent_spans;
    mine.acked_spans += theirs.acked_spans;
    mine.rejected_spans += theirs.rejected_spans;
    mine.failed_spans += theirs.failed_spans;
}

/// A report's two histograms, decoded; errors name the file and the field.
fn histograms(input: &Input) -> Result<(Histogram<u64>, Histogram<u64>), UsageError> {
    let h = &input.report.histograms;
    let decode = |field: &str, text: &str| {
        mergeable::decode(text).map_err(|e| {
            UsageError::new(format!(
                "{}: field `histograms.{field}`: {e}",
                input.path.display()
            ))
        })
    };
    Ok((
        decode("schedule_lag_us", &h.schedule_lag_us)?,
        decode("export_latency_us", &h.export_latency_us)?,
    ))
}

/// Unix nanoseconds of an RFC 3339 field of `input`.
fn instant(input: &Input, field: &str, text: &str) -> Result<u64, UsageError> {
    humantime::parse_rfc3339(text)
        .map(|t| t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64)
        .map_err(|e| UsageError::new(format!("{}: field `{field}`: {e}", input.path.display())))
}

/// The timelines added second by second, each placed by its start's wall-clock second since
/// the earliest start (with a common `--start-at` they all start at the same instant).
fn timeline(inputs: &[Input]) -> Result<(String, Vec<SecondReport>), UsageError> {
    let mut starts = Vec::with_capacity(inputs.len());
    for input in inputs {
        starts.push(instant(
            input,
            "timeline_start",
            &input.report.timeline_start,
        )?);
    }
    let common = starts.iter().copied().min().unwrap_or_default();
    let mut merged: Vec<SecondReport> = Vec::new();
    for (input, start) in inputs.iter().zip(starts) {
        let offset = Duration::from_nanos(start - common).as_secs_f64().round() as u64;
        for s in &input.report.timeline {
            let slot = (s.second + offset).saturating_sub(1) as usize;
            while merged.len() <= slot {
                let second = merged.len() as u64 + 1;
                merged.push(SecondReport {
                    second,
                    ..SecondReport::default()
                });
            }
            merged[slot].add(s);
        }
    }
    Ok((rfc3339(common), merged))
}

/// The scheduled start and the latest actual one, when the segments had a common start.
fn start(inputs: &[Input]) -> Option<StartReport> {
    inputs
        .iter()
        .map(|i| i.report.start.clone())
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .max_by(|a, b| a.late_ms.total_cmp(&b.late_ms))
}

/// The merged run's warnings: its rates and failures judged afresh, the insecure-TLS warning
/// of any segment, and segments whose starts lay more than the budget apart.
fn warnings(m: &LoadReport, inputs: &[Input]) -> Vec<String> {
    let insecure = crate::transport::tls::INSECURE_WARNING;
    let mut out: Vec<String> = inputs
        .iter()
        .any(|i| i.report.warnings.iter().any(|w| w == insecure))
        .then(|| insecure.to_owned())
        .into_iter()
        .collect();
    let actual: Vec<(u64, &Input)> = inputs
        .iter()
        .filter_map(|i| {
            let s = i.report.start.as_ref()?;
            instant(i, "start.actual", &s.actual).ok().map(|t| (t, i))
        })
        .collect();
    if let (Some(lo), Some(hi)) = (
        actual.iter().min_by_key(|a| a.0),
        actual.iter().max_by_key(|a| a.0),
    ) {
        let apart = Duration::from_nanos(hi.0 - lo.0);
        if apart > START_LAG_BUDGET {
            out.push(format!(
                "the segments started {:.0} ms apart ({} first, {} last; budget {} ms): their \
                 load did not overlap as planned; check that the machines' clocks are in step",
                apart.as_secs_f64() * 1e3,
                lo.1.path.display(),
                hi.1.path.display(),
                START_LAG_BUDGET.as_millis()
            ));
        }
    }
    let budget = m.duration_s.max(1e-9) * m.threads.max(1) as f64;
    let waiting_share = (m.throttled_s / budget).min(1.0);
    let rates = rate_warnings(
        m.offered_spans_per_sec,
        m.achieved_spans_per_sec,
        waiting_share,
        m.retries,
        m.failed_spans,
    );
    out.extend(rates.iter().map(ToString::to_string));
    out
}
