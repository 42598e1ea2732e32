//! The sentinel's webhook receiver: an HTTP server that records every alert notification the
//! target posts, with the time it arrived. It listens on loopback unless told otherwise: a
//! pipeline in another pod or host needs it on an address it can reach, and the URL to post to.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::error::UsageError;

/// A notification as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Rule name.
    pub rule: String,
    /// `firing` or `ok`.
    pub state: String,
    /// Transition time the target reported, unix ns.
    pub at_unix_nano: u64,
    /// When it arrived here, unix ns.
    pub received_unix_nano: u64,
}

#[derive(Deserialize)]
struct Payload {
    rule: String,
    state: String,
    #[serde(default)]
    at_unix_nano: u64,
}

/// Where the receiver listens, and the URL the target is told to post to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverPlan {
    /// The address bound (port 0 picks a free one).
    pub listen: SocketAddr,
    /// The URL given to the target; `None` derives it from the bound address, which only a
    /// specific (not `0.0.0.0`) listen address allows.
    pub url: Option<String>,
}

impl Default for ReceiverPlan {
    /// Loopback, a free port, the URL of the bound address.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            url: None,
        }
    }
}

/// The running receiver.
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    /// Where it listens.
    pub addr: SocketAddr,
    url: String,
    received: Arc<Mutex<Vec<Notification>>>,
}

fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64
}

impl WebhookReceiver {
    /// Binds `plan.listen` and serves until `stop`. An address it cannot listen on is a usage
    /// error naming `--webhook-listen` (exit 2).
    pub async fn start(plan: &ReceiverPlan, stop: CancellationToken) -> Result<Self, UsageError> {
        let cannot = |e: std::io::Error| {
            UsageError::new(format!(
                "--webhook-listen {}: cannot listen there: {e}",
                plan.listen
            ))
        };
        let listener = TcpListener::bind(plan.listen).await.map_err(cannot)?;
        let addr = listener.local_addr().map_err(cannot)?;
        let url = plan
            .url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}/hook"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    _ = stop.cancelled() => return,
                    conn = listener.accept() => conn,
                };
                let Ok((stream, _)) = conn else { continue };
                let store = store.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: http::Request<Incoming>| {
                        let store = store.clone();
                        async move { Ok::<_, std::convert::Infallible>(receive(req, &store).await) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            url,
            received,
        })
    }

    /// The URL to give the target.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Every notification received so far.
    pub fn received(&self) -> Vec<Notification> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Takes every notification received so far, leaving none (so a receiver that lives for
    /// hours holds only what arrived since the last call).
    pub fn take(&self) -> Vec<Notification> {
        std::mem::take(&mut *self.received.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

async fn receive(
    req: http::Request<Incoming>,
    store: &Mutex<Vec<Notification>>,
) -> Response<Full<Bytes>> {
    let received_unix_nano = now_unix_ns();
    let status = match Limited::new(req.into_body(), 64 << 10).collect().await {
        Ok(body) => match serde_json::from_slice::<Payload>(&body.to_bytes()) {
            Ok(p) => {
                let n = Notification {
                    rule: p.rule,
                    state: p.state,
                    at_unix_nano: p.at_unix_nano,
                    received_unix_nano,
                };
                store.lock().unwrap_or_else(|e| e.into_inner()).push(n);
                StatusCode::OK
            }
            Err(_) => StatusCode::BAD_REQUEST,
        },
        Err(_) => StatusCode::BAD_REQUEST,
    };
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}
