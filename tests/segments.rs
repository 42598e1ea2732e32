//! Execution segments end to end: four `load` processes, each sending a quarter of one seeded
//! test from a common `--start-at`, against one `serve`; what the pipeline accepted must equal
//! the sum of their reports and what one process sends alone. Bad segment sets exit 2.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::support::pipeline::{builder, http_client, send};
use crate::support::{ServeChild as Serve, bin, n};

/// 98 spans a batch (14 traces of 7) at 980 spans/s for 3 s: a batch every 100 ms, the last
/// due at 2.9 s, so 30 batches and 2,940 spans, with room for a busy machine at the end.
const LOAD: [&str; 10] = [
    "--rate",
    "980",
    "--duration",
    "3s",
    "--batch",
    "98",
    "--seed",
    "15",
    "--tenant",
    "segments",
];
const WHOLE_TEST_SPANS: u64 = 2_940;

fn serve() -> Serve {
    Serve::start(&[])
}

/// The spans the pipeline accepted for the test's tenant.
fn accepted(serve: &Serve) -> u64 {
    let url = format!("http://{}/api/v1/stats", serve.http);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let raw = rt.block_on(send(
        &http_client(),
        builder("GET", &url, Some("segments"))
            .body(Default::default())
            .unwrap(),
    ));
    raw.json()["tenant"]["accepted_spans"].as_u64().unwrap()
}

