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

/// Judges phases by their evidence alone, with every rule that needs no more than the
/// evidence: the one path `run` and `capacity` share, so a rule added here holds in both.
/// The phase of kind `Baseline`, if any, is what the others are compared with.
pub fn judge_evidence(
    phases: &[(String, PhaseKind, &PhaseEvidence)],
    tol: &CheckTolerances,
) -> Vec<Check> {
    let judged: Vec<_> = phases
        .iter()
        .map(|(name, kind, ev)| (name.clone(), *kind, ev.evidence.clone()))
        .collect();
    let baseline = phases
        .iter()
        .find(|(_, kind, _)| *kind == PhaseKind::Baseline)
        .map(|(_, _, ev)| *ev);
    checks::judge(&judged, tol)
        .into_iter()
        .map(|c| {
            let (_, kind, ev) = phases
                .iter()
                .find(|(name, ..)| *name == c.phase)
                .expect("checks are judged per phase given");
            hold_to_evidence(c, *kind, ev, baseline, tol)
        })
        .collect()
}

/// The rules that need only the evidence: an unanswered query fails its check, missing traces
/// never looked up fail, a comparison too small to see the drop is inconclusive, and a check
/// that gave way says what else the evidence shows.
fn hold_to_evidence(
    mut c: Check,
    kind: PhaseKind,
    ev: &PhaseEvidence,
    baseline: Option<&PhaseEvidence>,
    tol: &CheckTolerances,
) -> Check {
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
        "trace_completeness" => completeness(&mut c, kind, ev, baseline, tol),
        "alert_detection" => error_stream(&mut c, ev),
        "freshness_p99_ms" | "alert_detect_delay" | "alert_clear_delay" | "alert_notify_delay" => {
            ratio_to_baseline(&mut c)
        }
        _ => {}
    }
    if c.status >= Status::Degraded && kind != PhaseKind::Baseline {
        queue_wait(&mut c, ev, baseline);
    }
    alert_polls(&mut c, ev);
    refusals(&mut c, ev);
    c
}

/// The checks whose evidence is a loss: traces, spans or error spans that did not arrive.
const LOSS_CHECKS: [&str; 4] = [
    "trace_completeness",
    "trace_content",
    "histogram_error",
    "alert_detection",
];

/// A loss is shown beside its cause: a check that saw one names what the target refused, by
/// reason, when it refused anything (once: `histogram_error` may name it already).
fn refusals(c: &mut Check, ev: &PhaseEvidence) {
    let Some(refused) = &ev.refused else {
        return;
    };
    if c.status == Status::Pass || !LOSS_CHECKS.contains(&c.name.as_ref()) {
        return;
    }
    if !c.evidence.contains(refused.as_str()) {
        c.evidence = format!("{}; {refused}", c.evidence);
    }
}

/// The checks that read the alert history the sentinel polls.
const ALERT_CHECKS: [&str; 4] = [
    "alert_detection",
    "alert_detect_delay",
    "alert_clear_delay",
    "spurious_alerts",
];

/// An alert check of a phase in which polls of the alert history failed cannot pass: a
/// transition may have gone unseen, or been seen late.
fn alert_polls(c: &mut Check, ev: &PhaseEvidence) {
    if ev.alert_polls_failed == 0 || c.status != Status::Pass {
        return;
    }
    if !ALERT_CHECKS.contains(&c.name.as_ref()) {
        return;
    }
    c.status = Status::Inconclusive;
    c.evidence = format!(
        "{} polls of the alert history failed in this phase: a transition may have gone \
         unseen; {}",
        ev.alert_polls_failed, c.evidence
    );
}

