//! Reports read back and re-rendered (`span-sentinel report`): snapshot tests of the terminal
//! and Markdown renderings of checked-in reports and of the `--baseline` comparison, the exit
//! code and message for files that are not reports, and the HTML report of a real run rendered
//! by a real browser (headless Chromium) with its charts in the DOM and no console errors.
//!
//! The fixtures under `tests/fixtures/` are real reports (`run.json`: profiles/smoke.toml with
//! seed 7; `capacity.json` and `fidelity.json`: short searches of this file's size), except
//! `run-baseline.json`: `run.json` with two load-phase checks made worse and one check removed
//! by hand, so that the comparison shows a check that moved, one that is new and none gone.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use span_sentinel::report::compare;
use span_sentinel::report::saved::SavedReport;

use crate::support::{Ran, assert_matches_schema, run_bin};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn saved(name: &str) -> SavedReport {
    SavedReport::read(&fixture(name)).unwrap()
}

#[test]
fn run_report_renders_on_the_terminal_and_as_markdown() {
    let r = saved("run.json");
    insta::assert_snapshot!("run_terminal", r.terminal());
    insta::assert_snapshot!("run_markdown", r.markdown());
}

#[test]
fn capacity_report_renders_on_the_terminal_and_as_markdown() {
    let r = saved("capacity.json");
    insta::assert_snapshot!("capacity_terminal", r.terminal());
    insta::assert_snapshot!("capacity_markdown", r.markdown());
}

#[test]
fn fidelity_report_renders_on_the_terminal_and_as_markdown() {
    let r = saved("fidelity.json");
    insta::assert_snapshot!("fidelity_terminal", r.terminal());
    insta::assert_snapshot!("fidelity_markdown", r.markdown());
}

#[test]
fn baseline_comparison_shows_every_check_old_and_new() {
    let (old, new) = (saved("run-baseline.json"), saved("run.json"));
    let changes = compare::compare(&old.rows(), &new.rows(), compare::DEFAULT_TOLERANCE);
    let (o, n) = ("run-baseline.json", "run.json");
    insta::assert_snapshot!("baseline_terminal", compare::terminal(&changes, o, n));
    insta::assert_snapshot!("baseline_markdown", compare::markdown(&changes, o, n));
}

#[test]
fn a_saved_report_reads_back_to_the_same_json() {
    // Deserialize must keep every field Serialize wrote, or re-rendering would lose evidence.
    for name in ["run.json", "capacity.json", "fidelity.json"] {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        let original: serde_json::Value = serde_json::from_str(&text).unwrap();
        let again = match SavedReport::parse(Path::new(name), &text).unwrap() {
            SavedReport::Run(r) => serde_json::to_value(r),
            SavedReport::Capacity(r) => serde_json::to_value(r),
            SavedReport::Fidelity(r) => serde_json::to_value(r),
        }
        .unwrap();
        assert_eq!(again, original, "{name}");
    }
    assert_matches_schema(
        "run.schema.json",
        &serde_json::to_value(saved_run()).unwrap(),
    );
}

fn saved_run() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("run.json")).unwrap()).unwrap()
}

#[test]
fn a_file_that_is_not_a_report_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "broken.json",
            "{\n  \"schema\": \"span-sentinel/run/v1\",\n  \"verdict\": \n",
            ":4:0: not valid JSON",
        ),
        ("other.json", "{\"hello\": 1}", "not a span-sentinel report"),
        (
            "load.json",
            "{\"schema\": \"span-sentinel/load/v1\"}",
            "cannot be re-rendered",
        ),
        (
            "partial.json",
            "{\"schema\": \"span-sentinel/run/v1\"}",
            "not a valid span-sentinel/run/v1 report: missing field",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let err = SavedReport::read(&path).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(err.contains(expected), "{name}: {err}");
        let code =
            span_sentinel::cli::main_with_args(["span-sentinel", "report", path.to_str().unwrap()]);
        assert_eq!(code, ExitCode::from(2), "{name}");
    }
    // Comparing different kinds is a usage error too.
    let code = span_sentinel::cli::main_with_args([
        "span-sentinel",
        "report",
        fixture("run.json").to_str().unwrap(),
        "--baseline",
        fixture("fidelity.json").to_str().unwrap(),
    ]);
    assert_eq!(code, ExitCode::from(2));
}

