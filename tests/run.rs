//! `span-sentinel run` end to end against the embedded pipeline: the smoke profile passes, and
//! every fault the pipeline is made to commit fails the check that should catch it.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde_json::Value;
use span_sentinel::config::Overrides as RunOverrides;
use span_sentinel::config::run::{RunPlan, TargetPlan, run_plan};
use span_sentinel::pipeline::PipelineConfig;
use span_sentinel::run::execute::{RunOutcome, execute};
use span_sentinel::verify::status::Status;

use crate::support::{assert_matches_schema, bin, profile};

#[test]
fn smoke_profile_passes_with_every_trace_and_burst_verified() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let smoke = profile("smoke.toml");
    let argv = [
        "span-sentinel",
        "run",
        smoke.to_str().unwrap(),
        "--quiet",
        "--json",
        json.to_str().unwrap(),
    ];
    let code = span_sentinel::cli::main_with_args(argv);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_matches_schema("run.schema.json", &report);
    // Nothing pinned, so no placement to report.
    assert!(report.get("placement").is_none(), "{}", report["placement"]);
    assert_eq!(report["verdict"], "pass", "{report:#}");
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    for phase in report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] != "warmup")
    {
        let s = &phase["sentinel"];
        assert!(
            s["traces_expected_assembled"].as_u64().unwrap() >= 20,
            "{phase:#}"
        );
        assert_eq!(
            s["traces_verified"], s["traces_expected_assembled"],
            "{phase:#}"
        );
        for key in ["traces_missing", "traces_incorrect", "traces_unexpected"] {
            assert_eq!(s[key], 0, "{key} in {phase:#}");
        }
        let a = &s["alerts"];
        assert_eq!(a["bursts"], 1, "{phase:#}");
        assert_eq!(a["detected"], 1);
        assert_eq!(a["notified"], 1);
        assert_eq!(a["spurious"], 0);
        assert!(
            a["clear_delay_ms"]["max"].as_f64().is_some(),
            "burst never cleared: {phase:#}"
        );
    }
    let load = &report["phases"][2]["load"];
    assert!(load["acked_spans"].as_u64().unwrap() > 100_000, "{load:#}");
    // The timeline started every load phase at `achieved 0.0`: each sample covers the second
    // before it, the first one included.
    let samples = report["timeline"]["samples"].as_array().unwrap();
    let in_load: Vec<&Value> = samples.iter().filter(|s| s["phase"] == "load").collect();
    assert!(in_load.len() >= 5, "{samples:#?}");
    for s in &in_load[..in_load.len() - 1] {
        let achieved = s["achieved_spans_per_sec"].as_f64().unwrap();
        assert!(achieved > 40_000.0, "{s:#}");
    }
}

/// A short run — warmup 2 s, baseline 8 s with one error burst — whose embedded pipeline
/// `misbehave` configures.
fn faulty_run(extra_toml: &str, misbehave: impl FnOnce(&mut PipelineConfig)) -> RunOutcome {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fault.toml");
    let text = format!(
        "[[phases]]\nname = \"warmup\"\nkind = \"warmup\"\nduration = \"2s\"\n\
         [[phases]]\nname = \"baseline\"\nkind = \"baseline\"\nduration = \"8s\"\n\
         [pipeline]\nsettle = \"1s\"\nalert_interval = \"250ms\"\n\
         [sentinel]\ntraces_per_sec = 60.0\nsettle = \"1s\"\nfreshness_timeout = \"4s\"\n{extra_toml}\n\
         [sentinel.bursts]\noffset = \"3s\"\nperiod = \"20s\"\nburst = \"2500ms\"\n"
    );
    std::fs::write(&path, text).unwrap();
    let mut plan: RunPlan = run_plan(&RunOverrides {
        profile: Some(path),
        seed: Some(7),
        ..RunOverrides::default()
    })
    .unwrap();
    let TargetPlan::Embedded(config) = &mut plan.target else {
        unreachable!("no --target given")
    };
    misbehave(config);
    execute(plan, Arc::new(AtomicBool::new(false)), |_| {}).unwrap()
}

