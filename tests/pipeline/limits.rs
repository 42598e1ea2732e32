//! Every map keyed by client data is bounded, and what it refused is counted where an operator
//! looks (`/api/v1/stats` `pipeline.limits`, `/metrics` `span_sentinel_pipeline_limit*`); who
//! may make the pipeline send (webhook targets) or answer (the API token).

use std::time::Duration;

use http_body_util::Full;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde_json::json;

use crate::support::pipeline::*;

/// One root span in each of `services` resources, all of operation `op`.
fn services(services: u64, op: &str) -> ExportTraceServiceRequest {
    let parts = (0..services).map(|i| roots(&format!("svc-{i}"), op, 1000 * i + 1, 1, 1000, false));
    ExportTraceServiceRequest {
        resource_spans: parts.flat_map(|p| p.resource_spans).collect(),
    }
}

// Regression: a new service.name was added to the histograms even past the series limit, so
// memory and /metrics cardinality grew with whatever a client sent.
#[tokio::test]
async fn services_past_the_series_limit_are_neither_kept_nor_exported() {
    let mut config = test_config();
    config.workers = 1;
    config.limits.series_per_tenant = 3;
    let pipeline = start(config).await;
    let mut client = grpc_client(&pipeline).await;
    assert_eq!(
        export(&mut client, "many", services(10, "op"))
            .await
            .unwrap(),
        0
    );
    let long = "x".repeat(10_000);
    assert_eq!(
        export(&mut client, "long", services(1, &long))
            .await
            .unwrap(),
        0
    );
    let stats = eventually(Duration::from_secs(5), || async {
        let s = pipeline.tenant_stats("many")?;
        let l = pipeline.tenant_stats("long")?;
        // The histogram store records a batch after the processed count moves: wait for both
        // (one span per service, so every span is a series kept or a span dropped).
        let recorded = s.histogram_series + s.histogram_dropped_spans;
        (s.processed_spans == 10 && l.processed_spans == 1 && recorded == 10).then_some(s)
    })
    .await;
    assert_eq!(stats.histogram_series, 3);
    assert_eq!(stats.histogram_dropped_spans, 7);
    let limits = &pipeline.stats().limits;
    assert_eq!(
        (
            limits.series_per_tenant.limit,
            limits.series_per_tenant.used
        ),
        (3, 3)
    );
    assert_eq!(limits.series_per_tenant.refused, 7);
    let metrics =
        String::from_utf8_lossy(&get(&pipeline, "many", "/metrics").await.body).into_owned();
    let exported = metrics
        .lines()
        .filter(|l| l.starts_with("span_sentinel_pipeline_spans_total{tenant=\"many\""))
        .count();
    assert_eq!(exported, 3 * 3, "3 services × 3 statuses:\n{metrics}");
    assert!(
        metrics.contains("span_sentinel_pipeline_limit_refused_total{map=\"series_per_tenant\"} 7"),
        "{metrics}"
    );
    // A name as long as the request is kept cut, not whole.
    let histograms = get(&pipeline, "long", "/api/v1/histograms").await.json();
    let op = histograms["series"][0]["operation"].as_str().unwrap();
    assert_eq!(op.len(), 256, "{histograms}");
    pipeline.shutdown().await;
}

