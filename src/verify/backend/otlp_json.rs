//! OTLP JSON (the protobuf JSON mapping with hex IDs, as the OTLP specification writes it and
//! Jaeger's v3 API answers it, wrapped in `{"result": …}`) mapped into the verifier's
//! `ApiTrace`, the shape the content check compares: resource, scope, attributes, events,
//! links and status of every span, values typed as the reference API documents them.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::verify::api::{ApiSpan, ApiTrace};

/// Every trace in `body`: one or more JSON documents, each `{"result": TracesData}` or a bare
/// `TracesData`, spans grouped by trace ID.
pub fn traces(body: &[u8]) -> Result<Vec<ApiTrace>, String> {
    let mut by_id: BTreeMap<String, Vec<ApiSpan>> = BTreeMap::new();
    for doc in serde_json::Deserializer::from_slice(body).into_iter::<Value>() {
        let doc = doc.map_err(|e| e.to_string())?;
        let data = doc.get("result").unwrap_or(&doc);
        for rs in list(data, "resourceSpans") {
            let resource = resource_json(rs.get("resource").unwrap_or(&Value::Null));
            for ss in list(rs, "scopeSpans") {
                let scope = scope_json(ss.get("scope").unwrap_or(&Value::Null));
                for span in list(ss, "spans") {
                    let (trace_id, s) = span_json(span, &resource, &scope)?;
                    by_id.entry(trace_id).or_default().push(s);
                }
            }
        }
    }
    Ok(by_id
        .into_iter()
        .map(|(trace_id, spans)| ApiTrace {
            trace_id,
            assembled_at_unix_nano: 0,
            span_count: None,
            spans,
        })
        .collect())
}

/// The array at `key` of `v` (absent: empty, as protobuf JSON omits empty lists).
fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A 64-bit integer written as a string (protobuf JSON) or a number; absent is 0.
fn int(v: &Value, key: &str) -> Result<u64, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| format!("{key}: {n}")),
        Some(Value::String(s)) => s.parse().map_err(|_| format!("{key}: {s:?}")),
        Some(other) => Err(format!("{key}: {other}")),
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// An ID as lowercase hex: OTLP JSON writes hex; base64 (the plain protobuf mapping) is read
/// too. Empty stays empty.
fn id(v: &Value, key: &str, bytes: usize) -> Result<String, String> {
    let s = text(v, key);
    if s.is_empty() || (s.len() == bytes * 2 && s.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Ok(s.to_ascii_lowercase());
    }
    base64::engine::general_purpose::STANDARD
        .decode(&s)
        .ok()
        .filter(|b| b.len() == bytes)
        .map(|b| crate::verify::traces::hex(&b))
        .ok_or_else(|| format!("{key} {s:?} is neither hex nor base64 of {bytes} bytes"))
}

/// An `AnyValue` as the reference API writes it (bytes as hex, arrays and lists as JSON).
fn any_value(v: &Value) -> Value {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return Value::Null;
    };
    match kind.as_str() {
        "stringValue" | "boolValue" => inner.clone(),
        "intValue" => match inner {
            Value::String(s) => s.parse::<i64>().map_or(Value::Null, Value::from),
            n => n.clone(),
        },
        "doubleValue" => match inner {
            // Protobuf JSON writes non-finite doubles as strings.
            Value::String(s) => s.parse::<f64>().map_or(Value::Null, Value::from),
            n => n.clone(),
        },
        "bytesValue" => inner
            .as_str()
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .map_or(Value::Null, |b| {
                Value::String(crate::verify::traces::hex(&b))
            }),
        "arrayValue" => Value::Array(list(inner, "values").iter().map(any_value).collect()),
        "kvlistValue" => Value::Object(attributes(list(inner, "values"))),
        _ => Value::Null,
    }
}

fn attributes(kvs: &[Value]) -> Map<String, Value> {
    kvs.iter()
        .map(|kv| {
            (
                text(kv, "key"),
                any_value(kv.get("value").unwrap_or(&Value::Null)),
            )
        })
        .collect()
}

