//! Memory under a flood at saturation stays within what the configured limits imply, plus a
//! small fixed overhead; the bound is computed from the configuration in the test, term by
//! term. 30 s by default (`FLOOD_SECONDS` for longer), alone (see .config/nextest.toml),
//! and only meaningful optimised (`scripts/test.sh` runs the tests with `--release`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use http_body_util::Full;

use crate::support::pipeline::*;

/// This process's resident set; a test that cannot read it fails rather than pass on zero.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    let kb = kb.expect("a VmRSS line in /proc/self/status");
    assert!(kb > 0, "VmRSS reads 0");
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rss_stays_within_store_limits_plus_fixed_overhead_during_a_flood() {
    // Runs alone (.config/nextest.toml) in its own process: the RSS it reads is this test's.
    let seconds: u64 = std::env::var("FLOOD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let mut config = test_config();
    config.workers = 1;
    config.queue_spans = 100_000;
    config.limits.span_store_spans = 500_000;
    config.limits.span_store_bytes = 64 << 20;
    config.max_inflight_requests = 16;
    // Slow the single worker a little (≈2.5 M spans/s) so the flood saturates the queue.
    config.faults.span_delay = Duration::from_nanos(300);
    let spans_per_request = 1000u64;
    // 16 distinct pre-encoded requests per connection (distinct trace IDs, cheap client), built
    // before the baseline so the client's own buffers are not charged to the pipeline.
    let frames: Vec<Arc<Vec<bytes::Bytes>>> = (0..32u64)
        .map(|t| {
            let frames = (0..16u64).map(|i| {
                let req = roots(
                    "flood",
                    "op",
                    (t << 40) | (i << 10),
                    spans_per_request,
                    1000,
                    false,
                );
                grpc_frame(&encode(&req), false)
            });
            Arc::new(frames.collect())
        })
        .collect();
    let span_bytes = frames[0][0].len() as u64 / spans_per_request;
    let pipeline = start(config.clone()).await;
    let baseline = rss_bytes();
    let url = format!(
        "{}/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        pipeline.grpc_endpoint()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = frames
        .iter()
        .map(|frames| {
            let (url, stop, acked, frames) =
                (url.clone(), stop.clone(), acked.clone(), frames.clone());
            tokio::spawn(async move {
                let client = h2_client();
                let mut i = 0;
                while !stop.load(Relaxed) {
                    let req = builder("POST", &url, Some("flood"))
                        .header("content-type", "application/grpc")
                        .header("te", "trailers")
                        .body(Full::new(frames[i % frames.len()].clone()))
                        .unwrap();
                    match send(&client, req).await.grpc_status() {
                        Some(0) => drop(acked.fetch_add(spans_per_request, Relaxed)),
                        // Refused: back off a little, as an OTLP exporter would.
                        _ => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                    i += 1;
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut peak = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak = peak.max(rss_bytes());
    }
    stop.store(true, Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let stats = pipeline.tenant_stats("flood").unwrap();
    let global = pipeline.stats();
    // What the limits imply:
    // - queue: each queued span holds an 80-byte index entry, and its request's bytes stay
    //   alive while any of its spans is queued: at most queue_spans × (80 + encoded span);
    // - span store: its byte budget, plus a 48-byte record and an 8-byte bucket per span;
    // - requests being read and decoded: max_inflight_requests bodies;
    // - HTTP/2 receive buffers: each flooding connection can have one request's frame
    //   buffered beyond the one being read (the client keeps one request in flight);
    // - fixed: runtime, histograms, allocator slack, the client's own buffers, 48 MiB.
    let request_bytes = spans_per_request * span_bytes;
    let queue = config.queue_spans as u64 * (80 + span_bytes);
    let store = config.limits.span_store_bytes as u64 + config.limits.span_store_spans as u64 * 56;
    let inflight = config.max_inflight_requests as u64 * request_bytes;
    let buffered = frames.len() as u64 * request_bytes;
    let fixed = 48 << 20;
    let bound = baseline + queue + store + inflight + buffered + fixed;
    eprintln!(
        "flood {seconds}s: accepted {} spans ({:.0}/s), queue_full_requests {}, evicted {} spans; \
         RSS baseline {} MiB, peak {} MiB, bound {} MiB (queue {} + store {} + in flight {} + buffered {} + fixed {})",
        stats.accepted_spans,
        stats.accepted_spans as f64 / seconds as f64,
        stats.queue_full_requests,
        global.span_store_evicted_spans,
        baseline >> 20,
        peak >> 20,
        bound >> 20,
        queue >> 20,
        store >> 20,
        inflight >> 20,
        buffered >> 20,
        fixed >> 20,
    );
    assert_eq!(stats.accepted_spans, acked.load(Relaxed));
    assert!(
        peak <= bound,
        "peak RSS {} MiB over the bound {} MiB",
        peak >> 20,
        bound >> 20
    );
    pipeline.shutdown().await;
}
