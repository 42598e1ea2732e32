//! `watch` as it is run in production (`docs/watch.md`): its alert rules pass their `promtool`
//! unit tests, each rule fires in one case and stays quiet in another; a real watch answers
//! `/healthz` at once and `/readyz` only once its rule is set up and its first window started;
//! every query of the Grafana dashboard names metrics a real watch exports and parses as PromQL.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::ServeChild;
use crate::support::files::BURSTY_WATCH_PROFILE;
use crate::support::peers::peer_path;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn promtool(args: &[&str]) -> Output {
    let promtool = peer_path("SPAN_SENTINEL_PROMTOOL");
    Command::new(&promtool)
        .args(args)
        .current_dir(repo("prometheus"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", promtool.display()))
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A YAML file as JSON, by the YAML parser the Kubernetes validator brings (PyYAML).
fn yaml(path: &Path) -> Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .env("PYTHONPATH", peer_path("SPAN_SENTINEL_PY_PATH"))
        .output()
        .expect("python3 runs");
    assert_success(&out, "PyYAML");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_alert_rule_passes_promtool_tests_that_fire_it_and_keep_it_quiet() {
    assert_success(
        &promtool(&["check", "rules", "sentinel-alerts.yml"]),
        "promtool check rules",
    );
    assert_success(
        &promtool(&["test", "rules", "sentinel-alerts.test.yml"]),
        "promtool test rules",
    );
    let rules = yaml(&repo("prometheus/sentinel-alerts.yml"));
    let tests = yaml(&repo("prometheus/sentinel-alerts.test.yml"));
    let cases: Vec<&Value> = tests["tests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().unwrap())
        .collect();
    let rules = rules["groups"][0]["rules"].as_array().unwrap();
    assert!(rules.len() >= 8, "{rules:?}");
    for rule in rules {
        let name = rule["alert"].as_str().unwrap();
        assert!(rule["for"].is_string(), "{name} has no for:");
        assert!(rule["labels"]["severity"].is_string(), "{name}: severity");
        let description = rule["annotations"]["description"].as_str().unwrap_or("");
        assert!(description.contains("look"), "{name}: {description:?}");
        assert!(rule["expr"].as_str().unwrap().contains("span_sentinel_"));
        let of_rule = cases.iter().filter(|c| c["alertname"] == name);
        let fired: Vec<bool> = of_rule
            .map(|c| !c["exp_alerts"].as_array().unwrap().is_empty())
            .collect();
        assert!(fired.contains(&true), "no case in which {name} fires");
        assert!(
            fired.contains(&false),
            "no case in which {name} stays quiet"
        );
    }
}

/// A port free a moment ago: `/healthz` must be reachable before the watch prints its address,
/// which it does only once it is ready.
fn free_port() -> SocketAddr {
    crate::support::peers::loopback(crate::support::peers::free_port())
}

/// `GET path` over HTTP/1.0: the status code and the body, or `None` while nothing listens.
fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_owned()))
}

/// Alert window 2 s and clear after 2 s: a watch waits 5 s for a quiet rule before it sends.
const PROFILE: &str = r#"
[sentinel]
traces_per_sec = 20.0
freshness_timeout = "5s"
retry_max_elapsed = "2s"

[sentinel.alert]
window = "2s"
clear_after = "2s"

[checks]
min_traces = 5
"#;

struct Watch {
    child: Child,
    metrics: SocketAddr,
    _serve: ServeChild,
    _dir: tempfile::TempDir,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real `serve`, and a real `watch` against it (as the Deployment runs it) on a picked port.
fn start_watch() -> Watch {
    let serve = ServeChild::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("watch.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let metrics = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_span-sentinel"))
        .arg("watch")
        .arg(&profile)
        .arg(format!("--target=grpc://{}", serve.grpc))
        .arg(format!("--query-url=http://{}", serve.http))
        .args(["--window=2s", "--duration=60s", "--quiet"])
        .arg(format!("--metrics-addr={metrics}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Watch {
        child,
        metrics,
        _serve: serve,
        _dir: dir,
    }
}

/// Polls `f` every 50 ms until it returns `Some`, for at most `limit`.
fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(start.elapsed() < limit, "nothing after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_real_watch_is_alive_at_once_and_ready_only_after_its_rule_and_first_window() {
    let w = start_watch();
    let addr = w.metrics;
    let (code, _) = poll(Duration::from_secs(20), || get(addr, "/healthz"));
    assert_eq!(code, 200, "/healthz once the listener is bound");
    let (code, body) = get(addr, "/readyz").unwrap();
    assert_eq!(code, 503, "ready before the rule is quiet: {body}");
    assert_eq!(get(addr, "/metrics").unwrap().0, 200);
    assert_eq!(get(addr, "/nothing").unwrap().0, 404);
    let not_ready_since = Instant::now();
    poll(Duration::from_secs(60), || {
        (get(addr, "/readyz")?.0 == 200).then_some(())
    });
    // The watch waits alert window + clear_after + 1 s = 5 s for a quiet rule before its first
    // window starts; the listener was bound before that wait began.
    assert!(
        not_ready_since.elapsed() >= Duration::from_secs(3),
        "ready after {:?}",
        not_ready_since.elapsed()
    );
    assert_eq!(get(addr, "/healthz").unwrap().0, 200);
    // Ready means sending: the first window is under way and traces go out.
    let sent = poll(Duration::from_secs(20), || {
        let (_, text) = get(addr, "/metrics")?;
        let line = text
            .lines()
            .find(|l| l.starts_with("span_sentinel_traces_sent_total "))?;
        let n: f64 = line.rsplit(' ').next()?.parse().ok()?;
        (n > 0.0).then_some(n)
    });
    assert!(sent > 0.0);
}

/// The sample names of a real watch's `/metrics` (`_bucket`, `_sum`, `_count` as exposed).
fn exported_names() -> BTreeSet<String> {
    let w = start_watch();
    let (code, text) = poll(Duration::from_secs(20), || get(w.metrics, "/metrics"));
    assert_eq!(code, 200);
    let names: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_owned())
        .collect();
    assert!(names.contains("span_sentinel_windows_total"), "{text}");
    names
}

/// PromQL words that are not metric names: the functions, aggregations and keywords the
/// dashboard uses. A word not here and not exported fails the test, so a new function must be
/// added here on purpose.
const PROMQL_WORDS: &[&str] = &["sum", "max", "by", "rate", "increase", "histogram_quantile"];

/// Words after which a parenthesised list holds label names, not expressions.
const GROUPINGS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The bare words of an expression outside label matchers, grouping label lists, ranges and
/// strings: its metric names, functions and keywords.
fn words(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let (mut out, mut i) = (Vec::new(), 0);
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    while i < chars.len() {
        let c = chars[i];
        if let Some(close) = match c {
            '{' => Some('}'),
            '[' => Some(']'),
            '"' => Some('"'),
            _ => None,
        } {
            i += 1 + chars[i + 1..].iter().position(|d| *d == close).unwrap();
        } else if is_word(c) && !c.is_ascii_digit() {
            let len = chars[i..].iter().take_while(|d| is_word(**d)).count();
            let word: String = chars[i..i + len].iter().collect();
            i += len;
            let next = i + chars[i..].iter().take_while(|d| d.is_whitespace()).count();
            if GROUPINGS.contains(&word.as_str()) && chars.get(next) == Some(&'(') {
                i = next + 1 + chars[next..].iter().position(|d| *d == ')').unwrap();
            }
            out.push(word);
            continue;
        } else if c.is_ascii_digit() {
            i += chars[i..]
                .iter()
                .take_while(|d| is_word(**d) || **d == '.')
                .count();
            continue;
        }
        i += 1;
    }
    out
}

/// Every `expr` of every panel's targets.
fn dashboard_queries() -> Vec<String> {
    let path = repo("deploy/grafana/span-sentinel-watch.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let queries: Vec<String> = panels
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap())
        .map(|t| t["expr"].as_str().unwrap().to_owned())
        .collect();
    assert!(queries.len() >= 10, "{queries:?}");
    queries
}

#[test]
fn every_dashboard_query_names_metrics_a_real_watch_exports_and_parses_as_promql() {
    let queries = dashboard_queries();
    let exported = exported_names();
    for q in &queries {
        let names: Vec<String> = words(q)
            .into_iter()
            .filter(|w| !PROMQL_WORDS.contains(&w.as_str()))
            .collect();
        assert!(!names.is_empty(), "{q} names no metric");
        for name in names {
            assert!(exported.contains(&name), "{q}: {name} is not exported");
        }
    }
    // promtool's parser: each query as a recording rule of a generated rule file.
    let dir = tempfile::tempdir().unwrap();
    let mut file = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, q) in queries.iter().enumerate() {
        let quoted = serde_json::to_string(q).unwrap();
        file.push_str(&format!(
            "      - record: dashboard_query_{i}\n        expr: {quoted}\n"
        ));
    }
    let path = dir.path().join("dashboard-queries.yml");
    std::fs::write(&path, file).unwrap();
    let out = promtool(&["check", "rules", path.to_str().unwrap()]);
    assert_success(&out, "promtool check rules on the dashboard's queries");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("{} rules found", queries.len())),
        "{said}"
    );
}