fn resource_json(r: &Value) -> Value {
    json!({
        "attributes": attributes(list(r, "attributes")),
        "dropped_attributes_count": int(r, "droppedAttributesCount").unwrap_or(0),
    })
}

fn scope_json(s: &Value) -> Value {
    json!({
        "name": text(s, "name"),
        "version": text(s, "version"),
        "attributes": attributes(list(s, "attributes")),
        "dropped_attributes_count": int(s, "droppedAttributesCount").unwrap_or(0),
    })
}

fn event_json(e: &Value) -> Result<Value, String> {
    Ok(json!({
        "time_unix_nano": int(e, "timeUnixNano")?,
        "name": text(e, "name"),
        "attributes": attributes(list(e, "attributes")),
        "dropped_attributes_count": int(e, "droppedAttributesCount")?,
    }))
}

fn link_json(l: &Value) -> Result<Value, String> {
    Ok(json!({
        "trace_id": id(l, "traceId", 16)?,
        "span_id": id(l, "spanId", 8)?,
        "trace_state": text(l, "traceState"),
        "attributes": attributes(list(l, "attributes")),
        "dropped_attributes_count": int(l, "droppedAttributesCount")?,
        "flags": int(l, "flags")?,
    }))
}

/// One span with its trace ID.
fn span_json(s: &Value, resource: &Value, scope: &Value) -> Result<(String, ApiSpan), String> {
    let status = s.get("status").unwrap_or(&Value::Null);
    let service = resource["attributes"]["service.name"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let span = ApiSpan {
        span_id: id(s, "spanId", 8)?,
        parent_span_id: id(s, "parentSpanId", 8)?,
        name: text(s, "name"),
        service,
        kind: int(s, "kind")? as i32,
        start_time_unix_nano: int(s, "startTimeUnixNano")?,
        end_time_unix_nano: int(s, "endTimeUnixNano")?,
        attributes: attributes(list(s, "attributes")),
        status_code: int(status, "code")? as i32,
        status_message: text(status, "message"),
        trace_state: text(s, "traceState"),
        flags: int(s, "flags")? as u32,
        dropped_attributes_count: int(s, "droppedAttributesCount")? as u32,
        dropped_events_count: int(s, "droppedEventsCount")? as u32,
        dropped_links_count: int(s, "droppedLinksCount")? as u32,
        events: list(s, "events")
            .iter()
            .map(event_json)
            .collect::<Result<_, _>>()?,
        links: list(s, "links")
            .iter()
            .map(link_json)
            .collect::<Result<_, _>>()?,
        resource: resource.clone(),
        scope: scope.clone(),
    };
    Ok((id(s, "traceId", 16)?, span))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentinel::origin::Origin;
    use crate::sentinel::probe::ProbeSpec;
    use crate::verify::backend::content;
    use crate::verify::traces::first_difference;

    /// A sentinel trace as OTLP JSON, written with the OTLP protobuf's own JSON mapping
    /// (prost-serde is not at hand: the mapping is spelled out by the test's encoder).
    fn otlp_json(
        spans: &[(opentelemetry_proto::tonic::trace::v1::Span, &str)],
        origin: &Origin,
    ) -> Value {
        use crate::verify::traces::hex;
        use opentelemetry_proto::tonic::common::v1::KeyValue;
        use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
        fn av(v: &Option<V>) -> Value {
            match v {
                Some(V::StringValue(s)) => json!({"stringValue": s}),
                Some(V::BoolValue(b)) => json!({"boolValue": b}),
                Some(V::IntValue(i)) => json!({"intValue": i.to_string()}),
                Some(V::DoubleValue(d)) => json!({"doubleValue": d}),
                Some(V::BytesValue(b)) => {
                    json!({"bytesValue": base64::engine::general_purpose::STANDARD.encode(b)})
                }
                Some(V::ArrayValue(a)) => json!({"arrayValue": {"values":
                    a.values.iter().map(|x| av(&x.value)).collect::<Vec<_>>()}}),
                Some(V::KvlistValue(l)) => json!({"kvlistValue": {"values": kvs(&l.values)}}),
                _ => json!({}),
            }
        }
        fn kvs(k: &[KeyValue]) -> Vec<Value> {
            k.iter()
                .map(|kv| json!({"key": kv.key, "value": av(&kv.value.as_ref().and_then(|v| v.value.clone()))}))
                .collect()
        }
        let scope = origin.scope();
        let rs: Vec<Value> = spans.iter().map(|(s, service)| {
            let r = origin.resource(service);
            json!({
                "resource": {"attributes": kvs(&r.attributes), "droppedAttributesCount": r.dropped_attributes_count},
                "scopeSpans": [{
                    "scope": {"name": scope.name, "version": scope.version,
                              "attributes": kvs(&scope.attributes),
                              "droppedAttributesCount": scope.dropped_attributes_count},
                    "spans": [{
                        "traceId": hex(&s.trace_id), "spanId": hex(&s.span_id),
                        "parentSpanId": hex(&s.parent_span_id), "name": s.name, "kind": s.kind,
                        "traceState": s.trace_state, "flags": s.flags,
                        "startTimeUnixNano": s.start_time_unix_nano.to_string(),
                        "endTimeUnixNano": s.end_time_unix_nano.to_string(),
                        "attributes": kvs(&s.attributes),
                        "droppedAttributesCount": s.dropped_attributes_count,
                        "droppedEventsCount": s.dropped_events_count,
                        "droppedLinksCount": s.dropped_links_count,
                        "events": s.events.iter().map(|e| json!({
                            "timeUnixNano": e.time_unix_nano.to_string(), "name": e.name,
                            "attributes": kvs(&e.attributes),
                            "droppedAttributesCount": e.dropped_attributes_count})).collect::<Vec<_>>(),
                        "links": s.links.iter().rev().map(|l| json!({
                            "traceId": hex(&l.trace_id), "spanId": hex(&l.span_id),
                            "traceState": l.trace_state, "attributes": kvs(&l.attributes),
                            "droppedAttributesCount": l.dropped_attributes_count,
                            "flags": l.flags})).collect::<Vec<_>>(),
                        "status": s.status.as_ref().map(|st| json!({"code": st.code, "message": st.message})),
                    }]
                }]
            })
        }).collect();
        json!({"result": {"resourceSpans": rs}})
    }

    fn sent() -> Vec<(opentelemetry_proto::tonic::trace::v1::Span, &'static str)> {
        let ambient =
            crate::sentinel::ambient::Ambient::new(3, ProbeSpec::default().durations_ns(), 1);
        // Trace 10 is a fan-out: its node 0 and every tenth node carry every value kind and
        // an event; links come from node 0 and every seventh.
        (0..40)
            .map(|seq| ambient.spans(seq, "baseline", 5_000_000_000_000))
            .max_by_key(Vec::len)
            .unwrap()
    }

    #[test]
    fn a_trace_in_otlp_json_as_sent_has_no_difference() {
        let origin = Origin::new("sentinel", 3);
        let spans = sent();
        let body = otlp_json(&spans, &origin).to_string();
        let got = traces(body.as_bytes()).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].spans.len(), spans.len());
        assert_eq!(
            first_difference(&spans, &origin, &got[0], &content::JAEGER_V3),
            None
        );
    }

    #[test]
    fn a_changed_value_is_named_by_its_field() {
        let origin = Origin::new("sentinel", 3);
        let spans = sent();
        let mut doc = otlp_json(&spans, &origin);
        doc["result"]["resourceSpans"][0]["scopeSpans"][0]["scope"]["attributes"] = json!([]);
        let got = traces(doc.to_string().as_bytes()).unwrap();
        let diff = first_difference(&spans, &origin, &got[0], &content::JAEGER_V3).unwrap();
        assert!(diff.contains("scope.attributes"), "{diff}");
        // The v1 table declares scope attributes as not carried.
        let diff = first_difference(&spans, &origin, &got[0], &content::JAEGER_V1);
        assert!(
            diff.as_ref()
                .is_none_or(|d| !d.contains("scope.attributes")),
            "{diff:?}"
        );
    }
}
