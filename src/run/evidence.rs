//! Turning what the sentinel sent (the ledger) and what the target shows (traces, histograms,
//! alert transitions, notifications) into per-phase evidence.

use crate::config::run::AlertSource;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::sentinel::ambient::{OPERATIONS, SERVICES, SPANS_PER_TRACE};
use crate::sentinel::ledger::{Found, Outcome};
use crate::sentinel::sender::SentinelCtx;
use crate::sentinel::webhook::{Notification, WebhookReceiver};
use crate::verify::alerts::{self, BurstWindow};
use std::time::Instant;

use crate::verify::api::{QueryClient, QueryError, Series, TraceSummary, Transition};
use crate::verify::checks::Evidence;
use crate::verify::histograms::{self, QuantileRow};
use crate::verify::traces::hex;

/// The evidence of one phase plus what the report shows of it.
#[derive(Debug, Clone, Default)]
pub struct PhaseEvidence {
    /// What the checks judge.
    pub evidence: Evidence,
    /// Ambient traces sent in the phase.
    pub traces_sent: u64,
    /// Every histogram quantile compared.
    pub quantiles: Vec<QuantileRow>,
}

/// What the target showed at the end of the run.
#[derive(Debug, Clone, Default)]
pub struct TargetView {
    /// Alert transitions.
    pub transitions: Vec<Transition>,
    /// Webhook notifications received.
    pub notifications: Vec<Notification>,
    /// Histogram series of the sentinel tenant.
    pub series: Vec<Series>,
    /// Assembled traces found by searching the run's time range.
    pub searched: Vec<TraceSummary>,
}

/// Builds the evidence of every phase.
pub fn collect(ctx: &SentinelCtx, view: &TargetView) -> Vec<PhaseEvidence> {
    let phases = ctx.plan.phases.len();
    let mut out = vec![PhaseEvidence::default(); phases];
    traces(ctx, &mut out);
    unexpected(ctx, &view.searched, &mut out);
    for (i, p) in out.iter_mut().enumerate() {
        let c = histograms::compare(expected_durations(ctx, i), &view.series);
        p.evidence.histogram_max_rel_error = c.max_rel_error;
        p.evidence.histogram_problem = c.problem;
        p.quantiles = c.rows;
    }
    alert_cycles(ctx, view, &mut out);
    out
}

fn traces(ctx: &SentinelCtx, out: &mut [PhaseEvidence]) {
    let ledger = ctx.ledger();
    for r in &ledger.traces {
        let p = &mut out[r.phase];
        p.traces_sent += 1;
        if !r.must_assemble {
            continue;
        }
        let e = &mut p.evidence;
        e.expected += 1;
        match &r.found {
            Found::Verified(after) => {
                e.verified += 1;
                e.freshness.push(*after);
            }
            Found::Incorrect { after, diff } => {
                e.incorrect += 1;
                e.freshness.push(*after);
                e.incorrect_example.get_or_insert_with(|| diff.clone());
            }
            Found::Missing | Found::Waiting => {
                e.missing += 1;
                e.missing_unacked += u64::from(r.outcome != Outcome::Acked);
            }
        }
    }
}

fn unexpected(ctx: &SentinelCtx, searched: &[TraceSummary], out: &mut [PhaseEvidence]) {
    let ledger = ctx.ledger();
    let by_id: HashMap<String, usize> = (0..ledger.traces.len())
        .map(|seq| (hex(&ctx.ambient.trace_id(seq as u64)), seq))
        .collect();
    let mut seen = vec![false; ledger.traces.len()];
    for hit in searched {
        // Traces of other runs (other seeds) are not this run's to judge.
        let Some(&seq) = by_id.get(&hit.trace_id) else {
            continue;
        };
        let r = &ledger.traces[seq];
        if !r.must_assemble || seen[seq] {
            out[r.phase].evidence.unexpected += 1;
        }
        seen[seq] = true;
    }
}

fn expected_durations(ctx: &SentinelCtx, phase: usize) -> BTreeMap<(String, String), Vec<u64>> {
    let ledger = ctx.ledger();
    let name = &ctx.plan.phases[phase].name;
    let mut out: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for (seq, r) in ledger.traces.iter().enumerate() {
        if r.phase != phase || r.outcome != Outcome::Acked {
            continue;
        }
        let durations = ctx.ambient.durations_ns(seq as u64);
        for node in 0..SPANS_PER_TRACE {
            let key = (
                SERVICES[node].to_owned(),
                format!("{name}/{}", OPERATIONS[node]),
            );
            out.entry(key).or_default().push(durations[node]);
        }
    }
    out
}

