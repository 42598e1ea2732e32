//! Scripted OTLP servers on loopback (the targets of the load and transport tests) and request
//! bodies.
//!
//! The servers are real tonic and hyper servers bound to `127.0.0.1:0`, each on its own thread
//! and runtime (as a real target would be), that decode every request with prost and count what
//! they saw. A script decides each answer from the attempt number, so a test can make a server
//! fail a few times and then succeed, refuse, or report a partial success.

use std::collections::HashSet;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The tenant header value the tests send.
pub const TENANT: &str = "sentinel";

/// What a server answers to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Accept every span.
    Accept,
    /// Accept, reporting this many spans as rejected in `partial_success`.
    Partial(i64),
    /// gRPC `UNAVAILABLE` with RetryInfo of this delay; HTTP 503 with `Retry-After` in whole
    /// seconds (no header when zero).
    Unavailable(Duration),
    /// gRPC `RESOURCE_EXHAUSTED` without RetryInfo; HTTP 429 with `Retry-After` in whole seconds.
    Exhausted(Duration),
    /// gRPC `INVALID_ARGUMENT`; HTTP 400.
    Invalid,
    /// Wait this long, then accept (a server too slow for the client's attempt timeout).
    Stall(Duration),
}

/// Decides the answer to the n-th request (0-based) a server receives.
pub type Script = Arc<dyn Fn(u64) -> Answer + Send + Sync>;

/// A script that answers every request the same way.
pub fn always(answer: Answer) -> Script {
    Arc::new(move |_| answer)
}

/// A script that answers the first `n` requests with `first`, then accepts.
pub fn first_then_accept(n: u64, first: Answer) -> Script {
    Arc::new(move |i| if i < n { first } else { Answer::Accept })
}

/// What a server saw.
#[derive(Default)]
pub struct Seen {
    /// Requests received.
    pub requests: AtomicU64,
    /// Spans in the requests it accepted, minus those it reported as rejected.
    pub accepted_spans: AtomicU64,
    /// When each request arrived.
    pub arrivals: Mutex<Vec<Instant>>,
    /// Distinct client addresses (one per connection).
    pub peers: Mutex<HashSet<SocketAddr>>,
    /// Distinct tenant header values.
    pub tenants: Mutex<HashSet<String>>,
    /// Requests that arrived gzip-compressed.
    pub gzipped: AtomicU64,
    /// Requests that carried the extra header `x-extra: 1`.
    pub with_extra_header: AtomicU64,
    /// The last request decoded and encoded again with prost: prost encodes deterministically,
    /// so it equals the bytes the client meant to send exactly when they arrived unchanged.
    pub last_request: Mutex<Vec<u8>>,
}

impl Seen {
    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Spans accepted so far.
    pub fn accepted_spans(&self) -> u64 {
        self.accepted_spans.load(Ordering::SeqCst)
    }

    /// The gaps between consecutive requests.
    pub fn gaps(&self) -> Vec<Duration> {
        let arrivals = self.arrivals.lock().unwrap();
        arrivals.windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// Records one request and returns its 0-based number and its span count.
    fn record(
        &self,
        peer: Option<SocketAddr>,
        headers: &http::HeaderMap,
        request: &ExportTraceServiceRequest,
    ) -> (u64, u64) {
        self.arrivals.lock().unwrap().push(Instant::now());
        if let Some(peer) = peer {
            self.peers.lock().unwrap().insert(peer);
        }
        if let Some(tenant) = headers.get(TENANT_HEADER) {
            let tenant = String::from_utf8_lossy(tenant.as_bytes()).into_owned();
            self.tenants.lock().unwrap().insert(tenant);
        }
        // gRPC marks a compressed message in `grpc-encoding` (HTTP bodies are counted on arrival).
        if headers.get("grpc-encoding").is_some_and(|v| v == "gzip") {
            self.gzipped.fetch_add(1, Ordering::SeqCst);
        }
        if headers.get("x-extra").is_some_and(|v| v == "1") {
            self.with_extra_header.fetch_add(1, Ordering::SeqCst);
        }
        *self.last_request.lock().unwrap() = request.encode_to_vec();
        let n = self.requests.fetch_add(1, Ordering::SeqCst);
        (n, count_spans(request))
    }

    /// Counts the spans of an accepted request; returns the response body to send.
    fn accept(&self, spans: u64, rejected: i64) -> ExportTraceServiceResponse {
        let kept = spans - (rejected.max(0) as u64).min(spans);
        self.accepted_spans.fetch_add(kept, Ordering::SeqCst);
        let partial_success = (rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: rejected,
            error_message: "some spans refused".into(),
        });
        ExportTraceServiceResponse { partial_success }
    }
}

/// A server running on its own thread; stopped when dropped.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it saw.
    pub seen: Arc<Seen>,
    stop: CancellationToken,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts `serve` on a new thread with its own runtime, on a listener bound to 127.0.0.1:0.
fn spawn_server<F, Fut>(serve: F) -> TestServer
where
    F: FnOnce(TcpListener, Arc<Seen>, CancellationToken) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let seen = Arc::new(Seen::default());
    let stop = CancellationToken::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let (seen2, stop2) = (Arc::clone(&seen), stop.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            serve(listener, seen2, stop2).await;
        });
    });
    let addr = rx.recv().unwrap();
    TestServer { addr, seen, stop }
}