/// Starts `load` against `serve` with the test's load and `extra`, writing its report to `json`.
fn load(serve: &Serve, json: &std::path::Path, extra: &[&str]) -> Child {
    bin()
        .args(["load", "--quiet", "--target"])
        .arg(format!("grpc://{}", serve.grpc))
        .args(LOAD)
        .arg("--json")
        .arg(json)
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn finish(mut child: Child, json: &std::path::Path) -> Value {
    assert!(child.wait().unwrap().success());
    let report = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    crate::support::assert_matches_schema("load.schema.json", &report);
    report
}

#[test]
fn four_segments_send_exactly_what_one_process_sends() {
    let dir = tempfile::tempdir().unwrap();
    let serve = serve();
    let at = humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(3));
    let at = at.to_string();
    let segments: Vec<_> = (0..4)
        .map(|i| {
            let json = dir.path().join(format!("segment-{i}.json"));
            let segment = format!("{i}/4");
            let args = ["--segment", &segment, "--start-at", &at, "--threads", "1"];
            (load(&serve, &json, &args), json)
        })
        .collect();
    let reports: Vec<Value> = segments.into_iter().map(|(c, j)| finish(c, &j)).collect();
    let acked: u64 = reports.iter().map(|r| n(r, "acked_spans")).sum();
    assert_eq!(
        accepted(&serve),
        acked,
        "the pipeline against the segments' reports"
    );
    for (i, r) in reports.iter().enumerate() {
        assert_eq!(r["segment"]["index"], i, "{r}");
        assert_eq!(r["segment"]["count"], 4, "{r}");
        assert_eq!(n(r, "sent_spans"), n(r, "acked_spans"), "{r}");
        assert_eq!(r["start"]["scheduled"], at.replace('Z', "000Z"), "{r}");
        // A quarter of the test's 30 batches each, give or take the golden-ratio spread.
        assert!((5..=10).contains(&n(r, "batches")), "{r}");
    }

    let paths: Vec<_> = (0..4)
        .map(|i| dir.path().join(format!("segment-{i}.json")))
        .collect();
    let merged = merged_report(&paths, &dir.path().join("merged.json"));
    assert_eq!(
        n(&merged, "acked_spans"),
        accepted(&serve),
        "merged against the pipeline"
    );
    assert_eq!(n(&merged, "sent_spans"), acked, "{merged}");
    assert_eq!(merged["merged_from"].as_array().unwrap().len(), 4);
    assert!(merged.get("segment").is_none(), "{merged}");
    let latency_count = |r: &Value| export_latency(r).len();
    assert_eq!(
        latency_count(&merged),
        reports.iter().map(latency_count).sum::<u64>(),
        "the merged histogram against the segments'"
    );
    assert_eq!(latency_count(&merged), n(&merged, "batches"));
    let per_second: u64 = merged["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| n(s, "acked_spans"))
        .sum();
    assert_eq!(per_second, acked, "the merged timeline against the counts");

    let json = dir.path().join("whole.json");
    let whole = finish(load(&serve, &json, &["--threads", "2"]), &json);
    assert_eq!(
        n(&whole, "acked_spans"),
        acked,
        "one process against four segments"
    );
    assert_eq!(n(&merged, "acked_spans"), n(&whole, "acked_spans"));
    assert_eq!(merged["test_digest"], whole["test_digest"]);
    assert_eq!(acked, WHOLE_TEST_SPANS);
    assert_eq!(accepted(&serve), 2 * acked);
    assert!(whole.get("segment").is_none(), "{whole}");
    reports_of_other_runs_or_segment_sets_are_refused(&paths, &json, dir.path());
}

/// The export-latency histogram of a report, decoded from its V2 serialization.
fn export_latency(report: &Value) -> hdrhistogram::Histogram<u64> {
    use base64::Engine as _;
    let text = report["histograms"]["export_latency_us"].as_str().unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .unwrap()
}

/// `span-sentinel merge REPORTS --json OUT`: exit code and stderr.
fn merge(reports: &[std::path::PathBuf], out: &std::path::Path) -> (Option<i32>, String) {
    let run = bin()
        .arg("merge")
        .args(reports)
        .arg("--json")
        .arg(out)
        .output()
        .unwrap();
    (
        run.status.code(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

/// Merges `reports` into `out`, which must succeed and match the load schema.
fn merged_report(reports: &[std::path::PathBuf], out: &std::path::Path) -> Value {
    let (code, stderr) = merge(reports, out);
    assert_eq!(code, Some(0), "{stderr}");
    let merged = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    crate::support::assert_matches_schema("load.schema.json", &merged);
    merged
}

/// A copy of `report` in `dir` with `edit` applied.
fn edited(
    report: &std::path::Path,
    dir: &std::path::Path,
    name: &str,
    edit: impl Fn(&mut Value),
) -> std::path::PathBuf {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    edit(&mut v);
    let path = dir.join(name);
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

fn reports_of_other_runs_or_segment_sets_are_refused(
    seg: &[std::path::PathBuf],
    whole: &std::path::Path,
    dir: &std::path::Path,
) {
    let other_seed = edited(&seg[3], dir, "seed.json", |v| v["seed"] = 16.into());
    let other_test = edited(&seg[3], dir, "test.json", |v| {
        v["test_digest"] = format!("sha256:{}", "0".repeat(64)).into()
    });
    let old = edited(&seg[3], dir, "old.json", |v| {
        v.as_object_mut().unwrap().remove("histograms");
    });
    let s = |i: usize| seg[i].clone();
    let w = whole.to_owned();
    let cases: [(Vec<std::path::PathBuf>, &str, &std::path::Path); 7] = [
        (vec![s(0), s(1), s(3)], "gap [1/2, 3/4)", &seg[3]),
        (vec![s(0), s(1), s(2)], "gap [3/4, 1)", &seg[2]),
        (vec![s(0), s(1), s(1), s(2), s(3)], "overlaps", &seg[1]),
        (vec![w, s(0), s(1), s(2), s(3)], "overlaps", &seg[0]),
        (
            vec![s(0), s(1), s(2), other_seed.clone()],
            "field `seed`",
            &other_seed,
        ),
        (
            vec![s(0), s(1), s(2), other_test.clone()],
            "field `test_digest`",
            &other_test,
        ),
        (
            vec![s(0), s(1), s(2), old.clone()],
            "missing field `histograms`",
            &old,
        ),
    ];
    let out = dir.join("refused.json");
    for (reports, names, file) in cases {
        let (code, stderr) = merge(&reports, &out);
        assert_eq!(code, Some(2), "{reports:?}: {stderr}");
        assert!(
            stderr.contains(names),
            "{reports:?} should say {names}: {stderr}"
        );
        let file = file.display().to_string();
        assert!(
            stderr.contains(&file),
            "{reports:?} should name {file}: {stderr}"
        );
        assert!(!out.exists(), "a refused merge leaves no report");
    }
    // A/A: the same four in any order merge.
    merged_report(&[s(3), s(1), s(0), s(2)], &out);
}

/// Runs `load ARGS` against the discard sink; returns the exit code and stderr.
fn refused(args: &[&str]) -> (Option<i32>, String) {
    let out = bin()
        .args(["load", "--sink", "discard", "--duration", "1s", "--quiet"])
        .args(args)
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn segment_sets_with_a_gap_or_an_overlap_are_refused() {
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "--execution-segment",
                "0:1/4",
                "--execution-segment-sequence",
                "0,1/4,3/4",
            ],
            "gap",
        ),
        (
            &[
                "--execution-segment",
                "1/4:1/2",
                "--execution-segment-sequence",
                "0,1/4,1/2,1/3,1",
            ],
            "overlap",
        ),
        (&["--execution-segment", "1/2:1/4"], "--execution-segment"),
        (&["--segment", "4/4"], "--segment 4/4"),
        (&["--segments", "4"], "JOB_COMPLETION_INDEX"),
        (&["--start-at", "soon"], "--start-at"),
    ];
    for (args, names) in cases {
        let (code, stderr) = refused(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(names),
            "{args:?} should name {names}: {stderr}"
        );
    }
    let out = bin()
        .args([
            "load",
            "--sink",
            "discard",
            "--duration",
            "1s",
            "--quiet",
            "--segments",
            "4",
        ])
        .env("JOB_COMPLETION_INDEX", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("JOB_COMPLETION_INDEX=\"x\""));
}

/// `run --segment I/2 ARGS` against `serve`, from `at`, writing its report to `json`.
fn run_segment(serve: &Serve, i: usize, at: &str, json: &std::path::Path) -> Child {
    let smoke = crate::support::profile("smoke.toml");
    bin()
        .arg("run")
        .arg(smoke)
        .args(["--target", &format!("grpc://{}", serve.grpc)])
        .args(["--query-url", &format!("http://{}", serve.http)])
        .args(["--segment", &format!("{i}/2"), "--start-at", at, "--quiet"])
        .arg("--json")
        .arg(json)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// The unruly load's spans the pipeline accepted.
fn accepted_unruly(serve: &Serve) -> u64 {
    let url = format!("http://{}/api/v1/stats", serve.http);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let raw = rt.block_on(send(
        &http_client(),
        builder("GET", &url, Some("unruly"))
            .body(Default::default())
            .unwrap(),
    ));
    raw.json()["tenant"]["accepted_spans"].as_u64().unwrap()
}

#[test]
fn a_split_run_judges_the_sentinel_once_beside_the_whole_load() {
    let dir = tempfile::tempdir().unwrap();
    let serve = serve();
    let at = humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(2));
    let at = at.to_string();
    let children: Vec<_> = (0..2)
        .map(|i| {
            let json = dir.path().join(format!("run-{i}.json"));
            (run_segment(&serve, i, &at, &json), json)
        })
        .collect();
    let mut reports = Vec::new();
    for (mut child, json) in children {
        let code = child.wait().unwrap().code();
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        crate::support::assert_matches_schema("run.schema.json", &report);
        reports.push((code, report));
    }
    let (sentinel, other) = (&reports[0], &reports[1]);
    assert_eq!(sentinel.1["sentinel_segment"], 0);
    assert!(
        !sentinel.1["checks"].as_array().unwrap().is_empty(),
        "{:#}",
        sentinel.1
    );
    assert_eq!(sentinel.1["verdict"], "pass", "{:#}", sentinel.1);
    assert_eq!(sentinel.0, Some(0));
    // The load-only segment observed none of the sentinel: no check, never a pass.
    assert_eq!(
        other.1["checks"].as_array().unwrap().len(),
        0,
        "{:#}",
        other.1
    );
    assert_eq!(other.1["verdict"], "inconclusive");
    assert_eq!(other.0, Some(1));
    let warned = other.1["warnings"].to_string();
    assert!(warned.contains("the sentinel ran in segment 0"), "{warned}");
    let load_acked = |r: &Value| r["phases"][2]["load"]["acked_spans"].as_u64().unwrap();
    let (a, b) = (load_acked(&sentinel.1), load_acked(&other.1));
    assert!(
        a.abs_diff(b) < (a + b) / 10,
        "halves of the load: {a} and {b}"
    );
    assert_eq!(
        accepted_unruly(&serve),
        a + b,
        "the pipeline against both segments"
    );
    let paths: Vec<_> = (0..2)
        .map(|i| dir.path().join(format!("run-{i}.json")))
        .collect();
    let out = dir.path().join("merged.json");
    let (code, stderr) = merge(&paths, &out);
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    crate::support::assert_matches_schema("run.schema.json", &merged);
    assert_eq!(code, Some(0), "{stderr}{merged:#}");
    assert_eq!(merged["verdict"], "pass", "{merged:#}");
    // The sentinel's checks judged once: the merged report has exactly its segment's checks.
    let names = |r: &Value| {
        let checks = r["checks"].as_array().unwrap().iter();
        checks
            .map(|c| format!("{}/{}", c["name"], c["phase"]))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&merged), names(&sentinel.1));
    assert_eq!(load_acked(&merged), a + b, "the merged load phase");
    assert_eq!(merged["merged_from"].as_array().unwrap().len(), 2);
    assert!(merged.get("segment").is_none(), "{merged:#}");
    let warned = merged["warnings"].to_string();
    assert!(!warned.contains("this segment's share"), "{warned}");
    // Half of a run is not the run.
    let (code, stderr) = merge(&paths[1..], &out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("gap [0, 1/2)"), "{stderr}");
}

/// A staircase of two steps (4k, then 8k spans/s, 3 s each) beside the sentinel: warmup 1 s,
/// baseline 6 s, then step and settle (4 s) twice.
const STAIRCASE: &str = "[capacity]\nplan = \"staircase\"\nstart_spans_per_sec = 4000.0\n\
    growth = 2.0\nmax_spans_per_sec = 8000.0\nstep = \"3s\"\nsettle = \"4s\"\nwarmup = \"1s\"\n\
    baseline = \"6s\"\ntime_limit = \"40s\"\n\
    [sentinel]\ntraces_per_sec = 60.0\nsettle = \"1s\"\nfreshness_timeout = \"3s\"\n\
    [load]\nthreads = 1\n[checks]\nmin_traces = 10\n";

/// `capacity PROFILE --target serve --query-url serve ARGS --json JSON`.
fn capacity(
    serve: &Serve,
    profile: &std::path::Path,
    json: &std::path::Path,
    extra: &[&str],
) -> Child {
    bin()
        .arg("capacity")
        .arg(profile)
        .args(["--target", &format!("grpc://{}", serve.grpc)])
        .args(["--query-url", &format!("http://{}", serve.http)])
        .args(["--quiet", "--seed", "21", "--json"])
        .arg(json)
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// Each step's acked spans, by phase name.
fn step_acked(r: &Value) -> Vec<(String, u64)> {
    let steps = r["steps"].as_array().unwrap().iter();
    steps
        .map(|s| (s["phase"].as_str().unwrap().to_owned(), n(s, "acked_spans")))
        .collect()
}

/// The conclusion a staircase's steps imply, read in order as `capacity` reads them: the last
/// step that held before the first that gave way.
pub(crate) fn assert_conclusion_fits_its_steps(r: &Value) {
    let steps = r["steps"].as_array().unwrap();
    let mut good = None;
    let mut end = "max_reached";
    for s in steps {
        match s["status"].as_str().unwrap() {
            "pass" if s["generator_limited"] == true => {
                good = s["acked_spans_per_sec"].as_f64();
                end = "generator_limited";
                break;
            }
            "pass" => good = s["acked_spans_per_sec"].as_f64(),
            "inconclusive" => {
                end = "inconclusive";
                break;
            }
            _ => {
                end = "degraded";
                assert_eq!(
                    r["first_degraded_spans_per_sec"], s["offered_spans_per_sec"],
                    "{r:#}"
                );
                break;
            }
        }
    }
    assert_eq!(r["end"], end, "{r:#}");
    assert_eq!(r["capacity_at_least"].as_f64(), good, "{r:#}");
    let sustainable = if end == "degraded" { good } else { None };
    assert_eq!(
        r["max_sustainable_spans_per_sec"].as_f64(),
        sustainable,
        "{r:#}"
    );
}

#[test]
fn a_staircase_split_over_two_segments_merges_into_one_capacity_report() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("staircase.toml");
    std::fs::write(&profile, STAIRCASE).unwrap();
    let serve = serve();
    let at = humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(2));
    let at = at.to_string();
    let paths: Vec<_> = (0..2)
        .map(|i| dir.path().join(format!("capacity-{i}.json")))
        .collect();
    let children: Vec<_> = (0..2)
        .map(|i| {
            let seg = format!("{i}/2");
            let args = ["--segment", seg.as_str(), "--start-at", at.as_str()];
            capacity(&serve, &profile, &paths[i], &args)
        })
        .collect();
    let mut reports = Vec::new();
    for (mut child, json) in children.into_iter().zip(&paths) {
        let code = child.wait().unwrap().code();
        let report: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        crate::support::assert_matches_schema("capacity.schema.json", &report);
        assert_eq!(code, Some(0), "{report:#}");
        reports.push(report);
    }
    let (sentinel, other) = (&reports[0], &reports[1]);
    assert_eq!(sentinel["plan"], "staircase");
    assert_eq!(
        sentinel["staircase_spans_per_sec"],
        serde_json::json!([4000.0, 8000.0])
    );
    // Both segments ran both steps, whatever the first step showed; only segment 0 judged.
    assert_eq!(step_acked(sentinel).len(), 2, "{sentinel:#}");
    assert_eq!(step_acked(other).len(), 2, "{other:#}");
    for s in other["steps"].as_array().unwrap() {
        assert_eq!(s["status"], "inconclusive", "{other:#}");
        assert_eq!(
            s["offered_spans_per_sec"].as_f64(),
            Some(
                s["phase"]
                    .as_str()
                    .map_or(0.0, |p| if p == "step-1" { 2000.0 } else { 4000.0 })
            ),
            "{other:#}"
        );
    }
    let out = dir.path().join("merged.json");
    let (code, stderr) = merge(&paths, &out);
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    crate::support::assert_matches_schema("capacity.schema.json", &merged);
    assert_eq!(code, Some(0), "{stderr}{merged:#}");
    // Each merged step's load is the sum of the segments', and all of it reached the pipeline.
    let (a, b, m) = (step_acked(sentinel), step_acked(other), step_acked(&merged));
    for k in 0..2 {
        assert_eq!(m[k].1, a[k].1 + b[k].1, "{}", m[k].0);
    }
    let total: u64 = m.iter().map(|s| s.1).sum();
    assert_eq!(
        accepted_unruly(&serve),
        total,
        "the pipeline against both segments"
    );
    for (k, s) in merged["steps"].as_array().unwrap().iter().enumerate() {
        let offered = s["offered_spans_per_sec"].as_f64().unwrap();
        assert_eq!(offered, [4000.0, 8000.0][k], "{merged:#}");
        // The sentinel's checks kept, judged once.
        let names = |r: &Value| r["steps"][k]["checks"].as_array().unwrap().len();
        assert!(
            names(&merged) >= names(sentinel) - 2 && names(&merged) > 0,
            "{merged:#}"
        );
    }
    assert_conclusion_fits_its_steps(&merged);
    assert!(merged.get("segment").is_none(), "{merged:#}");
    assert_eq!(merged["merged_from"].as_array().unwrap().len(), 2);
    capacity_merges_refused(&paths, dir.path());
}

/// Half of the staircase, one segment twice, or a search are refused.
fn capacity_merges_refused(paths: &[std::path::PathBuf], dir: &std::path::Path) {
    let out = dir.join("refused.json");
    let (code, stderr) = merge(&paths[1..], &out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("gap [0, 1/2)"), "{stderr}");
    let (code, stderr) = merge(&[paths[0].clone(), paths[0].clone()], &out);
    assert_eq!(
        (code, stderr.contains("overlaps")),
        (Some(2), true),
        "{stderr}"
    );
    let search = edited(&paths[1], dir, "search.json", |v| {
        v["plan"] = "search".into()
    });
    let (code, stderr) = merge(&[paths[0].clone(), search], &out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("field `plan`"), "{stderr}");
    let other = edited(&paths[1], dir, "other.json", |v| {
        v["staircase_spans_per_sec"] = serde_json::json!([4000.0, 9000.0])
    });
    let (code, stderr) = merge(&[paths[0].clone(), other], &out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("field `staircase_spans_per_sec`"),
        "{stderr}"
    );
}

#[test]
fn a_search_with_segments_is_refused_naming_plan() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("search.toml");
    std::fs::write(
        &profile,
        STAIRCASE.replace("plan = \"staircase\"", "plan = \"search\""),
    )
    .unwrap();
    let out = bin()
        .arg("capacity")
        .arg(&profile)
        .args([
            "--target",
            "grpc://127.0.0.1:1",
            "--query-url",
            "http://127.0.0.1:1",
        ])
        .args(["--segment", "0/2", "--quiet"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("capacity.plan") && stderr.contains("staircase"),
        "{stderr}"
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, STAIRCASE.replace("\"staircase\"", "\"stairs\"")).unwrap();
    let out = bin()
        .arg("capacity")
        .arg(&bad)
        .arg("--quiet")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("plan"), "{stderr}");
}

