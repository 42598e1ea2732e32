//! OTLP/gRPC `TraceService/Export`, served directly on hyper's HTTP/2 with a raw-bytes path:
//! the length-prefixed message is taken from the body as it arrived (no prost decoding) and
//! handed to the scanner; responses and errors are standard gRPC (trailers, `grpc-status`,
//! RetryInfo in `grpc-status-details-bin`), built with tonic's `Status`.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};

use super::body::{gunzip, read_limited, unzstd};
use super::{Accepted, IngestError, admit, count_refusal, precheck};
use crate::pipeline::response::{ResponseBody, plain};
use crate::pipeline::state::Shared;

/// The gRPC method path of OTLP trace export.
pub const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

fn status_response(status: tonic::Status) -> Response<ResponseBody> {
    status.into_http()
}

/// Maps a refusal of the whole request to its gRPC status.
pub fn status_of(err: &IngestError) -> tonic::Status {
    let msg = err.to_string();
    match err {
        IngestError::Tenant(_) | IngestError::Decode(_) | IngestError::Malformed(_) => {
            tonic::Status::invalid_argument(msg)
        }
        // Too large is permanent: RESOURCE_EXHAUSTED without RetryInfo is not retried.
        IngestError::TooLarge { .. } => tonic::Status::resource_exhausted(msg),
        IngestError::Refused(refusal) => match refusal.retry_after() {
            Some(delay) => tonic::Status::with_error_details(
                Code::ResourceExhausted,
                msg,
                ErrorDetails::with_retry_info(Some(delay)),
            ),
            None => tonic::Status::unavailable(msg),
        },
    }
}

fn success(accepted: &Accepted) -> Response<ResponseBody> {
    let partial_success = (accepted.rejected > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::from(accepted.rejected),
        error_message: accepted.message.clone(),
    });
    let message = ExportTraceServiceResponse { partial_success }.encode_to_vec();
    let mut framed = BytesMut::with_capacity(5 + message.len());
    framed.put_u8(0);
    framed.put_u32(message.len() as u32);
    framed.put_slice(&message);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let body = Full::new(framed.freeze())
        .with_trailers(async move { Some(Ok::<_, Infallible>(trailers)) })
        .boxed();
    let mut response = Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    response
}

/// Decompresses a message within a limit (`gunzip`, `unzstd`).
type Decompress = fn(&[u8], usize) -> Result<Bytes, IngestError>;

/// The one message of a unary gRPC request body, inflated when its frame is compressed.
fn unframe(body: &Bytes, codec: Option<Decompress>, limit: usize) -> Result<Bytes, IngestError> {
    if body.len() < 5 {
        return Err(IngestError::Malformed(
            "gRPC body shorter than its 5-byte frame header".into(),
        ));
    }
    let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    if len != body.len() - 5 {
        return Err(IngestError::Malformed(
            "gRPC frame length does not match the body".into(),
        ));
    }
    let message = body.slice(5..);
    match body[0] {
        0 => Ok(message),
        1 if codec.is_some() => codec.expect("checked")(&message, limit),
        _ => Err(IngestError::Malformed(
            "compressed frame without a supported grpc-encoding".into(),
        )),
    }
}

/// Handles a request to the gRPC listener.
pub async fn handle(shared: Arc<Shared>, req: http::Request<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    if parts.uri.path() != EXPORT_PATH {
        return status_response(tonic::Status::unimplemented(format!(
            "no method {}",
            parts.uri.path()
        )));
    }
    if parts.method != http::Method::POST {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "gRPC requires POST");
    }
    let grpc = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !grpc.is_some_and(|ct| ct == "application/grpc" || ct.starts_with("application/grpc+proto"))
    {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content-type must be application/grpc",
        );
    }
    let encoding = parts.headers.get("grpc-encoding").map(|v| v.as_bytes());
    let codec: Option<Decompress> = match encoding {
        None | Some(b"identity") => None,
        Some(b"gzip") => Some(gunzip),
        Some(b"zstd") => Some(unzstd),
        Some(_) => {
            return status_response(tonic::Status::unimplemented(
                "grpc-encoding must be identity, gzip or zstd",
            ));
        }
    };
    let config = &shared.config;
    let outcome = async {
        let header = parts.headers.get(&config.tenant_header);
        let tenant = precheck(&shared, header.map(|v| v.as_bytes()))?;
        // Never closed, so acquiring cannot fail; the permit bounds memory in flight.
        let _permit = shared.inflight.acquire().await.ok();
        let raw = read_limited(&parts, body, config.max_body_bytes + 5).await?;
        let message = unframe(&raw, codec, config.max_message_bytes)?;
        admit(&shared, tenant, message)
    }
    .await;
    if !config.faults.ack_delay.is_zero() {
        tokio::time::sleep(config.faults.ack_delay).await;
    }
    match outcome {
        Ok(accepted) => success(&accepted),
        Err(err) => {
            count_refusal(&shared, &err);
            status_response(status_of(&err))
        }
    }
}
