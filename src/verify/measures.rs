//! One measure per check: what each check observed in a phase, whether that holds
//! absolutely, and whether it is worse than at baseline. `checks::judge` turns these into
//! statuses; keeping the measures apart keeps each check's rule short and readable.

use std::time::Duration;

use super::evidence::{CheckTolerances, Evidence};
use super::stats::two_proportion_p;
use super::status::Millis;

/// A measured value, whether it holds absolutely, and whether it is worse than baseline.
pub(super) struct Measure {
    pub(super) name: &'static str,
    pub(super) observed: Option<f64>,
    pub(super) enough: bool,
    pub(super) holds: bool,
    pub(super) worse: bool,
    pub(super) tolerance: String,
    pub(super) evidence: String,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub(super) fn measures(
    ev: &Evidence,
    base: Option<&Evidence>,
    tol: &CheckTolerances,
) -> Vec<Measure> {
    vec![
        completeness(ev, base, tol),
        count_check(
            "trace_content",
            ev.incorrect,
            ev.found() > 0,
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

fn completeness(ev: &Evidence, base: Option<&Evidence>, tol: &CheckTolerances) -> Measure {
    let ratio = (ev.expected > 0).then(|| ev.found() as f64 / ev.expected as f64);
    let holds = ratio.is_some_and(|r| r >= tol.completeness_min);
    let (worse, p) = match (base, ratio) {
        (Some(b), Some(r)) if b.expected > 0 => {
            let p = two_proportion_p(b.found(), b.expected, ev.found(), ev.expected);
            let drop = b.found() as f64 / b.expected as f64 - r;
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
