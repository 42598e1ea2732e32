//! From evidence to verdict: each check is judged per phase, absolutely at baseline and against
//! the baseline elsewhere. Too few samples is `inconclusive`, never `pass`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

pub use super::evidence::{CheckTolerances, Evidence};
use super::measures::{Measure, measures};
use super::status::{PhaseKind, Status};

/// One judged check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Which check (borrowed when judged, owned when read back from a saved report).
    pub name: Cow<'static, str>,
    /// Which phase.
    pub phase: String,
    /// Its status.
    pub status: Status,
    /// The value at baseline, when there is one.
    pub baseline: Option<f64>,
    /// The value in this phase.
    pub observed: Option<f64>,
    /// What the value was held to.
    pub tolerance: String,
    /// Why the status is what it is (p-value, counts, first difference).
    pub evidence: String,
}

/// Judges every check of every phase. `phases` pairs each phase's name and kind with its
/// evidence; the first `Baseline` phase is the reference.
pub fn judge(phases: &[(String, PhaseKind, Evidence)], tol: &CheckTolerances) -> Vec<Check> {
    let empty = Evidence::default();
    let baseline = phases
        .iter()
        .find(|p| p.1 == PhaseKind::Baseline)
        .map(|p| &p.2);
    let base_measures = measures(baseline.unwrap_or(&empty), None, tol);
    let mut checks = Vec::new();
    for (name, kind, ev) in phases {
        if *kind == PhaseKind::Warmup {
            continue;
        }
        let is_baseline = *kind == PhaseKind::Baseline;
        for (i, m) in measures(ev, baseline.filter(|_| !is_baseline), tol)
            .into_iter()
            .enumerate()
        {
            let base = &base_measures[i];
            let base_status = absolute(base, baseline.is_some());
            let status = if is_baseline {
                base_status
            } else if base_status == Status::Fail {
                Status::Fail
            } else if !m.enough {
                Status::Inconclusive
            } else if !m.holds || m.worse {
                Status::Degraded
            } else {
                Status::Pass
            };
            let evidence = if status == Status::Fail && !is_baseline {
                format!("fails at baseline already; {}", m.evidence)
            } else {
                m.evidence
            };
            checks.push(Check {
                name: Cow::Borrowed(m.name),
                phase: name.clone(),
                status,
                baseline: if is_baseline { None } else { base.observed },
                observed: m.observed,
                tolerance: m.tolerance,
                evidence,
            });
        }
    }
    checks
}

fn absolute(m: &Measure, present: bool) -> Status {
    match (present && m.enough, m.holds) {
        (false, _) => Status::Inconclusive,
        (true, true) => Status::Pass,
        (true, false) => Status::Fail,
    }
}

/// The overall verdict: the most severe status of any judged check (`inconclusive` when none
/// was judged: no checks, or every one `unsupported` by the backend).
pub fn verdict(checks: &[Check]) -> Status {
    checks
        .iter()
        .map(|c| c.status)
        .filter(|s| *s != Status::Unsupported)
        .max()
        .unwrap_or(Status::Inconclusive)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn healthy() -> Evidence {
        Evidence {
            expected: 100,
            verified: 100,
            freshness: vec![Duration::from_millis(2300); 100],
            histogram_max_rel_error: Some(0.0005),
            bursts: 1,
            detected: 1,
            notified: 1,
            cleared: 1,
            detect_delays: vec![Duration::from_millis(800)],
            clear_delays: vec![Duration::from_millis(1500)],
            ..Evidence::default()
        }
    }

    fn run(base: Evidence, load: Evidence) -> Vec<Check> {
        let phases = vec![
            ("baseline".to_string(), PhaseKind::Baseline, base),
            ("load".to_string(), PhaseKind::Load, load),
        ];
        judge(&phases, &CheckTolerances::default())
    }

    fn status(checks: &[Check], name: &str, phase: &str) -> Status {
        checks
            .iter()
            .find(|c| c.name == name && c.phase == phase)
            .unwrap()
            .status
    }

    #[test]
    fn healthy_phases_pass() {
        let checks = run(healthy(), healthy());
        assert_eq!(verdict(&checks), Status::Pass, "{checks:#?}");
        assert_eq!(checks.len(), 18);
    }

    #[test]
    fn missing_traces_under_load_degrade_only_when_significant() {
        let mut load = healthy();
        load.verified = 80;
        load.missing = 20;
        let checks = run(healthy(), load);
        assert_eq!(
            status(&checks, "trace_completeness", "load"),
            Status::Degraded
        );
        let mut load = healthy();
        load.verified = 99;
        load.missing = 1;
        assert_eq!(
            status(&run(healthy(), load), "trace_completeness", "load"),
            Status::Pass
        );
    }

    #[test]
    fn a_missing_trace_at_baseline_fails_everywhere() {
        let mut base = healthy();
        base.verified = 99;
        base.missing = 1;
        let checks = run(base, healthy());
        assert_eq!(
            status(&checks, "trace_completeness", "baseline"),
            Status::Fail
        );
        assert_eq!(status(&checks, "trace_completeness", "load"), Status::Fail);
        assert_eq!(verdict(&checks), Status::Fail);
    }

    #[test]
    fn too_few_samples_is_inconclusive_never_pass() {
        let mut base = healthy();
        base.expected = 5;
        base.verified = 5;
        base.freshness.truncate(5);
        let checks = run(base, healthy());
        assert_eq!(
            status(&checks, "trace_completeness", "baseline"),
            Status::Inconclusive
        );
        assert_eq!(verdict(&checks), Status::Inconclusive);
    }

    #[test]
    fn each_alert_and_histogram_fault_fails_its_check() {
        let mut slow = healthy();
        slow.detect_delays = vec![Duration::from_secs(4)];
        assert_eq!(
            status(&run(slow, healthy()), "alert_detect_delay", "baseline"),
            Status::Fail
        );
        let mut coarse = healthy();
        coarse.histogram_max_rel_error = Some(0.04);
        assert_eq!(
            status(&run(coarse, healthy()), "histogram_error", "baseline"),
            Status::Fail
        );
        let mut missed = healthy();
        missed.detected = 0;
        missed.cleared = 0;
        missed.detect_delays.clear();
        assert_eq!(
            status(&run(healthy(), missed), "alert_detection", "load"),
            Status::Degraded
        );
        let mut late = healthy();
        late.freshness = vec![Duration::from_millis(9000); 100];
        assert_eq!(
            status(&run(healthy(), late), "freshness_p99_ms", "load"),
            Status::Degraded
        );
    }
}
