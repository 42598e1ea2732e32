//! Running the plan: start the target (or reach an external one), set the sentinel up, walk the
//! phases with the load engine in the load phases, let verification settle, then collect what the
//! target shows and judge it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::evidence;
use super::timeline::{Interval, Sample, Timeline};
use super::walk::{Conductor, FixedPhases, PhaseOutcome, Walk};
use crate::config::run::{AlertSource, RunPlan};
use crate::engine::Anchor;
use crate::engine::start::{self, Start};
use crate::harness::{self, Harness};
use crate::progress::Progress;
use crate::sentinel::ledger::Ledger;
use crate::sentinel::sender::SentinelCtx;
use crate::sentinel::webhook::WebhookReceiver;
use crate::verify::alertmanager::Alertmanager;
use crate::verify::alertmanager::check::{PhaseNotices, per_phase};
use crate::verify::api::QueryClient;
use crate::verify::backend::BackendUse;
use crate::verify::checks::{self, Check};
use crate::verify::poller;
use crate::verify::prometheus::PrometheusAlerts;
use crate::verify::status::Status;

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
    /// The scheduled and the actual start, with `--start-at`.
    pub start: Option<Start>,
    /// What answered each part of the verification.
    pub backends: Vec<BackendUse>,
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

/// Runs `plan` as `conductor` decides phase by phase (or until `stop`), in a harness that is
/// closed however the run ends.
pub fn execute_with(
    plan: RunPlan,
    stop: Arc<AtomicBool>,
    mut on_progress: impl FnMut(&Progress) + Send,
    conductor: &mut dyn Conductor,
) -> anyhow::Result<RunOutcome> {
    let plan = Arc::new(plan);
    harness::run(&plan.clone(), "sentinel", async |h: &Harness| {
        execute_async(h, plan, stop, &mut on_progress, conductor).await
    })
}

/// The Prometheus alert watcher when `--alerts prometheus://...` asks for one.
fn prometheus_alerts(plan: &RunPlan) -> Option<Arc<PrometheusAlerts>> {
    let AlertSource::Prometheus { base_url } = &plan.alerts else {
        return None;
    };
    let client = QueryClient::with_tls(
        base_url,
        plan.tenant_header.clone(),
        plan.tenant.clone(),
        &plan.tls,
    );
    Some(Arc::new(PrometheusAlerts::new(
        client,
        &plan.sentinel.alert.name,
        &plan.sentinel.tenant,
    )))
}

/// The sentinel's tasks, started on the harness: senders, poller, webhook and the Prometheus
/// watcher when asked for. `tasks` stops them.
struct Running {
    ctx: Arc<SentinelCtx>,
    webhook: WebhookReceiver,
    prometheus: Option<Arc<PrometheusAlerts>>,
    alertmanager: Option<Arc<Alertmanager>>,
    tasks: CancellationToken,
    warnings: Vec<String>,
}

/// The anchor of the phases: now, or the `--start-at` instant once it has come (waited for on
/// a blocking thread, so the harness keeps serving meanwhile).
pub async fn phases_anchor(plan: &RunPlan, stop: &Arc<AtomicBool>) -> (Anchor, Option<Start>) {
    let Some(at) = plan.start_at else {
        return (Anchor::now(), None);
    };
    let stop = stop.clone();
    let (anchor, start) = tokio::task::spawn_blocking(move || start::wait_for(at, &stop))
        .await
        .expect("the start wait does not panic");
    (anchor, Some(start))
}

