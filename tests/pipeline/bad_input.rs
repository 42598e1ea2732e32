//! Bad input, one test each; after each the server still serves other clients, and nothing
//! makes it panic.

use bytes::Bytes;
use span_sentinel::pipeline::Pipeline;

use crate::support::pipeline::*;

const INVALID_ARGUMENT: i32 = 3;
const RESOURCE_EXHAUSTED: i32 = 8;

/// A valid export over both protocols still succeeds.
async fn still_serving(pipeline: &Pipeline) {
    let mut client = grpc_client(pipeline).await;
    assert_eq!(
        export(&mut client, "ok", roots("svc", "op", 1, 3, 10, false))
            .await
            .unwrap(),
        0
    );
    let raw = http_post(
        pipeline,
        Some("ok"),
        encode(&roots("svc", "op", 1, 3, 10, false)),
        &[],
    )
    .await;
    assert_eq!(raw.status, 200);
}

fn small_limits() -> span_sentinel::pipeline::PipelineConfig {
    let mut config = test_config();
    config.max_body_bytes = 128 << 10;
    config.max_message_bytes = 256 << 10;
    config
}

#[tokio::test]
async fn truncated_or_garbage_protobuf_is_invalid_argument_or_400() {
    let pipeline = start(test_config()).await;
    let valid = encode(&roots("svc", "op", 1, 5, 10, false));
    let truncated = valid.slice(..valid.len() - 3);
    for body in [
        truncated,
        Bytes::from_static(&[0xff; 32]),
        Bytes::from_static(b"\x0a\x05ab"),
    ] {
        let raw = grpc_raw(&pipeline, Some("t"), grpc_frame(&body, false), &[]).await;
        assert_eq!(raw.grpc_status(), Some(INVALID_ARGUMENT), "{body:?}");
        assert_eq!(http_post(&pipeline, Some("t"), body, &[]).await.status, 400);
    }
    // A gRPC frame whose length does not match its body.
    let mut frame = grpc_frame(&valid, false).to_vec();
    frame.truncate(frame.len() - 1);
    let raw = grpc_raw(&pipeline, Some("t"), frame.into(), &[]).await;
    assert_eq!(raw.grpc_status(), Some(INVALID_ARGUMENT));
    still_serving(&pipeline).await;
    pipeline.shutdown().await;
}

#[tokio::test]
async fn wrong_content_type_is_415_and_wrong_method_is_405() {
    let pipeline = start(test_config()).await;
    let body = encode(&roots("svc", "op", 1, 1, 10, false));
    let raw = http_post(
        &pipeline,
        Some("t"),
        body.clone(),
        &[("content-type", "text/plain")],
    )
    .await;
    assert_eq!(raw.status, 415);
    let raw = http_post(&pipeline, Some("t"), body, &[("content-encoding", "br")]).await;
    assert_eq!(raw.status, 415);
    let url = format!("{}/v1/traces", pipeline.http_endpoint());
    let raw = send(
        &http_client(),
        builder("GET", &url, Some("t"))
            .body(Default::default())
            .unwrap(),
    )
    .await;
    assert_eq!(raw.status, 405);
    assert_eq!(raw.headers["allow"], "POST");
    let raw = send(
        &http_client(),
        builder("PUT", &url, Some("t"))
            .body(Default::default())
            .unwrap(),
    )
    .await;
    assert_eq!(raw.status, 405);
    still_serving(&pipeline).await;
    pipeline.shutdown().await;
}

#[tokio::test]
async fn oversized_messages_are_refused_before_and_after_decompression() {
    let pipeline = start(small_limits()).await;
    let big = Bytes::from(vec![0u8; 200 << 10]);
    assert_eq!(
        http_post(&pipeline, Some("t"), big.clone(), &[])
            .await
            .status,
        413
    );
    let raw = grpc_raw(&pipeline, Some("t"), grpc_frame(&big, false), &[]).await;
    assert_eq!(raw.grpc_status(), Some(RESOURCE_EXHAUSTED));
    // A gzip bomb: about 64 KiB on the wire, 64 MiB inflated.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 128 << 10, "{}", bomb.len());
    let raw = http_post(
        &pipeline,
        Some("t"),
        bomb.clone(),
        &[("content-encoding", "gzip")],
    )
    .await;
    assert_eq!(raw.status, 413);
    let raw = grpc_raw(
        &pipeline,
        Some("t"),
        grpc_frame(&bomb, true),
        &[("grpc-encoding", "gzip")],
    )
    .await;
    assert_eq!(raw.grpc_status(), Some(RESOURCE_EXHAUSTED));
    // Gzip within limits is accepted on both protocols.
    let ok = encode(&roots("svc", "op", 1, 10, 10, false));
    let raw = http_post(
        &pipeline,
        Some("t"),
        gzip(&ok),
        &[("content-encoding", "gzip")],
    )
    .await;
    assert_eq!(raw.status, 200);
    let raw = grpc_raw(
        &pipeline,
        Some("t"),
        grpc_frame(&gzip(&ok), true),
        &[("grpc-encoding", "gzip")],
    )
    .await;
    assert_eq!(raw.grpc_status(), Some(0));
    still_serving(&pipeline).await;
    pipeline.shutdown().await;
}

