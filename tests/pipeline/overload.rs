//! Overload: the pipeline offered twice what it can process (a worker slowed to at most 50,000
//! spans/s, offered 100,000) over gRPC and HTTP at once. Nothing acknowledged is lost (once
//! drained, processed == accepted == what the clients saw acknowledged), every refusal tells
//! the client when to retry (RetryInfo / `Retry-After`), memory stays within what the queue
//! bound implies, and a sentinel tenant under `fair` isolation is neither refused nor delayed.
//! 10 s in the tests; `OVERLOAD_SECONDS=60` (or `scripts/overload.sh`) for the long version.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use span_sentinel::pipeline::{Isolation, Pipeline};

use crate::support::pipeline::*;

/// What the flooding clients saw.
#[derive(Default)]
struct Seen {
    acked: AtomicU64,
    refused: AtomicU64,
    /// Refusals without RetryInfo (gRPC) or `Retry-After` (HTTP), or any other answer.
    bad: AtomicU64,
}

const REQUEST_SPANS: u64 = 500;

fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib << 10
}

/// One request of the flood, over gRPC or HTTP, judged as it comes back.
async fn flood_once(pipeline: &Pipeline, body: Bytes, grpc: bool, seen: &Seen) {
    let raw = if grpc {
        grpc_raw(pipeline, Some("flood"), grpc_frame(&body, false), &[]).await
    } else {
        let url = format!("{}/v1/traces", pipeline.http_endpoint());
        let req = builder("POST", &url, Some("flood"))
            .header("content-type", "application/x-protobuf")
            .body(Full::new(body))
            .unwrap();
        send(&http_client(), req).await
    };
    let (ok, refused_well) = if grpc {
        (
            raw.grpc_status() == Some(0),
            raw.grpc_status() == Some(8) && raw.headers.contains_key("grpc-status-details-bin"),
        )
    } else {
        (
            raw.status == 200,
            raw.status == 429 && raw.headers.contains_key("retry-after"),
        )
    };
    let counter = match (ok, refused_well) {
        (true, _) => &seen.acked,
        (false, true) => &seen.refused,
        _ => &seen.bad,
    };
    counter.fetch_add(if ok { REQUEST_SPANS } else { 1 }, Relaxed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twice_the_processing_rate_loses_nothing_acknowledged_and_spares_the_sentinel() {
    // Runs alone (.config/nextest.toml) in its own process: the RSS it reads is this test's.
    let seconds: u64 = std::env::var("OVERLOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mut config = test_config();
    config.isolation = Isolation::Fair;
    config.workers = 1;
    config.queue_spans = 20_000;
    // The span store keeps what was processed (30 s at up to 50,000 spans/s, more than the
    // test runs): bounded here so that its share of the memory bound is known and small.
    config.limits.span_store_spans = 200_000;
    config.limits.span_store_bytes = 16 << 20;
    // 20 µs per span: the worker processes at most 50,000 spans/s.
    config.faults.span_delay = Duration::from_micros(20);
    let bodies: Vec<Bytes> = (0..64u64)
        .map(|i| encode(&roots("flood", "op", i << 20, REQUEST_SPANS, 1000, false)))
        .collect();
    let span_bytes = bodies[0].len() as u64 / REQUEST_SPANS;
    let pipeline = Arc::new(start(config.clone()).await);
    let baseline = rss();
    let seen = Arc::new(Seen::default());
    let end = Instant::now() + Duration::from_secs(seconds);
    // 200 requests/s of 500 spans: 100,000 spans/s, half over each protocol, each request
    // sent on its schedule whatever the previous one's fate.
    let flood = {
        let (pipeline, seen) = (pipeline.clone(), seen.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            let mut sent = Vec::new();
            let mut i = 0usize;
            while Instant::now() < end {
                tick.tick().await;
                let (pipeline, seen, body) =
                    (pipeline.clone(), seen.clone(), bodies[i % 64].clone());
                sent.push(tokio::spawn(async move {
                    flood_once(&pipeline, body, i % 2 == 0, &seen).await;
                }));
                i += 1;
            }
            for request in sent {
                request.await.unwrap();
            }
        })
    };
    // The sentinel: 20 spans every 50 ms, every one of them must be acknowledged.
    let mut client = grpc_client(&pipeline).await;
    let (mut sentinel_sent, mut worst_wait, mut peak, mut deepest) = (0u64, 0u64, 0u64, 0u64);
    while Instant::now() < end {
        let req = roots("sentinel", "op", 1 << 40 | sentinel_sent, 20, 1000, false);
        assert_eq!(
            export(&mut client, "sentinel", req)
                .await
                .expect("sentinel acknowledged"),
            0
        );
        sentinel_sent += 20;
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some(s) = pipeline.tenant_stats("sentinel") {
            worst_wait = worst_wait.max(s.last_queue_wait_ns);
        }
        peak = peak.max(rss());
        deepest = deepest.max(pipeline.stats().queue_depth);
    }
    flood.await.unwrap();
    let drained = eventually(Duration::from_secs(30), || async {
        let f = pipeline.tenant_stats("flood")?;
        (f.processed_spans == f.accepted_spans && pipeline.stats().queue_depth == 0).then_some(f)
    })
    .await;
    let sentinel = pipeline.tenant_stats("sentinel").unwrap();
    let offered = seconds * 100_000;
    eprintln!(
        "overload {seconds}s: offered {offered} spans, acked {}, refused {} requests, bad {}; \
         processed {} ({:.0}/s); sentinel {} spans, worst queue wait {} ms; queue deepest {}; \
         RSS baseline {} MiB, peak {} MiB",
        seen.acked.load(Relaxed),
        seen.refused.load(Relaxed),
        seen.bad.load(Relaxed),
        drained.processed_spans,
        drained.processed_spans as f64 / seconds as f64,
        sentinel.accepted_spans,
        worst_wait / 1_000_000,
        deepest,
        baseline >> 20,
        peak >> 20,
    );
    assert_eq!(
        seen.bad.load(Relaxed),
        0,
        "answers other than OK or a refusal with a retry delay"
    );
    assert!(
        seen.refused.load(Relaxed) > 0,
        "an overload that refused nothing was no overload"
    );
    assert_eq!(drained.accepted_spans, seen.acked.load(Relaxed));
    assert_eq!(drained.processed_spans, drained.accepted_spans);
    assert_eq!(
        (sentinel.accepted_spans, sentinel.rejected_spans),
        (sentinel_sent, 0)
    );
    assert_eq!(sentinel.processed_spans, sentinel_sent);
    // Fair isolation: the sentinel waits behind at most a batch or two of the flood (10 ms
    // each), not behind its queue (400 ms); 200 ms leaves room for a busy machine.
    assert!(
        worst_wait < 200_000_000,
        "sentinel waited {} ms",
        worst_wait / 1_000_000
    );
    // Memory: each tenant's queue bound (an 80-byte index entry plus the span's bytes per
    // span), the span store (its byte budget plus 56 bytes of record per span), the requests
    // being read, and a fixed 48 MiB for runtime, clients and slack.
    let queue = 2 * config.queue_spans as u64 * (80 + span_bytes);
    let store = config.limits.span_store_bytes as u64 + config.limits.span_store_spans as u64 * 56;
    let inflight = config.max_inflight_requests as u64 * REQUEST_SPANS * span_bytes;
    let bound = baseline + queue + store + inflight + (48 << 20);
    assert!(
        deepest <= 2 * config.queue_spans as u64,
        "queue depth {deepest}"
    );
    assert!(
        peak <= bound,
        "peak RSS {} MiB over {} MiB",
        peak >> 20,
        bound >> 20
    );
    Arc::try_unwrap(pipeline).unwrap().shutdown().await;
}
