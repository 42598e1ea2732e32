//! Isolation, measured: a flood from tenant A to saturation rejects or delays tenant B with
//! `shared`; with `fair`, B's acceptance ratio and p99 ingest latency stay within 10% of its
//! no-flood values while A is throttled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use span_sentinel::pipeline::{Isolation, Pipeline, PipelineConfig};

use super::support::*;

/// B's view: acceptance ratio and p99 latency of its requests.
#[derive(Debug, Clone, Copy)]
struct Probe {
    accepted: f64,
    p99: Duration,
    acked_spans: u64,
}

async fn probe_b(pipeline: &Pipeline, requests: usize) -> Probe {
    let mut client = grpc_client(pipeline).await;
    let (mut latencies, mut ok, mut acked_spans) = (Vec::new(), 0, 0);
    for i in 0..requests {
        let started = Instant::now();
        let result = export(
            &mut client,
            "b",
            roots("b", "op", 10_000 + i as u64 * 10, 10, 1000, false),
        )
        .await;
        latencies.push(started.elapsed());
        if result.is_ok() {
            ok += 1;
            acked_spans += 10;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99).div_ceil(100) - 1];
    Probe {
        accepted: f64::from(ok) / requests as f64,
        p99,
        acked_spans,
    }
}

/// Floods as tenant A from `tasks` HTTP/2 connections until stopped, with a pre-encoded request
/// (so the flood costs the test little CPU); returns each task's acked spans.
fn flood_a(
    pipeline: &Pipeline,
    tasks: usize,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<u64>> {
    let url = format!(
        "{}/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        pipeline.grpc_endpoint()
    );
    (0..tasks)
        .map(|t| {
            let (url, stop) = (url.clone(), stop.clone());
            let frame = grpc_frame(
                &encode(&roots("a", "op", t as u64 * 1_000_000, 500, 1000, false)),
                false,
            );
            tokio::spawn(async move {
                let client = h2_client();
                let mut mine = 0;
                while !stop.load(Relaxed) {
                    let req = builder("POST", &url, Some("a"))
                        .header("content-type", "application/grpc")
                        .header("te", "trailers")
                        .body(http_body_util::Full::new(frame.clone()))
                        .unwrap();
                    if send(&client, req).await.grpc_status() == Some(0) {
                        mine += 500;
                    }
                    tokio::time::sleep(Duration::from_millis(4)).await;
                }
                mine
            })
        })
        .collect()
}

fn config(isolation: Isolation) -> PipelineConfig {
    let mut config = test_config();
    config.isolation = isolation;
    config.workers = 1;
    config.queue_spans = 5_000;
    // A slow backend: 10 ms per batch (at most 50,000 spans/s of A's batches), so a flood that
    // costs the test little CPU still saturates it.
    config.faults.batch_delay = Duration::from_millis(10);
    config
}

async fn measure(isolation: Isolation) -> (Probe, Probe, u64, Pipeline) {
    let pipeline = start(config(isolation)).await;
    let alone = probe_b(&pipeline, 300).await;
    let stop = Arc::new(AtomicBool::new(false));
    let flood = flood_a(&pipeline, 2, stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let flooded = probe_b(&pipeline, 300).await;
    stop.store(true, Relaxed);
    let mut a_acked = 0;
    for task in flood {
        a_acked += task.await.unwrap();
    }
    (alone, flooded, a_acked, pipeline)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_queue_lets_a_flood_reject_or_delay_another_tenant() {
    let _slot = exclusive();
    let (alone, flooded, _, pipeline) = measure(Isolation::Shared).await;
    eprintln!("shared: B alone {alone:?}, B under flood {flooded:?}");
    assert!(alone.accepted > 0.99, "{alone:?}");
    let hurt = flooded.accepted < alone.accepted * 0.9 || flooded.p99 > alone.p99.mul_f64(1.1);
    assert!(
        hurt,
        "B unaffected by the flood with a shared queue: {alone:?} {flooded:?}"
    );
    assert!(pipeline.tenant_stats("a").unwrap().queue_full_requests > 0);
    pipeline.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fair_queues_keep_another_tenant_within_10_percent_while_a_is_throttled() {
    let _slot = exclusive();
    let (alone, flooded, a_acked, pipeline) = measure(Isolation::Fair).await;
    eprintln!("fair: B alone {alone:?}, B under flood {flooded:?}");
    assert!(
        flooded.accepted >= alone.accepted * 0.9,
        "{alone:?} {flooded:?}"
    );
    // 10%, with a 1 ms floor for scheduling noise on a shared 2-core machine.
    let bound = alone
        .p99
        .mul_f64(1.1)
        .max(alone.p99 + Duration::from_millis(1));
    assert!(
        flooded.p99 <= bound,
        "B's p99 {:?} vs {:?} alone",
        flooded.p99,
        alone.p99
    );
    let a = pipeline.tenant_stats("a").unwrap();
    assert!(a.queue_full_requests > 0, "A was not throttled: {a:?}");
    // What the pipeline accepted is exactly what the clients saw acknowledged.
    assert_eq!(a.accepted_spans, a_acked);
    let b = pipeline.tenant_stats("b").unwrap();
    assert_eq!(b.accepted_spans, alone.acked_spans + flooded.acked_spans);
    let shared = pipeline.shared().clone();
    pipeline.shutdown().await;
    // After the drain, every acknowledged span was processed.
    for (name, acked) in [("a", a_acked), ("b", b.accepted_spans)] {
        let tenant = shared.tenants.get(name).unwrap();
        assert_eq!(
            span_sentinel::pipeline::api::stats::tenant_stats(&shared, &tenant).processed_spans,
            acked
        );
    }
}
