//! Webhook notifications: each transition is POSTed as JSON to its rule's URL by one background
//! task, through a bounded channel, so a slow receiver never blocks evaluation. Deliveries that
//! fail (after one retry) or do not fit in the channel are counted, not retried forever.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

use super::Transition;

/// Counters of webhook deliveries.
#[derive(Debug, Default)]
pub struct WebhookStats {
    /// Transitions delivered (2xx).
    pub delivered: AtomicU64,
    /// Transitions that could not be delivered.
    pub failed: AtomicU64,
    /// Transitions dropped because `QUEUE` deliveries were already waiting (also in `failed`).
    pub queue_full: AtomicU64,
    /// Rules refused because their `webhook_url` is outside the allowed blocks.
    pub refused_targets: AtomicU64,
}

/// Deliveries waiting to be sent at most; further transitions are dropped and counted.
pub const QUEUE: usize = 1024;

/// The sending side, cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhooks {
    tx: mpsc::Sender<(String, Transition)>,
    /// Delivery counters.
    pub stats: Arc<WebhookStats>,
}

impl Webhooks {
    /// Starts the delivery task on the current runtime.
    pub fn start() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(WebhookStats::default());
        tokio::spawn(deliver(rx, stats.clone()));
        Self { tx, stats }
    }

    /// Queues a transition for `url` after `delay` (the late-webhook fault; zero: now).
    pub fn notify_after(&self, url: String, transition: Transition, delay: Duration) {
        if delay.is_zero() {
            return self.notify(url, transition);
        }
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            this.notify(url, transition);
        });
    }

    /// Queues a transition for `url`.
    pub fn notify(&self, url: String, transition: Transition) {
        if self.tx.try_send((url, transition)).is_err() {
            self.stats.failed.fetch_add(1, Relaxed);
            self.stats.queue_full.fetch_add(1, Relaxed);
        }
    }

    /// Deliveries waiting to be sent.
    pub fn queued(&self) -> usize {
        QUEUE - self.tx.capacity()
    }
}

async fn deliver(mut rx: mpsc::Receiver<(String, Transition)>, stats: Arc<WebhookStats>) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    while let Some((url, transition)) = rx.recv().await {
        let body = Bytes::from(serde_json::to_vec(&transition).unwrap_or_default());
        let mut ok = false;
        for _ in 0..2 {
            let request = http::Request::post(&url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(body.clone()));
            let Ok(request) = request else { break };
            let sent = tokio::time::timeout(Duration::from_secs(5), client.request(request)).await;
            if matches!(sent, Ok(Ok(ref r)) if r.status().is_success()) {
                ok = true;
                break;
            }
        }
        let counter = if ok { &stats.delivered } else { &stats.failed };
        counter.fetch_add(1, Relaxed);
    }
}
