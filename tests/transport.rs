//! The transport against real OTLP/gRPC and OTLP/HTTP servers on loopback: what the exporter
//! reports as acked, rejected and failed must match what the server saw, and retries must follow
//! the OTLP specification.
//!
//! Each test runs on tokio's `current_thread` test runtime, as a load worker does.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue};
use span_sentinel::transport::{
    Codec, Compression, Delivery, Exporter, RetryPolicy, Target, TransportOptions,
};
use tokio::task::JoinSet;

use crate::support::{
    Answer, Script, TENANT, TestServer, always, encoded_batch, first_then_accept, grpc_server,
    http_server,
};

/// Options with fast retries (no jitter, so delays are predictable) and a short give-up time.
fn options(connections: usize, concurrency: usize) -> TransportOptions {
    TransportOptions {
        connections,
        concurrency,
        timeout: Duration::from_secs(2),
        headers: vec![(
            HeaderName::from_static("x-extra"),
            HeaderValue::from_static("1"),
        )],
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
            multiplier: 2.0,
            jitter: 0.0,
            max_elapsed: Duration::from_millis(400),
        },
        ..TransportOptions::default()
    }
}

fn grpc_target(server: &TestServer) -> Target {
    format!("grpc://{}", server.addr).parse().unwrap()
}

fn http_target(server: &TestServer) -> Target {
    format!("http://{}/v1/traces", server.addr).parse().unwrap()
}

/// Sends `batches` batches of 1..=40 spans, keeping up to `concurrency` in flight as a worker
/// does, and sums their deliveries. Spawning proves the export futures are `'static + Send`.
async fn send_many(exporter: &Exporter, batches: u64, concurrency: usize) -> (u64, Delivery) {
    let mut in_flight = JoinSet::new();
    let (mut spans, mut total) = (0, Delivery::default());
    let mut add = |d: Delivery| {
        total.acked += d.acked;
        total.rejected += d.rejected;
        total.failed += d.failed;
        total.retries += d.retries;
    };
    for i in 0..batches {
        let n = 1 + (i * 7919) % 40;
        spans += n;
        in_flight.spawn(exporter.export(tenant(), encoded_batch(n, i), n));
        if in_flight.len() >= concurrency {
            add(in_flight.join_next().await.unwrap().unwrap());
        }
    }
    while let Some(d) = in_flight.join_next().await {
        add(d.unwrap());
    }
    (spans, total)
}

fn tenant() -> HeaderValue {
    HeaderValue::from_static(TENANT)
}

/// Exports one batch of `spans` spans and returns its delivery and how long it took.
async fn export_one(target: &Target, opts: &TransportOptions, spans: u64) -> (Delivery, Duration) {
    let exporter = Exporter::connect(target, opts).await.unwrap();
    let start = Instant::now();
    let delivery = exporter
        .export(tenant(), encoded_batch(spans, 1), spans)
        .await;
    (delivery, start.elapsed())
}

async fn acked_equals_server_count(server: TestServer, target: Target, opts: TransportOptions) {
    let exporter = Exporter::connect(&target, &opts).await.unwrap();
    let (spans, total) = send_many(&exporter, 300, opts.concurrency).await;
    assert_eq!(
        total,
        Delivery {
            acked: spans,
            rejected: 0,
            failed: 0,
            retries: 0
        }
    );
    assert_eq!(server.seen.accepted_spans(), spans);
    assert_eq!(server.seen.requests(), 300);
    let tenants = server.seen.tenants.lock().unwrap().clone();
    assert_eq!(tenants.into_iter().collect::<Vec<_>>(), [TENANT]);
}

fn script_server(grpc: bool, script: Script) -> (TestServer, Target) {
    let server = if grpc {
        grpc_server(script)
    } else {
        http_server(script)
    };
    let target = if grpc {
        grpc_target(&server)
    } else {
        http_target(&server)
    };
    (server, target)
}

#[tokio::test]
async fn grpc_acked_spans_equal_what_the_server_counted() {
    let server = grpc_server(always(Answer::Accept));
    let target = grpc_target(&server);
    let seen = std::sync::Arc::clone(&server.seen);
    acked_equals_server_count(server, target, options(3, 8)).await;
    assert_eq!(
        seen.peers.lock().unwrap().len(),
        3,
        "one peer per connection"
    );
}

#[tokio::test]
async fn http_acked_spans_equal_what_the_server_counted() {
    let server = http_server(always(Answer::Accept));
    let target = http_target(&server);
    let seen = std::sync::Arc::clone(&server.seen);
    acked_equals_server_count(server, target, options(3, 8)).await;
    // About `connections` (3): more than one, and no new connection per request.
    let peers = seen.peers.lock().unwrap().len();
    assert!((2..=6).contains(&peers), "{peers} connections");
}

