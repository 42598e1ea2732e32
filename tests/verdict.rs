//! The verdict is never greener than the truth, and never redder: false passes that used to
//! slip through (a load that fell short, an interrupted run, an unanswered query, a late
//! webhook), and a fault per check that switches on only while the load phase runs, each of
//! which must give `degraded` naming that check and no other.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use span_sentinel::config::Overrides as RunOverrides;
use span_sentinel::config::run::{RunPlan, TargetPlan, run_plan};
use span_sentinel::pipeline::Faults;
use span_sentinel::run::execute::{RunOutcome, execute};
use span_sentinel::verify::status::Status;

use crate::support::{bin, profile};

/// The A/A profile (profiles/false-alarms.toml) plus `extra_toml`, as a plan.
fn plan_with(extra_toml: &str) -> (tempfile::TempDir, RunPlan) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("verdict.toml");
    let base = std::fs::read_to_string(profile("false-alarms.toml")).unwrap();
    std::fs::write(&path, format!("{base}\n{extra_toml}")).unwrap();
    let plan = run_plan(&RunOverrides {
        profile: Some(path),
        seed: Some(7),
        ..RunOverrides::default()
    })
    .unwrap();
    (dir, plan)
}

/// Runs the A/A profile with `faults` switched on only while the load's tenant sends.
fn under_load(faults: impl FnOnce(&mut Faults)) -> RunOutcome {
    let (_dir, mut plan) = plan_with("");
    let TargetPlan::Embedded(config) = &mut plan.target else {
        unreachable!("no --target given")
    };
    config.faults.while_tenant = Some("neighbour".into());
    faults(&mut config.faults);
    execute(plan, Arc::new(AtomicBool::new(false)), |_| {}).unwrap()
}

fn check<'a>(
    o: &'a RunOutcome,
    name: &str,
    phase: &str,
) -> &'a span_sentinel::verify::checks::Check {
    o.checks
        .iter()
        .find(|c| c.name == name && c.phase == phase)
        .unwrap_or_else(|| panic!("no check {name} in {phase}: {:#?}", o.checks))
}

/// The run is `degraded`, `name` is degraded in the load phase, and no other check of any
/// phase gave way (`degraded` or `fail`).
fn assert_only_degraded(o: &RunOutcome, name: &str) {
    assert_only_these_degraded(o, &[name]);
}

/// The run is `degraded`, each of `names` is degraded in the load phase, and no other check of
/// any phase gave way.
fn assert_only_these_degraded(o: &RunOutcome, names: &[&str]) {
    for name in names {
        let c = check(o, name, "load");
        assert_eq!(
            c.status,
            Status::Degraded,
            "{name}: {}\n{:#?}",
            c.evidence,
            o.checks
        );
    }
    let blamed: Vec<_> = o
        .checks
        .iter()
        .filter(|c| c.status >= Status::Degraded && !names.contains(&c.name.as_ref()))
        .map(|c| format!("{} in {}: {}", c.name, c.phase, c.evidence))
        .collect();
    assert!(blamed.is_empty(), "other checks blamed: {blamed:#?}");
    assert_eq!(o.verdict, Status::Degraded);
}

#[test]
fn the_a_a_run_passes() {
    // The control of every test below: the same run, nothing wrong, every check passes.
    let o = under_load(|_| {});
    assert_eq!(o.verdict, Status::Pass, "{:#?}", o.checks);
}

#[test]
fn lost_spans_under_load_degrade_trace_completeness_and_content() {
    // The fault loses whole requests. A trace sent in one request (the single span) is lost
    // whole: completeness. A trace sent in fragments mostly loses some of them and is assembled
    // short: content ("998 spans instead of 1000").
    let o = under_load(|f| f.unstored_fraction = 0.3);
    assert_only_these_degraded(&o, &["trace_completeness", "trace_content"]);
    let content = &check(&o, "trace_content", "load").evidence;
    assert!(content.contains("spans instead of"), "{content}");
    assert!(
        check(&o, "trace_completeness", "load")
            .evidence
            .contains("95% CI")
    );
}

#[test]
fn a_corrupted_attribute_under_load_degrades_trace_content() {
    let o = under_load(|f| f.corrupt_every = 5);
    assert_only_degraded(&o, "trace_content");
}

#[test]
fn extra_assemblies_under_load_degrade_unexpected_traces() {
    let o = under_load(|f| f.extra_assembly_every = 5);
    assert_only_degraded(&o, "unexpected_traces");
}

#[test]
fn delayed_assembly_under_load_degrades_freshness() {
    let o = under_load(|f| f.assembly_delay = Duration::from_secs(4));
    assert_only_degraded(&o, "freshness_p99_ms");
}

#[test]
fn coarse_histograms_under_load_degrade_histogram_error() {
    let o = under_load(|f| f.coarse_histograms = true);
    assert_only_degraded(&o, "histogram_error");
}

#[test]
fn a_missed_burst_under_load_degrades_alert_detection() {
    let o = under_load(|f| f.ignore_errors = true);
    assert_only_degraded(&o, "alert_detection");
    let e = &check(&o, "alert_detection", "load").evidence;
    assert!(e.contains("the alert rule missed the burst"), "{e}");
}

#[test]
fn a_slow_alert_view_under_load_degrades_alert_detect_delay() {
    // The target stamps its firing on time, but shows it 4 s late: the delay is the sentinel's.
    let o = under_load(|f| f.firing_shown_after = Duration::from_secs(4));
    assert_only_degraded(&o, "alert_detect_delay");
}

