//! `span-sentinel watch`: its `/metrics` parse as Prometheus text and move as traces are
//! verified; a watch killed with SIGTERM and restarted against the same running pipeline
//! reports no false failures; bad flags exit 2; shell completions cover every subcommand.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use prometheus_parse::{Scrape, Value};
use serde_json::Value as Json;
use span_sentinel::config::Overrides as RunOverrides;
use span_sentinel::config::watch::{WatchOverrides, watch_plan};
use span_sentinel::watch::engine::{Observer, watch};
use span_sentinel::watch::windows::{Totals, WindowVerdict};

use crate::support::files::BURSTY_WATCH_PROFILE;
use crate::support::{ServeChild, assert_matches_schema, bin, sigterm, wait_for_line};

fn write_profile(dir: &Path) -> PathBuf {
    let path = dir.join("watch.toml");
    std::fs::write(&path, BURSTY_WATCH_PROFILE).unwrap();
    path
}

struct Ready(mpsc::Sender<SocketAddr>, Arc<std::sync::atomic::AtomicU64>);

impl Observer for Ready {
    fn ready(&mut self, metrics_addr: SocketAddr, _target: &str, _seed: u64) {
        let _ = self.0.send(metrics_addr);
    }
    fn window(&mut self, _verdict: &WindowVerdict, _totals: &Totals) {}
    fn second(&mut self, _elapsed: Duration, _window: u64, _totals: &Totals) {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `GET /metrics` over a plain HTTP/1.0 connection; the body.
fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.0 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    body.to_owned()
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

fn value(scrape: &Scrape, name: &str) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == name)
        .unwrap_or_else(|| panic!("{name} is not exposed"));
    match &sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        other => panic!("{name}: {other:?}"),
    }
}

/// Buckets are cumulative, end in +Inf and agree with `_count`.
fn check_histogram(scrape: &Scrape, name: &str) -> f64 {
    let sample = scrape.samples.iter().find(|s| s.metric == name).unwrap();
    let Value::Histogram(buckets) = &sample.value else {
        panic!("{name} is not a histogram: {:?}", sample.value);
    };
    assert!(
        buckets.windows(2).all(|w| w[0].count <= w[1].count),
        "{buckets:?}"
    );
    let last = buckets.last().unwrap();
    assert!(last.less_than.is_infinite(), "{buckets:?}");
    assert_eq!(last.count, value(scrape, &format!("{name}_count")));
    last.count
}