#[tokio::test]
async fn http_gzip_bodies_are_decompressed_and_counted() {
    let server = http_server(always(Answer::Accept));
    let target = http_target(&server);
    let seen = std::sync::Arc::clone(&server.seen);
    let opts = TransportOptions {
        compression: Compression::gzip(),
        ..options(2, 4)
    };
    acked_equals_server_count(server, target, opts).await;
    assert_eq!(seen.gzipped.load(Ordering::SeqCst), 300);
}

#[tokio::test]
async fn http_zstd_bodies_are_decompressed_and_counted() {
    let server = http_server(always(Answer::Accept));
    let target = http_target(&server);
    let seen = std::sync::Arc::clone(&server.seen);
    let opts = TransportOptions {
        compression: Compression::new(Codec::Zstd, Some(-3)).unwrap(),
        ..options(2, 4)
    };
    acked_equals_server_count(server, target, opts).await;
    assert_eq!(seen.zstd.load(Ordering::SeqCst), 300);
}

#[tokio::test]
async fn bodies_arrive_byte_for_byte_with_tenant_and_extra_headers() {
    let codecs = [Codec::None, Codec::Gzip, Codec::Zstd];
    let cases = ["grpc", "http"]
        .into_iter()
        .flat_map(|p| codecs.into_iter().map(move |c| (p, c)));
    for (protocol, codec) in cases {
        let (server, target) = script_server(protocol == "grpc", always(Answer::Accept));
        let opts = TransportOptions {
            compression: Compression::new(codec, None).unwrap(),
            ..options(1, 1)
        };
        let body = encoded_batch(17, 42);
        let exporter = Exporter::connect(&target, &opts).await.unwrap();
        let d = exporter.export(tenant(), body.clone(), 17).await;
        assert_eq!(d.acked, 17, "{protocol} {codec:?}");
        assert_eq!(*server.seen.last_request.lock().unwrap(), body.to_vec());
        assert_eq!(server.seen.with_extra_header.load(Ordering::SeqCst), 1);
        let gzip = u64::from(codec == Codec::Gzip);
        assert_eq!(server.seen.gzipped.load(Ordering::SeqCst), gzip);
        let zstd = u64::from(codec == Codec::Zstd);
        assert_eq!(server.seen.zstd.load(Ordering::SeqCst), zstd, "{protocol}");
        let tenants = server.seen.tenants.lock().unwrap().clone();
        assert_eq!(tenants.into_iter().collect::<Vec<_>>(), [TENANT]);
    }
}

#[test]
fn exporters_can_move_between_tasks_and_threads() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Exporter>();
}

#[tokio::test]
async fn discard_acks_everything_at_once() {
    let exporter = Exporter::connect(&Target::Discard, &options(1, 1))
        .await
        .unwrap();
    let (spans, total) = send_many(&exporter, 10, 4).await;
    assert_eq!(
        total,
        Delivery {
            acked: spans,
            ..Delivery::default()
        }
    );
}

#[tokio::test]
async fn grpc_unavailable_with_retry_info_waits_the_server_delay() {
    let delay = Duration::from_millis(150);
    let (server, target) = script_server(true, first_then_accept(2, Answer::Unavailable(delay)));
    let (d, _) = export_one(&target, &options(1, 1), 25).await;
    assert_eq!(
        d,
        Delivery {
            acked: 25,
            rejected: 0,
            failed: 0,
            retries: 2
        }
    );
    assert_eq!(server.seen.requests(), 3);
    assert_eq!(server.seen.accepted_spans(), 25);
    // The backoff alone would be 5 ms, then 10 ms: RetryInfo's delay replaced it.
    for gap in server.seen.gaps() {
        assert!(gap >= delay, "{gap:?}");
    }
}

#[tokio::test]
async fn grpc_resource_exhausted_without_retry_info_is_rejected_at_once() {
    let (server, target) = script_server(true, always(Answer::Exhausted(Duration::ZERO)));
    let (d, _) = export_one(&target, &options(1, 1), 12).await;
    assert_eq!(
        d,
        Delivery {
            acked: 0,
            rejected: 12,
            failed: 0,
            retries: 0
        }
    );
    assert_eq!(server.seen.requests(), 1);
}

#[tokio::test]
async fn grpc_invalid_argument_is_rejected_at_once() {
    let (server, target) = script_server(true, always(Answer::Invalid));
    let (d, _) = export_one(&target, &options(1, 1), 12).await;
    assert_eq!(
        d,
        Delivery {
            acked: 0,
            rejected: 12,
            failed: 0,
            retries: 0
        }
    );
    assert_eq!(server.seen.requests(), 1);
}

