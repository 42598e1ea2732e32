//! The verdict of a run: the checks of `verify::checks` over each phase's evidence, sharpened by
//! what only the run knows. A check is never greener than what was observed: a phase whose load
//! failed, fell short of its offered rate or did not finish is at least `inconclusive`; a check
//! whose query the target did not answer is `fail`; a completeness comparison too small to see
//! the configured drop is `inconclusive`; a late webhook notification is a check of its own.

use std::borrow::Cow;
use std::time::Duration;

use super::evidence::PhaseEvidence;
use super::walk::PhaseOutcome;
use crate::config::run::{Phase, RunPlan};
use crate::verify::alertmanager::check::{self as notification, PhaseNotices};
use crate::verify::checks::{self, Check, CheckTolerances};
use crate::verify::power;
use crate::verify::status::{PhaseKind, Status};

/// Judges every phase of a run; `phases` holds one outcome per phase of `plan`.
pub fn judge(plan: &RunPlan, phases: &[PhaseOutcome]) -> Vec<Check> {
    let judged: Vec<_> = plan
        .phases
        .iter()
        .zip(phases)
        .map(|(p, o)| (p.name.clone(), p.kind, o.sentinel.evidence.clone()))
        .collect();
    let tol = &plan.checks;
    let baseline = plan
        .phases
        .iter()
        .zip(phases)
        .find(|(p, _)| p.kind == PhaseKind::Baseline)
        .map(|(_, o)| &o.sentinel);
    let mut out = Vec::new();
    for check in checks::judge(&judged, tol) {
        let i = plan
            .phases
            .iter()
            .position(|p| p.name == check.phase)
            .expect("checks are judged per phase of the plan");
        let (phase, o) = (&plan.phases[i], &phases[i]);
        let after_clear = check.name == "alert_clear_delay";
        out.push(sharpen(check, phase, o, baseline, tol));
        if after_clear {
            if let Some(c) = notify_check(phase, &o.sentinel, baseline, tol) {
                out.push(sharpen(c, phase, o, baseline, tol));
            }
        }
    }
    out
}

/// With `--alertmanager`: adds `alert_notification` (`notices`, one per phase of `plan`) after
/// each verified phase's other checks; `am` names Alertmanager and says whether it stopped
/// answering.
pub fn add_notification_checks(
    checks: &mut Vec<Check>,
    plan: &RunPlan,
    phases: &[PhaseOutcome],
    notices: &[PhaseNotices],
    am: (&str, Option<&str>),
) {
    let baseline = plan
        .phases
        .iter()
        .zip(phases)
        .find(|(p, _)| p.kind == PhaseKind::Baseline)
        .map(|(_, o)| &o.sentinel);
    for ((phase, o), n) in plan.phases.iter().zip(phases).zip(notices) {
        if phase.kind == PhaseKind::Warmup {
            continue;
        }
        let c = notification::judge(&phase.name, &o.sentinel.evidence, n, am.0, am.1);
        let c = sharpen(c, phase, o, baseline, &plan.checks);
        let at = checks
            .iter()
            .rposition(|c| c.phase == phase.name)
            .map_or(checks.len(), |i| i + 1);
        checks.insert(at, c);
    }
}

/// Everything the run knows beyond the evidence, applied to one check.
fn sharpen(
    mut c: Check,
    phase: &Phase,
    o: &PhaseOutcome,
    baseline: Option<&PhaseEvidence>,
    tol: &CheckTolerances,
) -> Check {
    let ev = &o.sentinel;
    if let Some(why) = ev.unsupported.get(c.name.as_ref()) {
        c.status = Status::Unsupported;
        c.evidence = why.clone();
        return c;
    }
    if let Some(why) = ev.unanswered.get(c.name.as_ref()) {
        c.status = Status::Fail;
        c.evidence = format!("the target did not answer a query this check needs: {why}");
        return c;
    }
    match c.name.as_ref() {
        "trace_completeness" => completeness(&mut c, phase.kind, ev, baseline, tol),
        "alert_detection" => error_stream(&mut c, ev),
        "freshness_p99_ms" | "alert_detect_delay" | "alert_clear_delay" | "alert_notify_delay" => {
            ratio_to_baseline(&mut c)
        }
        _ => {}
    }
    if c.status >= Status::Degraded && phase.kind != PhaseKind::Baseline {
        queue_wait(&mut c, ev, baseline);
    }
    if let Some(why) = unsound(phase, o, tol.generator_limit) {
        // A phase cut short leaves its last traces unlooked-for and its last burst unfinished:
        // a drop seen there is the cut, not the target, so it cannot be called degraded.
        c.status = match c.status {
            Status::Degraded if !o.completed => Status::Inconclusive,
            s => s.max(Status::Inconclusive),
        };
        c.evidence = format!("{why}; {}", c.evidence);
    }
    c
}

