//! `span-sentinel capacity` end to end against the embedded pipeline, kept short for debug
//! builds: the search steps, writes a report its schema accepts, ends within its time limit, a
//! `--require` it cannot meet exits 1, and a stopped search keeps the steps measured so far.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use span_sentinel::capacity::{End, Search};
use span_sentinel::config::Overrides as RunOverrides;
use span_sentinel::config::capacity::{CapacityOverrides, capacity_plan};
use span_sentinel::run::execute::execute_with;

use crate::support::{assert_matches_schema, bin};

/// A small search: warmup 1 s, baseline 6 s, steps of 3 s + 4 s settle, 20k → 40k spans/s.
/// These tests are about how a search steps, stops and reports, not about statistics: a 3 s
/// step holds too few traces for the run's power rule at the default tolerance (a step would be
/// inconclusive and end the search), so the profile says it detects a drop of half the traces.
const SHORT: &str = "[capacity]\nstart_spans_per_sec = 20000.0\ngrowth = 2.0\n\
    max_spans_per_sec = 40000.0\nstep = \"3s\"\nsettle = \"4s\"\nwarmup = \"1s\"\n\
    baseline = \"6s\"\ntime_limit = \"40s\"\n\
    [sentinel]\ntraces_per_sec = 60.0\nsettle = \"1s\"\nfreshness_timeout = \"3s\"\n\
    [load]\nthreads = 1\n[checks]\nmin_traces = 10\ncompleteness_drop = 0.5\n\
    [pipeline]\nsettle = \"1s\"\nalert_interval = \"250ms\"\n";

fn short_profile(dir: &Path) -> PathBuf {
    let path = dir.join("capacity.toml");
    std::fs::write(&path, SHORT).unwrap();
    path
}

#[test]
fn a_short_search_steps_reports_and_ends_within_its_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let profile = short_profile(dir.path());
    let json = dir.path().join("capacity.json");
    let started = Instant::now();
    let code = span_sentinel::cli::main_with_args([
        "span-sentinel",
        "capacity",
        profile.to_str().unwrap(),
        "--quiet",
        "--require",
        "1e12",
        "--json",
        json.to_str().unwrap(),
    ]);
    let took = started.elapsed();
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_matches_schema("capacity.schema.json", &r);
    assert!(took <= Duration::from_secs(40), "took {took:?}");
    // No pipeline takes 10^12 spans/s: the gate fails.
    assert_eq!(code, ExitCode::from(1), "{r:#}");
    assert_eq!(r["require_met"], false);
    assert_eq!(r["finished"], true);
    let steps = r["steps"].as_array().unwrap();
    assert!(!steps.is_empty(), "{r:#}");
    let first = &steps[0];
    assert_eq!(first["offered_spans_per_sec"], 20000.0);
    assert!(
        first["achieved_spans_per_sec"].as_f64().unwrap() > 15_000.0,
        "{first:#}"
    );
    assert!(first["acked_spans"].as_u64().unwrap() > 30_000, "{first:#}");
    assert_eq!(first["checks"].as_array().unwrap().len(), 9);
    // Steps got shorter and shorter (the next step's clock started while the previous one was
    // still being judged): every step sends its load for its whole 3 s.
    for step in steps {
        let offered = step["offered_spans_per_sec"].as_f64().unwrap();
        let acked = step["acked_spans"].as_f64().unwrap();
        assert!((acked / (offered * 3.0) - 1.0).abs() < 0.1, "{step:#}");
        let secs = step["load_duration_s"].as_f64().unwrap();
        assert!((secs - 3.0).abs() < 0.1, "{step:#}");
    }
    assert_conclusion_fits_its_end(&r);
}

/// Whatever the search ended with (a busy machine may degrade or limit the generator), its
/// conclusion must be what that end implies; an end the test does not know fails it.
fn assert_conclusion_fits_its_end(r: &Value) {
    let steps = r["steps"].as_array().unwrap();
    // A step held when every check passed; the capacity is the acked rate of the last one.
    let held: Vec<f64> = steps
        .iter()
        .filter(|s| s["status"] == "pass")
        .map(|s| s["acked_spans_per_sec"].as_f64().unwrap())
        .collect();
    let (passed, best) = (&held, held.last().copied());
    let at_least = r["capacity_at_least"].as_f64();
    match r["end"].as_str().unwrap() {
        "max_reached" => {
            // The last step held, at the maximum (40k offered).
            let last = steps.last().unwrap();
            assert_eq!(last["offered_spans_per_sec"], 40000.0, "{r:#}");
            assert_eq!(last["status"], "pass", "{r:#}");
            assert!(at_least.unwrap() > 30_000.0, "{r:#}");
            assert!(r["max_sustainable_spans_per_sec"].is_null(), "{r:#}");
            assert!(r["first_degraded_check"].is_null(), "{r:#}");
        }
        "degraded" => {
            // A check gave way, named with its rate; the capacity is the last step that held.
            assert!(r["first_degraded_check"].is_string(), "{r:#}");
            assert!(
                r["first_degraded_spans_per_sec"].as_f64().unwrap() >= 20_000.0,
                "{r:#}"
            );
            assert!(passed.len() < steps.len(), "{r:#}");
            assert_eq!(r["max_sustainable_spans_per_sec"].as_f64(), best, "{r:#}");
        }
        "generator_limited" => {
            assert_eq!(r["generator_limited"], true, "{r:#}");
            assert!(r["max_sustainable_spans_per_sec"].is_null(), "{r:#}");
        }
        "inconclusive" => {
            // A step too thin to judge ends the search; it is not counted as held.
            assert_eq!(steps.last().unwrap()["status"], "inconclusive", "{r:#}");
            assert!(r["max_sustainable_spans_per_sec"].is_null(), "{r:#}");
        }
        "time_limit" => assert!(r["max_sustainable_spans_per_sec"].is_null(), "{r:#}"),
        other => panic!("a short search ended {other}: {r:#}"),
    }
    assert_eq!(
        at_least, best,
        "capacity_at_least is the best step that held: {r:#}"
    );
}

