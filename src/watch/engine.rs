//! Running a watch: serve `/metrics`, reach the target (the embedded pipeline or `--target`),
//! set the sentinel up as `run` does, wait until the alert rule is quiet, then send the
//! sentinel's streams and follow them tick by tick — counting decisions into rolling windows —
//! until the duration ends or a signal arrives; then drain what can still be decided and report.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::alerts::{AlertFollower, wait_for_quiet};
use super::metrics::Registry;
use super::server::{self, Endpoints, Readiness};
use super::traces::TraceFollower;
use super::windows::{ALERT_CHECKS, CHECKS, Recorder, Totals, WindowVerdict};
use super::{CheckSummary, StopReason, WatchOutcome};
use crate::config::watch::WatchPlan;
use crate::engine::Anchor;
use crate::harness::{self, Harness};
use crate::sentinel::ledger::Ledger;
use crate::sentinel::sender::SentinelCtx;
use crate::sentinel::webhook::WebhookReceiver;
use crate::verify::backend::Backend;
use crate::verify::checks::CheckTolerances;
use crate::verify::poller;
use crate::verify::status::{Millis, Status};

/// How often the ledger and the alert are followed.
const TICK: Duration = Duration::from_secs(1);

/// What the caller hears while the watch runs.
pub trait Observer: Send {
    /// The metrics endpoint is bound and the sentinel is about to send.
    fn ready(&mut self, metrics_addr: SocketAddr, target: &str, seed: u64);
    /// A window closed.
    fn window(&mut self, verdict: &WindowVerdict, totals: &Totals);
    /// About once a second: how far the watch is, and the totals so far.
    fn second(&mut self, _elapsed: Duration, _window: u64, _totals: &Totals) {}
}

/// Runs `plan` until its duration ends or `stop` is set.
pub fn watch(
    plan: WatchPlan,
    stop: Arc<AtomicBool>,
    observer: &mut dyn Observer,
) -> anyhow::Result<WatchOutcome> {
    harness::run(&plan.run.clone(), "watch", async |h: &Harness| {
        watch_async(h, plan, stop, observer).await
    })
}

/// Everything set up before the first trace is sent.
struct Started<'h> {
    h: &'h Harness,
    ctx: Arc<SentinelCtx>,
    query: Backend,
    webhook: WebhookReceiver,
    registry: Arc<Registry>,
    readiness: Arc<Readiness>,
    metrics_addr: SocketAddr,
    warnings: Vec<String>,
    checks: CheckTolerances,
}

async fn start<'h>(
    h: &'h Harness,
    plan: &WatchPlan,
    tasks: &CancellationToken,
) -> anyhow::Result<Started<'h>> {
    let run = &plan.run;
    let listener = server::bind(plan.metrics_addr).await?;
    let metrics_addr = listener.local_addr()?;
    let registry = Arc::new(Registry::new(&CHECKS));
    let readiness = Arc::new(Readiness::default());
    let endpoints = Endpoints {
        registry: registry.clone(),
        readiness: readiness.clone(),
    };
    tokio::spawn(server::serve(listener, endpoints, tasks.clone()));
    let query = h.backend.clone();
    let webhook = WebhookReceiver::start(&run.webhook, tasks.clone()).await?;
    let mut warnings = Vec::new();
    let created = Anchor::now().start_unix_ns;
    h.set_up(run, &webhook, &mut warnings).await?;
    let a = &run.sentinel.alert;
    let min_wait = a.window + a.clear_after + Duration::from_secs(1);
    let max_wait = min_wait + run.checks.clear_limit + Duration::from_secs(30);
    if !wait_for_quiet(&a.name, &query, created, min_wait, max_wait).await {
        warnings.push(format!(
            "the alert rule was still firing {max_wait:?} after it was created (spans of an earlier sender?); firings before the start are ignored, but the first burst may be missed"
        ));
    }
    let ctx = Arc::new(SentinelCtx {
        plan: Arc::new(run.sentinel_plan()),
        ambient: run.ambient(),
        errors: run.errors(),
        exporters: h.exporters.clone(),
        anchor: Anchor::now(),
        ledger: Mutex::new(Ledger::new(1)),
    });
    Ok(Started {
        h,
        ctx,
        query,
        webhook,
        registry,
        readiness,
        metrics_addr,
        warnings,
        checks: run.checks.clone(),
    })
}

