//! Listeners: each binds first (so `127.0.0.1:0` works and the address is known), then serves
//! HTTP/1.1 and HTTP/2 (h2c) connections until the shutdown token fires, finishing in-flight
//! requests. Both listeners route alike: gRPC export, OTLP/HTTP, the query API and `/metrics`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use http::Response;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::ConnectionLimits;
use super::connections::{Activity, OpenGuard, Registry};
use super::response::ResponseBody;
use super::state::Shared;
use super::tls::ServerTls;
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

/// HTTP/2 windows sized for large export requests but bounded per connection (see
/// [`ConnectionLimits`]); a slow client may not hold a connection by dribbling headers
/// (HTTP/1), ignoring pings (HTTP/2), or opening streams and resetting them.
fn builder(limits: &ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20))
        .initial_stream_window_size(limits.stream_window)
        .initial_connection_window_size(limits.connection_window)
        .max_frame_size(1 << 20)
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_header_list_size(MAX_HEADER_BYTES as u32)
        .max_pending_accept_reset_streams(Some(64))
        .max_local_error_reset_streams(Some(256));
    builder
}

/// Largest request head (HTTP/1 buffer, HTTP/2 header list) accepted, in bytes.
pub const MAX_HEADER_BYTES: usize = 64 << 10;

/// Serves `listener` until `shutdown` fires; connection tasks are tracked by `tasks`. At most
/// `max_connections` are open at once: at the limit the idlest connection makes room (see
/// [`super::connections`]), or, when all are busy, the listener waits for one to close.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    let limits = shared.config.connections.clone();
    let builder = builder(&limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let registry = Arc::new(Registry::default());
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
        if slots.available_permits() == 0 && registry.evict_one() {
            shared.connections.evicted.fetch_add(1, Relaxed);
        }
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("never closed"),
            () = shutdown.cancelled() => return,
        };
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        let evict = CancellationToken::new();
        let registered = registry.insert(activity.clone(), evict.clone());
        let connection = Connection {
            shared: shared.clone(),
            limits: limits.clone(),
            activity,
            evict,
            shutdown: shutdown.clone(),
        };
        let held = (slot, registered, OpenGuard::new(shared.clone()));
        match shared.config.tls.clone() {
            None => tasks.spawn(connection.serve(builder.clone(), stream, held)),
            Some(tls) => tasks.spawn(connection.serve_tls(tls, builder.clone(), stream, held)),
        };
    }
}

/// One accepted connection and what can end it.
struct Connection {
    shared: Arc<Shared>,
    limits: ConnectionLimits,
    activity: Arc<Activity>,
    evict: CancellationToken,
    shutdown: CancellationToken,
}

impl Connection {
    /// Serves requests until the client closes, the connection times out or is evicted, or
    /// the pipeline shuts down; `_held` (its slot and registration) is released at the end.
    async fn serve<H, S>(self, builder: auto::Builder<TokioExecutor>, stream: S, _held: H)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (shared, activity) = (self.shared.clone(), self.activity.clone());
        let service = service_fn(move |req| {
            let guard = activity.begin();
            let response = route(shared.clone(), req);
            async move {
                let response = response.await;
                drop(guard);
                response
            }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        let grace = tokio::select! {
            _ = conn.as_mut() => return,
            () = self.shutdown.cancelled() => GRACE,
            // Chosen for having no request in progress; one that began since is finished.
            () = self.evict.cancelled() => match self.activity.idle_since() {
                Some(_) => return,
                None => GRACE,
            },
            () = self.activity.expired(&self.limits) => {
                self.shared.connections.timed_out.fetch_add(1, Relaxed);
                Duration::from_secs(1)
            }
        };
        conn.as_mut().graceful_shutdown();
        // A client that does not finish in time is cut off.
        let _ = tokio::time::timeout(grace, conn).await;
    }
}

impl Connection {
    /// [`Connection::serve`] after the TLS handshake; a failed handshake closes the
    /// connection (and frees its slot) at once.
    async fn serve_tls<H>(
        self,
        tls: ServerTls,
        builder: auto::Builder<TokioExecutor>,
        stream: TcpStream,
        held: H,
    ) {
        if let Some(stream) = tls.handshake(stream).await {
            self.serve(builder, stream, held).await;
        }
    }
}

/// How long a connection may take to finish its requests when the pipeline shuts down.
const GRACE: Duration = Duration::from_secs(10);
