//! Running the plan: start the target (or reach an external one), set the sentinel up, walk the
//! phases with the load engine in the load phases, let verification settle, then collect what the
//! target shows and judge it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::evidence::{self, PhaseEvidence};
use super::peer::{self, PeerProcess};
use super::plan::{AlertSource, RunPlan, TargetPlan};
use super::timeline::{Interval, Sample, Timeline};
use super::walk::{Conductor, FixedPhases, Walk};
use crate::engine::{Anchor, LoadOutcome};
use crate::pipeline::Pipeline;
use crate::sentinel::ledger::Ledger;
use crate::sentinel::sender::SentinelCtx;
use crate::sentinel::webhook::WebhookReceiver;
use crate::transport::{Exporter, RetryPolicy, Target, TransportOptions};
use crate::verify::api::{QueryClient, RuleBody};
use crate::verify::checks::{self, Check};
use crate::verify::poller;
use crate::verify::prometheus::PrometheusAlerts;
use crate::verify::status::Status;

/// What one phase measured.
#[derive(Debug, Clone)]
pub struct PhaseOutcome {
    /// The load engine's outcome, for load phases.
    pub load: Option<LoadOutcome>,
    /// Why the load engine could not run, for load phases.
    pub load_error: Option<String>,
    /// The sentinel's evidence.
    pub sentinel: PhaseEvidence,
    /// Whether the phase ran to its end (false when the run was stopped).
    pub completed: bool,
}

/// What a run measured and concluded.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The plan it ran.
    pub plan: Arc<RunPlan>,
    /// Where spans went.
    pub target: String,
    /// One per phase of the plan.
    pub phases: Vec<PhaseOutcome>,
    /// Every check of every verified phase.
    pub checks: Vec<Check>,
    /// One sample per second, with the burst and alert-firing intervals.
    pub timeline: Timeline,
    /// The overall verdict.
    pub verdict: Status,
    /// Things the user should know (setup steps the target refused, query errors).
    pub warnings: Vec<String>,
}

/// Progress of a run, once per second: what the progress display shows and what the run's
/// timeline records.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Current phase name.
    pub phase: String,
    /// Index of the current phase in the plan.
    pub index: usize,
    /// Time since the start of the run.
    pub t: Duration,
    /// Seconds into the phase.
    pub elapsed: Duration,
    /// Length of the phase.
    pub length: Duration,
    /// Ambient traces sent so far.
    pub sent: u64,
    /// Ambient traces sent so far that must be assembled.
    pub expected: u64,
    /// Verified so far.
    pub verified: u64,
    /// Missing so far.
    pub missing: u64,
    /// Load spans/s offered in the last second (0 outside load phases; `None` for `max`).
    pub offered_rate: Option<f64>,
    /// Load spans/s sent in the last second (0 outside load phases).
    pub load_rate: f64,
    /// p99 of the load's schedule lag in the last second, ms (`None` outside load phases).
    pub lag_p99_ms: Option<f64>,
    /// p99 freshness of the traces found in the last second, ms (`None` when none was found).
    pub freshness_p99_ms: Option<f64>,
    /// The last alert state the webhook heard (`ok` or `firing`).
    pub alert: String,
}

/// Runs `plan` to its end (or until `stop`), reporting progress through `on_progress`.
pub fn execute(
    plan: RunPlan,
    stop: Arc<AtomicBool>,
    on_progress: impl FnMut(&Progress) + Send,
) -> anyhow::Result<RunOutcome> {
    let mut fixed = FixedPhases {
        rate: plan.load.rate.clone(),
    };
    execute_with(plan, stop, on_progress, &mut fixed)
}

/// Runs `plan` as `conductor` decides phase by phase (or until `stop`).
pub fn execute_with(
    plan: RunPlan,
    stop: Arc<AtomicBool>,
    mut on_progress: impl FnMut(&Progress) + Send,
    conductor: &mut dyn Conductor,
) -> anyhow::Result<RunOutcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sentinel")
        .enable_all()
        .build()
        .context("starting the sentinel's runtime")?;
    runtime.block_on(execute_async(
        Arc::new(plan),
        stop,
        &mut on_progress,
        conductor,
    ))
}

/// The target as reached: where spans go, where to ask, and the embedded pipeline if any.
pub struct Reached {
    /// Where spans go.
    pub target: Target,
    /// Base URL of the query API.
    pub query_url: String,
    /// The embedded pipeline, when the plan asked for it (shut it down at the end).
    pub pipeline: Option<Pipeline>,
    /// The collector in the path, if the plan has one.
    pub peer: Option<PeerProcess>,
}