/// The followers and the recorder, ticked together.
struct Follow<'a> {
    s: &'a Started<'a>,
    traces: TraceFollower,
    alerts: AlertFollower,
    rec: Recorder,
    window: Duration,
    next_window_end: Instant,
}

impl Follow<'_> {
    /// One tick: ledger, search, alert (unless `alerts_until` is `None`), windows that ended.
    async fn tick(&mut self, alerts_until: Option<Duration>, observer: &mut dyn Observer) {
        let (ctx, s) = (&self.s.ctx, self.s);
        self.traces.scan(ctx, &mut self.rec);
        let now_unix = ctx.anchor.unix_ns(Instant::now());
        self.traces
            .search(ctx, &s.query, &mut self.rec, now_unix)
            .await;
        if let Some(until) = alerts_until {
            self.alerts
                .tick(ctx, &s.query, &s.webhook, &mut self.rec, until, false)
                .await;
        }
        while Instant::now() >= self.next_window_end {
            let end = ctx.anchor.unix_ns(self.next_window_end);
            let verdict = self.rec.close_window(end);
            observer.window(&verdict, &self.rec.totals);
            self.next_window_end += self.window;
        }
    }
}

async fn watch_async(
    h: &Harness,
    plan: WatchPlan,
    stop: Arc<AtomicBool>,
    observer: &mut dyn Observer,
) -> anyhow::Result<WatchOutcome> {
    let tasks = CancellationToken::new();
    let started = start(h, &plan, &tasks).await?;
    let ctx = started.ctx.clone();
    observer.ready(started.metrics_addr, &h.target.to_string(), ctx.plan.seed);
    let senders = CancellationToken::new();
    tokio::spawn(ctx.clone().send_ambient(senders.clone()));
    tokio::spawn(ctx.clone().send_errors(senders.clone()));
    tokio::spawn(poller::poll(
        ctx.clone(),
        started.query.clone(),
        tasks.clone(),
    ));
    // The rule is set up and quiet, and the first window starts at the anchor.
    started.readiness.set_ready();
    let mut follow = Follow {
        s: &started,
        traces: TraceFollower::new(&ctx),
        alerts: AlertFollower::new(&ctx, started.checks.clear_limit),
        rec: Recorder::new(
            started.registry.clone(),
            started.checks.clone(),
            ctx.anchor.start_unix_ns,
        ),
        window: plan.window,
        next_window_end: ctx.anchor.instant + plan.window,
    };
    if let Some(e) = started.query.alert_history_unsupported() {
        follow.rec.unsupported(&ALERT_CHECKS, &e.to_string());
    }
    let total = ctx.plan.total();
    let reason = loop {
        tokio::time::sleep(TICK).await;
        let elapsed = ctx.anchor.instant.elapsed();
        if stop.load(Ordering::Relaxed) {
            break StopReason::Signal;
        }
        if elapsed >= total {
            break StopReason::Duration;
        }
        follow.tick(Some(elapsed), observer).await;
        observer.second(elapsed, follow.rec.windows, &follow.rec.totals);
    };
    let sent_until = ctx.anchor.instant.elapsed().min(total);
    if reason == StopReason::Signal {
        senders.cancel();
    }
    drain(&mut follow, reason, sent_until, &stop, observer).await;
    senders.cancel();
    let outcome = finish(follow, reason, sent_until, &plan).await;
    tasks.cancel();
    Ok(outcome)
}

