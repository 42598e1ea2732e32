//! The reference pipeline's OTLP JSON receiver follows the OTLP JSON rules: hex IDs, 64-bit
//! integers as strings or numbers, integer enums, and unknown fields ignored at every level.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;

/// A request as another OTLP JSON producer might write it: numbers where strings are usual,
/// and fields from a newer protocol version at every level.
const FOREIGN_JSON: &str = r#"{
  "resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}],
                 "futureResourceField": 1},
    "scopeSpans": [{
      "scope": {"name": "other-sdk", "version": "9", "futureScopeField": [1, 2]},
      "spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "parentSpanId": "",
        "name": "GET /",
        "kind": 2,
        "startTimeUnixNano": 1544712660000000000,
        "endTimeUnixNano": "1544712661000000000",
        "attributes": [
          {"key": "n", "value": {"intValue": "42"}},
          {"key": "m", "value": {"intValue": 43}},
          {"key": "s", "value": {"stringValue": "x"}, "futureKeyValueField": true}
        ],
        "status": {"code": 2, "message": "boom", "futureStatusField": {}},
        "futureSpanField": "ignored"
      }],
      "futureScopeSpansField": null
    }]
  }],
  "futureRequestField": {"a": 1}
}"#;

#[test]
fn otlp_json_from_other_producers_is_understood() {
    let request: ExportTraceServiceRequest = serde_json::from_str(FOREIGN_JSON).unwrap();
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.trace_id.len(), 16);
    assert_eq!(
        span.span_id,
        [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74]
    );
    assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
    assert_eq!(span.end_time_unix_nano, 1_544_712_661_000_000_000);
    assert_eq!(span.kind, 2);
    assert_eq!(span.status.as_ref().unwrap().code, 2);
    let ints: Vec<_> = span.attributes[..2]
        .iter()
        .map(|kv| kv.value.as_ref().unwrap().value.clone())
        .collect();
    assert_eq!(ints, [Some(Any::IntValue(42)), Some(Any::IntValue(43))]);
}

/// `load --encoding json` into the reference pipeline: every span accepted, and counted by
/// service and status on `/metrics` (the series a Prometheus error-ratio rule reads).
#[test]
fn json_load_is_accepted_and_counted_by_service_and_status() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use span_sentinel::config::load::load_plan;
    use span_sentinel::config::load::{LoadOverrides as LoadArgs, RateArg};
    use span_sentinel::encode::Encoding;
    use span_sentinel::engine::run_load;
    use span_sentinel::pipeline::{Pipeline, PipelineConfig};

    let rt = tokio::runtime::Runtime::new().unwrap();
    let pipeline = rt
        .block_on(Pipeline::start(PipelineConfig::default()))
        .unwrap();
    let args = LoadArgs {
        target: Some(format!("{}/v1/traces", pipeline.http_endpoint())),
        rate: Some(RateArg::PerSec(20_000.0)),
        duration: Some(Duration::from_secs(1)),
        threads: Some(1),
        tenant: Some("json".into()),
        encoding: Some(Encoding::Json),
        ..LoadArgs::default()
    };
    let plan = load_plan(&args).unwrap();
    let outcome = run_load(&plan, Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    let sent = outcome.total.total().sent;
    assert!(sent > 10_000, "{sent}");
    assert_eq!(outcome.total.total().acked, sent);

    let metrics_url = format!("{}/metrics", pipeline.http_endpoint());
    let counted = rt.block_on(async {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let text = get_text(&metrics_url).await;
            let counted: u64 = text
                .lines()
                .filter(|l| l.starts_with("span_sentinel_pipeline_spans_total{tenant=\"json\""))
                .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
                .sum();
            if counted == sent || std::time::Instant::now() > deadline {
                return (counted, text);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    assert_eq!(counted.0, sent, "{}", counted.1);
    assert!(counted.1.contains("status=\"error\""), "{}", counted.1);
    rt.block_on(pipeline.shutdown());
}

/// JSON over OTLP/gRPC does not exist: a usage error naming the flag that asked for it.
#[test]
fn json_with_a_grpc_target_is_a_usage_error() {
    let args = span_sentinel::config::load::LoadOverrides {
        target: Some("grpc://127.0.0.1:4317".into()),
        encoding: Some(span_sentinel::encode::Encoding::Json),
        ..Default::default()
    };
    let err = span_sentinel::config::load::load_plan(&args).unwrap_err();
    assert!(err.to_string().contains("--encoding json"), "{err}");
}

async fn get_text(url: &str) -> String {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let response = client.get(url.parse().unwrap()).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}