fn status_of(outcome: &RunOutcome, check: &str) -> (Status, String) {
    let c = outcome
        .checks
        .iter()
        .find(|c| c.name == check && c.phase == "baseline")
        .unwrap();
    (c.status, c.evidence.clone())
}

#[test]
fn a_healthy_short_run_passes() {
    // The control for the fault tests below: the same run without a fault passes.
    let outcome = faulty_run("", |_| {});
    assert_eq!(outcome.verdict, Status::Pass, "{:#?}", outcome.checks);
    // Every shape on both sides of the threshold, every arrival pattern verified.
    let baseline = &outcome.phases[1].sentinel;
    for shape in ["single", "chain", "fan_out", "services", "large"] {
        let c = baseline.by_shape[shape];
        assert!(c.expected > 0 && c.sent > c.expected, "{shape}: {c:?}");
        assert_eq!(c.verified, c.expected, "{shape}: {c:?}");
    }
    for arrival in ["in_order", "late_fragment", "duplicate_fragment"] {
        let c = baseline.by_arrival[arrival];
        assert!(c.verified > 0, "{arrival}: {c:?}");
    }
}

#[test]
fn dropping_one_percent_of_spans_fails_trace_completeness() {
    // Every trace must be assembled (threshold 1 µs), so ~480 lookups see 1% of batches gone.
    let outcome = faulty_run("assembly_threshold = \"1us\"", |c| {
        c.faults.drop_fraction = 0.01
    });
    let (status, evidence) = status_of(&outcome, "trace_completeness");
    assert_eq!(status, Status::Fail, "{evidence}");
    assert_eq!(outcome.verdict, Status::Fail);
}

#[test]
fn one_significant_digit_histograms_fail_histogram_error() {
    let outcome = faulty_run("", |c| c.histogram_digits = 1);
    let (status, evidence) = status_of(&outcome, "histogram_error");
    assert_eq!(status, Status::Fail, "{evidence}");
    assert_eq!(status_of(&outcome, "trace_completeness").0, Status::Pass);
}

#[test]
fn a_lagging_alert_evaluator_fails_alert_detect_delay() {
    // The detection limit is 3 s; an evaluator 4 s behind cannot meet it.
    let outcome = faulty_run("", |c| {
        c.faults.alert_delay = std::time::Duration::from_secs(4)
    });
    let (status, evidence) = status_of(&outcome, "alert_detect_delay");
    assert_eq!(status, Status::Fail, "{evidence}");
}

#[test]
fn assembling_traces_below_the_threshold_fails_unexpected_traces() {
    let outcome = faulty_run("", |c| c.faults.extra_assembly_every = 20);
    let (status, evidence) = status_of(&outcome, "unexpected_traces");
    assert_eq!(status, Status::Fail, "{evidence}");
    assert_eq!(status_of(&outcome, "trace_completeness").0, Status::Pass);
}

#[test]
fn a_corrupted_attribute_fails_trace_content() {
    let outcome = faulty_run("", |c| c.faults.corrupt_every = 10);
    let (status, evidence) = status_of(&outcome, "trace_content");
    assert_eq!(status, Status::Fail, "{evidence}");
    assert!(evidence.contains("attributes"), "{evidence}");
}

#[test]
fn assembling_only_the_spans_that_arrived_before_the_root_fails_trace_content() {
    // A fifth of the traces send one fragment after the root (reorder_ratio 0.2).
    let outcome = faulty_run("", |c| c.faults.assemble_at_root = true);
    let (status, evidence) = status_of(&outcome, "trace_content");
    assert_eq!(status, Status::Fail, "{evidence}");
    assert!(evidence.contains("spans instead of"), "{evidence}");
    // The evidence by arrival pattern shows what was lost: the late fragments.
    let late = &outcome.phases[1].sentinel.by_arrival["late_fragment"];
    assert!(late.incorrect > 0, "{late:?}");
}