// Regression (issue 28, point 15): each processing worker kept its own series map with its own
// limit, so one tenant with 15,000 services got 15,000 series exported past the default limit
// of 10,000 while `/api/v1/stats` said 8,000 used and nothing refused.
#[tokio::test]
async fn the_default_series_limit_bounds_a_tenant_over_all_workers_and_counts_the_refused() {
    let mut config = test_config();
    config.workers = 4;
    let limit = config.limits.series_per_tenant;
    assert_eq!(limit, 10_000, "the test is of the default limit");
    let pipeline = start(config).await;
    let mut client = grpc_client(&pipeline).await;
    let total = 15_000u64;
    for chunk in 0..total / 1000 {
        let parts = (chunk * 1000..(chunk + 1) * 1000)
            .map(|i| roots(&format!("svc-{i}"), "op", 1000 * i + 1, 1, 1000, false));
        let req = ExportTraceServiceRequest {
            resource_spans: parts.flat_map(|p| p.resource_spans).collect(),
        };
        assert_eq!(export(&mut client, "wide", req).await.unwrap(), 0);
    }
    let stats = eventually(Duration::from_secs(20), || async {
        let s = pipeline.tenant_stats("wide")?;
        // The histogram store records a batch after the processed count moves: wait for both.
        let recorded = s.histogram_series + s.histogram_dropped_spans;
        (s.processed_spans == total && recorded == total).then_some(s)
    })
    .await;
    let refused = total - limit as u64;
    assert_eq!(
        (stats.histogram_series, stats.histogram_dropped_spans),
        (limit as u64, refused)
    );
    let limits = &pipeline.stats().limits;
    let series = &limits.series_per_tenant;
    assert_eq!(
        (series.limit, series.used, series.refused),
        (10_000, 10_000, refused)
    );
    let metrics =
        String::from_utf8_lossy(&get(&pipeline, "wide", "/metrics").await.body).into_owned();
    let count = |prefix: &str| metrics.lines().filter(|l| l.starts_with(prefix)).count();
    let histograms = count("span_sentinel_pipeline_span_duration_seconds_count{tenant=\"wide\"");
    assert_eq!(
        histograms, limit,
        "histogram series exported for the tenant"
    );
    let by_status = count("span_sentinel_pipeline_spans_total{tenant=\"wide\"");
    assert_eq!(by_status, 3 * limit, "services × 3 statuses");
    let refused_line = format!(
        "span_sentinel_pipeline_limit_refused_total{{map=\"series_per_tenant\"}} {refused}"
    );
    assert!(
        metrics.contains(&refused_line),
        "no `{refused_line}` in /metrics"
    );
    pipeline.shutdown().await;
}

#[tokio::test]
async fn tenants_rules_and_pending_assemblies_report_limit_use_and_refusals() {
    let mut config = test_config();
    config.limits.max_tenants = 2;
    config.limits.rules_per_tenant = 1;
    config.limits.pending_assemblies = 2;
    config.assembly.settle = Duration::from_secs(30);
    let pipeline = start(config).await;
    let mut client = grpc_client(&pipeline).await;
    // Five long roots: two wait for assembly, three are refused a place.
    assert_eq!(
        export(&mut client, "a", roots("s", "op", 1, 5, 1 << 30, false))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        export(&mut client, "b", roots("s", "op", 1, 1, 10, false))
            .await
            .unwrap(),
        0
    );
    assert!(
        export(&mut client, "c", roots("s", "op", 1, 1, 10, false))
            .await
            .is_err()
    );
    let rule = |name: &str| json!({"name": name, "threshold": 0.5, "window_ms": 1000});
    assert_eq!(
        send_json(&pipeline, "a", "POST", "/api/v1/alert-rules", rule("r1"))
            .await
            .status,
        201
    );
    assert_eq!(
        send_json(&pipeline, "a", "POST", "/api/v1/alert-rules", rule("r2"))
            .await
            .status,
        409
    );
    let limits = eventually(Duration::from_secs(5), || async {
        let l = pipeline.stats().limits;
        (l.pending_assemblies.refused == 3).then_some(l)
    })
    .await;
    assert_eq!(
        (
            limits.tenants.limit,
            limits.tenants.used,
            limits.tenants.refused
        ),
        (2, 2, 1)
    );
    assert_eq!(
        (
            limits.rules_per_tenant.limit,
            limits.rules_per_tenant.used,
            limits.rules_per_tenant.refused
        ),
        (1, 1, 1)
    );
    assert_eq!(
        (
            limits.pending_assemblies.limit,
            limits.pending_assemblies.used
        ),
        (2, 2)
    );
    let stats = get(&pipeline, "a", "/api/v1/stats").await.json();
    assert_eq!(
        stats["pipeline"]["limits"]["tenants"]["refused"], 1,
        "{stats}"
    );
    let metrics = String::from_utf8_lossy(&get(&pipeline, "a", "/metrics").await.body).into_owned();
    for map in [
        "tenants",
        "series_per_tenant",
        "rules_per_tenant",
        "webhook_targets",
        "webhook_queue",
        "pending_assemblies",
        "connections",
    ] {
        for name in ["limit", "limit_used", "limit_refused_total"] {
            let line = format!("span_sentinel_pipeline_{name}{{map=\"{map}\"}} ");
            assert!(metrics.contains(&line), "{line} missing:\n{metrics}");
        }
    }
    pipeline.shutdown().await;
}

