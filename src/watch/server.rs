//! The `/metrics` endpoint: binds first (so port 0 works and the address can be printed), then
//! serves HTTP/1.1 until the shutdown token fires. Anything but `GET /metrics` is a 404.

use std::net::SocketAddr;
use std::sync::Arc;

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

/// Serves `registry` on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, registry: Arc<Registry>, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let (registry, shutdown) = (registry.clone(), shutdown.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: http::Request<Incoming>| {
                let response = respond(&registry, &req);
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

fn respond(registry: &Registry, req: &http::Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, body, content_type) = if req.uri().path() != "/metrics" {
        (
            StatusCode::NOT_FOUND,
            "try /metrics\n".to_owned(),
            "text/plain",
        )
    } else if req.method() != Method::GET && req.method() != Method::HEAD {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "GET only\n".to_owned(),
            "text/plain",
        )
    } else {
        (
            StatusCode::OK,
            registry.render(),
            "text/plain; version=0.0.4",
        )
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}