/// Runs `promtool check metrics` on `text` (Debian's prometheus ships it; scripts/setup-peers.sh
/// installs it). Without promtool the test fails: a peer check never passes unobserved.
fn promtool_accepts(text: &str) {
    let promtool = crate::support::peers::peer_path("SPAN_SENTINEL_PROMTOOL");
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", promtool.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn metrics_parse_as_prometheus_text_and_move_as_traces_are_verified() {
    let dir = tempfile::tempdir().unwrap();
    let plan = watch_plan(&WatchOverrides {
        run: RunOverrides {
            profile: Some(write_profile(dir.path())),
            ..RunOverrides::default()
        },
        window: Duration::from_secs(2),
        duration: Some(Duration::from_secs(12)),
        metrics_addr: "127.0.0.1:0".parse().unwrap(),
    })
    .unwrap();
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let seconds = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let observer = Ready(tx, seconds.clone());
    let watching = std::thread::spawn(move || watch(plan, stop, &mut { observer }));
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let ready = Instant::now();
    // The probe cycles upwards from 1 µs, so the first traces that must be assembled start
    // about 2.5 s in; their roots end a second or more later, and they are verified a settle
    // window after that. Scrape until the first is verified (or 9 s have passed).
    let (first_text, first) = loop {
        std::thread::sleep(Duration::from_millis(250));
        let text = scrape(addr);
        let scraped = parse(&text);
        let verified = value(&scraped, "span_sentinel_traces_verified_total");
        if verified > 0.0 || ready.elapsed() > Duration::from_secs(9) {
            break (text, scraped);
        }
    };
    std::thread::sleep(Duration::from_millis(2000));
    let second_text = scrape(addr);
    let second = parse(&second_text);
    promtool_accepts(&second_text);
    let outcome = watching.join().unwrap().unwrap();

    let v = |s: &Scrape, n: &str| value(s, &format!("span_sentinel_{n}"));
    assert!(v(&first, "traces_sent_total") > 0.0, "{first_text}");
    assert!(v(&first, "traces_verified_total") > 0.0, "{first_text}");
    assert!(v(&second, "traces_sent_total") > v(&first, "traces_sent_total"));
    assert!(v(&second, "traces_verified_total") > v(&first, "traces_verified_total"));
    for n in [
        "traces_missing_total",
        "traces_incorrect_total",
        "traces_unexpected_total",
        "error_bursts_missed_total",
        "spurious_alerts_total",
    ] {
        assert_eq!(v(&second, n), 0.0, "{n} in {second_text}");
    }
    assert!(v(&second, "windows_total") >= 3.0, "{second_text}");
    let found = check_histogram(&second, "span_sentinel_trace_freshness_seconds");
    assert!(found >= v(&first, "traces_verified_total"), "{second_text}");
    check_histogram(&second, "span_sentinel_alert_detect_delay_seconds");
    check_histogram(&second, "span_sentinel_alert_clear_delay_seconds");
    // The ledger holds traces within their horizon only: at 40/s and a 5 s freshness timeout,
    // far fewer than were sent.
    let held = v(&second, "ledger_traces");
    assert!(
        held < 40.0 * 7.0 && held < v(&second, "traces_sent_total"),
        "{held}"
    );
    let statuses: Vec<_> = second
        .samples
        .iter()
        .filter(|s| s.metric == "span_sentinel_check_status")
        .collect();
    assert_eq!(statuses.len(), 8, "{second_text}");
    for s in statuses {
        assert!(s.labels.get("check").is_some());
        assert!(matches!(s.value, Value::Gauge(g) if (0.0..=3.0).contains(&g)));
    }
    assert!(second.docs["span_sentinel_check_status"].contains("0 pass"));
    let t = &outcome.totals;
    // 54 of 800 traces sent were in no column: every trace ends in exactly one.
    assert_eq!(
        t.traces_sent,
        t.traces_verified
            + t.traces_missing
            + t.traces_incorrect
            + t.traces_checked_unassembled
            + t.traces_pending,
        "{t:?}"
    );
    assert!(t.traces_checked_unassembled > 0, "{t:?}");
    // `watch` said nothing until the first window closed: a line a second now, and each
    // window's figures are its own (they add up to the totals), not cumulative.
    assert!(seconds.load(std::sync::atomic::Ordering::SeqCst) >= 6);
    let per_window: u64 = outcome
        .windows
        .iter()
        .map(|w| w.figures.traces_verified)
        .sum();
    assert_eq!(per_window, t.traces_verified, "{:#?}", outcome.windows);
    assert!(t.traces_verified as f64 >= v(&second, "traces_verified_total"));
    assert_eq!(
        t.traces_sent,
        t.traces_sent.max(v(&second, "traces_sent_total") as u64)
    );
    assert_eq!((t.traces_missing, t.traces_incorrect), (0, 0), "{t:?}");
    // The first burst (2-4 s) is decided in the drain, once its clear limit has passed.
    assert!(
        t.error_bursts_detected >= 1 && t.error_bursts_missed == 0,
        "{t:?}"
    );
}

fn watch_process(profile: &Path, grpc: &str, http: &str, json: &Path, extra: &[&str]) -> Child {
    bin()
        .arg("watch")
        .arg(profile)
        .args(["--target", &format!("grpc://{grpc}")])
        .args(["--query-url", &format!("http://{http}")])
        .args(["--window", "2s", "--metrics-addr", "127.0.0.1:0", "--quiet"])
        .arg("--json")
        .arg(json)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn report(path: &Path) -> Json {
    let r: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_matches_schema("watch.schema.json", &r);
    r
}

/// The restart hazards: the first process is killed mid-burst, its alert still firing and its
/// last traces still arriving; the second must judge only what it sent.
#[test]
fn a_restarted_watch_against_the_same_pipeline_reports_no_false_failures() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path());
    let serve = ServeChild::start(&[]);
    let (grpc, http) = (serve.grpc.clone(), serve.http.clone());

    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    let mut first = watch_process(&profile, &grpc, &http, &a, &[]);
    wait_for_line(&mut first, "metrics on");
    // Bursts run 2-4 s and 8-10 s after the ready line: stop in the middle of the second.
    std::thread::sleep(Duration::from_millis(9000));
    sigterm(&first);
    let code = first.wait().unwrap().code();
    assert!(matches!(code, Some(0 | 1)), "{code:?}");
    let ra = report(&a);
    assert_eq!(ra["stopped_by"], "signal");

    let mut second = watch_process(&profile, &grpc, &http, &b, &["--duration", "14s"]);
    let code = second.wait().unwrap().code();
    serve.terminate();
    assert!(matches!(code, Some(0 | 1)), "{code:?}");
    let rb = report(&b);
    let t = &rb["totals"];
    for key in [
        "traces_missing",
        "traces_incorrect",
        "traces_unexpected",
        "spurious_alerts",
        "error_bursts_missed",
    ] {
        assert_eq!(t[key], 0, "{key} after a restart: {rb:#}");
        assert_eq!(ra["totals"][key], 0, "{key} before the restart: {ra:#}");
    }
    assert!(t["traces_verified"].as_u64().unwrap() > 100, "{rb:#}");
    assert!(
        t["traces_checked_unassembled"].as_u64().unwrap() > 0,
        "{rb:#}"
    );
    assert!(t["error_bursts_detected"].as_u64().unwrap() >= 1, "{rb:#}");
    assert_ne!(ra["seed"], rb["seed"]);
    for r in [&ra, &rb] {
        let t = &r["totals"];
        let n = |k: &str| t[k].as_u64().unwrap();
        let columns = n("traces_verified")
            + n("traces_missing")
            + n("traces_incorrect")
            + n("traces_checked_unassembled")
            + n("traces_pending");
        assert_eq!(n("traces_sent"), columns, "a trace in no column: {r:#}");
    }
}

