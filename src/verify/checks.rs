//! From evidence to verdict: each check is judged per phase, absolutely at baseline and against
//! the baseline elsewhere (DESIGN §2). Too few samples is `inconclusive`, never `pass`.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::duration as dur;

/// The status of a check, and the overall verdict; ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Holds.
    Pass,
    /// Too few samples to say.
    Inconclusive,
    /// Worse than at baseline beyond tolerance.
    Degraded,
    /// Fails even at baseline.
    Fail,
}

impl Status {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Inconclusive => "inconclusive",
            Status::Degraded => "degraded",
            Status::Fail => "fail",
        }
    }
}

/// What a phase is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    /// Not verified: lets the target and the sentinel settle.
    Warmup,
    /// The sentinel alone; checks are judged absolutely.
    Baseline,
    /// The sentinel plus the unruly load; checks are judged against the baseline.
    Load,
    /// The sentinel alone after load; judged against the baseline.
    Recovery,
}

/// How strict the checks are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckTolerances {
    /// Fewer traces that must be assembled than this in a phase makes trace checks
    /// inconclusive.
    pub min_traces: u64,
    /// Lowest acceptable completeness at baseline (1.0: no trace may be missing).
    pub completeness_min: f64,
    /// Drop in completeness from baseline that counts as degraded, when also significant.
    pub completeness_drop: f64,
    /// Significance level of the two-proportion test.
    pub p_value: f64,
    /// Highest acceptable freshness p99 at baseline.
    #[serde(with = "dur")]
    pub freshness_limit: Duration,
    /// Freshness p99 above baseline × factor + slack is degraded.
    pub freshness_factor: f64,
    /// See `freshness_factor`.
    #[serde(with = "dur")]
    pub freshness_slack: Duration,
    /// Highest acceptable relative error of a reported histogram quantile.
    pub histogram_tolerance: f64,
    /// Longest acceptable alert detection delay.
    #[serde(with = "dur")]
    pub detect_limit: Duration,
    /// Longest acceptable alert clear delay (after the burst ends).
    #[serde(with = "dur")]
    pub clear_limit: Duration,
    /// Delays above baseline × factor + slack are degraded.
    pub delay_factor: f64,
    /// See `delay_factor`.
    #[serde(with = "dur")]
    pub delay_slack: Duration,
}

impl Default for CheckTolerances {
    fn default() -> Self {
        Self {
            min_traces: 20,
            completeness_min: 1.0,
            completeness_drop: 0.01,
            p_value: 0.01,
            freshness_limit: Duration::from_secs(10),
            freshness_factor: 2.0,
            freshness_slack: Duration::from_millis(500),
            histogram_tolerance: 0.005,
            detect_limit: Duration::from_secs(3),
            clear_limit: Duration::from_secs(5),
            delay_factor: 2.0,
            delay_slack: Duration::from_secs(1),
        }
    }
}

/// Median, 99th percentile and maximum, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Millis {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Millis {
    /// Nearest-rank percentiles of `values`; `None` when empty.
    pub fn of(values: &[Duration]) -> Option<Self> {
        let mut v: Vec<f64> = values.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Self {
            p50: at(0.5),
            p99: at(0.99),
            max: v[v.len() - 1],
        })
    }
}

/// Everything the verifier measured in one phase.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Traces that had to be assembled.
    pub expected: u64,
    /// Found with the expected content.
    pub verified: u64,
    /// Not found in time.
    pub missing: u64,
    /// Of the missing, those the target never accepted (refused, or no answer).
    pub missing_unacked: u64,
    /// Found with other content; the first difference seen.
    pub incorrect: u64,
    /// An example difference.
    pub incorrect_example: Option<String>,
    /// Assembled although below the threshold, or assembled twice.
    pub unexpected: u64,
    /// Freshness of every trace found.
    pub freshness: Vec<Duration>,
    /// Largest relative quantile error over the phase's series, `None` without data.
    pub histogram_max_rel_error: Option<f64>,
    /// Why the histogram check fails besides the error (e.g. a count mismatch).
    pub histogram_problem: Option<String>,
    /// Bursts that started in the phase.
    pub bursts: u64,
    /// Bursts the alert fired for.
    pub detected: u64,
    /// Bursts whose firing notification reached the webhook.
    pub notified: u64,
    /// The alert source sends no webhook notifications (Prometheus): detection alone counts.
    pub notifications_not_expected: bool,
    /// Bursts after which the alert resolved.
    pub cleared: u64,
    /// Firing transitions outside every burst (plus grace).
    pub spurious: u64,
    /// Detection delay of every detected burst.
    pub detect_delays: Vec<Duration>,
    /// Clear delay of every cleared burst.
    pub clear_delays: Vec<Duration>,
}

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