#[tokio::test]
async fn partial_success_rejects_only_the_reported_spans() {
    for grpc in [true, false] {
        let (server, target) = script_server(grpc, always(Answer::Partial(3)));
        let (d, _) = export_one(&target, &options(1, 1), 10).await;
        assert_eq!(
            d,
            Delivery {
                acked: 7,
                rejected: 3,
                failed: 0,
                retries: 0
            },
            "grpc={grpc}"
        );
        assert_eq!(server.seen.requests(), 1);
        assert_eq!(server.seen.accepted_spans(), 7);
    }
}

#[tokio::test]
async fn http_429_retry_after_is_honoured() {
    let answer = Answer::Exhausted(Duration::from_secs(1));
    let (server, target) = script_server(false, first_then_accept(1, answer));
    let mut opts = options(1, 1);
    opts.retry.max_elapsed = Duration::from_secs(3);
    let (d, took) = export_one(&target, &opts, 30).await;
    assert_eq!(
        d,
        Delivery {
            acked: 30,
            rejected: 0,
            failed: 0,
            retries: 1
        }
    );
    assert_eq!(server.seen.requests(), 2);
    assert_eq!(server.seen.accepted_spans(), 30);
    assert!(took >= Duration::from_millis(950), "{took:?}");
    assert!(server.seen.gaps()[0] >= Duration::from_millis(950));
}

#[tokio::test]
async fn http_400_is_rejected_at_once() {
    let (server, target) = script_server(false, always(Answer::Invalid));
    let (d, _) = export_one(&target, &options(1, 1), 8).await;
    assert_eq!(
        d,
        Delivery {
            acked: 0,
            rejected: 8,
            failed: 0,
            retries: 0
        }
    );
    assert_eq!(server.seen.requests(), 1);
}

#[tokio::test]
async fn endless_retryable_failures_fail_after_max_elapsed() {
    for grpc in [true, false] {
        // gRPC: RetryInfo of 20 ms each time; HTTP: 503 without Retry-After, so the backoff.
        let answer = Answer::Unavailable(if grpc {
            Duration::from_millis(20)
        } else {
            Duration::ZERO
        });
        let (server, target) = script_server(grpc, always(answer));
        let opts = options(1, 1);
        let (d, took) = export_one(&target, &opts, 9).await;
        assert_eq!((d.acked, d.rejected, d.failed), (0, 0, 9), "grpc={grpc}");
        assert!(d.retries >= 3, "grpc={grpc}: {d:?}");
        assert_eq!(server.seen.requests(), u64::from(d.retries) + 1);
        // Bounded by max_elapsed (400 ms), with a generous margin for a busy machine.
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
}

#[tokio::test]
async fn an_attempt_past_its_timeout_is_retried() {
    for grpc in [true, false] {
        let stall = Answer::Stall(Duration::from_secs(3));
        let (server, target) = script_server(grpc, first_then_accept(1, stall));
        let opts = TransportOptions {
            timeout: Duration::from_millis(200),
            ..options(1, 1)
        };
        let (d, took) = export_one(&target, &opts, 5).await;
        assert_eq!(
            d,
            Delivery {
                acked: 5,
                rejected: 0,
                failed: 0,
                retries: 1
            },
            "grpc={grpc}"
        );
        assert_eq!(server.seen.requests(), 2);
        assert!(
            took < Duration::from_secs(2),
            "waited for the stalled answer: {took:?}"
        );
    }
}

#[tokio::test]
async fn a_target_that_went_away_counts_as_failed_not_rejected() {
    for grpc in [true, false] {
        let (server, target) = script_server(grpc, always(Answer::Accept));
        let exporter = Exporter::connect(&target, &options(2, 2)).await.unwrap();
        drop(server);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let d = exporter.export(tenant(), encoded_batch(6, 1), 6).await;
        assert_eq!(
            (d.acked, d.rejected, d.failed),
            (0, 0, 6),
            "grpc={grpc}: {d:?}"
        );
    }
}

#[tokio::test]
async fn connection_refused_at_connect_is_unreachable() {
    // Bind and release a port, so nothing listens on it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for url in [format!("grpc://{addr}"), format!("http://{addr}/v1/traces")] {
        let target: Target = url.parse().unwrap();
        let err = Exporter::connect(&target, &options(2, 2))
            .await
            .unwrap_err();
        assert_eq!(err.target, target.to_string());
        let message = err.to_string();
        assert!(message.contains("unreachable"), "{message}");
        assert!(message.to_lowercase().contains("refused"), "{message}");
    }
}
