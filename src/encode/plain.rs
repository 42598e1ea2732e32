//! The plain path: build opentelemetry-proto structs for a batch and let prost encode them.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span::SpanKind,
};

use super::{SeqRange, layout};
use crate::model::stream::hex8;
use crate::model::{StreamModel, ids};

/// Name of the instrumentation scope on every span the tool sends.
pub const SCOPE_NAME: &str = "span-sentinel";

/// The resource attribute that repeats the tenant header's value on every resource the tool
/// sends, so a pipeline behind a collector that drops headers can still tell tenants apart
/// (`[pipeline] tenant_attribute`, `serve --tenant-attribute`).
pub const TENANT_ATTRIBUTE: &str = "tenant.id";

/// A string attribute.
pub fn string_attr(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// Span `node` of trace `seq`, with the trace starting at `start_unix_ns`.
pub fn build_span(model: &StreamModel, seq: u64, node: u16, start_unix_ns: u64) -> Span {
    let tk = model.trace_key(seq);
    let hash = ids::span_hash(tk, node);
    let choice = StreamModel::choice_hash(hash);
    let n = model.nodes[usize::from(node)];
    let start = start_unix_ns.saturating_add(model.start_offset_ns(node));
    let mut attributes: Vec<KeyValue> = (0..model.spec.shape.attributes)
        .map(|a| {
            let value = hex8(model.attribute_value(choice, a));
            string_attr(&format!("attr.{a}"), String::from_utf8_lossy(&value))
        })
        .collect();
    if !model.payload.is_empty() {
        attributes.push(string_attr("payload", model.payload.clone()));
    }
    Span {
        trace_id: ids::trace_id(tk).to_vec(),
        span_id: ids::span_id(hash).to_vec(),
        parent_span_id: n
            .parent
            .map(|p| ids::span_id(ids::span_hash(tk, p)).to_vec())
            .unwrap_or_default(),
        name: model.operation_names[usize::from(n.operation)].clone(),
        kind: if n.parent.is_none() {
            SpanKind::Server
        } else {
            SpanKind::Internal
        } as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start.saturating_add(model.duration_ns(choice)),
        attributes,
        status: Some(Status {
            message: String::new(),
            code: model.status(choice).code(),
        }),
        ..Default::default()
    }
}

/// A batch of `traces` traces, all starting at `start_unix_ns`.
pub fn build_request(
    model: &StreamModel,
    seqs: SeqRange,
    traces: usize,
    start_unix_ns: u64,
) -> ExportTraceServiceRequest {
    // `layout` groups spans by service in service order, so grouping them in that order by
    // first appearance gives one ResourceSpans per service, as the template expects.
    let spans = layout(model, traces)
        .into_iter()
        .flatten()
        .map(|(t, node)| {
            let service = model.nodes[usize::from(node)].service;
            let span = build_span(model, seqs.nth(t), node, start_unix_ns);
            (span, model.service_names[usize::from(service)].as_str())
        });
    request_from_spans(&model.spec.tenant, spans)
}

/// Builds and prost-encodes a batch: the baseline the template encoder is measured against.
pub fn encode_request(
    model: &StreamModel,
    seqs: SeqRange,
    traces: usize,
    start_unix_ns: u64,
    out: &mut Vec<u8>,
) {
    use prost::Message;
    out.clear();
    build_request(model, seqs, traces, start_unix_ns)
        .encode(out)
        .expect("a Vec grows as needed");
}

/// A request of `tenant` holding `spans`, each with its `service.name`, grouped into one
/// `ResourceSpans` per service in order of first appearance.
pub fn request_from_spans<'a>(
    tenant: &str,
    spans: impl IntoIterator<Item = (Span, &'a str)>,
) -> ExportTraceServiceRequest {
    let resource = |service: &str| Resource {
        attributes: vec![
            string_attr("service.name", service),
            string_attr(TENANT_ATTRIBUTE, tenant),
        ],
        ..Default::default()
    };
    let scope = InstrumentationScope {
        name: SCOPE_NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    };
    request_with(spans, resource, &scope)
}

/// A request holding `spans`, grouped into one `ResourceSpans` per service (in order of first
/// appearance) with the resource `resource(service)`, all under `scope`.
pub fn request_with<'a>(
    spans: impl IntoIterator<Item = (Span, &'a str)>,
    resource: impl Fn(&str) -> Resource,
    scope: &InstrumentationScope,
) -> ExportTraceServiceRequest {
    let mut resource_spans: Vec<ResourceSpans> = Vec::new();
    let mut services: Vec<&str> = Vec::new();
    for (span, service) in spans {
        let i = services
            .iter()
            .position(|s| *s == service)
            .unwrap_or_else(|| {
                services.push(service);
                resource_spans.push(ResourceSpans {
                    resource: Some(resource(service)),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(scope.clone()),
                        spans: Vec::new(),
                        schema_url: String::new(),
                    }],
                    schema_url: String::new(),
                });
                services.len() - 1
            });
        resource_spans[i].scope_spans[0].spans.push(span);
    }
    ExportTraceServiceRequest { resource_spans }
}
