//! Admission refusals: a full queue and an exhausted quota answer gRPC `RESOURCE_EXHAUSTED` with
//! RetryInfo and HTTP 429 with `Retry-After`, and nothing refused is counted as accepted.

use std::time::Duration;

use tonic_types::StatusExt;

use crate::support::pipeline::*;

#[tokio::test]
async fn a_full_queue_refuses_with_retry_info_and_retry_after() {
    let mut config = test_config();
    config.workers = 1;
    config.queue_spans = 10;
    config.faults.span_delay = Duration::from_millis(50);
    let pipeline = start(config).await;
    let mut client = grpc_client(&pipeline).await;
    // The first batch keeps the worker busy, the second fills the queue, the third is refused.
    export(&mut client, "q", roots("s", "o", 1, 10, 1, false))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    export(&mut client, "q", roots("s", "o", 100, 10, 1, false))
        .await
        .unwrap();
    let status = export(&mut client, "q", roots("s", "o", 200, 10, 1, false))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    let retry = status.get_details_retry_info().expect("RetryInfo");
    assert!(retry.retry_delay.is_some_and(|d| d > Duration::ZERO));
    let raw = http_post(
        &pipeline,
        Some("q"),
        encode(&roots("s", "o", 300, 10, 1, false)),
        &[],
    )
    .await;
    assert_eq!(raw.status, 429);
    assert!(
        raw.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let stats = pipeline.tenant_stats("q").unwrap();
    assert_eq!(stats.accepted_spans, 20);
    assert_eq!(stats.queue_full_requests, 2);
    pipeline.shutdown().await;
}

#[tokio::test]
async fn a_tenant_over_its_quota_is_throttled_and_others_are_not() {
    let mut config = test_config();
    config.tenant_quotas.insert("limited".into(), 100.0);
    let pipeline = start(config).await;
    let mut client = grpc_client(&pipeline).await;
    export(&mut client, "limited", roots("s", "o", 1, 100, 1, false))
        .await
        .unwrap();
    let status = export(&mut client, "limited", roots("s", "o", 200, 50, 1, false))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert!(status.get_details_retry_info().is_some());
    let raw = http_post(
        &pipeline,
        Some("limited"),
        encode(&roots("s", "o", 300, 50, 1, false)),
        &[],
    )
    .await;
    assert_eq!(raw.status, 429);
    assert!(raw.headers.contains_key("retry-after"));
    for i in 0..5 {
        export(
            &mut client,
            "free",
            roots("s", "o", 1000 + i * 100, 100, 1, false),
        )
        .await
        .unwrap();
    }
    // Half a second later there is room for 50 spans again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    export(&mut client, "limited", roots("s", "o", 400, 50, 1, false))
        .await
        .unwrap();
    assert_eq!(
        pipeline.tenant_stats("limited").unwrap().accepted_spans,
        150
    );
    assert_eq!(pipeline.tenant_stats("free").unwrap().accepted_spans, 500);
    pipeline.shutdown().await;
}

#[tokio::test]
async fn otlp_json_over_http_is_accepted_like_protobuf() {
    let pipeline = start(test_config()).await;
    let request = roots("json-svc", "op", 1, 7, 1000, false);
    let body = bytes::Bytes::from(serde_json::to_vec(&request).unwrap());
    let raw = http_post(
        &pipeline,
        Some("j"),
        body,
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(raw.status, 200, "{:?}", raw.body);
    assert_eq!(raw.headers["content-type"], "application/json");
    assert_eq!(pipeline.tenant_stats("j").unwrap().accepted_spans, 7);
    pipeline.shutdown().await;
}

#[tokio::test]
async fn the_drop_fault_loses_acknowledged_spans_and_says_so() {
    let mut config = test_config();
    config.faults.drop_fraction = 1.0;
    let pipeline = start(config).await;
    let mut client = grpc_client(&pipeline).await;
    export(&mut client, "f", roots("s", "o", 1, 25, 1, false))
        .await
        .unwrap();
    let shared = pipeline.shared().clone();
    pipeline.shutdown().await;
    let stats = span_sentinel::pipeline::api::stats::tenant_stats(
        &shared,
        &shared.tenants.get("f").unwrap(),
    );
    assert_eq!(
        (
            stats.accepted_spans,
            stats.processed_spans,
            stats.fault_dropped_spans
        ),
        (25, 0, 25)
    );
}