/// Done-when of issue 28: a split run whose load-only segment is SIGKILLed during the baseline
/// merges `inconclusive` or worse, naming that segment. Before, the killed segment left an empty
/// file and merge refused it as "not valid JSON", or, absent, the whole test looked half as big.
#[test]
fn a_split_run_with_a_segment_killed_merges_inconclusive_or_worse_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let serve = serve();
    let at = humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(2));
    let at = at.to_string();
    let paths: Vec<_> = (0..2)
        .map(|i| dir.path().join(format!("run-{i}.json")))
        .collect();
    let mut sentinel = run_segment(&serve, 0, &at, &paths[0]);
    let mut other = run_segment(&serve, 1, &at, &paths[1]);
    std::thread::sleep(Duration::from_secs(7));
    other.kill().unwrap(); // SIGKILL: no chance to write anything at the end
    other.wait().unwrap();
    let code = sentinel.wait().unwrap().code();
    assert!(code.is_some(), "the sentinel's segment ended by a signal");
    let out = dir.path().join("merged.json");
    let (code, stderr) = merge(&paths, &out);
    let text = std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("no merged report ({e}), merge exited {code:?}: {stderr}"));
    let merged: Value = serde_json::from_str(&text).unwrap();
    crate::support::assert_matches_schema("run.schema.json", &merged);
    let verdict = merged["verdict"].as_str().unwrap();
    assert!(
        ["inconclusive", "degraded", "fail"].contains(&verdict),
        "{merged:#}"
    );
    assert_ne!(code, Some(0), "{stderr}");
    let named = format!("segment 1 ({})", paths[1].display());
    assert!(merged.to_string().contains(&named), "{named} in {merged:#}");
}