/// Starts the embedded pipeline, or takes the external target as given.
pub async fn reach(plan: &RunPlan) -> anyhow::Result<Reached> {
    match &plan.target {
        TargetPlan::Embedded(config) => {
            let pipeline = Pipeline::start((**config).clone())
                .await
                .context("starting the embedded pipeline")?;
            let endpoint = pipeline
                .grpc_endpoint()
                .parse()
                .context("the pipeline's gRPC endpoint")?;
            let peer = match &plan.peer {
                Some(peer) => Some(
                    peer::start(peer, pipeline.grpc_addr(), pipeline.http_addr())
                        .await
                        .context("starting the [peer]")?,
                ),
                None => None,
            };
            Ok(Reached {
                target: peer
                    .as_ref()
                    .map_or(Target::Grpc { endpoint }, |p| p.target.clone()),
                query_url: pipeline.http_endpoint(),
                pipeline: Some(pipeline),
                peer,
            })
        }
        TargetPlan::External { target, query_url } => Ok(Reached {
            target: target.clone(),
            query_url: query_url.clone(),
            pipeline: None,
            peer: None,
        }),
    }
}

/// The Prometheus alert watcher when `--alerts prometheus://...` asks for one.
fn prometheus_alerts(plan: &RunPlan) -> Option<Arc<PrometheusAlerts>> {
    let AlertSource::Prometheus { base_url } = &plan.alerts else {
        return None;
    };
    let client = QueryClient::new(base_url, plan.tenant_header.clone(), plan.tenant.clone());
    Some(Arc::new(PrometheusAlerts::new(
        client,
        &plan.sentinel.alert.name,
        &plan.sentinel.tenant,
    )))
}

/// How the sentinel's own connection is set up.
pub fn sentinel_transport(plan: &RunPlan) -> TransportOptions {
    TransportOptions {
        tenant_header: plan.tenant_header.clone(),
        connections: 1,
        concurrency: 1024,
        timeout: Duration::from_secs(5),
        encoding: plan.load.transport.encoding,
        retry: RetryPolicy {
            max_elapsed: plan.sentinel.retry_max_elapsed,
            ..RetryPolicy::default()
        },
        ..TransportOptions::default()
    }
}

/// Sets the sentinel up on the target: its assembly threshold (where the API allows; a refusal
/// is a warning) and a fresh alert rule notifying `webhook` (a leftover one is deleted first).
pub async fn set_up(
    plan: &RunPlan,
    query: &QueryClient,
    webhook: &WebhookReceiver,
    warnings: &mut Vec<String>,
) -> anyhow::Result<()> {
    if let Err(e) = query
        .set_assembly_threshold(plan.sentinel.assembly_threshold)
        .await
    {
        warnings.push(format!("the target did not take the sentinel's assembly threshold ({e}); it must already be {:?}", plan.sentinel.assembly_threshold));
    }
    let a = &plan.sentinel.alert;
    query
        .delete_rule(&a.name)
        .await
        .context("deleting a leftover sentinel alert rule")?;
    let rule = RuleBody {
        name: a.name.clone(),
        threshold: a.threshold,
        window_ms: a.window.as_millis() as u64,
        min_spans: a.min_spans,
        clear_after_ms: a.clear_after.as_millis() as u64,
        webhook_url: Some(webhook.url()),
    };
    query
        .create_rule(&rule)
        .await
        .context("creating the sentinel's alert rule")?;
    Ok(())
}

