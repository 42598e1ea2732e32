//! Tenants from a resource attribute (`tenant_attribute`): a header-less request, as a
//! collector that drops headers sends it, is split by each resource's tenant attribute; a
//! resource without one is rejected through partial success naming the attribute; the header,
//! when present, still decides; and without the setting a header-less request is refused.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::support::pipeline::*;

/// `n` roots of `tenant` (named by the `tenant.id` resource attribute, or none).
fn part(tenant: Option<&str>, first_trace: u64, n: u64) -> ExportTraceServiceRequest {
    let mut req = roots("svc", "op", first_trace, n, 1000, false);
    if let Some(t) = tenant {
        let resource = req.resource_spans[0].resource.as_mut().unwrap();
        resource.attributes.push(attr("tenant.id", t));
    }
    req
}

fn merged(parts: Vec<ExportTraceServiceRequest>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: parts.into_iter().flat_map(|p| p.resource_spans).collect(),
    }
}

#[tokio::test]
async fn a_header_less_request_is_split_by_the_tenant_attribute() {
    let mut config = test_config();
    config.tenant_attribute = Some("tenant.id".into());
    let pipeline = start(config).await;
    let body = encode(&merged(vec![
        part(Some("alpha"), 1, 3),
        part(Some("beta"), 100, 5),
        part(Some("alpha"), 200, 2),
        part(None, 300, 4),
    ]));
    let raw = grpc_raw(&pipeline, None, grpc_frame(&body, false), &[]).await;
    assert_eq!(raw.grpc_status(), Some(0), "{:?}", raw.body);
    let raw = http_post(&pipeline, None, body, &[]).await;
    assert_eq!(raw.status, 200, "{:?}", raw.body);
    let reply = http_post(&pipeline, None, encode(&part(None, 400, 4)), &[]).await;
    // All four spans lack the attribute: rejected, with the attribute named.
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let text = String::from_utf8_lossy(&reply.body);
    assert!(text.contains("tenant.id"), "{text}");
    eventually(Duration::from_secs(5), || async {
        let a = pipeline.tenant_stats("alpha")?;
        let b = pipeline.tenant_stats("beta")?;
        (a.accepted_spans == 10 && b.accepted_spans == 10).then_some(())
    })
    .await;
    // The header, when present, still names the tenant of the whole request.
    let mut client = grpc_client(&pipeline).await;
    let rejected = export(&mut client, "gamma", part(Some("alpha"), 500, 6)).await;
    assert_eq!(rejected.unwrap(), 0);
    assert_eq!(pipeline.tenant_stats("gamma").unwrap().accepted_spans, 6);
    assert_eq!(pipeline.tenant_stats("alpha").unwrap().accepted_spans, 10);
    pipeline.shutdown().await;
}

#[tokio::test]
async fn the_parts_of_a_split_request_are_rejected_in_partial_success() {
    let mut config = test_config();
    config.tenant_attribute = Some("tenant.id".into());
    let pipeline = start(config).await;
    let mut client = grpc_client(&pipeline).await;
    let request = tonic::Request::new(merged(vec![
        part(Some("ok"), 1, 3),
        part(None, 100, 2),
        part(Some("bad/tenant"), 200, 4),
    ]));
    let reply = client.export(request).await.unwrap().into_inner();
    let partial = reply.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 6, "{partial:?}");
    assert!(partial.error_message.contains("tenant.id"), "{partial:?}");
    assert_eq!(pipeline.tenant_stats("ok").unwrap().accepted_spans, 3);
    // Refusals were counted only in the reply: the pipeline now keeps them by reason.
    let refused = pipeline.stats().refused_spans;
    assert_eq!(
        (refused.no_tenant, refused.invalid_tenant),
        (2, 4),
        "{refused:?}"
    );
    let metrics = get(&pipeline, "ok", "/metrics").await;
    let text = String::from_utf8(metrics.body.to_vec()).unwrap();
    let line = "span_sentinel_pipeline_refused_spans_total{reason=\"no_tenant\"} 2";
    assert!(text.contains(line), "{text}");
    pipeline.shutdown().await;
}

#[tokio::test]
async fn without_the_setting_a_header_less_request_is_refused() {
    let pipeline = start(test_config()).await;
    let raw = http_post(&pipeline, None, encode(&part(Some("alpha"), 1, 3)), &[]).await;
    assert!(raw.status.is_client_error(), "{}", raw.status);
    assert!(pipeline.tenant_stats("alpha").is_none());
    pipeline.shutdown().await;
}

// Regression: spans were grouped by tenant with a scan of the groups per span, so one request of
// n tenants cost n²/2 comparisons (5·10⁹ for this one, many seconds); grouping is now one hash
// lookup per span (milliseconds). The bound is a complexity guard, a hundred times the linear
// cost, not a speed claim.
#[tokio::test]
async fn a_request_of_a_hundred_thousand_tenants_is_split_in_linear_time() {
    let mut config = test_config();
    config.tenant_attribute = Some("tenant.id".into());
    config.max_body_bytes = 64 << 20;
    config.max_message_bytes = 64 << 20;
    let pipeline = start(config).await;
    // Distinct names the registry refuses at once (a `/` is not allowed), so only the grouping
    // is measured, not the registration of tenants.
    let parts = (0..100_000u64).map(|i| part(Some(&format!("t/{i}")), i + 1, 1));
    let body = encode(&merged(parts.collect()));
    let started = std::time::Instant::now();
    let raw = http_post(&pipeline, None, body, &[]).await;
    let took = started.elapsed();
    assert_eq!(
        raw.status,
        200,
        "{:?}",
        &raw.body[..raw.body.len().min(200)]
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // The answer does not grow with the request: one line per refused tenant, cut at 1 KiB.
    assert!(raw.body.len() < 2048, "{} bytes", raw.body.len());
    pipeline.shutdown().await;
}
