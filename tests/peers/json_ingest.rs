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