#[tokio::test]
async fn spans_with_invalid_ids_are_rejected_through_partial_success() {
    let pipeline = start(test_config()).await;
    let mut client = grpc_client(&pipeline).await;
    let t0 = now_ns();
    let good = span(1, 1, None, "ok", t0, 10, false);
    let mut short_trace = good.clone();
    short_trace.trace_id.truncate(15);
    let mut zero_trace = good.clone();
    zero_trace.trace_id = vec![0; 16];
    let mut long_span = good.clone();
    long_span.span_id.push(1);
    let mut zero_span = good.clone();
    zero_span.span_id = vec![0; 8];
    let mut bad_parent = good.clone();
    bad_parent.parent_span_id = vec![1; 3];
    let spans = vec![
        good,
        short_trace,
        zero_trace,
        long_span,
        zero_span,
        bad_parent,
    ];
    let rejected = export(&mut client, "ids", request("svc", spans.clone()))
        .await
        .unwrap();
    assert_eq!(rejected, 5);
    let raw = http_post(&pipeline, Some("ids"), encode(&request("svc", spans)), &[]).await;
    assert_eq!(raw.status, 200);
    let response: opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse =
        prost::Message::decode(raw.body).unwrap();
    let partial = response.partial_success.unwrap();
    assert_eq!(partial.rejected_spans, 5);
    assert!(
        partial.error_message.contains("trace_id"),
        "{}",
        partial.error_message
    );
    let stats = pipeline.tenant_stats("ids").unwrap();
    assert_eq!(
        (
            stats.received_spans,
            stats.accepted_spans,
            stats.rejected_spans
        ),
        (12, 2, 10)
    );
    still_serving(&pipeline).await;
    pipeline.shutdown().await;
}

#[tokio::test]
async fn invalid_tenant_headers_are_400_or_invalid_argument() {
    let pipeline = start(test_config()).await;
    let body = encode(&roots("svc", "op", 1, 1, 10, false));
    let long = "a".repeat(151);
    for tenant in [
        None,
        Some(""),
        Some("."),
        Some(".."),
        Some(long.as_str()),
        Some("a/b"),
        Some("a b"),
        Some("a:b"),
        Some("ü"),
    ] {
        let raw = http_post(&pipeline, tenant, body.clone(), &[]).await;
        assert_eq!(raw.status, 400, "{tenant:?}");
        let raw = grpc_raw(&pipeline, tenant, grpc_frame(&body, false), &[]).await;
        assert_eq!(raw.grpc_status(), Some(INVALID_ARGUMENT), "{tenant:?}");
    }
    let longest = "b".repeat(150);
    assert_eq!(
        http_post(&pipeline, Some(&longest), body.clone(), &[])
            .await
            .status,
        200
    );
    assert_eq!(
        http_post(&pipeline, Some("A-z_0.9!*'()"), body, &[])
            .await
            .status,
        200
    );
    still_serving(&pipeline).await;
    pipeline.shutdown().await;
}

#[tokio::test]
async fn an_empty_request_is_a_success() {
    let pipeline = start(test_config()).await;
    let mut client = grpc_client(&pipeline).await;
    assert_eq!(
        export(&mut client, "t", Default::default()).await.unwrap(),
        0
    );
    assert_eq!(
        http_post(&pipeline, Some("t"), Bytes::new(), &[])
            .await
            .status,
        200
    );
    let raw = grpc_raw(&pipeline, Some("t"), grpc_frame(&[], false), &[]).await;
    assert_eq!(raw.grpc_status(), Some(0));
    still_serving(&pipeline).await;
    pipeline.shutdown().await;
}

#[tokio::test]
async fn random_and_mutated_bodies_get_an_answer_and_never_break_the_server() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let pipeline = start(test_config()).await;
    let mut rng = StdRng::seed_from_u64(3);
    let valid = encode(&roots("svc", "op", 1, 20, 10, true)).to_vec();
    for _ in 0..200 {
        let mut body = if rng.random_bool(0.3) {
            (0..rng.random_range(0..300))
                .map(|_| rng.random())
                .collect()
        } else {
            valid.clone()
        };
        for _ in 0..rng.random_range(1..5) {
            if body.is_empty() {
                break;
            }
            let i = rng.random_range(0..body.len());
            body[i] = rng.random();
        }
        let body = Bytes::from(body);
        let raw = http_post(&pipeline, Some("fuzz"), body.clone(), &[]).await;
        assert!(matches!(raw.status.as_u16(), 200 | 400), "{}", raw.status);
        let raw = grpc_raw(&pipeline, Some("fuzz"), grpc_frame(&body, false), &[]).await;
        assert!(
            matches!(raw.grpc_status(), Some(0 | INVALID_ARGUMENT)),
            "{:?}",
            raw.grpc_status()
        );
    }
    still_serving(&pipeline).await;
    pipeline.shutdown().await;
}
