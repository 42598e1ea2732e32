//! The query API and `/metrics`: the documented JSON shapes (docs/pipeline-api.md), tenant
//! scoping, and the accounting contract (accepted = acknowledged, processed after the drain).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::pipeline::*;

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn every_endpoint_answers_in_its_documented_shape() {
    let pipeline = start(test_config()).await;
    let mut client = grpc_client(&pipeline).await;
    export(
        &mut client,
        "shape",
        roots("svc", "slow", 1, 1, 500_000_000, true),
    )
    .await
    .unwrap();
    let rule = json!({"name": "r", "threshold": 0.1, "window_ms": 1000});
    assert_eq!(
        send_json(&pipeline, "shape", "POST", "/api/v1/alert-rules", rule)
            .await
            .status,
        201
    );

    let stats = get(&pipeline, "shape", "/api/v1/stats").await.json();
    assert_eq!(keys(&stats), set(&["tenant", "pipeline"]));
    assert_eq!(
        keys(&stats["tenant"]),
        set(&[
            "tenant",
            "received_spans",
            "accepted_spans",
            "rejected_spans",
            "processed_spans",
            "queued_spans",
            "queue_full_requests",
            "quota_requests",
            "fault_dropped_spans",
            "last_queue_wait_ns",
            "histogram_series",
            "histogram_dropped_spans",
            "stored_traces",
            "evicted_traces",
            "evicted_alert_transitions",
        ])
    );
    assert_eq!(
        keys(&stats["pipeline"]),
        set(&[
            "queue_depth",
            "queue_capacity",
            "isolation",
            "tenants",
            "refused_tenant_requests",
            "span_store_spans",
            "span_store_bytes",
            "span_store_evicted_spans",
            "span_store_expired_spans",
            "assembled_traces",
            "pending_assemblies",
            "dropped_assemblies",
            "requests",
            "invalid_requests",
            "webhooks_delivered",
            "webhooks_failed",
            "refused_spans",
            "limits",
        ])
    );
    assert_eq!(stats["tenant"]["accepted_spans"], 1);

    let histograms = eventually(Duration::from_secs(5), || async {
        let h = get(&pipeline, "shape", "/api/v1/histograms").await.json();
        (h["series"].as_array().is_some_and(|s| !s.is_empty())).then_some(h)
    })
    .await;
    assert_eq!(
        keys(&histograms),
        set(&["significant_digits", "dropped_spans", "series"])
    );
    assert_eq!(
        keys(&histograms["series"][0]),
        set(&[
            "service",
            "operation",
            "count",
            "p50_ns",
            "p90_ns",
            "p99_ns",
            "p999_ns",
            "min_ns",
            "max_ns"
        ])
    );

    let alerts = eventually(Duration::from_secs(5), || async {
        let a = get(&pipeline, "shape", "/api/v1/alerts").await.json();
        (a["history"].as_array().is_some_and(|h| !h.is_empty())).then_some(a)
    })
    .await;
    assert_eq!(
        keys(&alerts),
        set(&["rules", "history", "evicted_transitions"])
    );
    assert_eq!(
        keys(&alerts["rules"][0]),
        set(&[
            "rule",
            "state",
            "since_unix_nano",
            "error_ratio",
            "window_spans"
        ])
    );
    assert_eq!(
        keys(&alerts["history"][0]),
        set(&[
            "tenant",
            "rule",
            "state",
            "at_unix_nano",
            "error_ratio",
            "window_spans",
            "threshold"
        ])
    );

    let search = eventually(Duration::from_secs(5), || async {
        let s = get(&pipeline, "shape", "/api/v1/traces").await.json();
        (s["traces"].as_array().is_some_and(|t| !t.is_empty())).then_some(s)
    })
    .await;
    assert_eq!(
        keys(&search["traces"][0]),
        set(&[
            "trace_id",
            "root_name",
            "root_service",
            "start_time_unix_nano",
            "duration_ns",
            "span_count"
        ])
    );
    let id = search["traces"][0]["trace_id"].as_str().unwrap().to_owned();
    let trace = get(&pipeline, "shape", &format!("/api/v1/traces/{id}"))
        .await
        .json();
    assert_eq!(
        keys(&trace),
        set(&[
            "trace_id",
            "root_name",
            "root_service",
            "start_time_unix_nano",
            "duration_ns",
            "assembled_at_unix_nano",
            "span_count",
            "spans"
        ])
    );

    // Tenant scoping: another tenant sees none of it, and reading does not register it.
    let tenants = pipeline.stats().tenants;
    assert_eq!(
        get(&pipeline, "other", &format!("/api/v1/traces/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        get(&pipeline, "other", "/api/v1/histograms").await.json()["series"],
        json!([])
    );
    assert_eq!(
        get(&pipeline, "other", "/api/v1/alerts").await.json()["rules"],
        json!([])
    );
    let other = get(&pipeline, "other", "/api/v1/stats").await.json();
    assert_eq!(other["tenant"]["accepted_spans"], 0);
    assert_eq!(pipeline.stats().tenants, tenants);

    let metrics = get(&pipeline, "shape", "/metrics").await;
    let text = String::from_utf8(metrics.body.to_vec()).unwrap();
    assert!(
        text.contains("span_sentinel_pipeline_accepted_spans_total{tenant=\"shape\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("span_sentinel_pipeline_queue_depth_spans "),
        "{text}"
    );

    // Errors are JSON with an "error" key; bad tenants are 400; unknown paths 404.
    let bad = get(&pipeline, "shape", "/api/v1/traces/nothex").await;
    assert_eq!(
        (bad.status.as_u16(), keys(&bad.json())),
        (400, set(&["error"]))
    );
    assert_eq!(get(&pipeline, "a/b", "/api/v1/stats").await.status, 400);
    assert_eq!(get(&pipeline, "shape", "/api/v1/nope").await.status, 404);
    assert_eq!(
        get(&pipeline, "shape", "/api/v1/traces?bogus=1")
            .await
            .status,
        400
    );
    pipeline.shutdown().await;
}

#[tokio::test]
async fn accepted_spans_equal_acknowledged_spans_and_all_are_processed_after_shutdown() {
    let mut config = test_config();
    config.queue_spans = 1_000;
    config.workers = 1;
    config.faults.span_delay = Duration::from_micros(30);
    let pipeline = start(config).await;
    let mut tasks = Vec::new();
    for t in 0..4u64 {
        let mut client = grpc_client(&pipeline).await;
        tasks.push(tokio::spawn(async move {
            let mut acked = 0;
            for i in 0..100u64 {
                let n = 1 + (i * 37 + t) % 300;
                if let Ok(rejected) = export(
                    &mut client,
                    "count",
                    roots("s", "o", t << 32 | i << 16, n, 1, false),
                )
                .await
                {
                    acked += n - rejected as u64;
                }
            }
            acked
        }));
    }
    let mut acked = 0;
    for task in tasks {
        acked += task.await.unwrap();
    }
    let stats = pipeline.tenant_stats("count").unwrap();
    assert_eq!(stats.accepted_spans, acked);
    assert!(
        stats.queue_full_requests > 0,
        "the queue never filled: {stats:?}"
    );
    let shared = pipeline.shared().clone();
    pipeline.shutdown().await;
    let tenant = shared.tenants.get("count").unwrap();
    let after = span_sentinel::pipeline::api::stats::tenant_stats(&shared, &tenant);
    assert_eq!(after.processed_spans, acked);
    assert_eq!(after.queued_spans, 0);
}
