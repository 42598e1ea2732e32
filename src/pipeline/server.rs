//! Listeners: each binds first (so `127.0.0.1:0` works and the address is known), then serves
//! HTTP/1.1 and HTTP/2 (h2c) connections until the shutdown token fires, finishing in-flight
//! requests. Both listeners route alike: gRPC export, OTLP/HTTP, the query API and `/metrics`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::Response;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::response::ResponseBody;
use super::state::Shared;
use super::{api, ingest};

async fn route(
    shared: Arc<Shared>,
    req: http::Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    shared
        .ingest
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = req.uri().path();
    let is_grpc = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    let response = if is_grpc || path == ingest::grpc::EXPORT_PATH {
        ingest::grpc::handle(shared, req).await
    } else if path == "/v1/traces" {
        ingest::http::handle(shared, req).await
    } else {
        api::handle(shared, req).await
    };
    Ok(response)
}

/// HTTP/2 windows sized for large export requests; a slow client may not hold a connection
/// by dribbling headers (HTTP/1) or ignoring pings (HTTP/2).
fn builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20))
        .initial_stream_window_size(4 << 20)
        .initial_connection_window_size(16 << 20)
        .max_frame_size(1 << 20)
        .max_concurrent_streams(1024);
    builder
}

/// Serves `listener` until `shutdown` fires; connection tasks are tracked by `tasks`.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    let builder = builder();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors and the like: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (builder, shared, shutdown) = (builder.clone(), shared.clone(), shutdown.clone());
        tasks.spawn(async move {
            let service = service_fn(move |req| route(shared.clone(), req));
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                () = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}