#[test]
fn bad_watch_flags_and_profile_fields_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[sentinel]\ntraces_per_sec = 10.0\nbogus = 1\n").unwrap();
    let code = |args: &[&str]| {
        let mut argv = vec!["span-sentinel", "watch"];
        argv.extend_from_slice(args);
        span_sentinel::cli::main_with_args(argv)
    };
    let two = std::process::ExitCode::from(2);
    assert_eq!(code(&["--window", "0s"]), two);
    assert_eq!(code(&["--duration", "soon"]), two);
    assert_eq!(code(&["--metrics-addr", "nowhere"]), two);
    assert_eq!(code(&["--target", "grpc://127.0.0.1:1"]), two);
    assert_eq!(code(&[bad.to_str().unwrap()]), two);
    let out = bin().arg("watch").arg(&bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("bad.toml:3"), "{stderr}");
    let shipped = crate::support::profile("continuous.toml");
    let plan = watch_plan(&WatchOverrides {
        run: RunOverrides {
            profile: Some(shipped),
            ..RunOverrides::default()
        },
        window: Duration::from_secs(60),
        duration: None,
        metrics_addr: "127.0.0.1:0".parse().unwrap(),
    });
    assert!(plan.is_ok(), "{:?}", plan.err());
}

#[test]
fn completions_cover_every_subcommand_in_bash_zsh_and_fish() {
    use clap_complete::Shell;
    let dir = tempfile::tempdir().unwrap();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let script = String::from_utf8(span_sentinel::cli::completions::script(shell)).unwrap();
        assert!(!script.is_empty());
        for sub in [
            "run",
            "load",
            "serve",
            "capacity",
            "fidelity",
            "watch",
            "completions",
        ] {
            assert!(script.contains(sub), "{shell:?} lacks {sub}");
        }
        assert!(script.contains("metrics-addr"), "{shell:?}");
    }
    let out = bin().args(["completions", "bash"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let path = dir.path().join("span-sentinel.bash");
    std::fs::write(&path, &out.stdout).unwrap();
    if let Ok(status) = Command::new("bash").arg("-n").arg(&path).status() {
        assert!(status.success(), "bash -n rejects the bash completions");
    }
}

/// `span-sentinel load --s<TAB>` and `run --isolation <TAB>` completed nothing: the bash
/// script's case arms did not match the states it computes for a hyphenated binary name.
#[test]
fn bash_completes_a_flag_and_an_enum_value_after_the_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("span-sentinel.bash");
    let script = span_sentinel::cli::completions::script(clap_complete::Shell::Bash);
    std::fs::write(&path, script).unwrap();
    let complete = |words: &str, cword: usize, cur: &str, prev: &str| {
        let line = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; \
             _span__sentinel span-sentinel '{cur}' '{prev}'; echo \"${{COMPREPLY[*]}}\"",
            path.display()
        );
        let out = Command::new("bash").arg("-c").arg(line).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let flags = complete("span-sentinel load --s", 2, "--s", "load");
    assert!(flags.split_whitespace().any(|w| w == "--sink"), "{flags:?}");
    let values = complete("span-sentinel run --isolation ''", 3, "", "--isolation");
    assert_eq!(values.trim(), "shared fair");
}