/// Why a phase's checks cannot stand for what the phase claims, if they cannot.
pub fn unsound(phase: &Phase, o: &PhaseOutcome, limit: f64) -> Option<String> {
    if !o.completed {
        return Some("the phase did not finish (the run was stopped or could not go on)".into());
    }
    if phase.kind != PhaseKind::Load {
        return None;
    }
    if let Some(e) = &o.load_error {
        return Some(format!("the load could not run: {e}"));
    }
    let Some(load) = &o.load else {
        return Some("the load did not run".into());
    };
    let sent = load.total.total().sent as f64;
    let window = load.sending.as_secs_f64();
    if window < limit * phase.duration.as_secs_f64() {
        return Some(format!(
            "the load sent for {window:.1} s of the phase's {:.1} s",
            phase.duration.as_secs_f64()
        ));
    }
    // A segment of a split test is judged against its own share: it observes no other load.
    let offered = o
        .offered
        .as_ref()
        .and_then(|r| r.cumulative(window))
        .map(|spans| spans * load.share);
    match offered {
        Some(offered) if sent < limit * offered => Some(format!(
            "the load reached {} of the {} spans/s offered (below {limit} of it, \
             checks.generator_limit; its \
             workers waited for the target's answers {:.0}% of the time)",
            crate::units::rate::human(sent / window.max(1e-9)),
            crate::units::rate::human(offered / window.max(1e-9)),
            load.waiting_for_acks_share() * 100.0
        )),
        _ => None,
    }
}

/// Missing traces whose lookups went unanswered fail; a comparison too small to see the
/// configured drop is inconclusive; a drop is reported with its confidence interval.
fn completeness(
    c: &mut Check,
    kind: PhaseKind,
    ev: &PhaseEvidence,
    baseline: Option<&PhaseEvidence>,
    tol: &CheckTolerances,
) {
    if ev.missing_unanswered > 0 {
        c.status = Status::Fail;
        let last = ev
            .last_lookup_error
            .as_deref()
            .unwrap_or("the lookup failed");
        c.evidence = format!(
            "{} missing traces were never answered for ({last}); {}",
            ev.missing_unanswered, c.evidence
        );
        return;
    }
    let Some(base) = baseline
        .map(|b| &b.evidence)
        .filter(|_| kind != PhaseKind::Baseline)
    else {
        return;
    };
    let e = &ev.evidence;
    if c.status >= Status::Degraded {
        if let Some((d, lo, hi)) =
            power::drop_with_ci(base.found(), base.expected, e.found(), e.expected)
        {
            c.evidence.push_str(&format!(
                "; drop {:.1} points (95% CI {:.1} to {:.1})",
                d * 100.0,
                lo * 100.0,
                hi * 100.0
            ));
        }
        return;
    }
    if c.status != Status::Pass || base.expected == 0 {
        return;
    }
    let p0 = base.found() as f64 / base.expected as f64;
    let pw = power::power(
        p0,
        base.expected,
        e.expected,
        tol.completeness_drop,
        tol.p_value,
    );
    if pw < power::REQUIRED_POWER {
        let need = power::traces_needed(p0, tol.completeness_drop, tol.p_value)
            .map_or("more than ten million".into(), |n| n.to_string());
        c.status = Status::Inconclusive;
        c.evidence = format!(
            "too few traces to see a drop of {}: power {:.2} with {} here and {} at baseline \
             (below {}); {need} traces that must be assembled per phase would be needed; {}",
            tol.completeness_drop,
            pw,
            e.expected,
            base.expected,
            power::REQUIRED_POWER,
            c.evidence
        );
    }
}

/// Tells a burst missed because its error spans never reached the target from one missed by
/// the alert rule.
fn error_stream(c: &mut Check, ev: &PhaseEvidence) {
    if c.status == Status::Pass || ev.evidence.detected == ev.evidence.bursts {
        return;
    }
    let why = if ev.error_spans_lost > 0 {
        format!(
            "the target did not accept {} of the {} error-stream spans sent in the phase, so a \
             burst may have been missed because its errors never arrived",
            ev.error_spans_lost, ev.error_spans
        )
    } else {
        format!(
            "the target accepted all {} error-stream spans sent in the phase: the alert rule \
             missed the burst",
            ev.error_spans
        )
    };
    c.evidence = format!("{}; {why}", c.evidence);
}

