//! What a sentinel span carries beyond its place in the trace: the whole OTLP span data model,
//! as a pure function of (trace, node), so the verifier can compare every field. Every
//! `AnyValue` kind (string, bool, int, double, bytes, array, key-value list, and an empty
//! value), events with attributes, links to other sentinel traces, `trace_state`, `flags`,
//! every `SpanKind`, status messages, the `dropped_*_count`s, and non-ASCII UTF-8 text.
//!
//! Status codes stay unset or OK: the tenant's alert counts ambient spans in its error ratio as
//! never errors, and the error stream carries the ERROR status.

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::{Span, Status, status::StatusCode};

/// Span kinds of non-root nodes, in turn (the root is a server span).
const KINDS: [SpanKind; 6] = [
    SpanKind::Unspecified,
    SpanKind::Internal,
    SpanKind::Server,
    SpanKind::Client,
    SpanKind::Producer,
    SpanKind::Consumer,
];

fn kv(key: &str, value: Option<Value>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value }),
        ..Default::default()
    }
}

/// One attribute of every `AnyValue` kind, the last one empty.
pub fn every_kind(node: u32) -> Vec<KeyValue> {
    let n = i64::from(node);
    vec![
        kv("k.string", Some(Value::StringValue(format!("grüße ✓ {n}")))),
        kv("k.bool", Some(Value::BoolValue(node % 2 == 0))),
        kv("k.int", Some(Value::IntValue(-n - 1))),
        kv("k.double", Some(Value::DoubleValue(n as f64 + 0.25))),
        kv(
            "k.bytes",
            Some(Value::BytesValue(vec![0, 0xff, node as u8])),
        ),
        kv(
            "k.array",
            Some(Value::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(Value::IntValue(n)),
                    },
                    AnyValue {
                        value: Some(Value::StringValue("ä".into())),
                    },
                ],
            })),
        ),
        kv(
            "k.kvlist",
            Some(Value::KvlistValue(KeyValueList {
                values: vec![kv("inner", Some(Value::BoolValue(true)))],
            })),
        ),
        kv("k.empty", None),
    ]
}

/// Fills in the data-model fields of `span`, node `node` of its trace; `previous` is the
/// (trace ID, root span ID) of the trace sent before it, for links.
pub fn dress(span: &mut Span, node: u32, previous: Option<([u8; 16], [u8; 8])>) {
    span.kind = if node == 0 {
        SpanKind::Server
    } else {
        KINDS[node as usize % KINDS.len()]
    } as i32;
    span.trace_state = format!("sentinel=n{node}");
    span.flags = 0x100 | (node % 2) << 9 | 1;
    span.dropped_attributes_count = node % 3;
    span.dropped_events_count = node % 2;
    span.dropped_links_count = node % 4 / 3;
    span.status = Some(match node % 3 {
        0 => Status {
            code: StatusCode::Ok as i32,
            message: String::new(),
        },
        1 => Status {
            code: StatusCode::Unset as i32,
            message: String::new(),
        },
        _ => Status {
            code: StatusCode::Ok as i32,
            message: format!("fertig ✓ {node}"),
        },
    });
    if node % 10 == 0 {
        span.attributes.extend(every_kind(node));
        span.events.push(Event {
            time_unix_nano: span.start_time_unix_nano + 1,
            name: "sentinel.ereignis-ü".into(),
            attributes: every_kind(node + 1),
            dropped_attributes_count: node % 2,
        });
    }
    if let Some((trace_id, span_id)) = previous.filter(|_| node % 7 == 1 || node == 0) {
        span.links.push(Link {
            trace_id: trace_id.to_vec(),
            span_id: span_id.to_vec(),
            trace_state: "sentinel=previous".into(),
            attributes: vec![kv(
                "sentinel.link",
                Some(Value::StringValue("previous".into())),
            )],
            dropped_attributes_count: 1,
            flags: 0x101,
        });
    }
}
