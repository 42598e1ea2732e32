//! Alert state from a real Prometheus (`run --alerts prometheus://HOST:PORT`).
//!
//! Prometheus keeps no history of alert transitions, so the sentinel polls `GET /api/v1/alerts`
//! and records a transition whenever the sentinel's alert (matched by `alertname` and the
//! `tenant` label) starts or stops being `firing`, stamped with the time of the poll that saw
//! it. Detection and clear delays therefore include up to one poll interval on top of
//! Prometheus's own scrape interval, evaluation interval and `for:`. Prometheus notifies
//! through Alertmanager, not the pipeline's webhook, so no notification is expected unless
//! `--alertmanager` names it (`verify::alertmanager`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::api::{QueryClient, QueryError, Transition};

/// How often Prometheus is asked.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

#[derive(Deserialize)]
struct AlertsAnswer {
    data: AlertsData,
}

#[derive(Deserialize)]
struct AlertsData {
    alerts: Vec<ActiveAlert>,
}

#[derive(Deserialize)]
struct ActiveAlert {
    #[serde(default)]
    labels: std::collections::HashMap<String, String>,
    state: String,
}

/// Polls Prometheus for one alert of one tenant and keeps its transitions.
#[derive(Debug)]
pub struct PrometheusAlerts {
    client: QueryClient,
    alert: String,
    tenant: String,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    firing: bool,
    transitions: Vec<Transition>,
    errors: u64,
    last_error: Option<String>,
}

impl PrometheusAlerts {
    /// Watches `alert` of `tenant` through `client`, a client of the Prometheus HTTP API.
    pub fn new(client: QueryClient, alert: &str, tenant: &str) -> Self {
        Self {
            client,
            alert: alert.to_owned(),
            tenant: tenant.to_owned(),
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Whether the alert is firing now, as Prometheus answers.
    pub async fn firing(&self) -> Result<bool, QueryError> {
        let answer: Option<AlertsAnswer> = self.client.get_json("/api/v1/alerts").await?;
        Ok(answer.is_some_and(|a| self.matches(&a)))
    }

    /// Whether the answer holds the sentinel's alert, firing (not merely pending).
    fn matches(&self, answer: &AlertsAnswer) -> bool {
        answer.data.alerts.iter().any(|alert| {
            alert.state == "firing"
                && alert.labels.get("alertname") == Some(&self.alert)
                && alert.labels.get("tenant") == Some(&self.tenant)
        })
    }

    /// Polls every [`POLL_EVERY`] until `stop`.
    pub async fn watch(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let answer = self.firing().await;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            self.record(answer, now);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(POLL_EVERY) => {}
            }
        }
    }

    fn record(&self, answer: Result<bool, QueryError>, now: u64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match answer {
            Ok(firing) if firing != seen.firing => {
                seen.firing = firing;
                seen.transitions.push(Transition {
                    rule: self.alert.clone(),
                    state: if firing { "firing" } else { "ok" }.into(),
                    at_unix_nano: now,
                });
            }
            Ok(_) => {}
            Err(e) => {
                seen.errors += 1;
                seen.last_error = Some(e.to_string());
            }
        }
    }

    /// The transitions seen so far, oldest first.
    pub fn transitions(&self) -> Vec<Transition> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.transitions.clone()
    }

    /// Failed polls and the last error, for the run's warnings.
    pub fn errors(&self) -> (u64, Option<String>) {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        (seen.errors, seen.last_error.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watcher() -> PrometheusAlerts {
        let client = QueryClient::new(
            "http://127.0.0.1:9",
            http::HeaderName::from_static("x-scope-orgid"),
            http::HeaderValue::from_static("sentinel"),
        );
        PrometheusAlerts::new(client, "SpanSentinelErrorRatio", "sentinel")
    }

    #[test]
    fn only_changes_of_firing_are_transitions_and_errors_are_counted() {
        let w = watcher();
        w.record(Ok(false), 1);
        w.record(Ok(true), 2);
        w.record(Ok(true), 3);
        w.record(
            Err(QueryError::Transport {
                url: "u".into(),
                reason: "down".into(),
            }),
            4,
        );
        w.record(Ok(false), 5);
        let states: Vec<_> = w
            .transitions()
            .into_iter()
            .map(|t| (t.state, t.at_unix_nano))
            .collect();
        assert_eq!(states, [("firing".to_owned(), 2), ("ok".to_owned(), 5)]);
        assert_eq!(w.errors().0, 1);
    }

    #[test]
    fn pending_alerts_and_other_tenants_do_not_count() {
        let answer: AlertsAnswer = serde_json::from_str(
            r#"{"status":"success","data":{"alerts":[
                {"labels":{"alertname":"SpanSentinelErrorRatio","tenant":"sentinel"},"state":"pending"},
                {"labels":{"alertname":"SpanSentinelErrorRatio","tenant":"other"},"state":"firing"}
            ]}}"#,
        )
        .unwrap();
        assert!(!watcher().matches(&answer));
    }
}
