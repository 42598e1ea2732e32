//! The sentinel's receiver of Alertmanager's webhook notifications: an HTTP server on the
//! address Alertmanager's receiver posts to, that keeps every alert of every notification with
//! the time the request arrived (the sentinel's clock, not Alertmanager's).

use std::collections::HashMap;
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

/// The largest notification body read (Alertmanager sends every alert of the group).
const BODY_LIMIT: usize = 4 << 20;

/// One alert of one notification, as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    /// `firing` or `resolved`.
    pub status: String,
    /// The alert's labels.
    pub labels: HashMap<String, String>,
    /// `startsAt` as Alertmanager wrote it: the same text for every notification of one
    /// firing of the alert, so it names the firing.
    pub starts_at: String,
    /// When the notification arrived here, unix ns.
    pub received_unix_nano: u64,
}

/// Alertmanager's webhook body (version 4); only what the sentinel reads.
#[derive(Deserialize)]
struct Payload {
    alerts: Vec<PayloadAlert>,
}

#[derive(Deserialize)]
struct PayloadAlert {
    status: String,
    #[serde(default)]
    labels: HashMap<String, String>,
    #[serde(rename = "startsAt", default)]
    starts_at: String,
}

/// The running receiver.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Delivered>>>,
}

impl Receiver {
    /// Binds `addr` and serves until `stop`.
    pub async fn start(addr: SocketAddr, stop: CancellationToken) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(serve(listener, received.clone(), stop));
        Ok(Self { addr, received })
    }

    /// Every alert received so far, in order of arrival.
    pub fn received(&self) -> Vec<Delivered> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

async fn serve(listener: TcpListener, store: Arc<Mutex<Vec<Delivered>>>, stop: CancellationToken) {
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
}

fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64
}

async fn receive(
    req: http::Request<Incoming>,
    store: &Mutex<Vec<Delivered>>,
) -> Response<Full<Bytes>> {
    let received_unix_nano = now_unix_ns();
    let body = Limited::new(req.into_body(), BODY_LIMIT).collect().await;
    let payload = body
        .ok()
        .and_then(|b| serde_json::from_slice::<Payload>(&b.to_bytes()).ok());
    let status = match payload {
        Some(p) => {
            let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
            store.extend(p.alerts.into_iter().map(|a| Delivered {
                status: a.status,
                labels: a.labels,
                starts_at: a.starts_at,
                received_unix_nano,
            }));
            StatusCode::OK
        }
        None => StatusCode::BAD_REQUEST,
    };
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}
