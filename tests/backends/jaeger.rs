//! One sentinel trace through the real Collector into Jaeger, read back through the backend
//! layer and compared field by field under each API's content table.

use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue};
use prost::Message;
use span_sentinel::sentinel::ambient::Ambient;
use span_sentinel::sentinel::origin::Origin;
use span_sentinel::sentinel::probe::ProbeSpec;
use span_sentinel::transport::{ClientTls, Exporter, Target, TransportOptions};
use span_sentinel::verify::api::ApiTrace;
use span_sentinel::verify::backend::content::{JAEGER_V1, JAEGER_V3, REFERENCE};
use span_sentinel::verify::backend::{Backend, BackendPlan, TracesPlan};
use span_sentinel::verify::traces::{first_difference, hex};

use super::support::RealPipeline;

const TENANT: &str = "sentinel";
const SEED: u64 = 27;

/// The sentinel's largest trace of the first 40 (every value kind, events, links), sent now.
fn sentinel_trace() -> Vec<(opentelemetry_proto::tonic::trace::v1::Span, &'static str)> {
    let ambient = Ambient::new(SEED, ProbeSpec::default().durations_ns(), 0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    (0..40)
        .map(|seq| ambient.spans(seq, "baseline", now))
        .max_by_key(|s| s.len().min(120))
        .unwrap()
}

fn backend(traces: &str) -> Backend {
    let plan = BackendPlan {
        traces: Some(traces.parse::<TracesPlan>().unwrap()),
        reference: None,
        metrics: None,
        tenant_header: HeaderName::from_static("x-scope-orgid"),
        jaeger_tenant_header: HeaderName::from_static("x-tenant"),
        tenant: HeaderValue::from_static(TENANT),
        tenant_id: TENANT.into(),
        root_services: vec!["sentinel-frontend".into()],
    };
    Backend::new(&plan, &ClientTls::system()).unwrap()
}

async fn send(target: &str, spans: &[(opentelemetry_proto::tonic::trace::v1::Span, &'static str)]) {
    let origin = Origin::new(TENANT, SEED);
    let request = origin.request(spans.iter().cloned());
    let target: Target = target.parse().unwrap();
    let exporter = Exporter::connect(&target, &TransportOptions::default())
        .await
        .unwrap();
    let n = spans.len() as u64;
    let body = bytes::Bytes::from(request.encode_to_vec());
    let delivery = exporter
        .export(HeaderValue::from_static(TENANT), body, n)
        .await;
    assert_eq!(
        delivery.acked, n,
        "the Collector took the trace: {delivery:?}"
    );
}

/// Polls `backend` for the trace until it holds every span (or 20 s pass).
async fn read_back(backend: &Backend, id: &str, spans: usize) -> ApiTrace {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = backend.trace(id).await.unwrap();
        match found {
            Some(t) if t.spans.len() >= spans => return t,
            _ if Instant::now() > deadline => {
                panic!("{} never held {id}: {found:?}", backend.name())
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_sent_through_the_collector_is_read_back_from_jaeger_whole() {
    let pipeline = RealPipeline::start();
    let spans = sentinel_trace();
    send(pipeline.var("SPAN_SENTINEL_TARGET"), &spans).await;
    let id = hex(&spans[0].0.trace_id);
    let origin = Origin::new(TENANT, SEED);
    let v3 = backend(pipeline.var("SPAN_SENTINEL_TRACES"));
    let got = read_back(&v3, &id, spans.len()).await;
    assert_eq!(first_difference(&spans, &origin, &got, &JAEGER_V3), None);
    let found = v3.search(0, u64::MAX / 2, 100).await.unwrap();
    assert!(
        found.iter().any(|t| t.trace_id == id),
        "the tenant's search: {found:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jaegers_v1_api_changes_only_what_its_table_declares() {
    let pipeline = RealPipeline::start();
    let spans = sentinel_trace();
    send(pipeline.var("SPAN_SENTINEL_TARGET"), &spans).await;
    let id = hex(&spans[0].0.trace_id);
    let origin = Origin::new(TENANT, SEED);
    let v1_url = pipeline
        .var("SPAN_SENTINEL_TRACES")
        .replacen("jaeger+", "jaeger-v1+", 1);
    let got = read_back(&backend(&v1_url), &id, spans.len()).await;
    // Jaeger really changes the span in its v1 model: compared as sent, a field differs ...
    let diff = first_difference(&spans, &origin, &got, &REFERENCE);
    assert!(diff.is_some(), "the v1 model carried the span unchanged");
    // ... and every difference is one the v1 table declares.
    assert_eq!(first_difference(&spans, &origin, &got, &JAEGER_V1), None);
}