/// The spans in a request.
pub fn count_spans(request: &ExportTraceServiceRequest) -> u64 {
    let scopes = request.resource_spans.iter().flat_map(|r| &r.scope_spans);
    scopes.map(|s| s.spans.len() as u64).sum()
}

/// An encoded `ExportTraceServiceRequest` with `spans` spans, as the engine would send.
pub fn encoded_batch(spans: u64, seed: u64) -> bytes::Bytes {
    let spans = (0..spans)
        .map(|i| Span {
            trace_id: (seed as u128 * 1_000_003 + i as u128)
                .to_be_bytes()
                .to_vec(),
            span_id: (i + 1).to_be_bytes().to_vec(),
            name: format!("op-{}", i % 7),
            start_time_unix_nano: 1_700_000_000_000_000_000 + i,
            end_time_unix_nano: 1_700_000_000_000_100_000 + i,
            ..Default::default()
        })
        .collect();
    let scope = ScopeSpans {
        scope: Some(InstrumentationScope {
            name: "span-sentinel-test".into(),
            ..Default::default()
        }),
        spans,
        ..Default::default()
    };
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![scope],
            ..Default::default()
        }],
    };
    request.encode_to_vec().into()
}

// ---------------------------------------------------------------------------------------------
// gRPC

struct GrpcTarget {
    seen: Arc<Seen>,
    script: Script,
}

#[tonic::async_trait]
impl TraceService for GrpcTarget {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let headers = request.metadata().as_ref();
        let (n, spans) = self
            .seen
            .record(request.remote_addr(), headers, request.get_ref());
        match (self.script)(n) {
            Answer::Accept => Ok(tonic::Response::new(self.seen.accept(spans, 0))),
            Answer::Partial(k) => Ok(tonic::Response::new(self.seen.accept(spans, k))),
            Answer::Unavailable(delay) => {
                Err(grpc_with_retry_info(tonic::Code::Unavailable, delay))
            }
            Answer::Exhausted(_) => Err(tonic::Status::resource_exhausted("queue full")),
            Answer::Invalid => Err(tonic::Status::invalid_argument("bad batch")),
            Answer::Stall(pause) => {
                tokio::time::sleep(pause).await;
                Ok(tonic::Response::new(self.seen.accept(spans, 0)))
            }
        }
    }
}

/// The tenant header the tests use (the default of `TransportOptions`).
pub const TENANT_HEADER: &str = "x-scope-orgid";

fn grpc_with_retry_info(code: tonic::Code, delay: Duration) -> tonic::Status {
    use tonic_types::{ErrorDetails, StatusExt};
    tonic::Status::with_error_details(
        code,
        "try later",
        ErrorDetails::with_retry_info(Some(delay)),
    )
}

/// Starts an OTLP/gRPC trace server answering as `script` says.
pub fn grpc_server(script: Script) -> TestServer {
    spawn_server(move |listener, seen, stop| async move {
        let service = TraceServiceServer::new(GrpcTarget { seen, script })
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
            .await
            .unwrap();
    })
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// Starts an OTLP/HTTP trace server (`POST /v1/traces`, protobuf, optional gzip) answering as
/// `script` says.
pub fn http_server(script: Script) -> TestServer {
    spawn_server(move |listener, seen, stop| async move {
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => accepted.unwrap(),
                () = stop.cancelled() => return,
            };
            let (seen, script) = (Arc::clone(&seen), Arc::clone(&script));
            let service = service_fn(move |request| {
                let (seen, script) = (Arc::clone(&seen), Arc::clone(&script));
                async move { Ok::<_, hyper::Error>(http_answer(request, peer, &seen, &script).await) }
            });
            tokio::spawn(async move {
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

async fn http_answer(
    request: http::Request<Incoming>,
    peer: SocketAddr,
    seen: &Seen,
    script: &Script,
) -> http::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let gzipped = parts
        .headers
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let body = body.collect().await.unwrap().to_bytes();
    let body = if gzipped {
        seen.gzipped.fetch_add(1, Ordering::SeqCst);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .unwrap();
        Bytes::from(out)
    } else {
        body
    };
    let decoded = ExportTraceServiceRequest::decode(body).unwrap();
    let (n, spans) = seen.record(Some(peer), &parts.headers, &decoded);
    let (status, retry_after, response) = match (script)(n) {
        Answer::Accept => (200, None, Some(seen.accept(spans, 0))),
        Answer::Partial(k) => (200, None, Some(seen.accept(spans, k))),
        Answer::Unavailable(delay) => (503, Some(delay), None),
        Answer::Exhausted(delay) => (429, Some(delay), None),
        Answer::Invalid => (400, None, None),
        Answer::Stall(pause) => {
            tokio::time::sleep(pause).await;
            (200, None, Some(seen.accept(spans, 0)))
        }
    };
    let body = response.map(|r| r.encode_to_vec()).unwrap_or_default();
    let mut builder = http::Response::builder()
        .status(status)
        .header("content-type", "application/x-protobuf");
    if let Some(delay) = retry_after.filter(|d| !d.is_zero()) {
        builder = builder.header("retry-after", delay.as_secs().to_string());
    }
    builder.body(Full::new(Bytes::from(body))).unwrap()
}