#[test]
fn report_writes_markdown_and_html_files() {
    let dir = tempfile::tempdir().unwrap();
    let (md, html) = (dir.path().join("r.md"), dir.path().join("r.html"));
    let code = span_sentinel::cli::main_with_args([
        "span-sentinel",
        "report",
        fixture("run.json").to_str().unwrap(),
        "--baseline",
        fixture("run-baseline.json").to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, ExitCode::SUCCESS);
    let md = std::fs::read_to_string(md).unwrap();
    assert!(md.starts_with("# span-sentinel run: pass"), "{md}");
    assert!(md.contains("## Against the baseline"), "{md}");
    let html = std::fs::read_to_string(html).unwrap();
    assert!(
        html.contains("<table id=\"baseline\">"),
        "no comparison in the HTML"
    );
    for id in RUN_CHARTS {
        assert!(html.contains(&format!("<svg id=\"{id}\"")), "{id} missing");
    }
    for name in ["capacity.json", "fidelity.json"] {
        let page = saved(name).html();
        let id = if name == "capacity.json" {
            "chart-steps"
        } else {
            "chart-fidelity"
        };
        assert!(page.contains(&format!("<svg id=\"{id}\"")), "{name}");
        assert!(
            !page.contains("<script"),
            "{name}: no JavaScript in the report"
        );
    }
}

/// The charts of a run's HTML report.
const RUN_CHARTS: [&str; 4] = [
    "chart-load",
    "chart-freshness",
    "chart-traces",
    "chart-alerts",
];

/// A short run with every phase kind and a burst in each verified phase: 1 + 5 + 4 + 4 s.
const SHORT_RUN: &str = "[[phases]]\nname = \"warmup\"\nkind = \"warmup\"\nduration = \"1s\"\n\
    [[phases]]\nname = \"baseline\"\nkind = \"baseline\"\nduration = \"5s\"\n\
    [[phases]]\nname = \"load\"\nkind = \"load\"\nduration = \"4s\"\n\
    [[phases]]\nname = \"recovery\"\nkind = \"recovery\"\nduration = \"4s\"\n\
    [sentinel]\ntraces_per_sec = 40.0\nsettle = \"1s\"\nfreshness_timeout = \"3s\"\n\
    [sentinel.bursts]\noffset = \"2s\"\nperiod = \"5s\"\nburst = \"2s\"\n\
    [load]\nthreads = 1\n[load.rate]\nprofile = \"constant\"\nspans_per_sec = 20000.0\n\
    [checks]\nmin_traces = 10\n[pipeline]\nsettle = \"1s\"\nalert_interval = \"250ms\"\n";

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("SPAN_SENTINEL_CHROMIUM").filter(|p| !p.is_empty()) {
        return p.into();
    }
    let found = Command::new("sh")
        .args(["-c", "command -v chromium"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    found.map(PathBuf::from).expect(
        "no chromium: run `eval \"$(bash scripts/setup-peers.sh)\"` (it installs it and sets SPAN_SENTINEL_CHROMIUM)",
    )
}

/// Runs headless Chromium with `args` on `page`, killed after 90 s; returns stdout and stderr.
fn run_chromium(profile_dir: &Path, args: &[&str], page: &Path) -> (String, String) {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile_dir.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn html_report_of_a_real_run_renders_in_chromium_with_its_charts() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("short.toml");
    std::fs::write(&profile, SHORT_RUN).unwrap();
    let (json, html) = (dir.path().join("run.json"), dir.path().join("run.html"));
    let code = span_sentinel::cli::main_with_args([
        "span-sentinel",
        "run",
        profile.to_str().unwrap(),
        "--seed",
        "7",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(code == ExitCode::SUCCESS || code == ExitCode::from(1));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_matches_schema("run.schema.json", &report);
    let t = &report["timeline"];
    assert!(t["samples"].as_array().unwrap().len() >= 12, "{t:#}");
    assert!(!t["bursts"].as_array().unwrap().is_empty(), "{t:#}");
    let load_samples: Vec<f64> = t["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["phase"] == "load")
        .map(|s| s["achieved_spans_per_sec"].as_f64().unwrap())
        .collect();
    assert!(
        load_samples.iter().any(|r| *r > 10_000.0),
        "{load_samples:?}"
    );

    let page = std::fs::read_to_string(&html).unwrap();
    for id in RUN_CHARTS {
        assert!(page.contains(&format!("<svg id=\"{id}\"")), "{id} missing");
    }
    assert!(page.contains("id=\"checks\""));
    // Self-contained: no script, no stylesheet, image or font fetched from anywhere.
    for fetch in ["<script", "<link", " src=", "href=", "url(", "@import"] {
        assert!(!page.contains(fetch), "the page has {fetch}");
    }

    let png = dir.path().join("run.png");
    let shot = format!("--screenshot={}", png.display());
    let (_, stderr) = run_chromium(
        &dir.path().join("chromium"),
        &[
            "--window-size=1000,2400",
            "--enable-logging=stderr",
            "--v=0",
            &shot,
        ],
        &html,
    );
    for bad in ["Uncaught", "ERROR:CONSOLE", "Failed to load resource"] {
        assert!(!stderr.contains(bad), "chromium reported {bad}:\n{stderr}");
    }
    let bytes = std::fs::read(&png).expect("chromium wrote no screenshot");
    assert_eq!(png_size(&bytes), (1000, 2400));
    assert!(bytes.len() > 30_000, "a blank page? {} bytes", bytes.len());
    let (dom, _) = run_chromium(&dir.path().join("chromium"), &["--dump-dom"], &html);
    for id in RUN_CHARTS {
        assert!(dom.contains(&format!("id=\"{id}\"")), "{id} not in the DOM");
    }
    assert!(
        dom.matches("<polyline").count() >= 4,
        "lines missing from the DOM"
    );
}

#[test]
fn an_html_path_that_cannot_be_created_fails_before_any_load() {
    let started = Instant::now();
    let code = span_sentinel::cli::main_with_args([
        "span-sentinel",
        "run",
        "--quiet",
        "--html",
        "/nonexistent-dir/run.html",
    ]);
    assert_eq!(code, ExitCode::from(2));
    assert!(started.elapsed() < Duration::from_secs(5), "it ran first");
}

/// `report --baseline` called a halved capacity "same" (`0 worse`) and exited 0 whatever it
/// found; `--fail-on-worse` makes a regression beyond `--tolerance` exit 1.
#[test]
fn fail_on_worse_exits_1_when_the_capacity_halves() {
    let dir = tempfile::tempdir().unwrap();
    let halved = dir.path().join("halved.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("capacity.json")).unwrap()).unwrap();
    let found = json["capacity_at_least"].as_f64().unwrap();
    json["capacity_at_least"] = (found / 2.0).into();
    std::fs::write(&halved, json.to_string()).unwrap();
    let report = |new: &Path, old: &Path, extra: &[&str]| {
        let mut argv = vec![
            "span-sentinel".to_string(),
            "report".into(),
            new.display().to_string(),
            "--baseline".into(),
            old.display().to_string(),
            "--fail-on-worse".into(),
        ];
        argv.extend(extra.iter().map(|s| s.to_string()));
        span_sentinel::cli::main_with_args(argv)
    };
    let original = fixture("capacity.json");
    assert_eq!(report(&halved, &original, &[]), ExitCode::from(1));
    assert_eq!(report(&original, &halved, &[]), ExitCode::SUCCESS);
    assert_eq!(
        report(&halved, &original, &["--tolerance", "60%"]),
        ExitCode::SUCCESS
    );
    let rows = |p: &Path| SavedReport::read(p).unwrap().rows();
    let changes = compare::compare(&rows(&original), &rows(&halved), 0.05);
    let capacity = changes
        .iter()
        .find(|c| c.check == "capacity_spans_per_sec")
        .unwrap();
    assert_eq!(capacity.movement, compare::Movement::Worse);
}

/// Regression (issue 28, point 12): a run whose verdict worsened with every check the same, and
/// a capacity report whose capacity became none, passed `--fail-on-worse`.
#[test]
fn fail_on_worse_exits_1_on_a_worse_run_verdict_and_on_a_capacity_that_became_none() {
    let dir = tempfile::tempdir().unwrap();
    let edited = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        edit(&mut json);
        let path = dir.path().join(format!("edited-{name}"));
        std::fs::write(&path, json.to_string()).unwrap();
        path
    };
    let failed = edited("run.json", &|j| j["verdict"] = "fail".into());
    let none = edited("capacity.json", &|j| {
        j["capacity_at_least"] = serde_json::Value::Null;
        j["max_sustainable_spans_per_sec"] = serde_json::Value::Null;
    });
    for (new, old) in [
        (failed, fixture("run.json")),
        (none, fixture("capacity.json")),
    ] {
        let code = span_sentinel::cli::main_with_args([
            "span-sentinel",
            "report",
            new.to_str().unwrap(),
            "--baseline",
            old.to_str().unwrap(),
            "--fail-on-worse",
        ]);
        assert_eq!(
            code,
            ExitCode::from(1),
            "{} against {}",
            new.display(),
            old.display()
        );
    }
}

/// `report --markdown FILE` / `--html FILE` printed the whole terminal report as well.
#[test]
fn report_to_files_says_what_it_wrote_and_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let (md, html) = (dir.path().join("r.md"), dir.path().join("r.html"));
    let (md_s, html_s) = (md.to_str().unwrap(), html.to_str().unwrap());
    let run = fixture("run.json");
    let run = run.to_str().unwrap();
    let Ran { code, stdout, .. } = run_bin(&["report", run, "--markdown", md_s, "--html", html_s]);
    assert_eq!(code, Some(0));
    assert_eq!(
        stdout,
        format!("wrote the Markdown report to {md_s}\nwrote the HTML report to {html_s}\n")
    );
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .contains("histogram_error")
    );
    let baseline = fixture("run-baseline.json");
    let baseline = baseline.to_str().unwrap();
    let Ran { stdout, .. } = run_bin(&["report", run, "--baseline", baseline, "--html", html_s]);
    assert!(stdout.starts_with("wrote the HTML report to"), "{stdout}");
    // The checks that moved, and the verdict row run comparisons carry.
    assert!(stdout.contains("0 worse, 3 better"), "{stdout}");
    assert!(!stdout.contains("trace_completeness"), "{stdout}");
    // Markdown to stdout: stdout is the Markdown alone, what else was written on stderr.
    let Ran { stdout, stderr, .. } = run_bin(&["report", run, "--html", html_s, "--markdown"]);
    assert!(stdout.starts_with('#'), "{stdout}");
    assert!(!stdout.contains("wrote"), "{stdout}");
    assert!(stderr.contains("wrote the HTML report to"), "{stderr}");
    // No file asked for: the terminal report.
    let Ran { stdout, .. } = run_bin(&["report", run]);
    assert!(stdout.contains("verdict: pass"), "{stdout}");
}

/// Observed values were printed with four decimals: `0.0010` (for 0.000977) beside a limit of
/// `0.005`.
#[test]
fn small_observed_values_show_their_significant_digits() {
    let terminal = saved("run.json").terminal();
    let line = terminal
        .lines()
        .find(|l| l.starts_with("histogram_error      baseline"))
        .unwrap();
    assert!(line.contains(" 0.000977 "), "{line}");
}