/// Where the target reports queue waits, a check that gave way says how long the sentinel's
/// batches waited behind other tenants' in its queue.
fn queue_wait(c: &mut Check, ev: &PhaseEvidence, baseline: Option<&PhaseEvidence>) {
    let Some(wait) = ev.queue_wait_max else {
        return;
    };
    let base = baseline
        .and_then(|b| b.queue_wait_max)
        .map_or(String::new(), |b| {
            format!(" ({:.2} s at baseline)", b.as_secs_f64())
        });
    c.evidence.push_str(&format!(
        "; the sentinel's batches waited up to {:.2} s in the target's queue{base}",
        wait.as_secs_f64()
    ));
}

/// One line on why the verdict is what it is: the first check that gave way, with its
/// evidence, or that every check held.
pub fn why(checks: &[Check]) -> String {
    // `unsupported` checks were not judged: the verdict and its reason come from the others.
    let judged: Vec<&Check> = checks
        .iter()
        .filter(|c| c.status != Status::Unsupported)
        .collect();
    let worst = judged.iter().map(|c| c.status).max();
    match judged.iter().find(|c| Some(c.status) == worst) {
        Some(c) if c.status != Status::Pass => format!(
            "{} in {} is {}: {}",
            c.name,
            c.phase,
            c.status.as_str(),
            c.evidence
        ),
        Some(_) if judged.len() == checks.len() => {
            format!("all {} checks held in every verified phase", checks.len())
        }
        Some(_) => format!(
            "all {} judged checks held in every verified phase",
            judged.len()
        ),
        None => "no check was judged".into(),
    }
}

