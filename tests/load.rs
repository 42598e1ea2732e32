//! `span-sentinel load` end to end: in-process against real loopback OTLP servers (what the
//! server counted must equal what the tool reports), and as a subprocess for exit codes.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::{Answer, Ran, always, bin, grpc_server, http_server, n, run_bin};

/// Runs `span-sentinel load ARGS --json FILE --quiet` in-process; returns exit code and JSON.
fn load(args: &[&str]) -> (u8, Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let mut argv = vec![
        "span-sentinel",
        "load",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
    ];
    argv.extend_from_slice(args);
    let code = span_sentinel::cli::main_with_args(argv);
    let code = if code == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    };
    let text = std::fs::read_to_string(&json).unwrap_or_default();
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn assert_accounted(report: &Value) {
    assert_eq!(
        n(report, "sent_spans"),
        n(report, "acked_spans") + n(report, "rejected_spans") + n(report, "failed_spans"),
        "{report}"
    );
    crate::support::assert_matches_schema("load.schema.json", report);
}

#[test]
fn grpc_acked_spans_equal_what_the_server_counted() {
    let server = grpc_server(always(Answer::Accept));
    let target = format!("grpc://{}", server.addr);
    let (code, report) = load(&[
        "--target",
        &target,
        "--rate",
        "50000",
        "--duration",
        "2s",
        "--threads",
        "2",
    ]);
    assert_eq!(code, 0);
    assert!(n(&report, "acked_spans") > 50_000, "{report}");
    assert_eq!(n(&report, "acked_spans"), server.seen.accepted_spans());
    assert_eq!(n(&report, "rejected_spans") + n(&report, "failed_spans"), 0);
    assert!(report["export_latency_us"]["p99"].as_u64().is_some());
    assert_accounted(&report);
}

#[test]
fn http_acked_spans_equal_what_the_server_counted() {
    let server = http_server(always(Answer::Accept));
    let target = format!("http://{}/v1/traces", server.addr);
    let (code, report) = load(&[
        "--target",
        &target,
        "--rate",
        "20000",
        "--duration",
        "2s",
        "--gzip",
    ]);
    assert_eq!(code, 0);
    assert!(n(&report, "acked_spans") > 20_000, "{report}");
    assert_eq!(n(&report, "acked_spans"), server.seen.accepted_spans());
    assert_eq!(
        server
            .seen
            .gzipped
            .load(std::sync::atomic::Ordering::SeqCst),
        server.seen.requests()
    );
    assert_accounted(&report);
}

/// `--gzip` with a gRPC target was silently ignored: every message went uncompressed.
#[test]
fn grpc_gzip_compresses_every_request() {
    let server = grpc_server(always(Answer::Accept));
    let target = format!("grpc://{}", server.addr);
    let (code, report) = load(&[
        "--target",
        &target,
        "--rate",
        "5000",
        "--duration",
        "1s",
        "--threads",
        "1",
        "--gzip",
    ]);
    assert_eq!(code, 0);
    assert_eq!(n(&report, "acked_spans"), server.seen.accepted_spans());
    assert!(server.seen.requests() > 0, "{report}");
    assert_eq!(
        server
            .seen
            .gzipped
            .load(std::sync::atomic::Ordering::SeqCst),
        server.seen.requests()
    );
    assert_accounted(&report);
}

#[test]
fn partial_success_and_refusals_are_counted_exactly() {
    let server = grpc_server(always(Answer::Partial(3)));
    let (_, report) = load(&[
        "--target",
        &format!("grpc://{}", server.addr),
        "--rate",
        "5000",
        "--duration",
        "1s",
    ]);
    assert_eq!(n(&report, "rejected_spans"), 3 * server.seen.requests());
    assert_eq!(n(&report, "acked_spans"), server.seen.accepted_spans());
    assert_accounted(&report);
    let server = http_server(always(Answer::Invalid));
    let (_, report) = load(&[
        "--target",
        &format!("http://{}", server.addr),
        "--rate",
        "5000",
        "--duration",
        "1s",
    ]);
    assert_eq!(n(&report, "rejected_spans"), n(&report, "sent_spans"));
    assert_eq!(
        n(&report, "batches"),
        server.seen.requests(),
        "400 is not retried"
    );
    assert_accounted(&report);
}

