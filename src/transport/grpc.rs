//! OTLP/gRPC export through tonic, sending pre-encoded bytes.
//!
//! The encoder hands over an `ExportTraceServiceRequest` already serialized (template-encoded),
//! so the usual prost codec, which wants a message struct, does not fit: [`PreEncodedCodec`]
//! writes the bytes as they are and decodes only the small response with prost.
//!
//! With a codec in `compression`, tonic compresses each message (`grpc-encoding: gzip` or
//! `zstd`), as an OTLP/HTTP body is compressed with `Content-Encoding`. tonic compresses at its
//! own default level and offers no other, so a level is refused for gRPC targets (config).
//!
//! One exporter holds several tonic `Channel`s, each its own HTTP/2 connection, and spreads
//! attempts over them round-robin: one connection's flow-control window and one server-side
//! connection handler would otherwise cap a worker's throughput. The exporter is an `Arc` inside,
//! so clones are cheap and the futures it returns own everything they use.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{BufMut, Bytes};
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tonic::client::Grpc;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::compress::Codec as BodyCodec;
use super::retry::{self, AttemptOutcome, RetryPolicy};
use super::{Delivery, TransportOptions, rejected_spans};

/// The gRPC method every OTLP trace export calls.
pub const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// A tonic codec that sends an already-encoded request body as it is and decodes an
/// `ExportTraceServiceResponse` with prost.
#[derive(Debug, Clone, Copy, Default)]
pub struct PreEncodedCodec;

impl Codec for PreEncodedCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = BytesEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder
    }
}

/// Writes a pre-encoded protobuf message into the gRPC frame unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesEncoder;

impl Encoder for BytesEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

/// Decodes the export response. A body that does not decode counts as an empty response: the
/// server has already said OK in the gRPC status, and a garbled partial-success report must not
/// turn accepted spans into refused ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseDecoder;

impl Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        Ok(Some(
            ExportTraceServiceResponse::decode(src).unwrap_or_default(),
        ))
    }
}

/// Exports pre-encoded batches over OTLP/gRPC on several connections. Cheap to clone.
#[derive(Clone)]
pub struct GrpcExporter {
    shared: Arc<Shared>,
}

/// What every clone of one exporter shares.
struct Shared {
    endpoint: Uri,
    clients: Vec<Grpc<Channel>>,
    next: AtomicUsize,
    tenant_header: HeaderName,
    headers: HeaderMap,
    timeout: Duration,
    retry: RetryPolicy,
}

impl GrpcExporter {
    /// Opens `opts.connections` (at least one) HTTP/2 connections to `endpoint`, eagerly: an
    /// unreachable target fails here, not on the first export.
    ///
    /// Must run inside the tokio runtime that will drive the exports: each channel spawns its
    /// connection task on the current runtime.
    pub async fn connect(
        endpoint: &Uri,
        opts: &TransportOptions,
    ) -> Result<Self, tonic::transport::Error> {
        let builder = Endpoint::from(endpoint.clone())
            .tcp_nodelay(true)
            .connect_timeout(opts.timeout)
            .http2_adaptive_window(true);
        let tls = endpoint.scheme_str() == Some("https");
        let mut clients = Vec::with_capacity(opts.connections.max(1));
        for _ in 0..opts.connections.max(1) {
            // Each connection does its own handshake; the batches it carries are the same bytes.
            let channel = if tls {
                let connector = opts.tls.connector(opts.timeout, true);
                builder.connect_with_connector(connector).await?
            } else {
                builder.connect().await?
            };
            let client = Grpc::new(channel);
            // `--compression`: each message is compressed by tonic and marked so
            // (`grpc-encoding`).
            clients.push(match opts.compression.codec() {
                BodyCodec::Gzip => client.send_compressed(CompressionEncoding::Gzip),
                BodyCodec::Zstd => client.send_compressed(CompressionEncoding::Zstd),
                BodyCodec::None => client,
            });
        }
        let headers = opts.headers.iter().cloned().collect();
        let shared = Shared {
            endpoint: endpoint.clone(),
            clients,
            next: AtomicUsize::new(0),
            tenant_header: opts.tenant_header.clone(),
            headers,
            timeout: opts.timeout,
            retry: opts.retry,
        };
        Ok(Self {
            shared: Arc::new(shared),
        })
    }