/// A degraded delay is reported as a multiple of its baseline value.
fn ratio_to_baseline(c: &mut Check) {
    if c.status < Status::Degraded {
        return;
    }
    if let (Some(v), Some(b)) = (c.observed, c.baseline) {
        if b > 0.0 {
            c.evidence
                .push_str(&format!("; {:.1}× the baseline's {b:.0} ms", v / b));
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `alert_notify_delay`: burst start to the firing notification's arrival at the sentinel's
/// webhook, held to the detection limit (none when the alert source sends no notifications).
fn notify_check(
    phase: &Phase,
    ev: &PhaseEvidence,
    baseline: Option<&PhaseEvidence>,
    tol: &CheckTolerances,
) -> Option<Check> {
    if ev.evidence.notifications_not_expected || phase.kind == PhaseKind::Warmup {
        return None;
    }
    let max_of = |v: &[Duration]| v.iter().max().map(|d| ms(*d));
    let limit = ms(tol.detect_limit);
    let max = max_of(&ev.notify_delays);
    let is_baseline = phase.kind == PhaseKind::Baseline;
    let base = baseline.and_then(|b| max_of(&b.notify_delays));
    let base_fails =
        base.is_none_or(|b| b > limit) && baseline.is_some_and(|b| !b.notify_delays.is_empty());
    let bound = base.map(|b| b * tol.delay_factor + ms(tol.delay_slack));
    let status = match max {
        _ if !is_baseline && base_fails => Status::Fail,
        None => Status::Inconclusive,
        Some(m) if is_baseline => {
            if m <= limit {
                Status::Pass
            } else {
                Status::Fail
            }
        }
        _ if base.is_none() => Status::Inconclusive,
        Some(m) if m > limit || bound.is_some_and(|b| m > b) => Status::Degraded,
        Some(_) => Status::Pass,
    };
    Some(Check {
        name: Cow::Borrowed("alert_notify_delay"),
        phase: phase.name.clone(),
        status,
        baseline: if is_baseline { None } else { base },
        observed: max,
        tolerance: format!(
            "≤ {limit} ms from burst start to the webhook; ≤ baseline × {} + {} ms",
            tol.delay_factor,
            ms(tol.delay_slack)
        ),
        evidence: format!(
            "max {:.0} ms over {} notifications (on the sentinel's clock)",
            max.unwrap_or(0.0),
            ev.notify_delays.len()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::checks::Evidence;

    fn phase(expected: u64, verified: u64) -> PhaseEvidence {
        PhaseEvidence {
            evidence: Evidence {
                expected,
                verified,
                missing: expected - verified,
                bursts: 1,
                ..Evidence::default()
            },
            ..PhaseEvidence::default()
        }
    }

    fn judged(name: &str, base: &PhaseEvidence, load: &PhaseEvidence) -> Check {
        let phases = [
            (
                "baseline".into(),
                PhaseKind::Baseline,
                base.evidence.clone(),
            ),
            ("load".into(), PhaseKind::Load, load.evidence.clone()),
        ];
        checks::judge(&phases, &CheckTolerances::default())
            .into_iter()
            .find(|c| c.name == name && c.phase == "load")
            .unwrap()
    }

    #[test]
    fn five_missing_of_ninety_is_inconclusive_not_pass() {
        let (base, load) = (phase(90, 90), phase(90, 85));
        let tol = CheckTolerances::default();
        let mut c = judged("trace_completeness", &base, &load);
        // The comparison alone calls this a pass (p ≈ 0.012 > 0.01) ...
        assert_eq!(c.status, Status::Pass, "{}", c.evidence);
        completeness(&mut c, PhaseKind::Load, &load, Some(&base), &tol);
        // ... but 90 traces cannot see a 1% drop: the check says so, and what it would need.
        assert_eq!(c.status, Status::Inconclusive, "{}", c.evidence);
        assert!(c.evidence.contains("998 traces"), "{}", c.evidence);
    }

    #[test]
    fn a_degradation_carries_its_effect_size() {
        let (base, load) = (phase(1000, 1000), phase(1000, 900));
        let mut c = judged("trace_completeness", &base, &load);
        assert_eq!(c.status, Status::Degraded);
        let tol = CheckTolerances::default();
        completeness(&mut c, PhaseKind::Load, &load, Some(&base), &tol);
        assert!(
            c.evidence.contains("drop 10.0 points (95% CI 8."),
            "{}",
            c.evidence
        );
    }

    #[test]
    fn a_burst_missed_for_lost_error_spans_says_so() {
        let (mut base, mut load) = (phase(100, 100), phase(100, 100));
        base.evidence.detected = 1;
        base.evidence.notified = 1;
        load.error_spans = 2000;
        let mut c = judged("alert_detection", &base, &load);
        assert_eq!(c.status, Status::Degraded);
        let mut refused = c.clone();
        error_stream(&mut c, &load);
        assert!(
            c.evidence.contains("the alert rule missed the burst"),
            "{}",
            c.evidence
        );
        load.error_spans_lost = 700;
        error_stream(&mut refused, &load);
        assert!(
            refused.evidence.contains("did not accept 700 of the 2000"),
            "{}",
            refused.evidence
        );
    }

    #[test]
    fn a_check_the_backend_cannot_answer_is_unsupported_and_never_decides_the_verdict() {
        let (base, mut load) = (phase(100, 100), phase(100, 100));
        load.unsupported.insert(
            "histogram_error",
            "unsupported by jaeger: latency histograms".into(),
        );
        let c = judged("histogram_error", &base, &load);
        let phase = Phase {
            name: "load".into(),
            kind: PhaseKind::Load,
            duration: Duration::from_secs(10),
            load_rate: None,
        };
        let o = PhaseOutcome {
            load: None,
            load_error: None,
            offered: None,
            sentinel: load,
            completed: true,
        };
        let c = sharpen(c, &phase, &o, Some(&base), &CheckTolerances::default());
        assert_eq!(c.status, Status::Unsupported);
        assert_eq!(c.evidence, "unsupported by jaeger: latency histograms");
        let mut pass = c.clone();
        pass.status = Status::Pass;
        assert_eq!(checks::verdict(&[c.clone(), pass]), Status::Pass);
        assert_eq!(
            checks::verdict(std::slice::from_ref(&c)),
            Status::Inconclusive
        );
        assert!(why(&[c]).contains("no check was judged"));
    }

    #[test]
    fn an_unanswered_query_fails_its_check() {
        let (base, mut load) = (phase(100, 100), phase(100, 100));
        load.unanswered.insert(
            "unexpected_traces",
            "could not search traces: HTTP 404".into(),
        );
        let c = judged("unexpected_traces", &base, &load);
        // The evidence alone reads "0 found": a pass.
        assert_eq!(c.status, Status::Pass);
        let phase = Phase {
            name: "load".into(),
            kind: PhaseKind::Load,
            duration: Duration::from_secs(10),
            load_rate: None,
        };
        let o = PhaseOutcome {
            load: None,
            load_error: Some("refused".into()),
            offered: None,
            sentinel: load,
            completed: true,
        };
        let c = sharpen(c, &phase, &o, Some(&base), &CheckTolerances::default());
        assert_eq!(c.status, Status::Fail);
        assert!(c.evidence.contains("HTTP 404"), "{}", c.evidence);
        // A load that could not run makes every other check of its phase inconclusive.
        let other = judged("spurious_alerts", &base, &o.sentinel);
        let other = sharpen(other, &phase, &o, Some(&base), &CheckTolerances::default());
        assert_eq!(other.status, Status::Inconclusive);
        assert!(other.evidence.contains("the load could not run"));
    }
}
