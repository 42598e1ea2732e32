//! The metrics listener: binds first (so port 0 works and the address can be printed), then
//! serves HTTP/1.1 until the shutdown token fires. `GET /metrics` is the exposition; `/healthz`
//! (alive: the listener answers) and `/readyz` (ready: the alert rule is set up and the first
//! window has started) are the probes a Deployment points at; anything else is a 404.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::metrics::Registry;
use crate::error::UsageError;

/// Binds `addr` for the metrics endpoint; a failure names `--metrics-addr`.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, UsageError> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| UsageError::new(format!("--metrics-addr {addr}: cannot listen there: {e}")))
}

/// Whether the watch is ready: false until the sentinel's alert rule is set up and quiet and its
/// first window has started (the sentinel is sending), then true for the rest of the process.
#[derive(Debug, Default)]
pub struct Readiness(AtomicBool);

impl Readiness {
    /// Marks the watch ready.
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`Readiness::set_ready`] has been called.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What the listener serves: the metrics and the readiness flag.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Rendered at `/metrics`.
    pub registry: Arc<Registry>,
    /// Answered at `/readyz`.
    pub readiness: Arc<Readiness>,
}

/// Serves `endpoints` on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, endpoints: Endpoints, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let (endpoints, shutdown) = (endpoints.clone(), shutdown.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: http::Request<Incoming>| {
                let response = respond(&endpoints, &req);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                () = shutdown.cancelled() => {}
            }
        });
    }
}

fn respond(endpoints: &Endpoints, req: &http::Request<Incoming>) -> Response<Full<Bytes>> {
    const TEXT: &str = "text/plain";
    let (status, body, content_type) = match req.uri().path() {
        "/metrics" | "/healthz" | "/readyz"
            if req.method() != Method::GET && req.method() != Method::HEAD =>
        {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                "GET only\n".to_owned(),
                TEXT,
            )
        }
        "/metrics" => (
            StatusCode::OK,
            endpoints.registry.render(),
            "text/plain; version=0.0.4",
        ),
        "/healthz" => (StatusCode::OK, "ok\n".to_owned(), TEXT),
        "/readyz" if endpoints.readiness.is_ready() => (StatusCode::OK, "ready\n".to_owned(), TEXT),
        "/readyz" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: setting up the alert rule or waiting for it to be quiet\n".to_owned(),
            TEXT,
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "try /metrics, /healthz or /readyz\n".to_owned(),
            TEXT,
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}