/// A measured value, whether it holds absolutely, and whether it is worse than baseline.
struct Measure {
    name: &'static str,
    observed: Option<f64>,
    enough: bool,
    holds: bool,
    worse: bool,
    tolerance: String,
    evidence: String,
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

/// The overall verdict: the most severe status of any check (`inconclusive` without checks).
pub fn verdict(checks: &[Check]) -> Status {
    checks
        .iter()
        .map(|c| c.status)
        .max()
        .unwrap_or(Status::Inconclusive)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn measures(ev: &Evidence, base: Option<&Evidence>, tol: &CheckTolerances) -> Vec<Measure> {
    vec![
        completeness(ev, base, tol),
        count_check(
            "trace_content",
            ev.incorrect,
            ev.verified + ev.incorrect > 0,
            ev.incorrect_example.clone(),
        ),
        count_check(
            "unexpected_traces",
            ev.unexpected,
            ev.expected >= tol.min_traces,
            None,
        ),
        freshness(ev, base, tol),
        histogram(ev, tol),
        alert_detection(ev),
        delay(
            "alert_detect_delay",
            &ev.detect_delays,
            base.map(|b| &b.detect_delays[..]),
            tol.detect_limit,
            tol,
        ),
        clear(ev, base, tol),
        count_check("spurious_alerts", ev.spurious, true, None),
    ]
}

/// One-sided two-proportion z-test: the p-value of "the second proportion is lower".
pub fn two_proportion_p(success_a: u64, n_a: u64, success_b: u64, n_b: u64) -> f64 {
    if n_a == 0 || n_b == 0 {
        return 1.0;
    }
    let (pa, pb) = (success_a as f64 / n_a as f64, success_b as f64 / n_b as f64);
    let pooled = (success_a + success_b) as f64 / (n_a + n_b) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / n_a as f64 + 1.0 / n_b as f64)).sqrt();
    if se == 0.0 {
        return if pb < pa { 0.0 } else { 1.0 };
    }
    let z = (pa - pb) / se;
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes' erfc, relative error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

fn completeness(ev: &Evidence, base: Option<&Evidence>, tol: &CheckTolerances) -> Measure {
    let ratio = (ev.expected > 0).then(|| ev.verified as f64 / ev.expected as f64);
    let holds = ratio.is_some_and(|r| r >= tol.completeness_min);
    let (worse, p) = match (base, ratio) {
        (Some(b), Some(r)) if b.expected > 0 => {
            let p = two_proportion_p(b.verified, b.expected, ev.verified, ev.expected);
            let drop = b.verified as f64 / b.expected as f64 - r;
            (p < tol.p_value && drop > tol.completeness_drop, Some(p))
        }
        _ => (false, None),
    };
    let mut evidence = format!(
        "{} of {} verified, {} missing ({} never accepted by the target), {} incorrect",
        ev.verified, ev.expected, ev.missing, ev.missing_unacked, ev.incorrect
    );
    if let Some(p) = p {
        evidence.push_str(&format!("; p-value {p:.4} (two-proportion test)"));
    }
    Measure {
        name: "trace_completeness",
        observed: ratio,
        enough: ev.expected >= tol.min_traces,
        holds: holds || (base.is_some() && !worse),
        worse,
        tolerance: format!(
            "≥ {} at baseline; a drop over {} with p < {}",
            tol.completeness_min, tol.completeness_drop, tol.p_value
        ),
        evidence,
    }
}

fn count_check(name: &'static str, count: u64, enough: bool, example: Option<String>) -> Measure {
    Measure {
        name,
        observed: Some(count as f64),
        enough,
        holds: count == 0,
        worse: count > 0,
        tolerance: "0".into(),
        evidence: match example {
            Some(e) => format!("{count} found; first: {e}"),
            None => format!("{count} found"),
        },
    }
}

fn freshness(ev: &Evidence, base: Option<&Evidence>, tol: &CheckTolerances) -> Measure {
    let p99 = Millis::of(&ev.freshness).map(|m| m.p99);
    let base_p99 = base.and_then(|b| Millis::of(&b.freshness)).map(|m| m.p99);
    let bound = base_p99.map(|b| b * tol.freshness_factor + ms(tol.freshness_slack));
    let worse = matches!((p99, bound), (Some(v), Some(b)) if v > b);
    Measure {
        name: "freshness_p99_ms",
        observed: p99,
        enough: ev.freshness.len() as u64 >= tol.min_traces,
        holds: p99.is_some_and(|v| v <= ms(tol.freshness_limit)),
        worse,
        tolerance: format!(
            "≤ {} ms at baseline; ≤ baseline × {} + {} ms",
            ms(tol.freshness_limit),
            tol.freshness_factor,
            ms(tol.freshness_slack)
        ),
        evidence: match bound {
            Some(b) => format!(
                "p99 {:.1} ms against a bound of {b:.1} ms over {} traces",
                p99.unwrap_or(0.0),
                ev.freshness.len()
            ),
            None => format!(
                "p99 {:.1} ms over {} traces",
                p99.unwrap_or(0.0),
                ev.freshness.len()
            ),
        },
    }
}

fn histogram(ev: &Evidence, tol: &CheckTolerances) -> Measure {
    let err = ev.histogram_max_rel_error;
    let holds = err.is_some_and(|e| e <= tol.histogram_tolerance) && ev.histogram_problem.is_none();
    Measure {
        name: "histogram_error",
        observed: err,
        enough: err.is_some(),
        holds,
        worse: !holds,
        tolerance: format!(
            "relative quantile error ≤ {}, every acked span counted",
            tol.histogram_tolerance
        ),
        evidence: match &ev.histogram_problem {
            Some(p) => p.clone(),
            None => format!("max relative error {:.5}", err.unwrap_or(0.0)),
        },
    }
}

fn alert_detection(ev: &Evidence) -> Measure {
    let notified = ev.notifications_not_expected || ev.notified == ev.bursts;
    let holds = ev.detected == ev.bursts && notified;
    Measure {
        name: "alert_detection",
        observed: (ev.bursts > 0).then(|| ev.detected as f64 / ev.bursts as f64),
        enough: ev.bursts > 0,
        holds,
        worse: !holds,
        tolerance: if ev.notifications_not_expected {
            "every burst fires the alert (no webhook with this alert source)".into()
        } else {
            "every burst fires the alert and notifies the webhook".into()
        },
        evidence: if ev.notifications_not_expected {
            format!("{} of {} bursts detected", ev.detected, ev.bursts)
        } else {
            format!(
                "{} of {} bursts detected, {} notified",
                ev.detected, ev.bursts, ev.notified
            )
        },
    }
}

fn delay(
    name: &'static str,
    delays: &[Duration],
    base: Option<&[Duration]>,
    limit: Duration,
    tol: &CheckTolerances,
) -> Measure {
    let max = delays.iter().max().map(|d| ms(*d));
    let bound = base
        .and_then(|b| b.iter().max())
        .map(|b| ms(*b) * tol.delay_factor + ms(tol.delay_slack));
    Measure {
        name,
        observed: max,
        enough: !delays.is_empty(),
        holds: max.is_some_and(|m| m <= ms(limit)),
        worse: matches!((max, bound), (Some(v), Some(b)) if v > b),
        tolerance: format!(
            "≤ {} ms; ≤ baseline × {} + {} ms",
            ms(limit),
            tol.delay_factor,
            ms(tol.delay_slack)
        ),
        evidence: format!(
            "max {:.0} ms over {} bursts",
            max.unwrap_or(0.0),
            delays.len()
        ),
    }
}

fn clear(ev: &Evidence, base: Option<&Evidence>, tol: &CheckTolerances) -> Measure {
    let mut m = delay(
        "alert_clear_delay",
        &ev.clear_delays,
        base.map(|b| &b.clear_delays[..]),
        tol.clear_limit,
        tol,
    );
    if ev.cleared < ev.detected {
        m.holds = false;
        m.worse = true;
        m.evidence = format!(
            "{} of {} detected bursts never cleared; {}",
            ev.detected - ev.cleared,
            ev.detected,
            m.evidence
        );
    }
    m.enough = ev.detected > 0;
    m
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn two_proportion_p_values_are_sane() {
        assert!(two_proportion_p(100, 100, 80, 100) < 0.001);
        assert!(two_proportion_p(100, 100, 99, 100) > 0.1);
        assert_eq!(two_proportion_p(100, 100, 100, 100), 1.0);
        assert!((erfc(0.0) - 1.0).abs() < 1e-6 && (erfc(1.0) - 0.157_299_2).abs() < 1e-6);
    }
}