#[test]
fn the_query_word_splitter_sees_names_not_labels_or_ranges() {
    let w = words(r#"sum by (le) (rate(a_bucket{job="x", le=~"1.*"}[5m])) / b_total + 2"#);
    assert_eq!(w, ["sum", "by", "rate", "a_bucket", "b_total"]);
    let w = words("histogram_quantile(0.99, sum without (a, b) (c)) > 1e3");
    assert_eq!(w, ["histogram_quantile", "sum", "without", "c"]);
}

/// A 12 s watch against `serve` whose webhook receiver listens on every interface and tells
/// the pipeline `url`; its report's totals.
fn watch_with_webhook(listen: SocketAddr, url: &str) -> Value {
    let serve = ServeChild::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (profile, json) = (dir.path().join("w.toml"), dir.path().join("w.json"));
    std::fs::write(&profile, BURSTY_WATCH_PROFILE).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_span-sentinel"))
        .arg("watch")
        .arg(&profile)
        .arg(format!("--target=grpc://{}", serve.grpc))
        .arg(format!("--query-url=http://{}", serve.http))
        .args(["--window=3s", "--duration=12s", "--quiet"])
        .args(["--metrics-addr=127.0.0.1:0"])
        .arg(format!("--webhook-listen={listen}"))
        .arg(format!("--webhook-url={url}"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    report["totals"].clone()
}

/// As the Deployment runs it: the receiver on 0.0.0.0 and the URL of an address the pipeline
/// reaches. Every burst notifies; told a URL where nothing listens, every burst is missed, so
/// the notification goes where `--webhook-url` says, not to the bound address.
#[test]
fn a_webhook_listening_on_every_interface_is_notified_at_the_url_it_advertises() {
    // Both watches at once (each against its own `serve`): the suite waits for one, not two.
    let heard = SocketAddr::from(([0, 0, 0, 0], free_port().port()));
    let unheard = SocketAddr::from(([0, 0, 0, 0], free_port().port()));
    let nowhere = free_port().port();
    let (t, lost) = std::thread::scope(|s| {
        let t = s.spawn(|| {
            watch_with_webhook(heard, &format!("http://127.0.0.1:{}/hook", heard.port()))
        });
        let lost =
            s.spawn(|| watch_with_webhook(unheard, &format!("http://127.0.0.1:{nowhere}/hook")));
        (t.join().unwrap(), lost.join().unwrap())
    });
    assert!(t["error_bursts_detected"].as_u64().unwrap() >= 1, "{t:#}");
    assert_eq!(t["error_bursts_missed"], 0, "{t:#}");
    assert!(
        lost["error_bursts_missed"].as_u64().unwrap() >= 1,
        "{lost:#}"
    );
    assert_eq!(lost["error_bursts_detected"], 0, "{lost:#}");
}

/// A receiver bound to every interface says nothing of where the pipeline reaches it.
#[test]
fn a_webhook_on_every_interface_without_its_url_exits_2_naming_the_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_span-sentinel"))
        .args(["watch", "--webhook-listen=0.0.0.0:9466", "--duration=1s"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--webhook-url"), "{stderr}");
}

/// A receiver address already taken is bad input, named, not an internal error.
#[test]
fn a_webhook_address_in_use_exits_2_naming_the_flag() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_span-sentinel"))
        .args(["watch", "--duration=1s", "--metrics-addr=127.0.0.1:0"])
        .arg(format!("--webhook-listen={addr}"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("--webhook-listen {addr}: cannot listen there")),
        "{stderr}"
    );
}
