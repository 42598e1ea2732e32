//! Transport: how encoded OTLP batches reach a target (OTLP/gRPC, OTLP/HTTP, or a discard sink).
//!
//! Each load worker owns its own `Exporter` (its own connections), so nothing here is shared
//! between workers. Bodies arrive already encoded (`bytes::Bytes`) and are sent without
//! re-encoding. Every batch ends in exactly one `Delivery`, whose acked + rejected + failed equals
//! the batch's span count: nothing is dropped silently.
//!
//! Failure handling follows the OTLP specification: only retryable gRPC codes and HTTP statuses
//! (429/502/503/504) are retried, honouring RetryInfo and `Retry-After`, with exponential backoff,
//! jitter and a maximum elapsed time. `partial_success.rejected_spans` counts as rejected.

pub mod compress;
pub mod grpc;
pub mod http;
pub mod retry;
pub mod target;
pub mod tls;

pub use compress::{Codec, Compression};
pub use grpc::GrpcExporter;
pub use http::HttpExporter;
pub use retry::RetryPolicy;
pub use target::Target;
pub use tls::{ClientTls, TlsOptions};

use std::future::Future;
use std::time::Duration;

use ::http::{HeaderName, HeaderValue};
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;

use crate::encode::Encoding;
use crate::error::UnreachableError;

/// How one batch ended, counted in spans. `acked + rejected + failed` is the batch size.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Spans the target accepted.
    pub acked: u64,
    /// Spans the target answered for and refused for good: `partial_success.rejected_spans`, a
    /// non-retryable status (e.g. HTTP 400, gRPC `INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`
    /// without RetryInfo).
    pub rejected: u64,
    /// Spans that never got a definitive answer: transport errors, or retries that ran out of
    /// their maximum elapsed time.
    pub failed: u64,
    /// How many retries the batch took (0 when the first attempt decided it).
    pub retries: u32,
}

/// Options every exporter shares; built once from flags and profile.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Header that names the tenant (default `x-scope-orgid`).
    pub tenant_header: HeaderName,
    /// Extra headers sent on every request (`--header k=v`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Connections each worker opens to the target.
    pub connections: usize,
    /// Requests each worker keeps in flight at most.
    pub concurrency: usize,
    /// How request bodies are compressed (OTLP/HTTP `Content-Encoding`, OTLP/gRPC
    /// `grpc-encoding`; the discard sink compresses and drops).
    pub compression: Compression,
    /// How bodies are serialized; JSON only over OTLP/HTTP (validated with the target).
    pub encoding: Encoding,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// Retry policy for retryable failures.
    pub retry: RetryPolicy,
    /// TLS settings, used when the target's scheme is `grpcs` or `https`.
    pub tls: ClientTls,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            tenant_header: HeaderName::from_static("x-scope-orgid"),
            headers: Vec::new(),
            connections: 2,
            concurrency: 8,
            compression: Compression::NONE,
            encoding: Encoding::Protobuf,
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            tls: ClientTls::system(),
        }
    }
}

/// Sends encoded batches to one target. Each worker connects its own; clones share the
/// connections and are cheap (an `Arc`).
#[derive(Debug, Clone)]
pub enum Exporter {
    /// Sends nothing and acknowledges every span at once; it still serializes in `encoding`
    /// and compresses each body in `compression`, so it measures what a generator pays for both.
    Discard {
        /// How bodies are serialized (`--encoding`).
        encoding: Encoding,
        /// How each body is compressed, as the OTLP/HTTP exporter would (`--compression`).
        compression: Compression,
    },
    /// OTLP/gRPC.
    Grpc(GrpcExporter),
    /// OTLP/HTTP (protobuf or JSON).
    Http(HttpExporter),
}

impl Exporter {
    /// Connects to `target`: gRPC opens every connection now, HTTP probes one TCP connection.
    /// A target that cannot be reached is an [`UnreachableError`] (exit code 3).
    ///
    /// Call it inside the tokio runtime that will drive the exports (for a load worker, its own
    /// `current_thread` runtime): connection tasks are spawned on the current runtime and die
    /// with it.
    pub async fn connect(
        target: &Target,
        opts: &TransportOptions,
    ) -> Result<Exporter, UnreachableError> {
        let unreachable = |err: &dyn std::error::Error| {
            let mut reason = error_chain(err);
            if let Some(hint) = tls::certificate_hint(&reason).filter(|_| target.is_tls()) {
                reason = format!("{hint}: {reason}");
            }
            UnreachableError {
                target: target.to_string(),
                reason,
            }
        };
        match target {
            Target::Discard => Ok(Exporter::Discard {
                encoding: opts.encoding,
                compression: opts.compression,
            }),
            Target::Grpc { endpoint } => GrpcExporter::connect(endpoint, opts)
                .await
                .map(Exporter::Grpc)
                .map_err(|e| unreachable(&e)),
            Target::Http { url } => {
                http::probe(url, opts).await.map_err(|e| unreachable(&e))?;
                Ok(Exporter::Http(HttpExporter::new(url, opts)))
            }
        }
    }

    /// How the bodies handed to [`Exporter::export`] must be serialized.
    pub fn encoding(&self) -> Encoding {
        match self {
            Exporter::Http(http) => http.encoding(),
            Exporter::Discard { encoding, .. } => *encoding,
            Exporter::Grpc(_) => Encoding::Protobuf,
        }
    }

    /// True for the discard sink, which the engine short-cuts (no copy, no future).
    pub fn is_discard(&self) -> bool {
        matches!(self, Exporter::Discard { .. })
    }

    /// How the discard sink compresses what it is handed (`None` for other targets, which
    /// compress on their own, and for a discard sink without compression).
    pub fn discard_compression(&self) -> Option<Compression> {
        match self {
            Exporter::Discard { compression, .. } if compression.is_on() => Some(*compression),
            _ => None,
        }
    }

    /// Exports one batch of `spans` spans, already encoded as an `ExportTraceServiceRequest`
    /// in [`Exporter::encoding`],
    /// for `tenant`. The future owns what it needs, so a worker can keep many in flight; it
    /// always resolves to a [`Delivery`] that accounts for all `spans`.
    pub fn export(
        &self,
        tenant: HeaderValue,
        body: Bytes,
        spans: u64,
    ) -> impl Future<Output = Delivery> + Send + 'static + use<> {
        let this = self.clone();
        async move {
            match this {
                Exporter::Discard { .. } => Delivery {
                    acked: spans,
                    ..Delivery::default()
                },
                Exporter::Grpc(grpc) => grpc.export(tenant, body, spans).await,
                Exporter::Http(http) => http.export(tenant, body, spans).await,
            }
        }
    }
}

/// Header names with their values hidden, as reports show them: `authorization=<redacted>`.
/// Extra headers often carry tokens; no report, log or metric shows a value.
pub fn redacted_headers(headers: &[(HeaderName, HeaderValue)]) -> Vec<String> {
    headers
        .iter()
        .map(|(name, _)| format!("{name}=<redacted>"))
        .collect()
}

/// The spans a response's partial success reports as rejected (0 without one).
fn rejected_spans(response: &ExportTraceServiceResponse) -> u64 {
    response
        .partial_success
        .as_ref()
        .map_or(0, |p| p.rejected_spans.max(0) as u64)
}

/// An error and its sources, joined with `: ` (as `anyhow`'s `{:#}` prints them).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