    /// Exports one batch of `spans` spans for `tenant`, retrying as the OTLP specification says.
    /// The future owns what it needs (`'static + Send`); each attempt takes the next connection.
    pub fn export(
        &self,
        tenant: HeaderValue,
        body: Bytes,
        spans: u64,
    ) -> impl Future<Output = Delivery> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        async move {
            let mut headers = shared.headers.clone();
            headers.insert(shared.tenant_header.clone(), tenant);
            retry::deliver(&shared.retry, spans, || {
                let attempt = attempt(shared.next_client(), headers.clone(), body.clone());
                retry::with_timeout(shared.timeout, attempt)
            })
            .await
        }
    }
}

impl Shared {
    /// The next connection, round-robin.
    fn next_client(&self) -> Grpc<Channel> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len();
        self.clients[i].clone()
    }
}

impl fmt::Debug for GrpcExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcExporter")
            .field("endpoint", &self.shared.endpoint)
            .field("connections", &self.shared.clients.len())
            .finish_non_exhaustive()
    }
}

/// One export call on one connection.
async fn attempt(mut client: Grpc<Channel>, headers: HeaderMap, body: Bytes) -> AttemptOutcome {
    if client.ready().await.is_err() {
        return AttemptOutcome::TransportError;
    }
    let mut request = tonic::Request::new(body);
    *request.metadata_mut() = MetadataMap::from_headers(headers);
    let path = PathAndQuery::from_static(EXPORT_PATH);
    match client.unary(request, path, PreEncodedCodec).await {
        Ok(response) => AttemptOutcome::Accepted {
            rejected: rejected_spans(response.get_ref()),
        },
        Err(status) => classify(&status),
    }
}

/// Sorts a failed call's status into the OTLP retry classes.
///
/// A status tonic built from a local error (connection refused or reset, h2 error) carries that
/// error as its source: the server never answered, so it is a transport error whatever its code.
/// A status the server sent is retryable for `CANCELLED`, `DEADLINE_EXCEEDED`, `ABORTED`,
/// `OUT_OF_RANGE`, `UNAVAILABLE`, `DATA_LOSS`, and for `RESOURCE_EXHAUSTED` only when it carries
/// RetryInfo (the server says it can recover); anything else is a permanent refusal.
pub fn classify(status: &Status) -> AttemptOutcome {
    if std::error::Error::source(status).is_some() {
        return AttemptOutcome::TransportError;
    }
    let retry_info = status.get_details_retry_info();
    let delay = retry_info.as_ref().and_then(|info| info.retry_delay);
    match status.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => AttemptOutcome::Retryable { delay },
        Code::ResourceExhausted if retry_info.is_some() => AttemptOutcome::Retryable { delay },
        _ => AttemptOutcome::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    #[test]
    fn classifies_statuses_as_the_otlp_spec_says() {
        let retry_info = ErrorDetails::with_retry_info(Some(Duration::from_millis(300)));
        let cases = [
            (
                Status::unavailable("x"),
                AttemptOutcome::Retryable { delay: None },
            ),
            (
                Status::data_loss("x"),
                AttemptOutcome::Retryable { delay: None },
            ),
            (Status::resource_exhausted("x"), AttemptOutcome::Refused),
            (Status::invalid_argument("x"), AttemptOutcome::Refused),
            (Status::internal("x"), AttemptOutcome::Refused),
            (
                Status::with_error_details(Code::ResourceExhausted, "x", retry_info.clone()),
                AttemptOutcome::Retryable {
                    delay: Some(Duration::from_millis(300)),
                },
            ),
            (
                Status::with_error_details(Code::Unavailable, "x", retry_info),
                AttemptOutcome::Retryable {
                    delay: Some(Duration::from_millis(300)),
                },
            ),
        ];
        for (status, want) in cases {
            assert_eq!(classify(&status), want, "{status:?}");
        }
    }

    #[test]
    fn local_errors_are_transport_errors() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let status = Status::from_error(Box::new(io));
        assert_eq!(classify(&status), AttemptOutcome::TransportError);
    }
}
