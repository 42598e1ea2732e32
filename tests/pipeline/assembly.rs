//! Trace assembly: a slow trace is assembled exactly once with all its spans (children before
//! the root, in other requests, over both protocols, within the settle window), with the content
//! that was sent; a fast trace is not assembled.

use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Value, json};

use crate::support::hex;
use crate::support::pipeline::*;

fn attributes(span: &Span) -> Value {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    let pairs = span.attributes.iter().map(|kv| {
        let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(V::StringValue(s)) => json!(s),
            Some(V::IntValue(i)) => json!(i),
            other => panic!("unexpected attribute {other:?}"),
        };
        (kv.key.clone(), value)
    });
    Value::Object(pairs.collect())
}

/// The JSON the API must return for a sent span.
fn expected(span: &Span, service: &str) -> Value {
    json!({
        "span_id": hex(&span.span_id),
        "parent_span_id": hex(&span.parent_span_id),
        "name": span.name,
        "service": service,
        "kind": span.kind,
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "attributes": attributes(span),
        "status_code": span.status.as_ref().unwrap().code,
        "status_message": span.status.as_ref().unwrap().message,
        "trace_state": span.trace_state,
        "flags": span.flags,
        "dropped_attributes_count": span.dropped_attributes_count,
        "dropped_events_count": span.dropped_events_count,
        "dropped_links_count": span.dropped_links_count,
        "events": [],
        "links": [],
        "resource": {"attributes": {"service.name": service}, "dropped_attributes_count": 0},
        // The requests carry no scope: an empty one.
        "scope": {"name": "", "version": "", "attributes": {}, "dropped_attributes_count": 0},
    })
}

#[tokio::test]
async fn slow_trace_is_assembled_once_with_every_span_and_fast_trace_is_not() {
    let pipeline = start(test_config()).await; // threshold 100 ms, settle 400 ms
    let mut client = grpc_client(&pipeline).await;
    let t0 = now_ns();
    let ms = 1_000_000;
    let root = span(1, 1, None, "GET /checkout", t0, 250 * ms, false);
    let early_child = span(1, 2, Some(1), "db.query", t0 + ms, 20 * ms, true);
    let late_child = span(1, 3, Some(2), "cache.get", t0 + 2 * ms, 5 * ms, false);
    let fast_root = span(2, 1, None, "GET /fast", t0, 50 * ms, false);
    let fast_child = span(2, 2, Some(1), "db.query", t0, 10 * ms, false);
    let noise: Vec<Span> = (0..50)
        .map(|i| span(100 + i, 1, Some(7), "noise", t0, ms, false))
        .collect();

    // Child before the root, in another request, from another service.
    export(
        &mut client,
        "asm",
        request("db", vec![early_child.clone(), fast_child]),
    )
    .await
    .unwrap();
    export(&mut client, "asm", request("noise", noise))
        .await
        .unwrap();
    export(
        &mut client,
        "asm",
        request("web", vec![root.clone(), fast_root]),
    )
    .await
    .unwrap();
    // Another tenant's span with the same trace ID must not leak in.
    export(
        &mut client,
        "other",
        request("web", vec![span(1, 9, Some(1), "foreign", t0, ms, false)]),
    )
    .await
    .unwrap();
    // A late child over OTLP/HTTP, within the settle window.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let raw = http_post(
        &pipeline,
        Some("asm"),
        encode(&request("cache", vec![late_child.clone()])),
        &[],
    )
    .await;
    assert_eq!(raw.status, 200);
    // The root again (a retry): still assembled once.
    export(&mut client, "asm", request("web", vec![root.clone()]))
        .await
        .unwrap();

    let id = hex(&trace_id(1));
    let trace = eventually(Duration::from_secs(5), || async {
        let raw = get(&pipeline, "asm", &format!("/api/v1/traces/{id}")).await;
        (raw.status == 200).then(|| raw.json())
    })
    .await;
    assert_eq!(trace["trace_id"], id);
    assert_eq!(trace["root_name"], "GET /checkout");
    assert_eq!(trace["root_service"], "web");
    assert_eq!(trace["duration_ns"], 250 * ms);
    assert_eq!(trace["start_time_unix_nano"], t0);
    let want = json!([
        expected(&root, "web"),
        expected(&early_child, "db"),
        expected(&late_child, "cache")
    ]);
    assert_eq!(trace["spans"], want);

    tokio::time::sleep(Duration::from_millis(600)).await;
    let fast = get(
        &pipeline,
        "asm",
        &format!("/api/v1/traces/{}", hex(&trace_id(2))),
    )
    .await;
    assert_eq!(fast.status, 404);
    let search = get(
        &pipeline,
        "asm",
        &format!("/api/v1/traces?start={}&end={}", t0, t0 + 1),
    )
    .await
    .json();
    assert_eq!(search["traces"].as_array().unwrap().len(), 1, "{search}");
    assert_eq!(search["traces"][0]["span_count"], 3);
    let none = get(
        &pipeline,
        "asm",
        &format!("/api/v1/traces?start={}", t0 + 1),
    )
    .await
    .json();
    assert_eq!(none["traces"], json!([]));
    let rfc = get(
        &pipeline,
        "asm",
        "/api/v1/traces?start=2000-01-01T00:00:00Z&end=2100-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(rfc.json()["traces"].as_array().unwrap().len(), 1);
    assert_eq!(pipeline.stats().assembled_traces, 1);
    pipeline.shutdown().await;
}

#[tokio::test]
async fn assembly_threshold_can_be_changed_per_tenant_through_the_api() {
    let pipeline = start(test_config()).await;
    let raw = send_json(
        &pipeline,
        "low",
        "PUT",
        "/api/v1/assembly-threshold",
        json!({"threshold_ns": 1000}),
    )
    .await;
    assert_eq!(raw.status, 200);
    assert_eq!(
        get(&pipeline, "low", "/api/v1/assembly-threshold")
            .await
            .json(),
        json!({"threshold_ns": 1000})
    );
    let mut client = grpc_client(&pipeline).await;
    export(&mut client, "low", roots("svc", "op", 500, 1, 5_000, false))
        .await
        .unwrap();
    export(
        &mut client,
        "high",
        roots("svc", "op", 600, 1, 5_000, false),
    )
    .await
    .unwrap();
    let id = hex(&trace_id(500));
    eventually(Duration::from_secs(5), || async {
        (get(&pipeline, "low", &format!("/api/v1/traces/{id}"))
            .await
            .status
            == 200)
            .then_some(())
    })
    .await;
    let other = get(
        &pipeline,
        "high",
        &format!("/api/v1/traces/{}", hex(&trace_id(600))),
    )
    .await;
    assert_eq!(other.status, 404);
    pipeline.shutdown().await;
}