#[test]
fn dropping_the_spans_of_a_trace_beyond_a_size_fails_trace_content() {
    // Only the large shape (1,000 spans) is over the limit.
    let outcome = faulty_run("", |c| c.faults.max_trace_spans = 500);
    let (status, evidence) = status_of(&outcome, "trace_content");
    assert_eq!(status, Status::Fail, "{evidence}");
    assert!(evidence.contains("500 spans instead of 1000"), "{evidence}");
    // The evidence by shape shows which traces: the large ones, and only they.
    let by_shape = &outcome.phases[1].sentinel.by_shape;
    assert!(by_shape["large"].incorrect > 0, "{by_shape:?}");
    for shape in ["single", "chain", "fan_out", "services"] {
        assert_eq!(by_shape[shape].incorrect, 0, "{by_shape:?}");
    }
}

#[test]
fn counting_both_copies_of_a_duplicated_span_fails_trace_content() {
    let outcome = faulty_run("", |c| c.faults.count_duplicate_spans = true);
    let (status, evidence) = status_of(&outcome, "trace_content");
    assert_eq!(status, Status::Fail, "{evidence}");
    assert!(evidence.contains("span_count is"), "{evidence}");
}

#[test]
fn losing_links_fails_trace_content() {
    let outcome = faulty_run("", |c| c.faults.drop_links = true);
    let (status, evidence) = status_of(&outcome, "trace_content");
    assert_eq!(status, Status::Fail, "{evidence}");
    assert!(evidence.contains("0 links instead of 1"), "{evidence}");
}

#[test]
fn losing_an_event_attribute_fails_trace_content() {
    let outcome = faulty_run("", |c| c.faults.drop_event_attribute = true);
    let (status, evidence) = status_of(&outcome, "trace_content");
    assert_eq!(status, Status::Fail, "{evidence}");
    assert!(evidence.contains("events[0].attributes"), "{evidence}");
}

#[test]
fn a_healthy_run_with_fragments_split_between_grpc_and_http_passes() {
    let outcome = faulty_run("fragment_protocols = [\"grpc\", \"http\"]", |_| {});
    assert_eq!(outcome.verdict, Status::Pass, "{:#?}", outcome.checks);
}

#[test]
fn late_fragments_that_could_miss_the_pipelines_settle_window_are_a_profile_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.toml");
    std::fs::write(
        &path,
        "[sentinel]\nsettle = \"2s\"\nlate_fragment_max = \"800ms\"\n[pipeline]\nsettle = \"1s\"\n",
    )
    .unwrap();
    let err = run_plan(&RunOverrides {
        profile: Some(path),
        ..RunOverrides::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("sentinel.late_fragment_max"), "{err}");
    assert!(err.contains("settle"), "{err}");
}

#[test]
fn the_same_seed_gives_the_same_sentinel_traces() {
    let plan = |seed| {
        run_plan(&RunOverrides {
            seed: Some(seed),
            ..RunOverrides::default()
        })
        .unwrap()
    };
    let (a, b, c) = (plan(11).ambient(), plan(11).ambient(), plan(12).ambient());
    for seq in [0, 1, 77, 1000] {
        assert_eq!(
            a.spans(seq, "baseline", 5_000_000_000_000),
            b.spans(seq, "baseline", 5_000_000_000_000)
        );
        assert_ne!(a.trace_id(seq), c.trace_id(seq));
    }
    let (e1, e2) = (plan(11).errors(), plan(11).errors());
    assert_eq!(e1.span(3, 10, true), e2.span(3, 10, true));
}

/// `run nope.toml` said `--profile nope.toml`, a flag `run` does not have: the profile is
/// positional.
#[test]
fn a_missing_profile_is_named_as_the_file_not_a_flag() {
    let out = bin().args(["run", "nope.toml"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("profile nope.toml: cannot read it"),
        "{stderr}"
    );
    assert!(!stderr.contains("--profile"), "{stderr}");
}
