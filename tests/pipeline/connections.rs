//! Connections a client holds cost the pipeline a bounded number of descriptors and cannot lock
//! a well-behaved client out: idle and slow (slowloris) connections are evicted at
//! `max_connections` and closed after the header-read timeout; a decompression bomb is refused
//! without being inflated.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::pipeline::*;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd is readable")
        .count()
}

/// `n` connections to `addr`: even ones send nothing, odd ones dribble a request head a byte
/// every 100 ms (a slowloris) until the server closes them.
async fn hold(addr: std::net::SocketAddr, n: usize) -> Vec<tokio::task::JoinHandle<()>> {
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        held.push(tokio::spawn(async move {
            if i % 2 == 0 {
                tokio::time::sleep(Duration::from_secs(60)).await;
                return;
            }
            for byte in b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Slow: "
                .iter()
                .cycle()
            {
                if stream.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_or_slow_connections_neither_exhaust_descriptors_nor_delay_a_client() {
    let mut config = test_config();
    config.connections.max_connections = 64;
    config.connections.header_read_timeout = Duration::from_secs(2);
    let pipeline = start(config).await;
    let baseline = open_fds();
    let mut held = hold(pipeline.http_addr(), 500).await;
    held.extend(hold(pipeline.grpc_addr(), 500).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Our 1000 client sockets, at most 64 server sockets per listener, a little slack for the
    // runtime and the clients below.
    let fds = open_fds() - baseline;
    assert!(fds <= 1000 + 2 * 64 + 32, "{fds} descriptors opened");
    let limits = pipeline.stats().limits;
    assert!(limits.connections.used <= 128, "{:?}", limits.connections);
    assert!(
        limits.connections.refused >= 1000 - 128,
        "{:?}",
        limits.connections
    );

    // The stated bound: a client is served at once while fewer than max_connections requests
    // are in progress (1 s of margin for a busy machine, half the header-read timeout).
    let started = Instant::now();
    let raw = http_post(
        &pipeline,
        Some("good"),
        encode(&roots("s", "op", 1, 3, 10, false)),
        &[],
    )
    .await;
    assert_eq!(raw.status, 200);
    let mut client = grpc_client(&pipeline).await;
    assert_eq!(
        export(&mut client, "good", roots("s", "op", 9, 3, 10, false))
            .await
            .unwrap(),
        0
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "a well-behaved client waited {took:?}"
    );

    // Past the header-read timeout the slow ones are closed even without new clients.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let open = pipeline.stats().limits.connections.used;
    assert!(open <= 2, "{open} connections still open");
    for task in held {
        task.abort();
    }
    pipeline.shutdown().await;
}

#[tokio::test]
async fn a_kilobyte_gzip_bomb_is_refused_on_both_protocols() {
    let mut config = test_config();
    config.max_message_bytes = 512 << 10;
    let pipeline = start(config).await;
    let bomb = gzip(&vec![0u8; 1 << 20]);
    assert!(bomb.len() <= 1100, "{}", bomb.len());
    let raw = http_post(
        &pipeline,
        Some("t"),
        bomb.clone(),
        &[("content-encoding", "gzip")],
    )
    .await;
    assert_eq!(raw.status, 413);
    let frame = grpc_frame(&bomb, true);
    let raw = grpc_raw(&pipeline, Some("t"), frame, &[("grpc-encoding", "gzip")]).await;
    assert_eq!(raw.grpc_status(), Some(8), "RESOURCE_EXHAUSTED");
    pipeline.shutdown().await;
}
