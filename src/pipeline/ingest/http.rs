//! OTLP/HTTP `POST /v1/traces`: protobuf (`application/x-protobuf`) or JSON
//! (`application/json`, converted once to protobuf so both share the scanner), optionally gzip
//! or zstd (`Content-Encoding`). Refusals follow the OTLP/HTTP specification: 400 for bad input,
//! 413 for too large, 415 for an unsupported media type or encoding, 429 + `Retry-After` when
//! the queue or quota is full, 503 while shutting down.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

use super::body::{gunzip, read_limited, unzstd};
use super::{Accepted, IngestError, admit, count_refusal, precheck};
use crate::pipeline::response::{ResponseBody, plain};
use crate::pipeline::state::Shared;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Protobuf,
    Json,
}

fn format_of(parts: &http::request::Parts) -> Option<Format> {
    let ct = parts
        .headers
        .get(http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    let essence = ct.split(';').next()?.trim();
    match essence {
        "application/x-protobuf" | "application/protobuf" => Some(Format::Protobuf),
        "application/json" => Some(Format::Json),
        _ => None,
    }
}

fn refusal(err: &IngestError) -> Response<ResponseBody> {
    let status = match err {
        IngestError::Tenant(_) | IngestError::Decode(_) | IngestError::Malformed(_) => {
            StatusCode::BAD_REQUEST
        }
        IngestError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        IngestError::Refused(r) if r.retry_after().is_some() => StatusCode::TOO_MANY_REQUESTS,
        IngestError::Refused(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    let mut response = plain(status, &err.to_string());
    if let IngestError::Refused(r) = err {
        if let Some(delay) = r.retry_after() {
            let secs = delay.as_secs_f64().ceil().max(1.0) as u64;
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }
    response
}

fn success(accepted: &Accepted, format: Format) -> Response<ResponseBody> {
    let partial_success = (accepted.rejected > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::from(accepted.rejected),
        error_message: accepted.message.clone(),
    });
    let message = ExportTraceServiceResponse { partial_success };
    let (body, content_type) = match format {
        Format::Protobuf => (message.encode_to_vec(), "application/x-protobuf"),
        Format::Json => (
            serde_json::to_vec(&message).unwrap_or_default(),
            "application/json",
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

async fn read(
    shared: &Shared,
    parts: &http::request::Parts,
    body: Incoming,
    format: Format,
) -> Result<Bytes, IngestError> {
    let config = &shared.config;
    let encoding = parts
        .headers
        .get(http::header::CONTENT_ENCODING)
        .map(|v| v.as_bytes());
    let decompress = match encoding {
        None | Some(b"identity") => None,
        Some(b"gzip") => Some(gunzip as fn(&[u8], usize) -> Result<Bytes, IngestError>),
        Some(b"zstd") => Some(unzstd as fn(&[u8], usize) -> Result<Bytes, IngestError>),
        Some(_) => {
            return Err(IngestError::Malformed(
                "unsupported content-encoding".into(),
            ));
        }
    };
    let raw = read_limited(parts, body, config.max_body_bytes).await?;
    let raw = match decompress {
        Some(decompress) => decompress(&raw, config.max_message_bytes)?,
        None => raw,
    };
    if raw.len() > config.max_message_bytes {
        return Err(IngestError::TooLarge {
            limit: config.max_message_bytes,
        });
    }
    match format {
        Format::Protobuf => Ok(raw),
        Format::Json => {
            let request: ExportTraceServiceRequest = serde_json::from_slice(&raw)
                .map_err(|err| IngestError::Malformed(format!("invalid OTLP JSON: {err}")))?;
            Ok(request.encode_to_vec().into())
        }
    }
}

/// Handles `/v1/traces`.
pub async fn handle(shared: Arc<Shared>, req: http::Request<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    if parts.method != http::Method::POST {
        shared
            .ingest
            .invalid_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "use POST");
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let encoding_ok = matches!(
        parts
            .headers
            .get(http::header::CONTENT_ENCODING)
            .map(|v| v.as_bytes()),
        None | Some(b"identity" | b"gzip" | b"zstd")
    );
    let Some(format) = format_of(&parts).filter(|_| encoding_ok) else {
        shared
            .ingest
            .invalid_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content-type must be application/x-protobuf or application/json, content-encoding gzip, zstd or none",
        );
    };
    let outcome = async {
        let header = parts.headers.get(&shared.config.tenant_header);
        let tenant = precheck(&shared, header.map(|v| v.as_bytes()))?;
        // Never closed, so acquiring cannot fail; the permit bounds memory in flight.
        let _permit = shared.inflight.acquire().await.ok();
        let message = read(&shared, &parts, body, format).await?;
        admit(&shared, tenant, message)
    }
    .await;
    if !shared.config.faults.ack_delay.is_zero() {
        tokio::time::sleep(shared.config.faults.ack_delay).await;
    }
    match outcome {
        Ok(accepted) => success(&accepted, format),
        Err(err) => {
            count_refusal(&shared, &err);
            refusal(&err)
        }
    }
}
