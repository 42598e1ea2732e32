//! The independent decoder: what the generator sends over OTLP/gRPC, OTLP/HTTP protobuf and
//! OTLP/HTTP JSON is captured on loopback and decoded by the official Python
//! `opentelemetry-proto` package (`tests/peers/decode_otlp.py`); every span must equal the one
//! `encode::plain::build_request` meant for the same seed and sequence numbers.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use serde_json::{Value, json};
use span_sentinel::config::load::load_plan;
use span_sentinel::config::load::{LoadOverrides as LoadArgs, RateArg};
use span_sentinel::encode::{Encoding, SeqRange, plain};
use span_sentinel::engine::run_load;
use span_sentinel::model::{StreamModel, ids};

use super::capture::Capture;
use crate::support::hex;
use crate::support::peers::peer_path;

/// Decodes the captured bodies with Python; one list of canonical spans per body.
pub fn python_decode(bodies: &[super::capture::Captured]) -> Vec<Vec<Value>> {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = bodies
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let path = dir.path().join(format!("{i:06}.{}", c.kind));
            std::fs::write(&path, &c.body).unwrap();
            path.to_string_lossy().into_owned()
        })
        .collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/decode_otlp.py");
    let out = Command::new("python3")
        .arg(script)
        .args(&files)
        .env("PYTHONPATH", peer_path("SPAN_SENTINEL_PY_PATH"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the Python decoder failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8(out.stdout).unwrap();
    let decoded: Vec<Vec<Value>> = lines
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            v["spans"].as_array().unwrap().clone()
        })
        .collect();
    assert_eq!(decoded.len(), bodies.len(), "one line per body");
    decoded
}

fn any_value(value: &Option<AnyValue>) -> Value {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        None => json!([null, null]),
        Some(Any::StringValue(s)) => json!(["string_value", s]),
        Some(Any::IntValue(i)) => json!(["int_value", i.to_string()]),
        Some(Any::BoolValue(b)) => json!(["bool_value", b]),
        Some(Any::DoubleValue(d)) => json!(["double_value", d]),
        Some(Any::BytesValue(b)) => json!(["bytes_value", hex(b)]),
        Some(other) => panic!("the generator sends no {other:?}"),
    }
}

fn attributes(kvs: &[KeyValue]) -> Value {
    let list = kvs.iter().map(|kv| {
        let mut entry = vec![json!(kv.key)];
        entry.extend(any_value(&kv.value).as_array().unwrap().iter().cloned());
        Value::Array(entry)
    });
    Value::Array(list.collect())
}

/// The spans `build_request` meant, in the canonical form the Python decoder prints.
pub fn canonical(
    request: &opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
) -> Vec<Value> {
    let mut spans = Vec::new();
    for rs in &request.resource_spans {
        let resource = rs.resource.as_ref().unwrap();
        let service = resource
            .attributes
            .iter()
            .find(|kv| kv.key == "service.name")
            .map(|kv| any_value(&kv.value)[1].clone());
        for ss in &rs.scope_spans {
            let scope = ss.scope.as_ref().unwrap();
            for s in &ss.spans {
                let status = s.status.as_ref().unwrap();
                spans.push(json!({
                    "service": service,
                    "scope": [scope.name, scope.version],
                    "traceId": hex(&s.trace_id),
                    "spanId": hex(&s.span_id),
                    "parentSpanId": hex(&s.parent_span_id),
                    "traceState": s.trace_state,
                    "flags": s.flags,
                    "name": s.name,
                    "kind": s.kind,
                    "start": s.start_time_unix_nano.to_string(),
                    "end": s.end_time_unix_nano.to_string(),
                    "attributes": attributes(&s.attributes),
                    "droppedAttributesCount": s.dropped_attributes_count,
                    "events": s.events.len(),
                    "links": s.links.len(),
                    "status": [status.code, status.message],
                }));
            }
        }
    }
    spans
}

/// Sends a second of load to a capture server at `url` and checks every captured span against
/// the intended one; returns the number of spans compared.
fn sent_equals_intended(
    scheme_url: impl Fn(std::net::SocketAddr) -> String,
    encoding: Encoding,
) -> u64 {
    let capture = Capture::start();
    let threads = 2u16;
    let args = LoadArgs {
        target: Some(scheme_url(capture.addr)),
        rate: Some(RateArg::PerSec(20_000.0)),
        duration: Some(Duration::from_secs(1)),
        threads: Some(threads),
        batch: Some(60),
        seed: Some(424_242),
        encoding: Some(encoding),
        ..LoadArgs::default()
    };
    let plan = load_plan(&args).unwrap();
    let outcome = run_load(&plan, Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    let sent = outcome.total.streams[0].sent;
    assert_eq!(outcome.total.streams[0].acked, sent);
    let bodies = capture.bodies();
    assert!(bodies.iter().all(|b| b.kind == encoding_kind(encoding)));
    let decoded = python_decode(&bodies);

    let model: &StreamModel = &plan.streams[0];
    let traces = (plan.batch_spans / model.spans_per_trace()).max(1);
    let root = model.nodes.iter().position(|n| n.parent.is_none()).unwrap() as u16;
    let mut seq_of = HashMap::new();
    let total_traces = sent / model.spans_per_trace() as u64 + 64;
    for seq in 0..total_traces {
        seq_of.insert(hex(&ids::trace_id(model.trace_key(seq))), seq);
    }
    let mut compared = 0u64;
    for spans in &decoded {
        // The batch's first trace names its sequence numbers; its root span's start names the
        // batch's start time. Everything else must follow from those two.
        let first_trace = spans[0]["traceId"].as_str().unwrap();
        let first = seq_of[first_trace];
        let root_start: u64 = spans
            .iter()
            .find(|s| s["traceId"] == first_trace && s["parentSpanId"] == "")
            .and_then(|s| s["start"].as_str()?.parse().ok())
            .unwrap();
        let start_ns = root_start - model.start_offset_ns(root);
        // A batch carries consecutive sequence numbers, whichever thread sent it.
        let seqs = SeqRange { first, stride: 1 };
        let meant = canonical(&plain::build_request(model, seqs, traces, start_ns));
        assert_eq!(spans, &meant, "batch of trace {first}");
        compared += spans.len() as u64;
    }
    assert_eq!(compared, sent, "every span sent was captured and compared");
    compared
}

fn encoding_kind(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Protobuf => "pb",
        Encoding::Json => "json",
    }
}

#[test]
fn python_decodes_grpc_spans_as_intended() {
    let n = sent_equals_intended(|a| format!("grpc://{a}"), Encoding::Protobuf);
    eprintln!("independent decoder: gRPC protobuf {n}/{n} spans equal");
}

#[test]
fn python_decodes_http_protobuf_spans_as_intended() {
    let n = sent_equals_intended(|a| format!("http://{a}/v1/traces"), Encoding::Protobuf);
    eprintln!("independent decoder: HTTP protobuf {n}/{n} spans equal");
}

#[test]
fn python_decodes_http_json_spans_as_intended() {
    let n = sent_equals_intended(|a| format!("http://{a}/v1/traces"), Encoding::Json);
    eprintln!("independent decoder: HTTP JSON {n}/{n} spans equal");
}
