//! Alert notifications through a real Alertmanager (`run --alerts prometheus://...
//! --alertmanager URL`). Prometheus sends the sentinel's alert to Alertmanager, which notifies
//! the sentinel's own webhook receiver; before the load the sentinel checks that Alertmanager
//! routes the alert there (`route`), during the run it watches that Alertmanager answers, and
//! afterwards every burst must have brought a firing and a resolved notification (`cycles`,
//! judged by `check`), timed by their arrival on the sentinel's clock.

pub mod check;
pub mod cycles;
pub mod receiver;
pub mod route;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::de::IgnoredAny;
use tokio_util::sync::CancellationToken;

use self::cycles::{BurstNotices, match_bursts};
use self::receiver::{Delivered, Receiver};
use crate::error::UsageError;
use crate::sentinel::plan::AlertSource;
use crate::transport::ClientTls;
use crate::verify::alerts::BurstWindow;
use crate::verify::api::QueryClient;

/// How often the sentinel asks whether Alertmanager still answers.
pub const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// How long a Prometheus that lists no Alertmanager is asked again before the run warns.
pub const LISTED_WAIT: Duration = Duration::from_secs(8);

/// How long the run waits past its end for the last burst's resolved notification.
pub const RESOLVE_WAIT: Duration = Duration::from_secs(5);

/// `--alertmanager URL`: Prometheus's alert reaches the sentinel through this Alertmanager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertmanagerPlan {
    /// Base URL of its HTTP API, e.g. `http://127.0.0.1:9093`.
    pub base_url: String,
    /// Where the sentinel's webhook receiver listens (the address its receiver posts to).
    pub webhook: SocketAddr,
}

impl AlertmanagerPlan {
    /// The URL Alertmanager's receiver must post to.
    pub fn webhook_url(&self) -> String {
        format!("http://{}/alertmanager", self.webhook)
    }
}

/// What the Alertmanager check needs of the run it serves: how to ask (tenant header, TLS),
/// the sentinel's alert and tenant, and where the alert comes from. The run's plan lends it.
#[derive(Debug, Clone, Copy)]
pub struct RunSide<'a> {
    /// The header that carries the tenant on queries.
    pub tenant_header: &'a http::HeaderName,
    /// The sentinel's tenant, as that header's value.
    pub tenant: &'a http::HeaderValue,
    /// The TLS of every connection to the target's side.
    pub tls: &'a ClientTls,
    /// The name of the sentinel's alert.
    pub alert: &'a str,
    /// The sentinel's tenant, as its alert's label.
    pub sentinel_tenant: &'a str,
    /// Where the sentinel reads its alert's state.
    pub alerts: &'a AlertSource,
}

#[derive(serde::Deserialize)]
struct AlertmanagersAnswer {
    data: AlertmanagersData,
}

#[derive(serde::Deserialize)]
struct AlertmanagersData {
    #[serde(rename = "activeAlertmanagers", default)]
    active: Vec<ListedAlertmanager>,
}

#[derive(serde::Deserialize)]
struct ListedAlertmanager {
    url: String,
}

/// Alertmanager as the run sees it: its API, the webhook receiver it notifies, and whether it
/// kept answering.
#[derive(Debug)]
pub struct Alertmanager {
    plan: AlertmanagerPlan,
    client: QueryClient,
    receiver: Receiver,
    alert: String,
    tenant: String,
    health: Mutex<Health>,
}

#[derive(Debug, Default)]
struct Health {
    polls: u64,
    failed: u64,
    first_failure_unix_ns: Option<u64>,
    last_error: Option<String>,
}

fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl Alertmanager {
    /// Starts the webhook receiver (until `stop`) and checks that Alertmanager routes the
    /// sentinel's alert to it: exit 3 when Alertmanager cannot be reached, 2 when it does not.
    pub async fn start(
        run: RunSide<'_>,
        plan: &AlertmanagerPlan,
        stop: CancellationToken,
    ) -> anyhow::Result<Arc<Self>> {
        let receiver = Receiver::start(plan.webhook, stop).await.map_err(|e| {
            UsageError::new(format!(
                "--alertmanager-webhook {}: cannot listen there: {e}",
                plan.webhook
            ))
        })?;
        let client = QueryClient::with_tls(
            &plan.base_url,
            run.tenant_header.clone(),
            run.tenant.clone(),
            run.tls,
        );
        let (alert, tenant) = (run.alert, run.sentinel_tenant);
        route::check(&client, plan, &receiver, alert, tenant).await?;
        Ok(Arc::new(Self {
            plan: plan.clone(),
            client,
            receiver,
            alert: alert.to_owned(),
            tenant: tenant.to_owned(),
            health: Mutex::new(Health::default()),
        }))
    }

    /// Asks Alertmanager for its status every [`HEALTH_EVERY`] until `stop`, keeping count of
    /// the times it did not answer.
    pub async fn watch(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let answer = self.client.get_json::<IgnoredAny>("/api/v2/status").await;
            {
                let mut h = self.health.lock().unwrap_or_else(|e| e.into_inner());
                h.polls += 1;
                if let Err(e) = answer {
                    h.failed += 1;
                    h.first_failure_unix_ns.get_or_insert_with(now_unix_ns);
                    h.last_error = Some(e.to_string());
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(HEALTH_EVERY) => {}
            }
        }
    }

    /// A warning when the Prometheus of `run` (`--alerts prometheus://...`) does not list this
    /// Alertmanager among those it sends alerts to (`GET /api/v1/alertmanagers`). Only a
    /// warning: a proxy or another name can stand between them.
    pub async fn prometheus_warning(&self, run: RunSide<'_>) -> Option<String> {
        let AlertSource::Prometheus { base_url } = run.alerts else {
            return None;
        };
        let client = QueryClient::with_tls(
            base_url,
            run.tenant_header.clone(),
            run.tenant.clone(),
            run.tls,
        );
        // A Prometheus that has just started lists none until its discovery first reports
        // (within about 5 s): an empty list is asked again for a while.
        let deadline = Instant::now() + LISTED_WAIT;
        let listed = loop {
            let answer = client.get_json::<AlertmanagersAnswer>("/api/v1/alertmanagers");
            let listed: Vec<String> = match answer.await {
                Ok(Some(a)) => a.data.active.into_iter().map(|a| a.url).collect(),
                _ => return None,
            };
            if !listed.is_empty() || Instant::now() >= deadline {
                break listed;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let authority = |url: &str| url.parse::<http::Uri>().ok()?.authority().cloned();
        let ours = authority(&self.plan.base_url);
        if listed.iter().any(|u| authority(u) == ours) {
            return None;
        }
        Some(format!(
            "Prometheus at {base_url} does not list {} among the Alertmanagers it sends alerts to \
             ({listed:?}): add it to the `alerting:` section of prometheus.yml, or no burst will \
             be notified",
            self.name()
        ))
    }

    /// "Alertmanager at URL", for messages.
    pub fn name(&self) -> String {
        format!("Alertmanager at {}", self.plan.base_url)
    }

    /// The notifications about the sentinel's alert (not about the route's test alert).
    pub fn notifications(&self) -> Vec<Delivered> {
        let label = |d: &Delivered, k: &str| d.labels.get(k).cloned();
        self.receiver
            .received()
            .into_iter()
            .filter(|d| {
                label(d, "alertname").as_ref() == Some(&self.alert)
                    && label(d, "tenant").as_ref() == Some(&self.tenant)
                    && !d.labels.contains_key(route::MARKER)
            })
            .collect()
    }

    /// What Alertmanager delivered for each of `bursts`.
    pub fn notices(&self, bursts: &[BurstWindow]) -> Vec<BurstNotices> {
        match_bursts(bursts, &self.notifications())
    }

    /// Waits (at most [`RESOLVE_WAIT`]) for the resolved notification of the last burst that
    /// was announced firing, so a run that ends soon after its last burst still sees it.
    pub async fn await_resolved(&self, bursts: &[BurstWindow]) {
        let deadline = Instant::now() + RESOLVE_WAIT;
        while Instant::now() < deadline {
            let pending = self
                .notices(bursts)
                .last()
                .is_some_and(|n| n.firing_ns.is_some() && n.resolved_ns.is_none());
            if !pending {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether Alertmanager stopped answering during the run, in words (`start_unix_ns`: the
    /// run's start, to say when).
    pub fn health(&self, start_unix_ns: u64) -> Option<String> {
        let h = self.health.lock().unwrap_or_else(|e| e.into_inner());
        let first = h.first_failure_unix_ns?;
        Some(format!(
            "{} did not answer {} of {} status requests, the first {:.1} s into the run (last: {})",
            self.name(),
            h.failed,
            h.polls,
            first.saturating_sub(start_unix_ns) as f64 / 1e9,
            h.last_error.as_deref().unwrap_or("")
        ))
    }
}