#[test]
fn discard_sink_paces_and_reports_no_export_latency() {
    let (code, report) = load(&[
        "--sink",
        "discard",
        "--rate",
        "100000",
        "--duration",
        "1s",
        "--threads",
        "1",
    ]);
    assert_eq!(code, 0);
    assert!(report["export_latency_us"].is_null());
    assert_eq!(report["offered_spans_per_sec"].as_f64(), Some(100_000.0));
    // Pacing is open-loop and exact in count: 100k spans over 1 s in 511-span batches.
    let sent = n(&report, "sent_spans");
    assert!((99_000..=101_500).contains(&sent), "{sent}");
    assert_accounted(&report);
}

/// The discard sink serializes as asked, so `--encoding json` measures what JSON costs the
/// generator: the same batches, in many more bytes.
#[test]
fn discard_sink_serializes_in_the_encoding_asked_for() {
    let bytes_per_span = |encoding: &str| {
        let args = ["--sink", "discard", "--rate", "20000", "--duration", "1s"];
        let (code, report) = load(&[&args[..], &["--encoding", encoding]].concat());
        assert_eq!(code, 0, "{report}");
        assert_accounted(&report);
        n(&report, "bytes") as f64 / n(&report, "sent_spans") as f64
    };
    let (protobuf, json) = (bytes_per_span("protobuf"), bytes_per_span("json"));
    assert!(
        json > 2.0 * protobuf,
        "json {json} B/span, protobuf {protobuf}"
    );
}

#[test]
fn a_generator_that_falls_behind_stops_at_the_end_and_says_so() {
    // Regression: a worker behind schedule kept sending its backlog past the end, so a rate it
    // never reached (here 10^9 spans/s) was reported as achieved.
    let started = std::time::Instant::now();
    let (_, report) = load(&[
        "--sink",
        "discard",
        "--rate",
        "1000000000",
        "--duration",
        "1s",
        "--threads",
        "1",
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ran {:?}",
        started.elapsed()
    );
    let achieved = report["achieved_spans_per_sec"].as_f64().unwrap();
    assert!(achieved < 0.5e9, "{report}");
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("fell") && warnings.contains("behind"),
        "{report}"
    );
    assert_accounted(&report);
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["load", "--sink", "discard", "--bogus"], "--bogus"),
        (&["load", "--target", "grpc//nohost"], "--target"),
        (&["load", "--target", "http://127.0.0.1"], "--target"),
        (&["load", "--sink", "discard", "--rate", "-5"], "--rate"),
        (&["load", "--sink", "discard", "--rate", "0"], "--rate"),
        (
            &["load", "--sink", "discard", "--duration", "soon"],
            "--duration",
        ),
        (
            &["load", "--sink", "discard", "--threads", "0"],
            "--threads",
        ),
        (&["load"], "--target"),
        // Named `load.encoding`, a profile field, though it came from the flag.
        (
            &[
                "load",
                "--target",
                "grpc://127.0.0.1:1",
                "--encoding",
                "json",
            ],
            "--encoding json needs an OTLP/HTTP target",
        ),
    ];
    for (args, needle) in cases {
        let Ran { code, stderr, .. } = run_bin(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn bad_profiles_exit_2_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[load]\nbatch = 10\nthreds = 2\n", ":3:1:", "threds"),
        ("[load]\nbatch = \"ten\"\n", ":2:", "`batch`"),
        (
            "[load.rate]\nprofile = \"constant\"\nspans_per_sec = -3.0\n",
            ":3:1:",
            "spans_per_sec",
        ),
        (
            "[[load.streams]]\nname = \"a\"\n[load.streams.shape]\nfan_out = 0\n",
            ":4:1:",
            "fan_out",
        ),
        (
            "[[load.streams]]\nname = \"a\"\nerror_ratio = 1.5\n",
            ":3:",
            "error_ratio",
        ),
    ];
    for (i, (text, line, field)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("p{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        let Ran { code, stderr, .. } = run_bin(&[
            "load",
            "--sink",
            "discard",
            "--duration",
            "1s",
            "--profile",
            p,
        ]);
        assert_eq!(code, Some(2), "{text}: {stderr}");
        assert!(
            stderr.contains(&format!("{p}{line}")) && stderr.contains(field),
            "{text}: {stderr}"
        );
    }
}

