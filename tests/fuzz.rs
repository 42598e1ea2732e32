//! A mutation fuzzer on stable Rust: valid inputs are mutated (bit flips, interesting bytes,
//! inserted, deleted, duplicated and spliced ranges, truncation, huge varints and frame
//! lengths) and thrown at the ingest paths of a real pipeline over loopback (gRPC framing,
//! protobuf, OTLP JSON, gzip, headers) and at the profile parser. Zero panics, and every input
//! answered with a status from the table in `docs/pipeline-api.md` ("Answers to any input").
//!
//! About a minute in the tests; `FUZZ_SECONDS=600 scripts/fuzz.sh` (or `FUZZ_SECONDS`) runs
//! longer, `FUZZ_SEED` replays a run (the seed is printed).

// The slot guard is held across awaits on purpose (see tests/pipeline.rs).
#![allow(clippy::await_holding_lock)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use span_sentinel::config::profile::ProfileSource;

use crate::support::pipeline::*;

fn seconds() -> u64 {
    std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

fn seed() -> u64 {
    let seed = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok());
    let seed = seed.unwrap_or_else(now_ns);
    eprintln!("fuzz seed {seed} (FUZZ_SEED={seed} replays it)");
    seed
}

/// Valid requests of several shapes: one and many resources, errors, children, attributes.
fn requests() -> Vec<ExportTraceServiceRequest> {
    let mut parent = roots("svc", "root", 1, 1, 2_000_000, false);
    let start = now_ns();
    let spans = &mut parent.resource_spans[0].scope_spans[0].spans;
    spans.push(span(1, 2, Some(1), "child", start, 1000, true));
    let mut two = roots("a", "op", 10, 3, 1000, true);
    two.resource_spans
        .extend(roots("b", "op2", 20, 2, 10, false).resource_spans);
    let mut tenanted = roots("t", "op", 30, 2, 10, false);
    let resource = tenanted.resource_spans[0].resource.as_mut().unwrap();
    resource.attributes.push(attr("tenant.id", "fz"));
    vec![parent, two, tenanted, roots("s", "o", 40, 1, 1, false)]
}

