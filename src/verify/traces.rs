//! Comparing an assembled trace from the target with the trace the sentinel regenerates, field
//! by field, except what the backend's content table (`backend::content`) declares it drops or
//! transforms.

use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Value, json};
use std::collections::HashMap;

use super::api::{ApiSpan, ApiTrace};
use super::backend::Content;
use crate::sentinel::origin::Origin;

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

pub(crate) fn attributes_json(kvs: &[KeyValue]) -> serde_json::Map<String, Value> {
    kvs.iter()
        .map(|kv| {
            let value = kv.value.as_ref().and_then(|v| v.value.clone());
            (kv.key.clone(), attribute_json(&value))
        })
        .collect()
}

/// The events of `span` as the query API returns them.
pub(crate) fn events_json(span: &Span) -> Vec<Value> {
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
pub(crate) fn links_json(span: &Span) -> Vec<Value> {
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

/// The first of `want` and `have` that differ, named `field[i]`, comparing field by field
/// what `content` says the backend carries.
fn list_difference(
    field: &str,
    want: Vec<Value>,
    have: &[Value],
    content: &Content,
) -> Option<String> {
    if want.len() != have.len() {
        return Some(format!("{} {field} instead of {}", have.len(), want.len()));
    }
    let (mut want, mut have) = content.order(want, have.to_vec());
    for (w, h) in want.iter_mut().zip(have.iter_mut()) {
        content.strip(field, w, h);
    }
    let (i, (w, h)) = want
        .iter()
        .zip(&have)
        .enumerate()
        .find(|(_, (w, h))| w != h)?;
    object_difference(&format!("{field}[{i}]"), w, h)
}

/// How `have` differs from `want`, naming the first field that does, however deep
/// (`field.key.inner`).
fn object_difference(field: &str, want: &Value, have: &Value) -> Option<String> {
    if want == have {
        return None;
    }
    let differing = want
        .as_object()
        .and_then(|w| w.iter().find(|(k, v)| have.get(k.as_str()) != Some(*v)));
    match differing {
        Some((key, w)) if w.is_object() && have.get(key).is_some_and(Value::is_object) => {
            object_difference(&format!("{field}.{key}"), w, &have[key])
        }
        Some((key, w)) => Some(format!(
            "{field}.{key} is {}, sent {w}",
            have.get(key).unwrap_or(&Value::Null)
        )),
        None => Some(format!("{field} is {have}, sent {want}")),
    }
}

/// A resource as the query API returns it.
fn resource_json(r: &Resource) -> Value {
    json!({
        "attributes": attributes_json(&r.attributes),
        "dropped_attributes_count": r.dropped_attributes_count,
    })
}

/// An instrumentation scope as the query API returns it.
fn scope_json(s: &InstrumentationScope) -> Value {
    json!({
        "name": s.name,
        "version": s.version,
        "attributes": attributes_json(&s.attributes),
        "dropped_attributes_count": s.dropped_attributes_count,
    })
}

/// `want` against `have` (a resource or scope) with what `content` does not carry removed.
fn part_difference(
    field: &str,
    mut want: Value,
    have: &Value,
    content: &Content,
) -> Option<String> {
    let mut have = have.clone();
    content.strip(field, &mut want, &mut have);
    object_difference(field, &want, &have)
}

/// The first difference between what was sent (`expected`, with the service of each span,
/// under the resources and scope of `origin`) and what the target assembled, or `None` when
/// they are equal in everything `content` says the backend carries.
pub fn first_difference(
    expected: &[(Span, &str)],
    origin: &Origin,
    got: &ApiTrace,
    content: &Content,
) -> Option<String> {
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
        let diff = span_difference(span, service, found, content)
            .or_else(|| {
                let want = resource_json(&origin.resource(service));
                part_difference("resource", want, &found.resource, content)
            })
            .or_else(|| {
                part_difference("scope", scope_json(&origin.scope()), &found.scope, content)
            });
        if let Some(diff) = diff {
            return Some(format!("span {id}: {diff}"));
        }
    }
    None
}

fn span_difference(span: &Span, service: &str, got: &ApiSpan, content: &Content) -> Option<String> {
    let (start, end) = content.times(span.start_time_unix_nano, span.end_time_unix_nano);
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
            start.to_string(),
            got.start_time_unix_nano.to_string(),
        ),
        (
            "end_time_unix_nano",
            end.to_string(),
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
        if want != have && content.carries(field) {
            return Some(format!("{field} is {have:?}, sent {want:?}"));
        }
    }
    let mut want = attributes_json(&span.attributes);
    let mut have = got.attributes.clone();
    content.strip_attributes(&mut want, &mut have);
    if want != have {
        return Some(format!("attributes are {have:?}, sent {want:?}"));
    }
    let events = events_json(span)
        .into_iter()
        .map(|mut e| {
            let at = e["time_unix_nano"].as_u64().unwrap_or(0);
            e["time_unix_nano"] = Value::from(content.time(at));
            e
        })
        .collect();
    list_difference("events", events, &got.events, content)
        .or_else(|| list_difference("links", links_json(span), &got.links, content))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentinel::origin::RUN_ATTRIBUTE;
    use crate::sentinel::probe::ProbeSpec;

    /// A sentinel trace and the target's answer built from what was sent, as the embedded
    /// pipeline's query API returns it.
    fn sent_and_returned(origin: &Origin) -> (Vec<(Span, &'static str)>, ApiTrace) {
        let ambient =
            crate::sentinel::ambient::Ambient::new(3, ProbeSpec::default().durations_ns(), 1);
        let spans = ambient.spans(1, "baseline", 5_000_000_000_000);
        let api_spans: Vec<Value> = spans
            .iter()
            .map(|(s, service)| {
                json!({
                    "span_id": hex(&s.span_id),
                    "parent_span_id": if s.parent_span_id.is_empty() { String::new() } else { hex(&s.parent_span_id) },
                    "name": s.name, "service": service, "kind": s.kind,
                    "start_time_unix_nano": s.start_time_unix_nano,
                    "end_time_unix_nano": s.end_time_unix_nano,
                    "attributes": attributes_json(&s.attributes),
                    "status_code": s.status.as_ref().map_or(0, |st| st.code),
                    "status_message": s.status.as_ref().map_or(String::new(), |st| st.message.clone()),
                    "trace_state": s.trace_state, "flags": s.flags,
                    "dropped_attributes_count": s.dropped_attributes_count,
                    "dropped_events_count": s.dropped_events_count,
                    "dropped_links_count": s.dropped_links_count,
                    "events": events_json(s), "links": links_json(s),
                    "resource": resource_json(&origin.resource(service)),
                    "scope": scope_json(&origin.scope()),
                })
            })
            .collect();
        let trace = json!({
            "trace_id": hex(&spans[0].0.trace_id),
            "assembled_at_unix_nano": 1,
            "spans": api_spans,
        });
        (spans, serde_json::from_value(trace).unwrap())
    }

    #[test]
    fn a_trace_returned_as_sent_has_no_difference() {
        let origin = Origin::new("sentinel", 3);
        let (spans, got) = sent_and_returned(&origin);
        assert_eq!(
            first_difference(
                &spans,
                &origin,
                &got,
                &crate::verify::backend::content::REFERENCE
            ),
            None
        );
    }

    #[test]
    fn a_changed_resource_attribute_or_scope_version_is_named() {
        let origin = Origin::new("sentinel", 3);
        let (spans, mut got) = sent_and_returned(&origin);
        got.spans[0].resource["attributes"][RUN_ATTRIBUTE] = json!("another run");
        let diff = first_difference(
            &spans,
            &origin,
            &got,
            &crate::verify::backend::content::REFERENCE,
        )
        .unwrap();
        assert!(
            diff.contains(&format!(
                "resource.attributes.{RUN_ATTRIBUTE} is \"another run\", sent \"0000000000000003\""
            )),
            "{diff}"
        );

        let (spans, mut got) = sent_and_returned(&origin);
        got.spans[0].scope["version"] = json!("0.0.0");
        let diff = first_difference(
            &spans,
            &origin,
            &got,
            &crate::verify::backend::content::REFERENCE,
        )
        .unwrap();
        assert!(diff.contains("scope.version is \"0.0.0\""), "{diff}");
    }
}