#[test]
fn a_slow_clear_under_load_degrades_alert_clear_delay() {
    // 6.5 s: the baseline's own clear delay is about 1.9 s (the bound is twice it plus 1 s), and
    // the run waits 8 s past the last burst for the clear.
    let o = under_load(|f| f.clear_delay = Duration::from_millis(6500));
    assert_only_degraded(&o, "alert_clear_delay");
}

#[test]
fn a_late_webhook_under_load_degrades_alert_notify_delay() {
    let o = under_load(|f| f.webhook_delay = Duration::from_secs(4));
    assert_only_degraded(&o, "alert_notify_delay");
}

#[test]
fn a_stray_firing_under_load_degrades_spurious_alerts() {
    let o = under_load(|f| f.stray_firing = true);
    assert_only_degraded(&o, "spurious_alerts");
}

#[test]
fn a_load_far_below_its_offered_rate_is_inconclusive_not_pass() {
    // One span per request, one request in flight: nowhere near 10^6 spans/s. The phase did
    // not put the target under the load it claims, so it cannot pass.
    let (_dir, plan) = plan_with("");
    let mut plan = plan;
    plan.load.batch_spans = 1;
    plan.load.transport.concurrency = 1;
    plan.load.rate = span_sentinel::engine::RateProfile::Constant {
        spans_per_sec: 1_000_000.0,
    };
    let o = execute(plan, Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    assert_eq!(o.verdict, Status::Inconclusive, "{:#?}", o.checks);
    let c = check(&o, "trace_completeness", "load");
    let short = c.evidence.contains("of the 1.00M spans/s offered")
        || c.evidence.contains("the load sent for");
    assert!(short, "{}", c.evidence);
}

#[test]
fn an_unanswered_search_fails_unexpected_traces() {
    let (_dir, mut plan) = plan_with("");
    let TargetPlan::Embedded(config) = &mut plan.target else {
        unreachable!()
    };
    config.faults.search_unavailable = true;
    let o = execute(plan, Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    for phase in ["baseline", "load"] {
        let c = check(&o, "unexpected_traces", phase);
        assert_eq!(c.status, Status::Fail, "{}", c.evidence);
        assert!(c.evidence.contains("did not answer"), "{}", c.evidence);
    }
    assert_eq!(
        check(&o, "trace_completeness", "baseline").status,
        Status::Pass
    );
}

#[test]
fn a_late_webhook_fails_alert_notify_delay_at_baseline() {
    // The target stamps its transitions on time; its notification arrives 4 s after the
    // burst started, past the 3 s detection limit.
    let (_dir, mut plan) = plan_with("");
    let TargetPlan::Embedded(config) = &mut plan.target else {
        unreachable!()
    };
    config.faults.webhook_delay = Duration::from_secs(4);
    let o = execute(plan, Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    let c = check(&o, "alert_notify_delay", "baseline");
    assert_eq!(c.status, Status::Fail, "{}", c.evidence);
    assert_eq!(
        check(&o, "alert_detection", "baseline").status,
        Status::Pass
    );
}

#[test]
fn an_interrupted_run_is_inconclusive_and_never_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let aa = profile("false-alarms.toml");
    // SIGTERM (as from a CI timeout) in the middle of the load phase (12-22 s), sent to a
    // process of its own so that no other test shares its signal handler.
    let mut child = bin()
        .args([
            "run",
            aa.to_str().unwrap(),
            "--quiet",
            "--seed",
            "7",
            "--json",
        ])
        .arg(&json)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(16));
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(4));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["verdict"], "inconclusive", "{report:#}");
}

#[test]
fn stopping_a_run_leaves_its_unfinished_phases_inconclusive() {
    let (_dir, plan) = plan_with("");
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let o = execute(plan, stop, move |p| {
        if p.phase == "load" && p.elapsed >= Duration::from_secs(3) {
            flag.store(true, Ordering::Relaxed);
        }
    })
    .unwrap();
    assert_eq!(o.verdict, Status::Inconclusive, "{:#?}", o.checks);
    let c = check(&o, "trace_completeness", "load");
    assert!(c.evidence.contains("did not finish"), "{}", c.evidence);
}

/// Runs `scripts/<name> <n>` with the binary under test; returns its stdout and stderr.
fn script(name: &str, n: u32) -> (bool, String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("bash")
        .arg(root.join("scripts").join(name))
        .arg(n.to_string())
        .env("SPAN_SENTINEL", env!("CARGO_BIN_EXE_span-sentinel"))
        .current_dir(root)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The script works and raises no false alarm in two runs. Its statistics (N >= 50) are the
/// script's own run, not the suite's: `bash scripts/false-alarms.sh 50`.
#[test]
fn the_a_a_script_raises_no_false_alarm_in_two_runs() {
    let (ok, stdout, stderr) = script("false-alarms.sh", 2);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("false alarms: 0 of 2 runs"),
        "{stdout}\n{stderr}"
    );
}

/// The script works and gives the expected verdict each way. How often it reproduces (N = 20)
/// is the script's own run, not the suite's: `bash scripts/interference-matrix.sh 20`.
#[test]
fn the_interference_matrix_gives_the_expected_verdict_each_way() {
    let (ok, stdout, stderr) = script("interference-matrix.sh", 1);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("shared  expected degraded    1 of 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fair    expected pass        1 of 1"),
        "{stdout}"
    );
}

#[test]
fn a_generator_limit_outside_zero_to_one_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("limit.toml");
    let base = std::fs::read_to_string(profile("false-alarms.toml")).unwrap();
    for bad in ["0", "1.5"] {
        let toml = base.replacen("[checks]", &format!("[checks]\ngenerator_limit = {bad}"), 1);
        std::fs::write(&path, toml).unwrap();
        let err = run_plan(&RunOverrides {
            profile: Some(path.clone()),
            ..RunOverrides::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("checks.generator_limit"), "{bad}: {err}");
    }
}