/// Everything the run knows beyond the evidence, applied to one check.
fn sharpen(
    c: Check,
    phase: &Phase,
    o: &PhaseOutcome,
    baseline: Option<&PhaseEvidence>,
    tol: &CheckTolerances,
) -> Check {
    let unanswered = o.sentinel.unanswered.contains_key(c.name.as_ref());
    let mut c = hold_to_evidence(c, phase.kind, &o.sentinel, baseline, tol);
    // An unanswered check already fails; one the backend cannot answer was never judged, so
    // no soundness of the phase makes it more or less than that.
    if unanswered || c.status == Status::Unsupported {
        return c;
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
    achieved_short(load, offered, limit)
}

/// Why the load the target took falls short of what the phase claims: the spans it
/// acknowledged (not merely those sent) below `limit` of the offered ones; for an unthrottled
/// (`max`) load, which offers no rate, below `limit` of what the generator sent, so a load the
/// target refused (or left unanswered) is never "under load".
fn achieved_short(
    load: &crate::engine::LoadOutcome,
    offered: Option<f64>,
    limit: f64,
) -> Option<String> {
    let total = load.total.total();
    let (acked, sent) = (total.acked as f64, total.sent as f64);
    let window = load.sending.as_secs_f64().max(1e-9);
    let rate = |spans: f64| crate::units::rate::human(spans / window);
    match offered {
        Some(offered) if acked < limit * offered => Some(format!(
            "the target acknowledged {} of the {} spans/s offered (below {limit} of it, \
             checks.generator_limit; {} spans/s were sent, and the load's workers waited for \
             the target's answers {:.0}% of the time)",
            rate(acked),
            rate(offered),
            rate(sent),
            load.waiting_for_acks_share() * 100.0
        )),
        None if acked < limit * sent || total.acked == 0 => Some(format!(
            "the target acknowledged {} of the {} spans/s the unthrottled load sent (below \
             {limit} of it, checks.generator_limit): it was not under that load",
            rate(acked),
            rate(sent)
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

    fn load(sent: u64, acked: u64) -> crate::engine::LoadOutcome {
        let mut total = crate::engine::stats::Interval::new(1);
        total.streams[0].sent = sent;
        total.streams[0].acked = acked;
        total.streams[0].rejected = sent - acked;
        crate::engine::LoadOutcome {
            total,
            elapsed: Duration::from_secs(10),
            sending: Duration::from_secs(10),
            threads: 1,
            share: 1.0,
            timeline: Vec::new(),
            start_unix_ns: 0,
        }
    }

    // Regression (issue 28, point 8): the achieved-rate check counted spans sent, and was
    // skipped for `rate = max`, so a load the target refused entirely was "under load".
    #[test]
    fn the_achieved_rate_is_what_the_target_acknowledged_even_at_max_rate() {
        let offered = Some(100_000.0);
        assert!(achieved_short(&load(100_000, 99_000), offered, 0.9).is_none());
        let refused = achieved_short(&load(100_000, 0), offered, 0.9).expect("refused");
        assert!(refused.contains("acknowledged 0"), "{refused}");
        assert!(achieved_short(&load(500_000, 499_000), None, 0.9).is_none());
        let max = achieved_short(&load(500_000, 0), None, 0.9).expect("refused at max");
        assert!(max.contains("unthrottled"), "{max}");
        assert!(achieved_short(&load(500_000, 200_000), None, 0.9).is_some());
    }

    // Regression (issue 28, point 10): failed alert polls were counted and never read, so a
    // phase whose polls failed passed its alert checks on transitions no poll could see.
    #[test]
    fn alert_checks_of_a_phase_with_failed_polls_cannot_pass() {
        let (mut base, mut load) = (phase(100, 100), phase(100, 100));
        for e in [&mut base.evidence, &mut load.evidence] {
            (e.detected, e.cleared, e.notified) = (1, 1, 1);
        }
        load.alert_polls_failed = 3;
        let phases = [
            ("baseline".to_string(), PhaseKind::Baseline, &base),
            ("load".to_string(), PhaseKind::Load, &load),
        ];
        let checks = judge_evidence(&phases, &CheckTolerances::default());
        for name in ["alert_detection", "spurious_alerts"] {
            let of = |phase: &str| {
                checks
                    .iter()
                    .find(|c| c.name == name && c.phase == phase)
                    .unwrap()
            };
            assert_eq!(
                of("baseline").status,
                Status::Pass,
                "{}",
                of("baseline").evidence
            );
            assert_eq!(
                of("load").status,
                Status::Inconclusive,
                "{}",
                of("load").evidence
            );
            assert!(
                of("load")
                    .evidence
                    .contains("3 polls of the alert history failed")
            );
        }
    }

    // Regression (issue 28, point 12b): `histogram_error` named the target's refusals, but
    // `trace_content` said only "100 spans instead of 101".
    #[test]
    fn a_check_that_saw_a_loss_names_the_targets_refusals() {
        let base = phase(100, 100);
        let mut load = phase(100, 90);
        load.evidence.incorrect = 10;
        load.evidence.missing = 0;
        load.refused = Some("5,059 spans refused by the target: no tenant attribute".into());
        let phases = [
            ("baseline".to_string(), PhaseKind::Baseline, &base),
            ("load".to_string(), PhaseKind::Load, &load),
        ];
        let checks = judge_evidence(&phases, &CheckTolerances::default());
        let content = checks
            .iter()
            .find(|c| c.name == "trace_content" && c.phase == "load")
            .unwrap();
        assert_ne!(content.status, Status::Pass, "{}", content.evidence);
        assert!(
            content
                .evidence
                .contains("5,059 spans refused by the target: no tenant attribute"),
            "{}",
            content.evidence
        );
        let base_content = checks
            .iter()
            .find(|c| c.name == "trace_content" && c.phase == "baseline")
            .unwrap();
        assert!(
            !base_content.evidence.contains("refused"),
            "{}",
            base_content.evidence
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