#[test]
fn unreachable_target_exits_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let Ran { code, stderr, .. } = run_bin(&[
        "load",
        "--target",
        &format!("grpc://127.0.0.1:{port}"),
        "--duration",
        "1s",
    ]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("unreachable"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// `load --sink discard --rate 1000 --duration 1s` printed `0.5s` and `achieved 2.0k spans/s`:
/// the rate was taken over the time to the last batch, not the duration the run lasts.
#[test]
fn a_low_rate_is_achieved_over_the_requested_duration() {
    for (duration, secs) in [("1s", 1.0), ("1500ms", 1.5)] {
        let (code, report) = load(&[
            "--sink",
            "discard",
            "--rate",
            "1000",
            "--duration",
            duration,
        ]);
        assert_eq!(code, 0);
        let d = report["duration_s"].as_f64().unwrap();
        assert!((d - secs).abs() < 0.05, "{duration}: {report}");
        let achieved = report["achieved_spans_per_sec"].as_f64().unwrap();
        assert!((achieved - 1000.0).abs() < 100.0, "{duration}: {report}");
    }
}

/// Progress started every load at `0 spans/s`: the first tick came 1.5 s in and divided one
/// second of sends by 1.5 s. Each tick now holds one whole second of the grid.
#[test]
fn every_tick_holds_one_second_the_first_included() {
    use span_sentinel::config::load::{LoadOverrides, RateArg, load_plan};
    use span_sentinel::engine::run_load;
    let args = LoadOverrides {
        discard: true,
        rate: Some(RateArg::PerSec(20_000.0)),
        duration: Some(Duration::from_secs(3)),
        threads: Some(2),
        batch: Some(100),
        ..LoadOverrides::default()
    };
    let plan = load_plan(&args).unwrap();
    let mut ticks = Vec::new();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    run_load(&plan, stop, |t| {
        let rate = t.last.total().sent as f64 / t.last_len.as_secs_f64();
        ticks.push((t.elapsed.as_secs_f64(), rate));
    })
    .unwrap();
    assert!(ticks.len() >= 3, "{ticks:?}");
    for (i, (elapsed, rate)) in ticks.iter().take(3).enumerate() {
        assert!((elapsed - (i + 1) as f64).abs() < 0.01, "{ticks:?}");
        assert!((rate - 20_000.0).abs() < 1_000.0, "{ticks:?}");
    }
}

/// Against a target that asked for a retry of every batch, `load` warned "the generator fell
/// 70.7% behind ... use more --threads" and its summary showed no retries.
#[test]
fn a_target_that_pushes_back_is_named_not_the_generator() {
    use crate::support::Answer;
    let script: crate::support::Script = std::sync::Arc::new(|n| {
        if n % 2 == 0 {
            Answer::Unavailable(Duration::from_millis(200))
        } else {
            Answer::Accept
        }
    });
    let server = grpc_server(script);
    let (code, report) = load(&[
        "--target",
        &format!("grpc://{}", server.addr),
        "--rate",
        "20000",
        "--duration",
        "2s",
        "--threads",
        "1",
        "--concurrency",
        "1",
        "--batch",
        "100",
    ]);
    assert_eq!(code, 0);
    assert!(n(&report, "retries") > 0, "{report}");
    assert!(report["throttled_s"].as_f64().unwrap() > 1.0, "{report}");
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("the target held the load"), "{warnings}");
    assert!(!warnings.contains("generator fell"), "{warnings}");
    assert_accounted(&report);
}

/// A run that ended before it started (exit 3) left a 0-byte `--json` file that `report` then
/// rejected: no file is written at all.
#[test]
fn an_unreachable_target_leaves_no_empty_report_file() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let code = span_sentinel::cli::main_with_args([
        "span-sentinel",
        "load",
        "--quiet",
        "--target",
        &format!("grpc://127.0.0.1:{port}"),
        "--duration",
        "1s",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, std::process::ExitCode::from(3));
    assert!(!json.exists(), "an empty report file was left behind");
}

/// `--rate 1M` / `--start 100k` were refused although the output prints `1.00M` and `100.0k`.
#[test]
fn rates_are_written_as_people_write_them() {
    let (code, report) = load(&["--sink", "discard", "--rate", "100k", "--duration", "1s"]);
    assert_eq!(code, 0);
    assert_eq!(report["offered_spans_per_sec"], 100_000.0, "{report}");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "[load.rate]\nprofile = \"constant\"\nspans_per_sec = \"20k\"\n",
    )
    .unwrap();
    let (code, report) = load(&[
        "--sink",
        "discard",
        "--duration",
        "1s",
        "--profile",
        profile.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(report["offered_spans_per_sec"], 20_000.0, "{report}");
    let Ran { code, stderr, .. } = run_bin(&["load", "--sink", "discard", "--rate", "1MM"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("1M, 500k"), "{stderr}");
}

/// `load` printed its summary to stderr and nothing to stdout.
#[test]
fn the_summary_goes_to_stdout() {
    let out = bin()
        .args([
            "load",
            "--sink",
            "discard",
            "--rate",
            "1000",
            "--duration",
            "1s",
        ])
        .args(["--threads", "1", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("achieved"), "{stdout:?}");
    assert!(stdout.contains("| 1 thread |"), "{stdout:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("achieved"));
}

/// Ctrl-C on `load` exited 0, as if the test had run: it says it was interrupted, still writes
/// its report of what was sent, and exits 4 (could not finish), as `run` does.
#[test]
fn an_interrupted_load_says_so_writes_its_report_and_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let child = bin()
        .args([
            "load",
            "--sink",
            "discard",
            "--rate",
            "1000",
            "--duration",
            "30s",
        ])
        .args(["--threads", "1", "--quiet", "--json"])
        .arg(&json)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("interrupted: stopped after"), "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(n(&report, "sent_spans") > 0, "{report}");
}

/// A target that accepts TCP connections and never answers (nor reads): the connections are
/// kept open until the listener is dropped.
fn stalled_target() -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(40) {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (addr, handle)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

// Regression: against a target that accepts and never answers, a 5 s load took 30 s (every
// batch in flight waited out its retries) and its spans' fate depended on that wait.
#[test]
fn a_stalled_target_ends_the_load_on_time_with_every_stalled_span_failed() {
    let (addr, _target) = stalled_target();
    for target in [format!("grpc://{addr}"), format!("http://{addr}/v1/traces")] {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("load.json");
        let started = std::time::Instant::now();
        let mut child = bin()
            .args(["load", "--quiet", "--target", &target, "--rate", "20000"])
            .args(["--duration", "5s", "--threads", "2", "--json"])
            .arg(&json)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut peak_kib = 0;
        while child.try_wait().unwrap().is_none() {
            peak_kib = peak_kib.max(rss_kib(child.id()).unwrap_or(0));
            std::thread::sleep(Duration::from_millis(50));
        }
        let took = started.elapsed();
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        // 5 s of load, at most 2 s of grace for answers, and start-up on a busy machine.
        assert!(took < Duration::from_secs(10), "{target}: took {took:?}");
        assert!(peak_kib > 0, "{target}: RSS never read");
        assert!(peak_kib < 64 << 10, "{target}: peak RSS {peak_kib} KiB");
        assert!(n(&report, "sent_spans") > 0, "{report}");
        assert_eq!(n(&report, "acked_spans"), 0, "{report}");
        assert_eq!(n(&report, "rejected_spans"), 0, "{report}");
        assert_eq!(
            n(&report, "failed_spans"),
            n(&report, "sent_spans"),
            "{report}"
        );
        assert_accounted(&report);
    }
}
