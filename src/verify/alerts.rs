//! Alert cycles: for every error burst, did the alert fire (and how soon), did it notify the
//! webhook, did it clear (and how soon after the burst), and did it fire when no burst was on?

use std::time::Duration;

use super::api::Transition;
use crate::sentinel::webhook::Notification;

/// A burst on the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurstWindow {
    /// Index of the phase it started in.
    pub phase: usize,
    /// Start, unix ns.
    pub start_ns: u64,
    /// End, unix ns.
    pub end_ns: u64,
}

/// What happened around one burst.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BurstOutcome {
    /// Firing transition time, if the alert fired for it.
    pub fired_ns: Option<u64>,
    /// Resolving transition time after it fired.
    pub cleared_ns: Option<u64>,
    /// Whether the webhook received the firing notification.
    pub notified: bool,
}

impl BurstOutcome {
    /// Burst start to firing.
    pub fn detect_delay(&self, burst: &BurstWindow) -> Option<Duration> {
        self.fired_ns
            .map(|f| Duration::from_nanos(f.saturating_sub(burst.start_ns)))
    }

    /// Burst end to resolving (zero if it resolved before the burst ended).
    pub fn clear_delay(&self, burst: &BurstWindow) -> Option<Duration> {
        self.cleared_ns
            .map(|c| Duration::from_nanos(c.saturating_sub(burst.end_ns)))
    }
}

/// Matches transitions of `rule` to bursts. A firing within [start, end + grace] belongs to the
/// burst; any other firing before `until_ns` is spurious (returned by time).
pub fn evaluate(
    bursts: &[BurstWindow],
    rule: &str,
    transitions: &[Transition],
    notifications: &[Notification],
    grace: Duration,
    until_ns: u64,
) -> (Vec<BurstOutcome>, Vec<u64>) {
    let mut history: Vec<&Transition> = transitions.iter().filter(|t| t.rule == rule).collect();
    history.sort_by_key(|t| t.at_unix_nano);
    let grace = grace.as_nanos() as u64;
    let within = |b: &BurstWindow, at: u64| at >= b.start_ns && at <= b.end_ns + grace;
    let outcomes = bursts
        .iter()
        .map(|b| {
            let Some(fire) = history
                .iter()
                .find(|t| t.state == "firing" && within(b, t.at_unix_nano))
            else {
                return BurstOutcome::default();
            };
            let cleared_ns = history
                .iter()
                .find(|t| t.state == "ok" && t.at_unix_nano > fire.at_unix_nano)
                .map(|t| t.at_unix_nano);
            let notified = notifications.iter().any(|n| {
                n.rule == rule && n.state == "firing" && n.at_unix_nano == fire.at_unix_nano
            });
            BurstOutcome {
                fired_ns: Some(fire.at_unix_nano),
                cleared_ns,
                notified,
            }
        })
        .collect();
    let spurious = history
        .iter()
        .filter(|t| {
            t.state == "firing"
                && t.at_unix_nano < until_ns
                && !bursts.iter().any(|b| within(b, t.at_unix_nano))
        })
        .map(|t| t.at_unix_nano)
        .collect();
    (outcomes, spurious)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(state: &str, at: u64) -> Transition {
        Transition {
            rule: "r".into(),
            state: state.into(),
            at_unix_nano: at,
        }
    }

    #[test]
    fn bursts_are_matched_and_strays_are_spurious() {
        let bursts = [
            BurstWindow {
                phase: 1,
                start_ns: 100,
                end_ns: 200,
            },
            BurstWindow {
                phase: 2,
                start_ns: 1000,
                end_ns: 1100,
            },
        ];
        let history = [
            t("firing", 150),
            t("ok", 260),
            t("firing", 500),
            t("ok", 600),
        ];
        let hooks = [Notification {
            rule: "r".into(),
            state: "firing".into(),
            at_unix_nano: 150,
            received_unix_nano: 151,
        }];
        let (out, spurious) = evaluate(
            &bursts,
            "r",
            &history,
            &hooks,
            Duration::from_nanos(50),
            2000,
        );
        assert_eq!(
            out[0],
            BurstOutcome {
                fired_ns: Some(150),
                cleared_ns: Some(260),
                notified: true
            }
        );
        assert_eq!(
            out[0].detect_delay(&bursts[0]),
            Some(Duration::from_nanos(50))
        );
        assert_eq!(
            out[0].clear_delay(&bursts[0]),
            Some(Duration::from_nanos(60))
        );
        assert_eq!(out[1], BurstOutcome::default());
        assert_eq!(spurious, vec![500]);
    }
}