/// Issue 28 point 3: a load-only capacity segment stopped by Ctrl-C exited 0 with
/// `finished: true` and its truncated step; it exits 4, unfinished, and merge refuses it.
#[test]
fn a_load_only_capacity_segment_stopped_by_ctrl_c_is_unfinished_and_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("staircase.toml");
    std::fs::write(&profile, STAIRCASE).unwrap();
    let serve = serve();
    let at = humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(1));
    let at = at.to_string();
    let json = dir.path().join("capacity-1.json");
    let args = ["--segment", "1/2", "--start-at", at.as_str()];
    let mut child = capacity(&serve, &profile, &json, &args);
    // The warmup (1 s) and baseline (6 s) pass, then step-1 runs from 7 s to 10 s.
    std::thread::sleep(Duration::from_secs(9));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -INT");
    let code = child.wait().unwrap().code();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(code, Some(4), "{report:#}");
    assert_eq!(report["finished"], false, "{report:#}");
    assert!(
        step_acked(&report).is_empty(),
        "a truncated step kept: {report:#}"
    );
    let other = edited(&json, dir.path(), "capacity-0.json", |v| {
        v["segment"]["index"] = 0.into();
        v["segment"]["start"] = "0".into();
        v["segment"]["end"] = "1/2".into();
    });
    let (code, stderr) = merge(&[other, json.clone()], &dir.path().join("m.json"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("field `finished` is false"), "{stderr}");
}