/// Keeps following until every trace sent is decided (and, when the duration ended, every
/// burst), bounded by the freshness timeout (plus the clear limit). After a signal, bursts are
/// no longer decided: the error stream has stopped, so their alert could not clear.
async fn drain(
    follow: &mut Follow<'_>,
    reason: StopReason,
    sent_until: Duration,
    stop: &AtomicBool,
    observer: &mut dyn Observer,
) {
    let ctx = follow.s.ctx.clone();
    let s = &ctx.plan.sentinel;
    let alerts_until = (reason == StopReason::Duration).then_some(sent_until);
    let horizon = TraceFollower::horizon(&ctx);
    let mut deadline = Instant::now() + s.freshness_timeout.max(horizon) + Duration::from_secs(1);
    if alerts_until.is_some() {
        deadline += follow.s.checks.clear_limit + s.alert_grace + Duration::from_secs(3);
    }
    loop {
        follow.tick(alerts_until, observer).await;
        // Below-threshold traces are searched for once their horizon has passed: wait for that
        // too, so they end in a column rather than as pending.
        let traces_done = ctx.ledger().settled() && follow.traces.unsearched() == 0;
        let bursts_done = alerts_until.is_none_or(|u| follow.alerts.pending(&ctx, u) == 0);
        let interrupted = reason == StopReason::Duration && stop.load(Ordering::Relaxed);
        if (traces_done && bursts_done) || interrupted || Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn finish(
    mut follow: Follow<'_>,
    reason: StopReason,
    sent_until: Duration,
    plan: &WatchPlan,
) -> WatchOutcome {
    let s = follow.s;
    let ctx = &s.ctx;
    follow.traces.scan(ctx, &mut follow.rec);
    let mut rec = follow.rec;
    rec.totals.traces_pending = follow.traces.pending(ctx);
    rec.totals.error_bursts_pending = follow.alerts.pending(ctx, sent_until);
    let now = Instant::now();
    if ctx.anchor.unix_ns(now) > rec.history.back().map_or(0, |w| w.end_unix_ns) {
        rec.close_window(ctx.anchor.unix_ns(now));
    }
    let warnings = clean_up(s).await;
    let checks = summarize(&rec);
    // A check the backend cannot answer was not judged: the verdict comes from the others.
    let verdict = checks
        .iter()
        .map(|c| c.status)
        .filter(|s| *s != Status::Unsupported)
        .max()
        .unwrap_or(Status::Inconclusive);
    let millis = |i: usize| {
        let h = &rec.delays_ms[i];
        (!h.is_empty()).then(|| Millis {
            p50: h.value_at_quantile(0.5) as f64,
            p99: h.value_at_quantile(0.99) as f64,
            max: h.max() as f64,
        })
    };
    WatchOutcome {
        target: s.h.target.to_string(),
        seed: ctx.plan.seed,
        epoch_unix_ns: plan.epoch_unix_ns,
        profile: plan.run.profile.clone(),
        metrics_addr: s.metrics_addr,
        window: plan.window,
        started_unix_ns: ctx.anchor.start_unix_ns,
        ran_for: sent_until,
        stopped_by: reason,
        freshness_ms: millis(0),
        detect_delay_ms: millis(1),
        clear_delay_ms: millis(2),
        totals: rec.totals.clone(),
        checks,
        windows_total: rec.windows,
        windows: rec.history.into_iter().collect(),
        verdict,
        warnings,
    }
}

/// Deletes the sentinel's rule; the warnings of the run.
async fn clean_up(s: &Started<'_>) -> Vec<String> {
    let ctx = &s.ctx;
    let mut warnings = s.warnings.clone();
    if let Err(e) = s.query.delete_rule(&ctx.plan.sentinel.alert.name).await {
        warnings.push(format!("could not delete the sentinel's alert rule: {e}"));
    }
    let ledger = ctx.ledger();
    if ledger.query_errors > 0 {
        warnings.push(format!(
            "{} query API calls failed (retried); last: {}",
            ledger.query_errors,
            ledger.last_query_error.as_deref().unwrap_or("")
        ));
    }
    warnings
}

/// Per check: fail if any window failed it, pass if some window passed it and none failed,
/// inconclusive otherwise.
fn summarize(rec: &Recorder) -> Vec<CheckSummary> {
    CHECKS
        .iter()
        .zip(&rec.check_windows)
        .map(|(name, w)| CheckSummary {
            name,
            status: if w[2] + w[3] > 0 {
                Status::Fail
            } else if w[0] > 0 {
                Status::Pass
            } else if w[4] > 0 && w[1] == 0 {
                Status::Unsupported
            } else {
                Status::Inconclusive
            },
            windows_pass: w[0],
            windows_inconclusive: w[1],
            windows_fail: w[2] + w[3],
        })
        .collect()
}
