//! Comparing an assembled trace from the target with the trace the sentinel regenerates.

use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::Value;
use std::collections::HashMap;

use super::api::{ApiSpan, ApiTrace};

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute_json(v: &Option<AnyValue>) -> Value {
    match v {
        Some(AnyValue::StringValue(s)) => Value::String(s.clone()),
        Some(AnyValue::IntValue(i)) => Value::from(*i),
        Some(AnyValue::BoolValue(b)) => Value::Bool(*b),
        Some(AnyValue::DoubleValue(d)) => Value::from(*d),
        _ => Value::Null,
    }
}

/// The first difference between what was sent (`expected`, with the service of each span) and
/// what the target assembled, or `None` when they are equal.
pub fn first_difference(expected: &[(Span, &str)], got: &ApiTrace) -> Option<String> {
    if let Some((first, _)) = expected.first() {
        let id = hex(&first.trace_id);
        if got.trace_id != id {
            return Some(format!("trace_id {} instead of {id}", got.trace_id));
        }
    }
    if got.spans.len() != expected.len() {
        return Some(format!(
            "{} spans instead of {}",
            got.spans.len(),
            expected.len()
        ));
    }
    if let Some(n) = got.span_count.filter(|n| *n != expected.len() as u64) {
        return Some(format!(
            "span_count is {n}, sent {} spans (each once)",
            expected.len()
        ));
    }
    let by_id: HashMap<&str, &ApiSpan> =
        got.spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    for (span, service) in expected {
        let id = hex(&span.span_id);
        let Some(found) = by_id.get(id.as_str()) else {
            return Some(format!("span {id} is missing"));
        };
        if let Some(diff) = span_difference(span, service, found) {
            return Some(format!("span {id}: {diff}"));
        }
    }
    None
}

fn span_difference(span: &Span, service: &str, got: &ApiSpan) -> Option<String> {
    let checks: [(&str, String, String); 8] = [
        (
            "parent_span_id",
            hex(&span.parent_span_id),
            got.parent_span_id.clone(),
        ),
        ("name", span.name.clone(), got.name.clone()),
        ("service", service.to_owned(), got.service.clone()),
        ("kind", span.kind.to_string(), got.kind.to_string()),
        (
            "start_time_unix_nano",
            span.start_time_unix_nano.to_string(),
            got.start_time_unix_nano.to_string(),
        ),
        (
            "end_time_unix_nano",
            span.end_time_unix_nano.to_string(),
            got.end_time_unix_nano.to_string(),
        ),
        (
            "status_code",
            span.status.as_ref().map_or(0, |s| s.code).to_string(),
            got.status_code.to_string(),
        ),
        (
            "status_message",
            span.status
                .as_ref()
                .map_or(String::new(), |s| s.message.clone()),
            got.status_message.clone(),
        ),
    ];
    for (field, want, have) in checks {
        if want != have {
            return Some(format!("{field} is {have:?}, sent {want:?}"));
        }
    }
    let want: serde_json::Map<String, Value> = span
        .attributes
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                attribute_json(&kv.value.as_ref().and_then(|v| v.value.clone())),
            )
        })
        .collect();
    if want != got.attributes {
        return Some(format!(
            "attributes are {:?}, sent {:?}",
            got.attributes, want
        ));
    }
    None
}
