//! `alert_notification`: every burst Prometheus fired for brought a firing notification from
//! Alertmanager, and every one it cleared a resolved one. Missing notifications fail in any
//! phase (the load is on the pipeline, not on Alertmanager: a notification lost is a broken
//! alerting path, not a degradation), and the message names Alertmanager and says whether it
//! stopped answering. A phase without a burst, or whose bursts Prometheus never fired for, has
//! nothing to notify: inconclusive, never a pass.

use std::borrow::Cow;
use std::time::Duration;

use super::cycles::BurstNotices;
use crate::verify::alerts::BurstWindow;
use crate::verify::checks::{Check, Evidence};
use crate::verify::status::Status;

/// What Alertmanager delivered for the bursts of one phase.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhaseNotices {
    /// Bursts that started in the phase.
    pub bursts: u64,
    /// Of those, bursts with a firing notification.
    pub firing: u64,
    /// Of those, bursts whose firing was followed by a resolved notification.
    pub resolved: u64,
    /// Burst start to the firing notification, per notified burst.
    pub notify_delays: Vec<Duration>,
    /// Burst end to the resolved notification, per resolved burst.
    pub resolve_delays: Vec<Duration>,
}

/// Sums `notices` (one per burst of `bursts`) per phase (`phases` of them).
pub fn per_phase(
    bursts: &[BurstWindow],
    notices: &[BurstNotices],
    phases: usize,
) -> Vec<PhaseNotices> {
    let mut out = vec![PhaseNotices::default(); phases];
    for (b, n) in bursts.iter().zip(notices) {
        let p = &mut out[b.phase];
        p.bursts += 1;
        if let Some(d) = n.notify_delay(b) {
            p.firing += 1;
            p.notify_delays.push(d);
            if let Some(r) = n.resolve_delay(b) {
                p.resolved += 1;
                p.resolve_delays.push(r);
            }
        }
    }
    out
}

/// The check of one verified phase: `ev` is what Prometheus showed, `n` what Alertmanager
/// delivered, `who` names Alertmanager and `health` says whether it stopped answering.
pub fn judge(
    phase: &str,
    ev: &Evidence,
    n: &PhaseNotices,
    who: &str,
    health: Option<&str>,
) -> Check {
    let missing_firing = ev.detected.saturating_sub(n.firing);
    let missing_resolved = ev.cleared.min(n.firing).saturating_sub(n.resolved);
    let (status, mut evidence) = if n.bursts == 0 {
        (
            Status::Inconclusive,
            "no burst started in the phase".to_owned(),
        )
    } else if missing_firing > 0 || missing_resolved > 0 {
        let mut parts = Vec::new();
        if missing_firing > 0 {
            parts.push(format!(
                "no firing notification for {missing_firing} of the {} bursts Prometheus fired for",
                ev.detected
            ));
        }
        if missing_resolved > 0 {
            parts.push(format!(
                "no resolved notification for {missing_resolved} of the {} notified bursts \
                 Prometheus cleared",
                ev.cleared.min(n.firing)
            ));
        }
        (Status::Fail, format!("{who} sent {}", parts.join(", and ")))
    } else if n.firing == 0 {
        (
            Status::Inconclusive,
            format!(
                "Prometheus fired for none of the {} bursts: nothing for {who} to notify \
                 (see alert_detection)",
                n.bursts
            ),
        )
    } else {
        let max = n.resolve_delays.iter().max().copied().unwrap_or_default();
        (
            Status::Pass,
            format!(
                "{who}: {} firing and {} resolved notifications for {} bursts; resolved at most \
                 {:.0} ms after a burst's end (on the sentinel's clock)",
                n.firing,
                n.resolved,
                n.bursts,
                max.as_secs_f64() * 1e3
            ),
        )
    };
    match health {
        Some(h) => evidence.push_str(&format!("; {h}")),
        // It kept answering: the alert may never have reached it.
        None if status == Status::Fail => evidence.push_str(&format!(
            "; {who} kept answering: check that Prometheus sends it its alerts (`alerting:` in \
             prometheus.yml; Prometheus's GET /api/v1/alertmanagers) and that its route still \
             reaches the sentinel"
        )),
        None => {}
    }
    Check {
        name: Cow::Borrowed("alert_notification"),
        phase: phase.to_owned(),
        status,
        baseline: None,
        observed: (n.bursts > 0).then(|| n.resolved as f64 / n.bursts as f64),
        tolerance: "every burst Prometheus fires for is notified by Alertmanager, firing and \
                    then resolved"
            .into(),
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(detected: u64, cleared: u64) -> Evidence {
        Evidence {
            bursts: 1,
            detected,
            cleared,
            ..Evidence::default()
        }
    }

    fn notices(firing: u64, resolved: u64) -> PhaseNotices {
        PhaseNotices {
            bursts: 1,
            firing,
            resolved,
            ..PhaseNotices::default()
        }
    }

    const WHO: &str = "Alertmanager at http://127.0.0.1:9093";

    #[test]
    fn firing_and_resolved_for_every_burst_passes() {
        let c = judge("load", &ev(1, 1), &notices(1, 1), WHO, None);
        assert_eq!(c.status, Status::Pass, "{}", c.evidence);
    }

    #[test]
    fn a_missing_notification_fails_naming_alertmanager() {
        let down = "Alertmanager at http://127.0.0.1:9093 did not answer 3 of 9 status requests";
        for (firing, resolved) in [(0, 0), (1, 0)] {
            let c = judge(
                "load",
                &ev(1, 1),
                &notices(firing, resolved),
                WHO,
                Some(down),
            );
            assert_eq!(c.status, Status::Fail, "{}", c.evidence);
            assert!(c.evidence.starts_with(WHO), "{}", c.evidence);
            assert!(
                c.evidence.contains("did not answer 3 of 9"),
                "{}",
                c.evidence
            );
        }
    }

    #[test]
    fn nothing_to_notify_is_never_a_pass() {
        let c = judge("load", &ev(0, 0), &notices(0, 0), WHO, None);
        assert_eq!(c.status, Status::Inconclusive, "{}", c.evidence);
        let none = PhaseNotices::default();
        let c = judge("load", &Evidence::default(), &none, WHO, None);
        assert_eq!(c.status, Status::Inconclusive, "{}", c.evidence);
    }
}