// Regression: any http:// URL was accepted, so whoever reached the API could make the pipeline
// POST to any host it could reach.
#[tokio::test]
async fn webhooks_go_to_loopback_unless_a_block_is_allowed() {
    let rule =
        |url: &str| json!({"name": "r", "threshold": 0.5, "window_ms": 1000, "webhook_url": url});
    let pipeline = start(test_config()).await;
    for url in [
        "http://10.0.0.1:9/hook",
        "http://169.254.169.254/latest",
        "http://example.com/x",
    ] {
        let raw = send_json(&pipeline, "t", "POST", "/api/v1/alert-rules", rule(url)).await;
        assert_eq!(raw.status, 400, "{url}");
        let message = raw.json()["error"].to_string();
        assert!(message.contains("--webhook-allow"), "{message}");
    }
    let raw = send_json(
        &pipeline,
        "t",
        "POST",
        "/api/v1/alert-rules",
        rule("http://127.0.0.1:9/h"),
    )
    .await;
    assert_eq!(raw.status, 201);
    let limits = pipeline.stats().limits;
    assert_eq!(
        (limits.webhook_targets.used, limits.webhook_targets.refused),
        (1, 3)
    );
    pipeline.shutdown().await;

    let mut config = test_config();
    config.webhook_allow = vec!["10.0.0.0/8".parse().unwrap()];
    let pipeline = start(config).await;
    let raw = send_json(
        &pipeline,
        "t",
        "POST",
        "/api/v1/alert-rules",
        rule("http://10.0.0.1:9/hook"),
    )
    .await;
    assert_eq!(raw.status, 201);
    let raw = send_json(
        &pipeline,
        "t",
        "POST",
        "/api/v1/alert-rules",
        rule("http://11.0.0.1:9/hook"),
    )
    .await;
    assert_eq!(raw.status, 400);
    pipeline.shutdown().await;
}

#[tokio::test]
async fn with_an_api_token_the_query_and_rule_api_require_it_and_ingest_does_not() {
    let mut config = test_config();
    config.api_token = Some("s3cret".into());
    let pipeline = start(config).await;
    let url = format!("{}/api/v1/stats", pipeline.http_endpoint());
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("s3cret"),
        Some("Basic s3cret"),
    ] {
        let mut b = builder("GET", &url, Some("t"));
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        let raw = send(&http_client(), b.body(Full::default()).unwrap()).await;
        assert_eq!(raw.status, 401, "{auth:?}");
        assert!(raw.json()["error"].to_string().contains("--api-token"));
    }
    let b = builder("GET", &url, Some("t")).header("authorization", "Bearer s3cret");
    assert_eq!(
        send(&http_client(), b.body(Full::default()).unwrap())
            .await
            .status,
        200
    );
    let raw = send_json(&pipeline, "t", "POST", "/api/v1/alert-rules", json!({})).await;
    assert_eq!(raw.status, 401);
    // Ingest and /metrics stay open.
    let raw = http_post(
        &pipeline,
        Some("t"),
        encode(&roots("s", "op", 1, 2, 10, false)),
        &[],
    )
    .await;
    assert_eq!(raw.status, 200);
    assert_eq!(get(&pipeline, "t", "/metrics").await.status, 200);
    pipeline.shutdown().await;
}

#[test]
fn a_listener_on_another_address_without_a_token_warns() {
    let mut config = span_sentinel::pipeline::PipelineConfig::default();
    assert!(config.exposure_warnings().is_empty());
    config.http_addr = "0.0.0.0:4318".parse().unwrap();
    let warnings = config.exposure_warnings();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].contains("0.0.0.0:4318") && warnings[0].contains("--api-token"),
        "{warnings:?}"
    );
    config.api_token = Some("t".into());
    assert!(config.exposure_warnings().is_empty());
}