/// The bursts of the run that end before it does, on the wall clock.
pub fn burst_windows(ctx: &SentinelCtx) -> Vec<BurstWindow> {
    let total = ctx.plan.total();
    let at = |d: Duration| ctx.anchor.start_unix_ns + d.as_nanos() as u64;
    ctx.plan
        .sentinel
        .bursts
        .bursts_until(total)
        .into_iter()
        .filter(|b| b.end <= total)
        .map(|b| BurstWindow {
            phase: ctx.plan.phase_at(b.start),
            start_ns: at(b.start),
            end_ns: at(b.end),
        })
        .collect()
}

fn alert_cycles(ctx: &SentinelCtx, view: &TargetView, out: &mut [PhaseEvidence]) {
    let s = &ctx.plan.sentinel;
    let bursts = burst_windows(ctx);
    let until = ctx.anchor.start_unix_ns + ctx.plan.total().as_nanos() as u64;
    let (outcomes, spurious) = alerts::evaluate(
        &bursts,
        &s.alert.name,
        &view.transitions,
        &view.notifications,
        s.alert_grace,
        until,
    );
    let without_webhook = !matches!(ctx.plan.alerts, AlertSource::Target);
    for p in out.iter_mut() {
        p.evidence.notifications_not_expected = without_webhook;
    }
    for (b, o) in bursts.iter().zip(&outcomes) {
        let e = &mut out[b.phase].evidence;
        e.bursts += 1;
        if let Some(d) = o.detect_delay(b) {
            e.detected += 1;
            e.detect_delays.push(d);
        }
        if let Some(d) = o.clear_delay(b) {
            e.cleared += 1;
            e.clear_delays.push(d);
        }
        e.notified += u64::from(o.notified);
    }
    for at in spurious {
        let offset = Duration::from_nanos(at.saturating_sub(ctx.anchor.start_unix_ns));
        out[ctx.plan.phase_at(offset)].evidence.spurious += 1;
    }
}

/// Reads what the target shows: alert history, histograms and a search over the run's traces.
pub async fn look(
    ctx: &SentinelCtx,
    query: &QueryClient,
    webhook: &WebhookReceiver,
    warnings: &mut Vec<String>,
) -> TargetView {
    let mut view = TargetView {
        notifications: webhook.received(),
        ..TargetView::default()
    };
    match query.alert_history().await {
        Ok(t) => view.transitions = t,
        Err(e) => warnings.push(format!("could not read alerts: {e}")),
    }
    match query.histograms().await {
        Ok(s) => view.series = s,
        Err(e) => warnings.push(format!("could not read histograms: {e}")),
    }
    match search_all(ctx, query).await {
        Ok(s) => view.searched = s,
        Err(e) => warnings.push(format!("could not search traces: {e}")),
    }
    view
}

/// Searches assembled traces whose root started during the run (roots start up to the probe's
/// longest duration before they are sent).
async fn search_all(
    ctx: &SentinelCtx,
    query: &QueryClient,
) -> Result<Vec<TraceSummary>, QueryError> {
    let longest = ctx.plan.sentinel.probe.max.as_nanos() as u64;
    let start = ctx
        .anchor
        .start_unix_ns
        .saturating_sub(longest + 1_000_000_000);
    let end = ctx.anchor.unix_ns(Instant::now()) + 1_000_000_000;
    search_range(query, start, end).await
}

/// Every assembled trace whose root started in `[start, end)` (unix ns), searched in slices so
/// no answer hits the search limit.
pub async fn search_range(
    query: &QueryClient,
    start: u64,
    end: u64,
) -> Result<Vec<TraceSummary>, QueryError> {
    const LIMIT: usize = 10_000;
    let mut slices = vec![(start, end)];
    let mut out = Vec::new();
    while let Some((a, b)) = slices.pop() {
        let found = query.search(a, b, LIMIT).await?;
        if found.len() >= LIMIT && b - a > 1 {
            let mid = a + (b - a) / 2;
            slices.push((a, mid));
            slices.push((mid, b));
        } else {
            out.extend(found);
        }
    }
    Ok(out)
}