async fn execute_async(
    plan: Arc<RunPlan>,
    stop: Arc<AtomicBool>,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
    conductor: &mut dyn Conductor,
) -> anyhow::Result<RunOutcome> {
    let reached = reach(&plan).await?;
    let exporter = Exporter::connect(&reached.target, &sentinel_transport(&plan)).await?;
    let query = QueryClient::new(
        &reached.query_url,
        plan.tenant_header.clone(),
        plan.tenant.clone(),
    );
    let tasks = CancellationToken::new();
    let webhook = WebhookReceiver::start(tasks.clone())
        .await
        .context("starting the webhook receiver")?;
    let mut warnings = Vec::new();
    set_up(&plan, &query, &webhook, &mut warnings).await?;

    let anchor = Anchor::now();
    let ctx = Arc::new(SentinelCtx {
        plan: plan.clone(),
        ambient: plan.ambient(),
        errors: plan.errors(),
        exporter,
        anchor,
        ledger: Mutex::new(Ledger::new(plan.phases.len())),
    });
    tokio::spawn(ctx.clone().send_ambient(tasks.clone()));
    tokio::spawn(ctx.clone().send_errors(tasks.clone()));
    tokio::spawn(poller::poll(ctx.clone(), query.clone(), tasks.clone()));
    let prometheus = prometheus_alerts(&plan);
    if let Some(p) = &prometheus {
        tokio::spawn(p.clone().watch(tasks.clone()));
    }

    let walk = Walk {
        ctx: &ctx,
        target: &reached.target,
        stop: &stop,
        webhook: &webhook,
        query: &query,
    };
    let mut timeline = Timeline::default();
    let mut record = |p: &Progress| {
        timeline.samples.push(Sample::of(p));
        on_progress(p);
    };
    let (mut phases, walked) = walk.run(conductor, &mut record).await;
    drain(&ctx, &stop, walked).await;
    tasks.cancel();

    let mut view = evidence::look(&ctx, &query, &webhook, &mut warnings).await;
    if let Some(p) = &prometheus {
        view.transitions = p.transitions();
        if let (n @ 1.., last) = p.errors() {
            warnings.push(format!(
                "{n} polls of Prometheus's alerts failed; last: {}",
                last.unwrap_or_default()
            ));
        }
    }
    if let Err(e) = query.delete_rule(&plan.sentinel.alert.name).await {
        warnings.push(format!("could not delete the sentinel's alert rule: {e}"));
    }
    if let Some(peer) = reached.peer {
        peer.stop().await;
    }
    if let Some(pipeline) = reached.pipeline {
        pipeline.shutdown().await;
    }
    {
        let ledger = ctx.ledger();
        if ledger.query_errors > 0 {
            warnings.push(format!(
                "{} query API calls failed (retried); last: {}",
                ledger.query_errors,
                ledger.last_query_error.as_deref().unwrap_or("")
            ));
        }
    }
    for (phase, p) in plan.phases.iter().zip(&phases) {
        if let Some(e) = &p.load_error {
            warnings.push(format!("phase {}: the load could not run: {e}", phase.name));
        }
    }
    for (p, e) in phases.iter_mut().zip(evidence::collect(&ctx, &view)) {
        p.sentinel = e;
    }
    let bursts = evidence::burst_windows(&ctx)
        .iter()
        .map(|b| Interval {
            start_s: b.start_ns.saturating_sub(ctx.anchor.start_unix_ns) as f64 / 1e9,
            end_s: b.end_ns.saturating_sub(ctx.anchor.start_unix_ns) as f64 / 1e9,
        })
        .collect();
    timeline.settle(
        bursts,
        &plan.sentinel.alert.name,
        &view.transitions,
        ctx.anchor.start_unix_ns,
        walked,
    );
    let judged: Vec<_> = plan
        .phases
        .iter()
        .zip(&phases)
        .filter(|(_, o)| o.completed)
        .map(|(p, o)| (p.name.clone(), p.kind, o.sentinel.evidence.clone()))
        .collect();
    let checks = checks::judge(&judged, &plan.checks);
    let verdict = checks::verdict(&checks);
    Ok(RunOutcome {
        target: reached.target.to_string(),
        plan,
        phases,
        checks,
        timeline,
        verdict,
        warnings,
    })
}

/// Waits until every trace that must be assembled is decided and the last burst had time to
/// clear, bounded by the freshness timeout and the clear limit. `walked` is where the last phase
/// run ended (the plan's end unless a conductor stopped early).
async fn drain(ctx: &SentinelCtx, stop: &AtomicBool, walked: Duration) {
    let plan = &ctx.plan;
    let end = ctx.anchor.instant + walked;
    let traces_deadline = end + plan.sentinel.freshness_timeout + Duration::from_secs(1);
    let last_burst_end = plan
        .sentinel
        .bursts
        .bursts_until(walked)
        .into_iter()
        .map(|b| b.end)
        .filter(|e| *e <= walked)
        .max();
    let alerts_deadline = last_burst_end.map_or(end, |e| {
        ctx.anchor.instant + e + plan.checks.clear_limit + plan.sentinel.alert_grace
    });
    // Below-threshold traces need the target's settle window before an unexpected assembly shows.
    let search_ready = end + plan.sentinel.settle;
    loop {
        let now = Instant::now();
        let traces_done = ctx.ledger().settled() || now >= traces_deadline;
        if (traces_done && now >= alerts_deadline.min(traces_deadline) && now >= search_ready)
            || stop.load(Ordering::Relaxed)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
