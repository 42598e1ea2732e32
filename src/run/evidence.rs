//! Turning what the sentinel sent (the ledger) and what the target shows (traces, histograms,
//! alert transitions, notifications) into per-phase evidence.

use crate::sentinel::plan::AlertSource;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::sentinel::ledger::{Found, Outcome};
use crate::sentinel::sender::SentinelCtx;
use crate::sentinel::webhook::{Notification, WebhookReceiver};
use crate::verify::alerts::{self, BurstWindow};
use std::time::Instant;

use crate::verify::api::{QueryError, TraceSummary, Transition};
use crate::verify::backend::{Backend, Histograms};
use crate::verify::checks::Evidence;
use crate::verify::histograms::QuantileRow;
use crate::verify::poller::search_range;
use crate::verify::refusals::{Refusals, RefusedStats};
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
    /// Firing-notification delay of every notified burst: burst start to the notification's
    /// arrival at the sentinel's webhook.
    pub notify_delays: Vec<Duration>,
    /// Checks that needed a query the target did not answer, with the query and the error.
    pub unanswered: BTreeMap<&'static str, String>,
    /// Checks the backend has no API for, with what it cannot answer (`unsupported by jaeger:
    /// latency histograms`).
    pub unsupported: BTreeMap<&'static str, String>,
    /// Missing traces whose last lookup the target did not answer.
    pub missing_unanswered: u64,
    /// The last failed lookup, naming the backend (`jaeger answered no lookup: …`).
    pub last_lookup_error: Option<String>,
    /// Error-stream spans sent in the phase.
    pub error_spans: u64,
    /// Of those, the spans the target did not accept (refused, or no answer).
    pub error_spans_lost: u64,
    /// What the target says it refused, by reason (`5,059 spans refused by the target: no
    /// tenant attribute`), when it refused any: the cause a check that saw a loss names.
    pub refused: Option<String>,
    /// Polls of the target's alert history that failed in the phase: a transition may have
    /// gone unseen, so the alert checks cannot pass.
    pub alert_polls_failed: u64,
    /// The longest a sentinel batch was seen waiting in the target's queue (sampled each
    /// second; targets that report it).
    pub queue_wait_max: Option<Duration>,
    /// Ambient traces by shape.
    pub by_shape: BTreeMap<String, TraceCounts>,
    /// Ambient traces by arrival pattern.
    pub by_arrival: BTreeMap<String, TraceCounts>,
}

/// What became of the ambient traces of one shape or arrival pattern in a phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TraceCounts {
    /// Sent.
    pub sent: u64,
    /// Of those, the ones that had to be assembled.
    pub expected: u64,
    /// Found with the expected content.
    pub verified: u64,
    /// Not found in time.
    pub missing: u64,
    /// Found with other content.
    pub incorrect: u64,
}

impl TraceCounts {
    fn count(&mut self, must_assemble: bool, found: &Found) {
        self.sent += 1;
        if !must_assemble {
            return;
        }
        self.expected += 1;
        match found {
            Found::Verified(_) => self.verified += 1,
            Found::Incorrect { .. } => self.incorrect += 1,
            Found::Missing | Found::Waiting => self.missing += 1,
        }
    }
}

/// The checks that need each query of the target.
const SEARCH_CHECKS: &[&str] = &["unexpected_traces"];
const HISTOGRAM_CHECKS: &[&str] = &["histogram_error"];
const ALERT_CHECKS: &[&str] = &[
    "alert_detection",
    "alert_detect_delay",
    "alert_clear_delay",
    "alert_notify_delay",
    "spurious_alerts",
];

/// A query of the target that was not answered.
#[derive(Debug, Clone)]
pub struct Unanswered {
    /// The checks that needed it.
    pub checks: &'static [&'static str],
    /// What was asked and why it failed.
    pub why: String,
}

