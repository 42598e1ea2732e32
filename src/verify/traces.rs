//! Comparing an assembled trace from the target with the trace the sentinel regenerates.

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Value, json};
use std::collections::HashMap;

use super::api::{ApiSpan, ApiTrace};

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An attribute value as the reference pipeline's query API documents it: strings, numbers
/// and booleans as themselves, bytes as hex, arrays and key-value lists as arrays and objects,
/// an empty value as `null`.
fn attribute_json(v: &Option<AnyValue>) -> Value {
    match v {
        Some(AnyValue::StringValue(s)) => Value::String(s.clone()),
        Some(AnyValue::IntValue(i)) => Value::from(*i),
        Some(AnyValue::BoolValue(b)) => Value::Bool(*b),
        Some(AnyValue::DoubleValue(d)) => Value::from(*d),
        Some(AnyValue::BytesValue(b)) => Value::String(hex(b)),
        Some(AnyValue::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(|v| attribute_json(&v.value)).collect())
        }
        Some(AnyValue::KvlistValue(l)) => Value::Object(attributes_json(&l.values)),
        // A dictionary-encoded string (profiles signal only) or no value at all.
        _ => Value::Null,
    }
}

fn attributes_json(kvs: &[KeyValue]) -> serde_json::Map<String, Value> {
    kvs.iter()
        .map(|kv| {
            let value = kv.value.as_ref().and_then(|v| v.value.clone());
            (kv.key.clone(), attribute_json(&value))
        })
        .collect()
}

/// The events of `span` as the query API returns them.
fn events_json(span: &Span) -> Vec<Value> {
    span.events
        .iter()
        .map(|e| {
            json!({
                "time_unix_nano": e.time_unix_nano,
                "name": e.name,
                "attributes": attributes_json(&e.attributes),
                "dropped_attributes_count": e.dropped_attributes_count,
            })
        })
        .collect()
}

/// The links of `span` as the query API returns them.
fn links_json(span: &Span) -> Vec<Value> {
    span.links
        .iter()
        .map(|l| {
            json!({
                "trace_id": hex(&l.trace_id),
                "span_id": hex(&l.span_id),
                "trace_state": l.trace_state,
                "attributes": attributes_json(&l.attributes),
                "dropped_attributes_count": l.dropped_attributes_count,
                "flags": l.flags,
            })
        })
        .collect()
}

/// The first of `want` and `have` that differ, named `field[i]`, comparing field by field.
fn list_difference(field: &str, want: &[Value], have: &[Value]) -> Option<String> {
    if want.len() != have.len() {
        return Some(format!("{} {field} instead of {}", have.len(), want.len()));
    }
    let (i, (w, h)) = want
        .iter()
        .zip(have)
        .enumerate()
        .find(|(_, (w, h))| w != h)?;
    let key = w
        .as_object()
        .and_then(|w| w.iter().find(|(k, v)| h.get(k.as_str()) != Some(*v)))
        .map_or("", |(k, _)| k.as_str());
    Some(format!(
        "{field}[{i}].{key} is {}, sent {}",
        h.get(key).unwrap_or(h),
        w[key]
    ))
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
    let checks: [(&str, String, String); 13] = [
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
        (
            "trace_state",
            span.trace_state.clone(),
            got.trace_state.clone(),
        ),
        ("flags", span.flags.to_string(), got.flags.to_string()),
        (
            "dropped_attributes_count",
            span.dropped_attributes_count.to_string(),
            got.dropped_attributes_count.to_string(),
        ),
        (
            "dropped_events_count",
            span.dropped_events_count.to_string(),
            got.dropped_events_count.to_string(),
        ),
        (
            "dropped_links_count",
            span.dropped_links_count.to_string(),
            got.dropped_links_count.to_string(),
        ),
    ];
    for (field, want, have) in checks {
        if want != have {
            return Some(format!("{field} is {have:?}, sent {want:?}"));
        }
    }
    let want = attributes_json(&span.attributes);
    if want != got.attributes {
        return Some(format!(
            "attributes are {:?}, sent {:?}",
            got.attributes, want
        ));
    }
    list_difference("events", &events_json(span), &got.events)
        .or_else(|| list_difference("links", &links_json(span), &got.links))
}
