//! The ingest path: plain prost decoding (the baseline) beside the scanning decoder, and beside
//! the whole in-process path of one request (tenant check, scan, admission, worker processing:
//! histograms, span store, assembly check, alert window), in spans per second; and the same over
//! OTLP/gRPC on loopback, client included, as a stand-in for the end-to-end figure.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use span_sentinel::pipeline::ingest::decode::scan_request;
use span_sentinel::pipeline::ingest::grpc::EXPORT_PATH;
use span_sentinel::pipeline::ingest::{admit, precheck};
use span_sentinel::pipeline::process;
use span_sentinel::pipeline::state::Shared;
use span_sentinel::pipeline::{Pipeline, PipelineConfig};

const SPANS: usize = 1000;

/// What the gRPC rounds saw, for comparison with the pipeline's `accepted_spans`.
static ACKED_SPANS: AtomicU64 = AtomicU64::new(0);
static REFUSED_REQUESTS: AtomicU64 = AtomicU64::new(0);

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
        b.iter(|| scan_request(black_box(&body[..]), b"", &mut spans).unwrap())
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
            process::process(&shared, 0, batch);
        })
    });
    group.finish();
}

/// Exports `requests` pre-encoded batches over OTLP/gRPC on loopback from `streams` concurrent
/// HTTP/2 streams (over 4 connections) and waits until the workers processed them all.
/// With an in-process `pipeline`, the round also waits until every span was processed; against
/// an external one (`INGEST_TARGET`), it measures acknowledged spans.
async fn grpc_round(
    target: &str,
    pipeline: Option<&Pipeline>,
    frame: &Bytes,
    requests: u64,
    streams: u64,
) -> Duration {
    let url = format!("{target}{EXPORT_PATH}");
    let processed = || {
        pipeline
            .and_then(|p| p.tenant_stats("bench"))
            .map_or(0, |s| s.processed_spans)
    };
    let before = processed();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let mut connector = HttpConnector::new();
            connector.set_nodelay(true);
            Client::builder(TokioExecutor::new())
                .http2_only(true)
                .build::<_, Full<Bytes>>(connector)
        })
        .collect();
    let started = Instant::now();
    let tasks: Vec<_> = (0..streams)
        .map(|t| {
            let (client, url, frame) = (
                clients[(t % 4) as usize].clone(),
                url.clone(),
                frame.clone(),
            );
            tokio::spawn(async move {
                for _ in 0..requests.div_ceil(streams) {
                    let req = http::Request::post(&url)
                        .header("content-type", "application/grpc")
                        .header("te", "trailers")
                        .header("x-scope-orgid", "bench")
                        .body(Full::new(frame.clone()))
                        .unwrap();
                    let response = client.request(req).await.unwrap();
                    let collected = response.into_body().collect().await.unwrap();
                    let ok = collected
                        .trailers()
                        .and_then(|t| t.get("grpc-status"))
                        .is_some_and(|s| s == "0");
                    let counter = if ok { &ACKED_SPANS } else { &REFUSED_REQUESTS };
                    counter.fetch_add(if ok { SPANS as u64 } else { 1 }, Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let want = before + requests.div_ceil(streams) * streams * SPANS as u64;
    while pipeline.is_some() && processed() < want {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    started.elapsed()
}

fn ingest_grpc(c: &mut Criterion) {
    let body = batch();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    let frame = Bytes::from(frame);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = PipelineConfig {
        workers: 2,
        ..PipelineConfig::default()
    };
    config.limits.span_store_spans = 1_000_000;
    // INGEST_TARGET=http://127.0.0.1:4317 measures a separately started `span-sentinel serve`.
    let external = std::env::var("INGEST_TARGET").ok();
    let pipeline = match external {
        Some(_) => None,
        None => Some(runtime.block_on(Pipeline::start(config)).unwrap()),
    };
    let target = external.unwrap_or_else(|| {
        pipeline
            .as_ref()
            .map(|p| p.grpc_endpoint())
            .unwrap_or_default()
    });
    let mut group = c.benchmark_group("ingest_grpc_loopback");
    group.throughput(Throughput::Elements(SPANS as u64));
    group.bench_function("export_and_process", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(grpc_round(&target, pipeline.as_ref(), &frame, iters, 16))
        })
    });
    group.finish();
    eprintln!(
        "ingest_grpc: {} spans acknowledged, {} requests refused",
        ACKED_SPANS.load(Relaxed),
        REFUSED_REQUESTS.load(Relaxed)
    );
    if let Some(pipeline) = pipeline {
        runtime.block_on(pipeline.shutdown());
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = ingest, ingest_grpc
}
criterion_main!(benches);
