//! OTLP/HTTP export through hyper.
//!
//! Batches are POSTed as `application/x-protobuf` or `application/json` (`--encoding`),
//! compressed with gzip or zstd when asked (`--compression`; once per batch, not per attempt). The 200 answer's body is an `ExportTraceServiceResponse` whose
//! `partial_success` may reject some spans.
//!
//! HTTP/1.1 carries one request per connection at a time, so an exporter lets at most
//! `connections` requests run at once (a semaphore) over hyper-util's pooled client, which then
//! keeps about that many keep-alive connections open; further requests of the worker queue for a
//! free connection, and their attempt timeout starts only once they have one.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use rustls::pki_types::ServerName;
use tokio::sync::Semaphore;

use super::compress::{self, Compression};
use super::retry::{self, AttemptOutcome, RetryPolicy};
use super::{Delivery, TransportOptions, rejected_spans};
use crate::encode::Encoding;

/// Exports pre-encoded batches over OTLP/HTTP (protobuf). Cheap to clone.
#[derive(Clone)]
pub struct HttpExporter {
    shared: Arc<Shared>,
}

/// What every clone of one exporter shares.
struct Shared {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    url: Uri,
    /// Content type, encoding and the extra headers, sent on every request.
    headers: HeaderMap,
    tenant_header: HeaderName,
    compression: Compression,
    encoding: Encoding,
    /// One permit per connection: HTTP/1.1 carries one request per connection at a time.
    slots: Semaphore,
    timeout: Duration,
    retry: RetryPolicy,
}

impl HttpExporter {
    /// Builds an exporter POSTing to `url`. Connections open lazily; probe the target first
    /// (see [`probe`]) to fail early on an unreachable one.
    ///
    /// Must be called inside the tokio runtime that will drive the exports: connection tasks
    /// are spawned on the current runtime.
    pub fn new(url: &Uri, opts: &TransportOptions) -> Self {
        let connections = opts.connections.max(1);
        // Plain TCP for `http://`, TLS for `https://`: the handshake is per connection.
        let connector = opts.tls.connector(opts.timeout, false);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_max_idle_per_host(connections)
            .build(connector);
        let shared = Shared {
            client,
            url: url.clone(),
            headers: request_headers(opts),
            tenant_header: opts.tenant_header.clone(),
            compression: opts.compression,
            encoding: opts.encoding,
            slots: Semaphore::new(connections),
            timeout: opts.timeout,
            retry: opts.retry,
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// How the bodies given to [`HttpExporter::export`] must be serialized.
    pub fn encoding(&self) -> Encoding {
        self.shared.encoding
    }

    /// Exports one batch of `spans` spans for `tenant`, retrying as the OTLP specification says.
    /// The future owns what it needs (`'static + Send`).
    pub fn export(
        &self,
        tenant: HeaderValue,
        body: Bytes,
        spans: u64,
    ) -> impl Future<Output = Delivery> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        async move {
            let body = if shared.compression.is_on() {
                // The worker's thread compresses: its compressor's state is reused.
                Bytes::from(compress::compress(shared.compression, &body))
            } else {
                body
            };
            retry::deliver(&shared.retry, spans, || {
                attempt(Arc::clone(&shared), tenant.clone(), body.clone())
            })
            .await
        }
    }
}

impl fmt::Debug for HttpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpExporter")
            .field("url", &self.shared.url)
            .field("compression", &self.shared.compression)
            .finish_non_exhaustive()
    }
}

/// Opens and closes one connection to `url`'s host and port — with the TLS handshake for
/// `https://` — to tell an unreachable target (or an untrusted certificate) apart before any
/// load is sent.
pub async fn probe(url: &Uri, opts: &TransportOptions) -> std::io::Result<()> {
    let authority = url.authority().map(|a| a.as_str()).unwrap_or_default();
    let connect = async {
        let tcp = tokio::net::TcpStream::connect(authority).await?;
        if url.scheme_str() != Some("https") {
            return Ok(());
        }
        let name = match opts.tls.server_name() {
            Some(name) => name.clone(),
            None => {
                let host = url.host().unwrap_or_default();
                let host = host.trim_start_matches('[').trim_end_matches(']');
                ServerName::try_from(host.to_owned())
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?
            }
        };
        let connector = tokio_rustls::TlsConnector::from(opts.tls.config());
        connector.connect(name, tcp).await.map(drop)
    };
    match tokio::time::timeout(opts.timeout, connect).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connect timed out",
        )),
    }
}

/// The headers of every request: content type, content encoding when compressing, extras.
fn request_headers(opts: &TransportOptions) -> HeaderMap {
    let mut headers: HeaderMap = opts.headers.iter().cloned().collect();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(opts.encoding.content_type()),
    );
    if opts.compression.is_on() {
        let name = opts.compression.codec().name();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(name));
    }
    headers
}

/// One POST, once a connection slot is free, within the attempt timeout.
async fn attempt(shared: Arc<Shared>, tenant: HeaderValue, body: Bytes) -> AttemptOutcome {
    let Ok(_slot) = shared.slots.acquire().await else {
        return AttemptOutcome::TransportError;
    };
    let post = async {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = shared.url.clone();
        *request.headers_mut() = shared.headers.clone();
        request
            .headers_mut()
            .insert(shared.tenant_header.clone(), tenant);
        match shared.client.request(request).await {
            Ok(response) => classify(response).await,
            Err(_) => AttemptOutcome::TransportError,
        }
    };
    retry::with_timeout(shared.timeout, post).await
}

/// Sorts a response into the OTLP retry classes: 2xx accepted (minus the partial success's
/// rejected spans), 429/502/503/504 retryable honouring `Retry-After`, anything else refused.
async fn classify(response: Response<Incoming>) -> AttemptOutcome {
    let status = response.status();
    let delay = retry_after(response.headers());
    // Reading the body to its end lets the connection go back to the pool.
    let body = response.into_body().collect().await.map(|b| b.to_bytes());
    if status.is_success() {
        // The status already says accepted; an unreadable body cannot take that back.
        let rejected = body
            .ok()
            .and_then(|b| decode_response(&b))
            .map_or(0, |r| rejected_spans(&r));
        return AttemptOutcome::Accepted { rejected };
    }
    if is_retryable(status) {
        AttemptOutcome::Retryable { delay }
    } else {
        AttemptOutcome::Refused
    }
}

/// An export response in either encoding: JSON when it parses as such, else protobuf.
fn decode_response(body: &[u8]) -> Option<ExportTraceServiceResponse> {
    if body.first() == Some(&b'{') {
        if let Ok(response) = serde_json::from_slice(body) {
            return Some(response);
        }
    }
    ExportTraceServiceResponse::decode(body).ok()
}

/// The HTTP statuses the OTLP specification retries.
pub fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// The delay of a `Retry-After: <seconds>` header. The HTTP-date form is not understood and
/// falls back to the backoff.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static(" 3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn only_the_spec_statuses_are_retryable() {
        for code in [429, 502, 503, 504] {
            assert!(is_retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [400, 401, 403, 404, 413, 500, 501] {
            assert!(!is_retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }
}
