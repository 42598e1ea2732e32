//! The ingest path: plain prost decoding (the baseline) beside the scanning decoder, and beside
//! the whole in-process path of one request (tenant check, scan, admission, worker processing:
//! histograms, span store, assembly check, alert window), in spans per second.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use span_sentinel::pipeline::PipelineConfig;
use span_sentinel::pipeline::ingest::decode::scan_request;
use span_sentinel::pipeline::ingest::{admit, precheck};
use span_sentinel::pipeline::process::worker;
use span_sentinel::pipeline::state::Shared;

const SPANS: usize = 1000;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

/// A typical batch: 10 services × 100 spans, 20 operation names, 4 attributes per span.
fn batch() -> Bytes {
    let start = 1_700_000_000_000_000_000u64;
    let resource_spans = (0..10u64)
        .map(|svc| {
            let spans = (0..SPANS as u64 / 10)
                .map(|i| {
                    let n = svc * 1000 + i;
                    let mut trace_id = [0x5a; 16];
                    trace_id[..8].copy_from_slice(&(n / 4).to_le_bytes());
                    Span {
                        trace_id: trace_id.to_vec(),
                        span_id: (n + 1).to_le_bytes().to_vec(),
                        parent_span_id: if i % 4 == 0 {
                            Vec::new()
                        } else {
                            n.to_le_bytes().to_vec()
                        },
                        name: format!("operation-{}", i % 20),
                        kind: 2,
                        start_time_unix_nano: start + n * 1000,
                        end_time_unix_nano: start + n * 1000 + 1_000_000 + n % 5000,
                        attributes: vec![
                            kv("http.method", any_value::Value::StringValue("GET".into())),
                            kv(
                                "http.route",
                                any_value::Value::StringValue("/api/v1/items/{id}".into()),
                            ),
                            kv("http.status_code", any_value::Value::IntValue(200)),
                            kv("sentinel.seq", any_value::Value::IntValue(n as i64)),
                        ],
                        status: Some(Status {
                            code: if i % 50 == 0 { 2 } else { 0 },
                            ..Status::default()
                        }),
                        ..Span::default()
                    }
                })
                .collect();
            ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv(
                        "service.name",
                        any_value::Value::StringValue(format!("service-{svc}")),
                    )],
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
        .encode_to_vec()
        .into()
}

fn ingest(c: &mut Criterion) {
    let body = batch();
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(SPANS as u64));
    group.bench_function("prost_decode", |b| {
        b.iter(|| ExportTraceServiceRequest::decode(black_box(&body[..])).unwrap())
    });
    let mut spans = Vec::with_capacity(SPANS);
    group.bench_function("scan", |b| {
        b.iter(|| scan_request(black_box(&body[..]), &mut spans).unwrap())
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let mut config = PipelineConfig {
        workers: 1,
        ..PipelineConfig::default()
    };
    config.limits.span_store_spans = 1_000_000;
    let shared = Shared::new(config);
    group.bench_function("admit_and_process", |b| {
        b.iter(|| {
            let tenant = precheck(&shared, Some(b"bench")).unwrap();
            admit(&shared, tenant, body.clone()).unwrap();
            let batch = shared.queue.pop().unwrap();
            worker::process(&shared, 0, batch);
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = ingest
}
criterion_main!(benches);