/// Mutates `data` in place with one to four random edits.
fn mutate(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, other: &[u8]) {
    const HUGE_VARINT: [u8; 10] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const INTERESTING: [u8; 8] = [0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x12, b'"'];
    for _ in 0..rng.random_range(1..=4) {
        let len = data.len();
        let at = if len == 0 {
            0
        } else {
            rng.random_range(0..len)
        };
        match rng.random_range(0..9) {
            0 if len > 0 => data[at] ^= 1 << rng.random_range(0..8),
            1 if len > 0 => data[at] = INTERESTING[rng.random_range(0..INTERESTING.len())],
            2 => {
                let n = rng.random_range(1..16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                data.splice(at..at, bytes);
            }
            3 if len > 0 => {
                let end = (at + rng.random_range(1..64)).min(len);
                data.drain(at..end);
            }
            4 if len > 0 => {
                let end = (at + rng.random_range(1..64)).min(len);
                let copy = data[at..end].to_vec();
                data.splice(at..at, copy);
            }
            5 => data.truncate(at),
            6 if !other.is_empty() => {
                let from = rng.random_range(0..other.len());
                let end = (from + rng.random_range(1..256)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied());
            }
            // A varint (or length) as large as it gets.
            7 => drop(data.splice(at..at, HUGE_VARINT)),
            8 if len >= 5 => {
                let n: u32 = rng.random();
                data[1..5].copy_from_slice(&n.to_be_bytes());
            }
            _ => {}
        }
    }
}

/// How an input travels.
#[derive(Debug, Clone, Copy)]
enum Path {
    Grpc { gzip: bool },
    Http { json: bool, gzip: bool },
}

/// The statuses the table documents for each path.
fn documented(path: Path, raw: &Raw) -> bool {
    match path {
        Path::Grpc { .. } => match raw.status.as_u16() {
            200 => matches!(raw.grpc_status(), Some(0 | 3 | 8 | 12)),
            405 | 415 => true,
            _ => false,
        },
        Path::Http { .. } => matches!(raw.status.as_u16(), 200 | 400 | 413 | 415 | 429),
    }
}

/// Builds the body of one input: a mutated seed, framed, compressed and mutated as `path` says.
fn input(rng: &mut ChaCha8Rng, path: Path, seeds: &[ExportTraceServiceRequest]) -> Bytes {
    let request = &seeds[rng.random_range(0..seeds.len())];
    let other = encode(&seeds[rng.random_range(0..seeds.len())]);
    let mut body = match path {
        Path::Http { json: true, .. } => serde_json::to_vec(request).unwrap(),
        _ => encode(request).to_vec(),
    };
    // Mutate before compression (the decoder sees it) or after (the inflater does).
    let gzip = matches!(
        path,
        Path::Grpc { gzip: true } | Path::Http { gzip: true, .. }
    );
    let late = gzip && rng.random_bool(0.5);
    if !late {
        mutate(rng, &mut body, &other);
    }
    if gzip {
        body = crate::support::pipeline::gzip(&body).to_vec();
    }
    if late {
        mutate(rng, &mut body, &other);
    }
    match path {
        Path::Grpc { gzip } => {
            let mut framed = grpc_frame(&body, gzip).to_vec();
            if rng.random_bool(0.2) {
                mutate(rng, &mut framed, &other);
            }
            framed.into()
        }
        Path::Http { .. } => body.into(),
    }
}

/// Sends one input with headers that are usually right and sometimes not.
async fn send_input(
    rng: &mut ChaCha8Rng,
    clients: &(Client, Client),
    urls: &(String, String),
    path: Path,
    body: Bytes,
) -> Result<Raw, String> {
    const TENANTS: [&str; 5] = ["fz", "", "a/b", "..", "x"];
    let tenant = if rng.random_bool(0.9) {
        "fz"
    } else {
        TENANTS[rng.random_range(0..5)]
    };
    let mut b = http::Request::post(match path {
        Path::Grpc { .. } => &urls.0,
        Path::Http { .. } => &urls.1,
    });
    if !tenant.is_empty() {
        b = b.header("x-scope-orgid", tenant);
    }
    let odd = rng.random_bool(0.05);
    b = match path {
        Path::Grpc { gzip } => {
            let b = b.header(
                "content-type",
                if odd {
                    "text/plain"
                } else {
                    "application/grpc"
                },
            );
            let b = b.header("te", "trailers");
            let encoding = if odd && rng.random_bool(0.5) {
                "br"
            } else if gzip {
                "gzip"
            } else {
                "identity"
            };
            b.header("grpc-encoding", encoding)
        }
        Path::Http { json, gzip } => {
            let ct = if odd {
                "text/html"
            } else if json {
                "application/json"
            } else {
                "application/x-protobuf"
            };
            let b = b.header("content-type", ct);
            if gzip {
                b.header("content-encoding", if odd { "zstd" } else { "gzip" })
            } else {
                b
            }
        }
    };
    let client = if matches!(path, Path::Grpc { .. }) {
        &clients.0
    } else {
        &clients.1
    };
    let request = b.body(Full::new(body)).map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .map_err(|_| "no answer within 10 s".to_string())?
        .map_err(|e| format!("no answer: {e}"))?;
    let (parts, body) = response.into_parts();
    let collected = http_body_util::BodyExt::collect(body)
        .await
        .map_err(|e| format!("body cut off: {e}"))?;
    let mut headers = parts.headers;
    if let Some(trailers) = collected.trailers() {
        headers.extend(trailers.clone());
    }
    Ok(Raw {
        status: parts.status,
        headers,
        body: collected.to_bytes(),
    })
}

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_requests_are_answered_from_the_documented_table_without_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(seed());
    let mut config = test_config();
    config.tenant_attribute = Some("tenant.id".into());
    config.max_message_bytes = 256 << 10;
    let pipeline = start(config).await;
    let seeds = requests();
    let clients = (h2_client(), http_client());
    let urls = (
        format!(
            "{}/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            pipeline.grpc_endpoint()
        ),
        format!("{}/v1/traces", pipeline.http_endpoint()),
    );
    let end = Instant::now() + Duration::from_secs(seconds() * 3 / 4);
    let (mut inputs, mut by_status) = (0u64, std::collections::BTreeMap::<String, u64>::new());
    while Instant::now() < end {
        let path = match rng.random_range(0..4) {
            0 => Path::Grpc { gzip: false },
            1 => Path::Grpc { gzip: true },
            2 => Path::Http {
                json: false,
                gzip: rng.random_bool(0.3),
            },
            _ => Path::Http {
                json: true,
                gzip: rng.random_bool(0.3),
            },
        };
        let body = input(&mut rng, path, &seeds);
        let raw = send_input(&mut rng, &clients, &urls, path, body.clone())
            .await
            .unwrap_or_else(|e| panic!("input {inputs} ({path:?}, {body:?}): {e}"));
        assert!(
            documented(path, &raw),
            "input {inputs} ({path:?}, {body:?}) answered {} {:?}",
            raw.status,
            raw.grpc_status()
        );
        let key = format!("{path:?} {} {:?}", raw.status.as_u16(), raw.grpc_status());
        *by_status.entry(key).or_default() += 1;
        inputs += 1;
    }
    eprintln!("fuzzed ingest with {inputs} inputs: {by_status:#?}");
    assert!(inputs > 1000, "only {inputs} inputs");
    // Still serving, and every span the pipeline accepted it processed.
    let mut client = grpc_client(&pipeline).await;
    assert_eq!(
        export(&mut client, "after", roots("s", "o", 1, 3, 10, false))
            .await
            .unwrap(),
        0
    );
    pipeline.shutdown().await;
}

#[test]
fn mutated_profiles_parse_or_fail_with_a_message_without_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(seed());
    let seeds: Vec<String> = std::fs::read_dir("profiles")
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(seeds.len() >= 3, "profiles/*.toml are the seeds");
    let end = Instant::now() + Duration::from_secs(seconds() / 4);
    let (mut inputs, mut parsed) = (0u64, 0u64);
    while Instant::now() < end {
        let mut text = seeds[rng.random_range(0..seeds.len())].clone().into_bytes();
        let other = seeds[rng.random_range(0..seeds.len())].as_bytes().to_vec();
        mutate(&mut rng, &mut text, &other);
        let text = String::from_utf8_lossy(&text).into_owned();
        let source = ProfileSource {
            path: "fuzz.toml".into(),
            text: text.clone(),
        };
        let outcome = std::panic::catch_unwind(|| {
            let ok = source.parse().is_ok();
            let _ = source.field_error("load.streams.0.shape.services", "x");
            ok
        });
        match outcome {
            Ok(ok) => parsed += u64::from(ok),
            Err(_) => panic!("the profile parser panicked on:\n{text}"),
        }
        inputs += 1;
    }
    eprintln!("fuzzed the profile parser with {inputs} inputs, {parsed} parsed");
    assert!(
        inputs > 1000 && parsed > 0,
        "{inputs} inputs, {parsed} parsed"
    );
}