/// What the target showed at the end of the run.
#[derive(Debug, Clone, Default)]
pub struct TargetView {
    /// Alert transitions.
    pub transitions: Vec<Transition>,
    /// Webhook notifications received.
    pub notifications: Vec<Notification>,
    /// Histogram series of the sentinel tenant.
    pub series: Histograms,
    /// Assembled traces found by searching the run's time range.
    pub searched: Vec<TraceSummary>,
    /// Queries the target did not answer.
    pub unanswered: Vec<Unanswered>,
    /// Queries the backend has no API for.
    pub unsupported: Vec<Unanswered>,
    /// When the view was read, unix ns (a transition no poll saw was first seen then).
    pub looked_unix_ns: u64,
    /// Spans the target refused after decoding, by reason (all tenants), when it says.
    pub refused: Option<Refusals>,
}

/// Builds the evidence of every phase.
pub fn collect(ctx: &SentinelCtx, view: &TargetView) -> Vec<PhaseEvidence> {
    let phases = ctx.plan.phases.len();
    let mut out = vec![PhaseEvidence::default(); phases];
    traces(ctx, &mut out);
    unexpected(ctx, &view.searched, &mut out);
    for (i, p) in out.iter_mut().enumerate() {
        let c = view.series.compare(expected_durations(ctx, i));
        p.evidence.histogram_max_rel_error = c.max_rel_error;
        // A span counted short is explained by what the target refused, when it says.
        let why = view.refused.as_ref().and_then(Refusals::describe);
        p.evidence.histogram_problem = c.problem.map(|p| match &why {
            Some(why) => format!("{p}; {why}"),
            None => p,
        });
        p.quantiles = c.rows;
        p.refused = why;
    }
    alert_cycles(ctx, view, &mut out);
    let ledger = ctx.ledger();
    if matches!(ctx.plan.alerts, AlertSource::Target) {
        for &ns in &ledger.alert_poll_failed_ns {
            let offset = Duration::from_nanos(ns.saturating_sub(ctx.anchor.start_unix_ns));
            out[ctx.plan.phase_at(offset)].alert_polls_failed += 1;
        }
    }
    for (i, p) in out.iter_mut().enumerate() {
        p.error_spans = ledger.error_spans.get(i).copied().unwrap_or(0);
        p.error_spans_lost = ledger.error_spans_lost.get(i).copied().unwrap_or(0);
        p.queue_wait_max = ledger.queue_wait_max.get(i).copied().flatten();
        p.last_lookup_error = ledger.last_query_error.clone();
        for u in &view.unanswered {
            for check in u.checks {
                p.unanswered.entry(check).or_insert_with(|| u.why.clone());
            }
        }
        for u in &view.unsupported {
            for check in u.checks {
                p.unsupported.entry(check).or_insert_with(|| u.why.clone());
            }
        }
    }
    out
}

/// The phase whose conditions decide a trace's fate: the one in which the target collects its
/// spans, a settle window after its root was sent. A trace whose root goes out in the last
/// second of the baseline is assembled under the next phase's load (its late fragments queue
/// behind the flood, its stored fragments may be evicted by it), and is judged there; its span
/// names still carry the phase its root was sent in.
fn judged_in(ctx: &SentinelCtx, root_sent: Instant) -> usize {
    let offset = root_sent.saturating_duration_since(ctx.anchor.instant);
    ctx.plan.phase_at(offset + ctx.plan.sentinel.settle)
}

