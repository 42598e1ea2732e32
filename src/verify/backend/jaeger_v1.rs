//! Jaeger's v1 JSON (`{"data": [{traceID, spans, processes}]}`) mapped into the verifier's
//! `ApiTrace`. The v1 model keeps times in microseconds, carries the OTLP span kind, status,
//! trace state and scope as tags, events as logs with an `event` field, the parent and links as
//! references, the resource as the process; what it cannot carry is in `content::JAEGER_V1`.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::verify::api::{ApiSpan, ApiTrace};

/// Tags the OTLP to Jaeger translation writes for OTLP fields of their own; they are read back
/// into those fields, not into the span's attributes.
const FIELD_TAGS: [&str; 9] = [
    "span.kind",
    "otel.status_code",
    "otel.status_description",
    "error",
    "w3c.tracestate",
    "otel.scope.name",
    "otel.scope.version",
    "otel.library.name",
    "otel.library.version",
];

/// Every trace of a v1 answer (one trace or a search).
pub fn traces(body: &[u8]) -> Result<Vec<ApiTrace>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let data = doc
        .get("data")
        .and_then(Value::as_array)
        .ok_or("no `data` array")?;
    data.iter().map(trace).collect()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A v1 ID (leading zeros may be trimmed) as `width` lowercase hex digits.
fn padded(id: &str, width: usize) -> String {
    format!("{:0>width$}", id.to_ascii_lowercase())
}

fn micros(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0) * 1000
}

/// A typed tag's value as the reference API writes it (binary as hex).
fn tag_value(tag: &Value) -> Value {
    let value = tag.get("value").cloned().unwrap_or(Value::Null);
    match text(tag, "type") {
        "binary" => value
            .as_str()
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .map_or(value, |b| Value::String(crate::verify::traces::hex(&b))),
        _ => value,
    }
}

fn tags(list: &[Value]) -> Map<String, Value> {
    list.iter()
        .map(|t| (text(t, "key").to_owned(), tag_value(t)))
        .collect()
}

fn trace(t: &Value) -> Result<ApiTrace, String> {
    let processes = t.get("processes").cloned().unwrap_or(Value::Null);
    let spans = list(t, "spans")
        .iter()
        .map(|s| span(s, &processes))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ApiTrace {
        trace_id: padded(text(t, "traceID"), 32),
        assembled_at_unix_nano: 0,
        span_count: None,
        spans,
    })
}

fn kind(name: Option<&Value>) -> i32 {
    match name.and_then(Value::as_str) {
        Some("internal") => 1,
        Some("server") => 2,
        Some("client") => 3,
        Some("producer") => 4,
        Some("consumer") => 5,
        _ => 0,
    }
}

fn status_code(name: Option<&Value>) -> i32 {
    match name.and_then(Value::as_str) {
        Some("OK") => 1,
        Some("ERROR") => 2,
        _ => 0,
    }
}

fn span(s: &Value, processes: &Value) -> Result<ApiSpan, String> {
    let trace_id = text(s, "traceID");
    let mut all = tags(list(s, "tags"));
    let field = |k: &str| all.get(k).cloned();
    let string = |k: &str| {
        field(k)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let (kind, status_code) = (
        kind(field("span.kind").as_ref()),
        status_code(field("otel.status_code").as_ref()),
    );
    let (status_message, trace_state) =
        (string("otel.status_description"), string("w3c.tracestate"));
    let scope = json!({
        "name": field("otel.scope.name").or(field("otel.library.name")).unwrap_or(json!("")),
        "version": field("otel.scope.version").or(field("otel.library.version")).unwrap_or(json!("")),
    });
    all.retain(|k, _| !FIELD_TAGS.contains(&k.as_str()));
    let process = &processes[text(s, "processID")];
    let service = text(process, "serviceName").to_owned();
    let mut resource_attributes = tags(list(process, "tags"));
    resource_attributes.insert("service.name".into(), Value::String(service.clone()));
    let (mut parent, mut links) = (String::new(), Vec::new());
    for r in list(s, "references") {
        let is_parent = text(r, "refType") == "CHILD_OF" && text(r, "traceID") == trace_id;
        if is_parent && parent.is_empty() {
            parent = padded(text(r, "spanID"), 16);
        } else {
            links.push(json!({
                "trace_id": padded(text(r, "traceID"), 32),
                "span_id": padded(text(r, "spanID"), 16),
            }));
        }
    }
    let start = micros(s, "startTime");
    Ok(ApiSpan {
        span_id: padded(text(s, "spanID"), 16),
        parent_span_id: parent,
        name: text(s, "operationName").to_owned(),
        service,
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: start + micros(s, "duration"),
        attributes: all,
        status_code,
        status_message,
        trace_state,
        flags: 0,
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        dropped_links_count: 0,
        events: list(s, "logs").iter().map(event).collect(),
        links,
        resource: json!({ "attributes": resource_attributes }),
        scope,
    })
}

/// A log as an event: its `event` field is the name, the other fields its attributes.
fn event(log: &Value) -> Value {
    let mut fields = tags(list(log, "fields"));
    let name = fields.remove("event").unwrap_or(json!(""));
    json!({
        "time_unix_nano": micros(log, "timestamp"),
        "name": name,
        "attributes": fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v1_trace_maps_tags_references_logs_and_process() {
        let body = json!({"data": [{
            "traceID": "1f",
            "spans": [{
                "traceID": "1f", "spanID": "a2", "operationName": "baseline/chain-link",
                "references": [
                    {"refType": "CHILD_OF", "traceID": "1f", "spanID": "a1"},
                    {"refType": "FOLLOWS_FROM", "traceID": "2e", "spanID": "b1"}
                ],
                "startTime": 1_700_000_000_000_001u64, "duration": 250,
                "tags": [
                    {"key": "span.kind", "type": "string", "value": "client"},
                    {"key": "otel.status_code", "type": "string", "value": "OK"},
                    {"key": "otel.scope.name", "type": "string", "value": "span-sentinel"},
                    {"key": "k.int", "type": "int64", "value": -3},
                    {"key": "k.bytes", "type": "binary", "value": "AP8C"}
                ],
                "logs": [{"timestamp": 1_700_000_000_000_002u64, "fields": [
                    {"key": "event", "type": "string", "value": "e"},
                    {"key": "k.bool", "type": "bool", "value": true}
                ]}],
                "processID": "p1"
            }],
            "processes": {"p1": {"serviceName": "sentinel-api", "tags": [
                {"key": "tenant.id", "type": "string", "value": "sentinel"}
            ]}}
        }]});
        let t = &traces(body.to_string().as_bytes()).unwrap()[0];
        assert_eq!(t.trace_id, format!("{:0>32}", "1f"));
        let s = &t.spans[0];
        assert_eq!((s.kind, s.status_code), (3, 1));
        assert_eq!(s.parent_span_id, "00000000000000a1");
        assert_eq!(
            s.links,
            vec![json!({"trace_id": format!("{:0>32}", "2e"), "span_id": "00000000000000b1"})]
        );
        assert_eq!(s.end_time_unix_nano - s.start_time_unix_nano, 250_000);
        assert_eq!(
            s.attributes,
            *json!({"k.int": -3, "k.bytes": "00ff02"})
                .as_object()
                .unwrap()
        );
        assert_eq!(s.events[0]["name"], "e");
        assert_eq!(s.resource["attributes"]["tenant.id"], "sentinel");
        assert_eq!(s.resource["attributes"]["service.name"], "sentinel-api");
        assert_eq!(s.scope["name"], "span-sentinel");
    }
}
