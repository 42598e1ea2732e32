//! A loopback OTLP receiver that records the raw bodies it is sent, for the independent
//! decoder. One hyper server speaks both OTLP/gRPC (HTTP/2, the `Export` method; the 5-byte
//! length prefix is taken off) and OTLP/HTTP (`POST /v1/traces`, protobuf or JSON), and answers
//! every request with an empty success.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::stream;
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// One recorded request body, as it came over the wire (gRPC framing removed).
#[derive(Debug, Clone)]
pub struct Captured {
    /// `"pb"` for protobuf (gRPC or HTTP), `"json"` for OTLP JSON.
    pub kind: &'static str,
    /// The serialized `ExportTraceServiceRequest`.
    pub body: Bytes,
}

/// A running capture server; stopped when dropped.
pub struct Capture {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it recorded, in arrival order.
    pub bodies: Arc<Mutex<Vec<Captured>>>,
    stop: CancellationToken,
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

type Body = BoxBody<Bytes, Infallible>;

impl Capture {
    /// Starts the server on its own thread and runtime, bound to 127.0.0.1:0.
    pub fn start() -> Capture {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let (tx, rx) = std::sync::mpsc::channel();
        let (bodies2, stop2) = (Arc::clone(&bodies), stop.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(serve(tx, bodies2, stop2));
        });
        let addr = rx.recv().unwrap();
        Capture { addr, bodies, stop }
    }

    /// The recorded bodies so far.
    pub fn bodies(&self) -> Vec<Captured> {
        self.bodies.lock().unwrap().clone()
    }
}

async fn serve(
    tx: std::sync::mpsc::Sender<SocketAddr>,
    bodies: Arc<Mutex<Vec<Captured>>>,
    stop: CancellationToken,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    tx.send(listener.local_addr().unwrap()).unwrap();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted.unwrap(),
            () = stop.cancelled() => return,
        };
        let bodies = Arc::clone(&bodies);
        let service = service_fn(move |request| {
            let bodies = Arc::clone(&bodies);
            async move { Ok::<_, Infallible>(answer(request, &bodies).await) }
        });
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: http::Request<Incoming>,
    bodies: &Mutex<Vec<Captured>>,
) -> http::Response<Body> {
    let (parts, body) = request.into_parts();
    let content_type = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let raw = body.collect().await.unwrap().to_bytes();
    if content_type.starts_with("application/grpc") {
        assert!(raw.len() >= 5 && raw[0] == 0, "an uncompressed gRPC frame");
        let len = u32::from_be_bytes(raw[1..5].try_into().unwrap()) as usize;
        assert_eq!(raw.len(), 5 + len, "one message per Export call");
        let body = raw.slice(5..);
        bodies.lock().unwrap().push(Captured { kind: "pb", body });
        return grpc_ok();
    }
    let kind = if content_type.starts_with("application/json") {
        "json"
    } else {
        "pb"
    };
    bodies.lock().unwrap().push(Captured { kind, body: raw });
    let body = if kind == "json" { &b"{}"[..] } else { &b""[..] };
    http::Response::builder()
        .status(200)
        .header("content-type", content_type)
        .body(full(Bytes::from_static(body)))
        .unwrap()
}

fn full(bytes: Bytes) -> Body {
    http_body_util::Full::new(bytes).boxed()
}

/// An OK answer to a gRPC call: an empty response message, then `grpc-status: 0` trailers.
fn grpc_ok() -> http::Response<Body> {
    let mut frame = BytesMut::with_capacity(5);
    frame.put_u8(0);
    frame.put_u32(0);
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let frames = stream::iter([
        Ok::<_, Infallible>(Frame::data(frame.freeze())),
        Ok(Frame::trailers(trailers)),
    ]);
    http::Response::builder()
        .status(200)
        .header("content-type", "application/grpc")
        .body(StreamBody::new(frames).boxed())
        .unwrap()
}