fn traces(ctx: &SentinelCtx, out: &mut [PhaseEvidence]) {
    let now = Instant::now();
    let ledger = ctx.ledger();
    for (i, r) in ledger.traces.iter().enumerate() {
        // Not wholly sent, or not yet decidable (its freshness window still open), when the run
        // was stopped: nothing the target did or failed to do can be seen in it. A run that
        // ends normally drains until every window has closed, so this never drops a trace there.
        let open = now < r.intended + ctx.plan.sentinel.freshness_timeout;
        if r.found == Found::Waiting && (r.outcome == Outcome::Pending || open) {
            continue;
        }
        let p = &mut out[judged_in(ctx, r.intended)];
        p.traces_sent += 1;
        let seq = ledger.first_seq + i as u64;
        let shape = ctx.ambient.shape(seq).name();
        let arrival = ctx.ambient.arrival(seq).name();
        for (map, key) in [(&mut p.by_shape, shape), (&mut p.by_arrival, arrival)] {
            map.entry(key.to_owned())
                .or_default()
                .count(r.must_assemble, &r.found);
        }
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
                p.missing_unanswered += u64::from(r.unanswered);
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
            out[judged_in(ctx, r.intended)].evidence.unexpected += 1;
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
        let seq = ledger.first_seq + seq as u64;
        ctx.ambient.for_each_duration(seq, |service, operation, d| {
            let key = (service.to_owned(), format!("{name}/{operation}"));
            out.entry(key).or_default().push(d);
        });
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
    let seen = match ctx.plan.alerts {
        AlertSource::Target => alerts::as_seen(
            &view.transitions,
            &ctx.ledger().alerts_seen,
            view.looked_unix_ns,
        ),
        AlertSource::Prometheus { .. } => alerts::as_stamped(&view.transitions),
    };
    let (outcomes, spurious) = alerts::evaluate(
        &bursts,
        &s.alert.name,
        &seen,
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
        if let Some(d) = o.notify_delay(b) {
            out[b.phase].notify_delays.push(d);
        }
    }
    for at in spurious {
        let offset = Duration::from_nanos(at.saturating_sub(ctx.anchor.start_unix_ns));
        out[ctx.plan.phase_at(offset)].evidence.spurious += 1;
    }
}

/// Reads what the target shows: alert history, histograms and a search over the run's traces.
pub async fn look(
    ctx: &SentinelCtx,
    query: &Backend,
    webhook: &WebhookReceiver,
    warnings: &mut Vec<String>,
) -> TargetView {
    let mut view = TargetView {
        notifications: webhook.received(),
        ..TargetView::default()
    };
    let mut failed = |checks, why: String, e: &QueryError| {
        if let QueryError::Unsupported { .. } = e {
            view.unsupported.push(Unanswered {
                checks,
                why: e.to_string(),
            });
            return;
        }
        warnings.push(why.clone());
        view.unanswered.push(Unanswered { checks, why });
    };
    let alert_source_is_target = ctx.plan.alerts == AlertSource::Target;
    let mut transitions = Vec::new();
    match query.alert_history().await {
        Ok(t) => transitions = t,
        // With another alert source the target's own history is not read for the checks.
        Err(e) if alert_source_is_target => {
            failed(ALERT_CHECKS, format!("could not read alerts: {e}"), &e)
        }
        Err(_) => {}
    }
    let mut series = Histograms::default();
    // Spanmetrics count a span when it reaches the Collector, after the run began: a window
    // from its start keeps out what earlier runs sent into the same cumulative series.
    let start = ctx.anchor.start_unix_ns.saturating_sub(1_000_000_000);
    let now = ctx.anchor.unix_ns(Instant::now());
    match query.histograms(start..now).await {
        Ok(s) => series = s,
        Err(e) => failed(
            HISTOGRAM_CHECKS,
            format!("could not read histograms: {e}"),
            &e,
        ),
    }
    let mut searched = Vec::new();
    match search_all(ctx, query).await {
        Ok(s) => searched = s,
        Err(e) => failed(
            SEARCH_CHECKS,
            format!("could not search traces ({}): {e}", query.name()),
            &e,
        ),
    }
    // Only the reference pipeline says why it refused spans; elsewhere this is simply absent.
    if let Ok(Some(stats)) = query.reference_json::<RefusedStats>("/api/v1/stats").await {
        view.refused = stats.pipeline.refused_spans;
    }
    view.transitions = transitions;
    view.series = series;
    view.searched = searched;
    view.looked_unix_ns = ctx.anchor.unix_ns(Instant::now());
    view
}

/// Searches assembled traces whose root started during the run (roots start up to the probe's
/// longest duration before they are sent).
async fn search_all(ctx: &SentinelCtx, query: &Backend) -> Result<Vec<TraceSummary>, QueryError> {
    let (start, end) = run_window(ctx);
    search_range(query, start, end).await
}

/// The run's span of time, unix ns: from a second before the earliest root (roots start up to
/// the probe's longest duration before they are sent) to a second from now.
fn run_window(ctx: &SentinelCtx) -> (u64, u64) {
    let longest = ctx.plan.sentinel.probe.max.as_nanos() as u64;
    let start = ctx
        .anchor
        .start_unix_ns
        .saturating_sub(longest + 1_000_000_000);
    (start, ctx.anchor.unix_ns(Instant::now()) + 1_000_000_000)
}