async fn start(
    h: &Harness,
    plan: &Arc<RunPlan>,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<(Running, Option<Start>)> {
    let tasks = CancellationToken::new();
    let webhook = WebhookReceiver::start(&plan.webhook, tasks.clone()).await?;
    // Before anything is set up on the target: a missing route stops the run at once.
    let alertmanager = match &plan.alertmanager {
        Some(am) => Some(Alertmanager::start(plan.alertmanager_side(), am, tasks.clone()).await?),
        None => None,
    };
    let mut warnings = Vec::new();
    if let Some(am) = &alertmanager {
        warnings.extend(am.prometheus_warning(plan.alertmanager_side()).await);
    }
    h.set_up(plan, &webhook, &mut warnings).await?;
    let (anchor, scheduled) = phases_anchor(plan, stop).await;
    let ctx = Arc::new(SentinelCtx {
        plan: Arc::new(plan.sentinel_plan()),
        ambient: plan.ambient(),
        errors: plan.errors(),
        exporters: h.exporters.clone(),
        anchor,
        ledger: Mutex::new(Ledger::new(plan.phases.len())),
    });
    tokio::spawn(ctx.clone().send_ambient(tasks.clone()));
    tokio::spawn(ctx.clone().send_errors(tasks.clone()));
    tokio::spawn(poller::poll(ctx.clone(), h.backend.clone(), tasks.clone()));
    let prometheus = prometheus_alerts(plan);
    if let Some(p) = &prometheus {
        tokio::spawn(p.clone().watch(tasks.clone()));
    }
    if let Some(am) = &alertmanager {
        tokio::spawn(am.clone().watch(tasks.clone()));
    }
    let running = Running {
        ctx,
        webhook,
        prometheus,
        alertmanager,
        tasks,
        warnings,
    };
    Ok((running, scheduled))
}

async fn execute_async(
    h: &Harness,
    plan: Arc<RunPlan>,
    stop: Arc<AtomicBool>,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
    conductor: &mut dyn Conductor,
) -> anyhow::Result<RunOutcome> {
    let (mut r, scheduled) = start(h, &plan, &stop).await?;
    if plan.load.segment.count > 1 {
        r.warnings.push(format!(
            "segment {} of {} ({}): the sentinel was judged beside this segment's share of the \
             load, the only one this process observes; the other segments' load is not checked here",
            plan.load.segment.index, plan.load.segment.count, plan.load.segment.segment
        ));
    }
    let ctx = r.ctx.clone();
    let walk = Walk {
        ctx: &ctx,
        phases: &plan.phases,
        load: &plan.load,
        target: &h.target,
        stop: &stop,
        webhook: &r.webhook,
        query: &h.backend,
    };
    let mut timeline = Timeline::default();
    let mut record = |p: &Progress| {
        timeline.samples.push(Sample::of(p));
        on_progress(p);
    };
    let (mut phases, walked) = walk.run(conductor, &mut record).await;
    // A stop during the walk already left its phase unfinished; one during the drain cuts the
    // evidence of the last phase run.
    let walk_stopped = stop.load(Ordering::Relaxed);
    let drained = drain(&ctx, plan.checks.clear_limit, &stop, walked).await || walk_stopped;
    cut_by_drain(&mut phases, drained, &mut r.warnings);
    if let Some(am) = &r.alertmanager {
        am.await_resolved(&evidence::burst_windows(&ctx)).await;
    }
    r.tasks.cancel();
    let view = look(h, &mut r).await;
    collect_warnings(&ctx, &plan, &phases, &mut r.warnings);
    for (p, e) in phases.iter_mut().zip(evidence::collect(&ctx, &view)) {
        p.sentinel = e;
    }
    let notices = r
        .alertmanager
        .as_ref()
        .map(|am| through_alertmanager(am, &ctx, &mut phases));
    settle_timeline(&mut timeline, &ctx, &view, walked);
    let mut checks = super::verdict::judge(&plan, &phases);
    if let (Some(am), Some(notices)) = (&r.alertmanager, &notices) {
        let health = am.health(ctx.anchor.start_unix_ns);
        if let Some(h) = &health {
            r.warnings.push(h.clone());
        }
        let who = am.name();
        super::verdict::add_notification_checks(
            &mut checks,
            &plan,
            &phases,
            notices,
            (&who, health.as_deref()),
        );
    }
    let verdict = checks::verdict(&checks);
    let backends = backend_uses(h, &plan);
    Ok(RunOutcome {
        target: h.target.to_string(),
        plan,
        phases,
        checks,
        timeline,
        verdict,
        warnings: r.warnings,
        start: scheduled,
        backends,
    })
}

/// What answered traces, histograms, alerts and notifications in this run.
pub fn backend_uses(h: &Harness, plan: &RunPlan) -> Vec<BackendUse> {
    let mut uses = h.backend.uses();
    let unsupported = format!("unsupported by {}", h.backend.name());
    uses.push(match &plan.alerts {
        AlertSource::Prometheus { base_url } => {
            BackendUse::new("alerts", "prometheus", Some(base_url))
        }
        AlertSource::Target if h.backend.has_reference() => {
            BackendUse::new("alerts", "reference", Some(h.query.base()))
        }
        AlertSource::Target => BackendUse::new("alerts", &unsupported, None),
    });
    match (&plan.alertmanager, &plan.alerts) {
        (Some(am), _) => uses.push(BackendUse::new(
            "notifications",
            "alertmanager",
            Some(&am.base_url),
        )),
        (None, AlertSource::Target) if h.backend.has_reference() => {
            uses.push(BackendUse::new("notifications", "reference webhook", None))
        }
        _ => {}
    }
    uses
}

/// Reads what the target shows (and Prometheus's alerts when asked), then deletes the
/// sentinel's alert rule.
async fn look(h: &Harness, r: &mut Running) -> evidence::TargetView {
    let mut view = evidence::look(&r.ctx, &h.backend, &r.webhook, &mut r.warnings).await;
    if let Some(p) = &r.prometheus {
        view.transitions = p.transitions();
        if let (n @ 1.., last) = p.errors() {
            r.warnings.push(format!(
                "{n} polls of Prometheus's alerts failed; last: {}",
                last.unwrap_or_default()
            ));
        }
    }
    if let Err(e) = h.backend.delete_rule(&r.ctx.plan.sentinel.alert.name).await {
        r.warnings
            .push(format!("could not delete the sentinel's alert rule: {e}"));
    }
    view
}

/// With `--alertmanager`, notifications are Alertmanager's: each phase's firing notifications
/// and their delays replace the (absent) webhook's, and what it delivered is kept per phase.
fn through_alertmanager(
    am: &Alertmanager,
    ctx: &SentinelCtx,
    phases: &mut [PhaseOutcome],
) -> Vec<PhaseNotices> {
    let bursts = evidence::burst_windows(ctx);
    let notices = per_phase(&bursts, &am.notices(&bursts), phases.len());
    for (p, n) in phases.iter_mut().zip(&notices) {
        p.sentinel.evidence.notifications_not_expected = false;
        p.sentinel.evidence.notified = n.firing;
        p.sentinel.notify_delays = n.notify_delays.clone();
    }
    notices
}

/// Warnings about failed query calls and loads that could not run.
fn collect_warnings(
    ctx: &SentinelCtx,
    plan: &RunPlan,
    phases: &[PhaseOutcome],
    warnings: &mut Vec<String>,
) {
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
    for (phase, p) in plan.phases.iter().zip(phases) {
        if let Some(e) = &p.load_error {
            warnings.push(format!("phase {}: the load could not run: {e}", phase.name));
        }
    }
}

/// Adds the burst windows and the alert-firing intervals to the timeline.
fn settle_timeline(
    timeline: &mut Timeline,
    ctx: &SentinelCtx,
    view: &evidence::TargetView,
    walked: Duration,
) {
    let bursts = evidence::burst_windows(ctx)
        .iter()
        .map(|b| Interval {
            start_s: b.start_ns.saturating_sub(ctx.anchor.start_unix_ns) as f64 / 1e9,
            end_s: b.end_ns.saturating_sub(ctx.anchor.start_unix_ns) as f64 / 1e9,
        })
        .collect();
    timeline.settle(
        bursts,
        &ctx.plan.sentinel.alert.name,
        &view.transitions,
        ctx.anchor.start_unix_ns,
        walked,
    );
}

/// A stop during the final drain leaves the last phase's traces and burst undecided: that phase
/// is reported unfinished, as an interrupted phase is, so no check of it passes on what was not
/// yet seen.
fn cut_by_drain(phases: &mut [PhaseOutcome], drained: bool, warnings: &mut Vec<String>) {
    if drained {
        return;
    }
    if let Some(last) = phases.iter_mut().rev().find(|p| p.completed) {
        last.completed = false;
        warnings.push(
            "the run was stopped while waiting for the last phase's traces and alerts: that \
             phase is reported unfinished"
                .into(),
        );
    }
}

/// Waits until every trace that must be assembled is decided and the last burst had time to
/// clear, bounded by the freshness timeout and `clear_limit` (how long an alert may take to
/// clear). `walked` is where the last phase run ended (the plan's end unless a conductor stopped
/// early). False when stopped first.
async fn drain(
    ctx: &SentinelCtx,
    clear_limit: Duration,
    stop: &AtomicBool,
    walked: Duration,
) -> bool {
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
        ctx.anchor.instant + e + clear_limit + plan.sentinel.alert_grace
    });
    // Below-threshold traces need the target's settle window before an unexpected assembly shows.
    let search_ready = end + plan.sentinel.settle;
    loop {
        let now = Instant::now();
        let traces_done = ctx.ledger().settled() || now >= traces_deadline;
        if traces_done && now >= alerts_deadline.min(traces_deadline) && now >= search_ready {
            return true;
        }
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::walk::not_run;

    // Regression (issue 28, point 11): a stop during the final drain built a verdict from the
    // last phase's partial evidence, with every phase reported complete.
    #[test]
    fn a_stop_during_the_drain_leaves_the_last_phase_run_unfinished() {
        let done = || PhaseOutcome {
            completed: true,
            ..not_run()
        };
        let mut phases = vec![done(), done(), not_run()];
        let mut warnings = Vec::new();
        cut_by_drain(&mut phases, true, &mut warnings);
        assert!(phases[1].completed && warnings.is_empty());
        cut_by_drain(&mut phases, false, &mut warnings);
        let completed: Vec<_> = phases.iter().map(|p| p.completed).collect();
        assert_eq!(completed, [true, false, false]);
        assert!(
            warnings[0].contains("stopped while waiting"),
            "{warnings:?}"
        );
    }
}
