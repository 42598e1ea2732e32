//! Helpers of the pipeline tests: start a pipeline, build OTLP requests with prost structs, and
//! talk to it over gRPC (tonic), raw HTTP/2 and HTTP/1 (hyper).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use span_sentinel::pipeline::{Pipeline, PipelineConfig};
use tonic::transport::Channel;

/// Starts a pipeline on ephemeral loopback ports.
pub async fn start(config: PipelineConfig) -> Pipeline {
    Pipeline::start(config).await.expect("pipeline starts")
}

/// A config suited to tests: short settle window and alert interval.
pub fn test_config() -> PipelineConfig {
    let mut config = PipelineConfig::default();
    config.assembly.threshold = Duration::from_millis(100);
    config.assembly.settle = Duration::from_millis(400);
    config.alert_interval = Duration::from_millis(100);
    config
}

/// A string attribute.
pub fn attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

/// An int attribute.
pub fn int_attr(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..KeyValue::default()
    }
}

/// A trace ID from a number.
pub fn trace_id(n: u64) -> Vec<u8> {
    let mut id = vec![0xab; 16];
    id[8..].copy_from_slice(&n.to_be_bytes());
    id
}

/// A span ID from a number.
pub fn span_id(n: u64) -> Vec<u8> {
    (n | 1 << 63).to_be_bytes().to_vec()
}

/// Nanoseconds since the unix epoch.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// A span.
#[allow(clippy::too_many_arguments)]
pub fn span(
    trace: u64,
    id: u64,
    parent: Option<u64>,
    name: &str,
    start: u64,
    duration: u64,
    error: bool,
) -> Span {
    Span {
        trace_id: trace_id(trace),
        span_id: span_id(id),
        parent_span_id: parent.map(span_id).unwrap_or_default(),
        name: name.into(),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: start + duration,
        attributes: vec![attr("http.method", "GET"), int_attr("seq", id as i64)],
        status: Some(Status {
            message: if error { "boom".into() } else { String::new() },
            code: if error { 2 } else { 1 },
        }),
        ..Span::default()
    }
}

/// A request of one resource (`service`) holding `spans`.
pub fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![attr("service.name", service)],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// `n` independent root spans of `duration` ns each.
pub fn roots(
    service: &str,
    name: &str,
    first_trace: u64,
    n: u64,
    duration: u64,
    error: bool,
) -> ExportTraceServiceRequest {
    let start = now_ns();
    let spans = (0..n)
        .map(|i| span(first_trace + i, i + 1, None, name, start, duration, error))
        .collect();
    request(service, spans)
}

/// A gRPC client of the pipeline.
pub async fn grpc_client(pipeline: &Pipeline) -> TraceServiceClient<Channel> {
    TraceServiceClient::connect(pipeline.grpc_endpoint())
        .await
        .expect("connects")
}

/// Exports over gRPC as `tenant`.
pub async fn export(
    client: &mut TraceServiceClient<Channel>,
    tenant: &str,
    req: ExportTraceServiceRequest,
) -> Result<i64, tonic::Status> {
    let mut request = tonic::Request::new(req);
    request
        .metadata_mut()
        .insert("x-scope-orgid", tenant.parse().expect("ascii tenant"));
    let response = client.export(request).await?.into_inner();
    Ok(response.partial_success.map_or(0, |p| p.rejected_spans))
}

/// An HTTP/1 client.
pub fn http_client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build(connector())
}

fn connector() -> HttpConnector {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector
}

/// An HTTP/2 (prior knowledge) client, for raw gRPC.
pub fn h2_client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build(connector())
}

/// Response of a raw request: status, headers (+ trailers) and body.
pub struct Raw {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Raw {
    /// `grpc-status`, from the headers or trailers.
    pub fn grpc_status(&self) -> Option<i32> {
        self.headers.get("grpc-status")?.to_str().ok()?.parse().ok()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// Sends one request and reads everything back.
pub async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    req: http::Request<Full<Bytes>>,
) -> Raw {
    let response = client.request(req).await.expect("request completes");
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.expect("body");
    let mut headers = parts.headers;
    if let Some(trailers) = collected.trailers() {
        headers.extend(trailers.clone());
    }
    Raw {
        status: parts.status,
        headers,
        body: collected.to_bytes(),
    }
}

/// A request builder with the tenant header set (when `tenant` is not `None`).
pub fn builder(method: &str, url: &str, tenant: Option<&str>) -> http::request::Builder {
    let builder = http::Request::builder().method(method).uri(url);
    match tenant {
        Some(t) => builder.header("x-scope-orgid", t),
        None => builder,
    }
}

/// A raw gRPC export with an uncompressed frame around `message`.
pub fn grpc_frame(message: &[u8], compressed: bool) -> Bytes {
    let mut framed = vec![u8::from(compressed)];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    framed.into()
}

/// POSTs raw gRPC bytes to the export method.
pub async fn grpc_raw(
    pipeline: &Pipeline,
    tenant: Option<&str>,
    body: Bytes,
    extra: &[(&str, &str)],
) -> Raw {
    let url = format!(
        "{}/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        pipeline.grpc_endpoint()
    );
    let mut b = builder("POST", &url, tenant)
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    send(&h2_client(), b.body(Full::new(body)).unwrap()).await
}

/// POSTs an OTLP/HTTP protobuf body.
pub async fn http_post(
    pipeline: &Pipeline,
    tenant: Option<&str>,
    body: Bytes,
    extra: &[(&str, &str)],
) -> Raw {
    let url = format!("{}/v1/traces", pipeline.http_endpoint());
    let mut b = builder("POST", &url, tenant);
    if !extra.iter().any(|(k, _)| *k == "content-type") {
        b = b.header("content-type", "application/x-protobuf");
    }
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    send(&http_client(), b.body(Full::new(body)).unwrap()).await
}

/// GETs an API path as `tenant`.
pub async fn get(pipeline: &Pipeline, tenant: &str, path: &str) -> Raw {
    let url = format!("{}{path}", pipeline.http_endpoint());
    send(
        &http_client(),
        builder("GET", &url, Some(tenant))
            .body(Full::default())
            .unwrap(),
    )
    .await
}

/// Sends a JSON body with `method` as `tenant`.
pub async fn send_json(
    pipeline: &Pipeline,
    tenant: &str,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> Raw {
    let url = format!("{}{path}", pipeline.http_endpoint());
    let req = builder(method, &url, Some(tenant))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    send(&http_client(), req).await
}

/// Encodes a request.
pub fn encode(req: &ExportTraceServiceRequest) -> Bytes {
    req.encode_to_vec().into()
}

/// Gzips bytes.
pub fn gzip(data: &[u8]) -> Bytes {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap().into()
}

/// Polls `check` every 20 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