#[test]
fn a_stopped_search_keeps_the_steps_measured_so_far() {
    let dir = tempfile::tempdir().unwrap();
    let plan = capacity_plan(&CapacityOverrides {
        run: RunOverrides {
            profile: Some(short_profile(dir.path())),
            seed: Some(3),
            ..RunOverrides::default()
        },
        max: Some(1e9),
        ..CapacityOverrides::default()
    })
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C sets this flag; here a timer does, during the second step (warmup 1 s, baseline
    // 6 s, settle-0 4 s, step-1 3 s, settle-1 4 s, then 1 s into step-2).
    let timer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(19));
        flag.store(true, Ordering::SeqCst);
    });
    let mut search = Search::new(plan.search.clone(), plan.run.checks.clone(), |_| {});
    let started = Instant::now();
    execute_with(plan.run, stop, |_| {}, &mut search).unwrap();
    timer.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(29),
        "{:?}",
        started.elapsed()
    );
    let r = search.result();
    assert_eq!(r.end, End::Stopped, "{r:?}");
    assert_eq!(search.steps.len(), 1, "{:#?}", search.steps);
    assert!(!search.baseline.is_empty());
}

#[test]
fn a_time_limit_with_no_room_for_a_step_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tight.toml");
    std::fs::write(&path, "[capacity]\nstep = \"8s\"\ntime_limit = \"20s\"\n").unwrap();
    let err = capacity_plan(&CapacityOverrides {
        run: RunOverrides {
            profile: Some(path),
            ..RunOverrides::default()
        },
        ..CapacityOverrides::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("tight.toml:3:") && err.contains("capacity.time_limit"),
        "{err}"
    );
}

#[test]
fn ctrl_c_ends_a_capacity_process_with_the_steps_measured_so_far() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("capacity.json");
    let mut child = bin()
        .arg("capacity")
        .arg(short_profile(dir.path()))
        .args(["--seed", "5", "--max", "1e9", "--json"])
        .arg(&json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    // The first step's line: "[step-1] offered 20.0k achieved 20.0k spans/s: pass".
    while !seen.contains("[step-1]") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{seen}");
        seen.push_str(&line);
    }
    let interrupted = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        interrupted.elapsed() < Duration::from_secs(10),
        "{:?}",
        interrupted.elapsed()
    );
    // A stopped search could not finish: exit 4, never 0, with what it measured still printed.
    assert_eq!(out.status.code(), Some(4), "{seen}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("step-1"), "{stdout}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r["end"], "stopped", "{r:#}");
    assert!(r["finished"].as_bool().unwrap(), "{r:#}");
    let steps = r["steps"].as_array().unwrap();
    assert!(!steps.is_empty() && steps.len() <= 2, "{r:#}");
    assert_eq!(steps[0]["phase"], "step-1", "{r:#}");
    assert_matches_schema("capacity.schema.json", &r);
}

/// Without segments a staircase runs like `capacity`: every step, in order, whatever the one
/// before showed, with the capacity read off the steps.
#[test]
fn a_staircase_without_segments_runs_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("staircase.toml");
    let text = SHORT.replace("[capacity]\n", "[capacity]\nplan = \"staircase\"\n");
    std::fs::write(&profile, text).unwrap();
    let json = dir.path().join("capacity.json");
    let code = span_sentinel::cli::main_with_args([
        "span-sentinel",
        "capacity",
        profile.to_str().unwrap(),
        "--quiet",
        "--json",
        json.to_str().unwrap(),
    ]);
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_matches_schema("capacity.schema.json", &r);
    assert_eq!(code, ExitCode::SUCCESS, "{r:#}");
    assert_eq!(
        (&r["plan"], &r["finished"]),
        (&"staircase".into(), &true.into())
    );
    let steps = r["steps"].as_array().unwrap();
    let offered: Vec<f64> = steps
        .iter()
        .map(|s| s["offered_spans_per_sec"].as_f64().unwrap())
        .collect();
    assert_eq!(offered, [20000.0, 40000.0], "{r:#}");
    assert!(steps.iter().all(|s| s["purpose"] == "staircase"), "{r:#}");
    assert!(r.get("segment").is_none(), "{r:#}");
    crate::segments::assert_conclusion_fits_its_steps(&r);
}
