//! Before the load: does Alertmanager route the sentinel's alert to the sentinel? Reading its
//! configuration would mean re-implementing its routing tree (matchers, `continue`, nesting),
//! so the sentinel asks Alertmanager itself: it posts a test alert carrying the sentinel's
//! labels plus a marker label through `POST /api/v2/alerts` and waits for it at its webhook.
//! The test alert starts in the past, so a new group sends it at once instead of after its
//! `group_wait`; it is resolved as soon as it has arrived (and expires by itself a minute later
//! if the sentinel cannot resolve it).

use std::time::{Duration, Instant, SystemTime};

use super::AlertmanagerPlan;
use super::receiver::Receiver;
use crate::error::{UnreachableError, UsageError};
use crate::verify::api::{QueryClient, QueryError};

/// The label that marks the test alert (its value names the run); notifications carrying it
/// are not the sentinel's alert.
pub const MARKER: &str = "span_sentinel_check";

/// How long the test alert may take to arrive.
pub const ROUTE_WAIT: Duration = Duration::from_secs(10);

/// The labels of the test alert: the sentinel's alert's, plus the marker.
fn probe_labels(alert: &str, tenant: &str, run: &str) -> serde_json::Value {
    serde_json::json!({ "alertname": alert, "tenant": tenant, MARKER: run })
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Posts the test alert, starting an hour ago and ending at `ends`.
async fn post_probe(
    client: &QueryClient,
    labels: &serde_json::Value,
    ends: SystemTime,
) -> Result<(), QueryError> {
    let now = SystemTime::now();
    let alert = serde_json::json!([{
        "labels": labels,
        "startsAt": rfc3339(now - Duration::from_secs(3600)),
        "endsAt": rfc3339(ends),
    }]);
    let body = serde_json::to_vec(&alert).expect("an alert serializes");
    client
        .expect_success(http::Method::POST, "/api/v2/alerts", Some(body))
        .await
}

/// Fails (exit 3) when Alertmanager cannot be reached, and (exit 2, with the receiver to add)
/// when it does not deliver a test alert with the sentinel's labels to `receiver`.
pub async fn check(
    client: &QueryClient,
    plan: &AlertmanagerPlan,
    receiver: &Receiver,
    alert: &str,
    tenant: &str,
) -> anyhow::Result<()> {
    let run = format!("route-{:016x}", rand::random::<u64>());
    let labels = probe_labels(alert, tenant, &run);
    let expires = SystemTime::now() + Duration::from_secs(60);
    match post_probe(client, &labels, expires).await {
        Ok(()) => {}
        Err(QueryError::Transport { url, reason }) => {
            return Err(UnreachableError {
                target: format!("Alertmanager ({url})"),
                reason,
            }
            .into());
        }
        Err(e) => return Err(anyhow::Error::new(e).context("posting a test alert to Alertmanager")),
    }
    let arrived = wait_for(receiver, &run).await;
    // Resolve it either way, so it does not linger in Alertmanager's groups.
    let _ = post_probe(client, &labels, SystemTime::now()).await;
    if arrived {
        return Ok(());
    }
    Err(UsageError::new(format!(
        "Alertmanager at {} did not deliver a test alert with labels alertname={alert:?}, \
         tenant={tenant:?} to the sentinel's webhook {} within {} s: it does not route the \
         sentinel's alert there. Add this to its alertmanager.yml (the route first among \
         `route: routes:`), reload it and run again:\n\n{}",
        plan.base_url,
        plan.webhook_url(),
        ROUTE_WAIT.as_secs(),
        snippet(plan, alert, tenant)
    ))
    .into())
}

/// Whether the test alert `run` arrives firing within [`ROUTE_WAIT`].
async fn wait_for(receiver: &Receiver, run: &str) -> bool {
    let deadline = Instant::now() + ROUTE_WAIT;
    while Instant::now() < deadline {
        let seen = receiver
            .received()
            .iter()
            .any(|d| d.status == "firing" && d.labels.get(MARKER).is_some_and(|v| v == run));
        if seen {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The route and receiver that send the sentinel's alert to the sentinel, with short group
/// timers so a notification follows the alert within about a second.
pub fn snippet(plan: &AlertmanagerPlan, alert: &str, tenant: &str) -> String {
    format!(
        "route:\n  routes:\n    - receiver: span-sentinel\n      matchers:\n        \
         - alertname=\"{alert}\"\n        - tenant=\"{tenant}\"\n      \
         group_by: [alertname, tenant]\n      group_wait: 1s\n      group_interval: 1s\n      \
         repeat_interval: 1h\n      continue: true\nreceivers:\n  - name: span-sentinel\n    \
         webhook_configs:\n      - url: {}\n        send_resolved: true\n",
        plan.webhook_url()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_names_the_alert_the_tenant_and_the_webhook() {
        let plan = AlertmanagerPlan {
            base_url: "http://127.0.0.1:9093".into(),
            webhook: "127.0.0.1:9097".parse().unwrap(),
        };
        let s = snippet(&plan, "SpanSentinelErrorRatio", "sentinel");
        assert!(s.contains("alertname=\"SpanSentinelErrorRatio\""), "{s}");
        assert!(s.contains("tenant=\"sentinel\""), "{s}");
        assert!(s.contains("url: http://127.0.0.1:9097/alertmanager"), "{s}");
        assert!(s.contains("send_resolved: true"), "{s}");
    }
}
