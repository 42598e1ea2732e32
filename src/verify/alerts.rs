//! Alert cycles: for every error burst, did the alert fire (and how soon), did it notify the
//! webhook, did it clear (and how soon after the burst), and did it fire when no burst was on?

use std::time::Duration;

use super::api::Transition;
use crate::sentinel::ledger::SeenTransition;
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

/// What happened around one burst, on the sentinel's clock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BurstOutcome {
    /// When the sentinel first saw the firing transition, if the alert fired for it.
    pub fired_ns: Option<u64>,
    /// When the sentinel first saw the resolving transition after it fired.
    pub cleared_ns: Option<u64>,
    /// Whether the webhook received the firing notification.
    pub notified: bool,
    /// When the firing notification reached the webhook.
    pub notified_ns: Option<u64>,
}

impl BurstOutcome {
    /// Burst start to the firing, as the sentinel saw it.
    pub fn detect_delay(&self, burst: &BurstWindow) -> Option<Duration> {
        self.fired_ns
            .map(|f| Duration::from_nanos(f.saturating_sub(burst.start_ns)))
    }

    /// Burst end to resolving (zero if it resolved before the burst ended).
    pub fn clear_delay(&self, burst: &BurstWindow) -> Option<Duration> {
        self.cleared_ns
            .map(|c| Duration::from_nanos(c.saturating_sub(burst.end_ns)))
    }

    /// Burst start to the firing notification's arrival at the webhook.
    pub fn notify_delay(&self, burst: &BurstWindow) -> Option<Duration> {
        self.notified_ns
            .map(|n| Duration::from_nanos(n.saturating_sub(burst.start_ns)))
    }
}

/// The transitions of `history` with the time the sentinel's polls first saw each (`seen`);
/// one no poll saw is seen at `now_ns`, when this history was read.
pub fn as_seen(
    history: &[Transition],
    seen: &[SeenTransition],
    now_ns: u64,
) -> Vec<SeenTransition> {
    history
        .iter()
        .map(|t| SeenTransition {
            rule: t.rule.clone(),
            state: t.state.clone(),
            at_unix_nano: t.at_unix_nano,
            seen_unix_nano: seen
                .iter()
                .find(|s| {
                    s.at_unix_nano == t.at_unix_nano && s.rule == t.rule && s.state == t.state
                })
                .map_or(now_ns, |s| s.seen_unix_nano),
        })
        .collect()
}

/// Transitions taken as seen when the target stamped them (an alert source the sentinel polls
/// itself, such as Prometheus, stamps them with its own poll time).
pub fn as_stamped(history: &[Transition]) -> Vec<SeenTransition> {
    as_seen(history, &[], 0)
        .into_iter()
        .map(|mut t| {
            t.seen_unix_nano = t.at_unix_nano;
            t
        })
        .collect()
}

/// When a transition happened, as far as the run can tell: when a poll first saw it, or, for
/// one no poll saw before `until_ns` (the polls failed, or it came and went between two), when
/// the target stamped it: the end-of-run look that first showed it is not when it happened, and
/// a stray firing must not drop out of `spurious_alerts` for being seen late.
fn happened(t: &SeenTransition, until_ns: u64) -> u64 {
    if t.seen_unix_nano < until_ns {
        t.seen_unix_nano
    } else {
        t.at_unix_nano
    }
}

/// Matches transitions of `rule`, by the time the sentinel first saw them, to bursts. A
/// firing seen within [start, end + grace] belongs to the burst; any other firing seen before
/// `until_ns` is spurious (returned by time seen). Notifications are matched to the firing by
/// the target's own transition time, and timed by their arrival.
pub fn evaluate(
    bursts: &[BurstWindow],
    rule: &str,
    seen: &[SeenTransition],
    notifications: &[Notification],
    grace: Duration,
    until_ns: u64,
) -> (Vec<BurstOutcome>, Vec<u64>) {
    let mut history: Vec<&SeenTransition> = seen.iter().filter(|t| t.rule == rule).collect();
    history.sort_by_key(|t| (t.seen_unix_nano, t.at_unix_nano));
    let grace = grace.as_nanos() as u64;
    let within = |b: &BurstWindow, at: u64| at >= b.start_ns && at <= b.end_ns + grace;
    let outcomes = bursts
        .iter()
        .map(|b| {
            let Some(fire) = history
                .iter()
                .find(|t| t.state == "firing" && within(b, t.seen_unix_nano))
            else {
                return BurstOutcome::default();
            };
            let cleared_ns = history
                .iter()
                .find(|t| t.state == "ok" && t.at_unix_nano > fire.at_unix_nano)
                .map(|t| t.seen_unix_nano);
            let notified_ns = notifications
                .iter()
                .filter(|n| {
                    n.rule == rule && n.state == "firing" && n.at_unix_nano == fire.at_unix_nano
                })
                .map(|n| n.received_unix_nano)
                .min();
            BurstOutcome {
                fired_ns: Some(fire.seen_unix_nano),
                cleared_ns,
                notified: notified_ns.is_some(),
                notified_ns,
            }
        })
        .collect();
    let spurious = history
        .iter()
        .filter(|t| t.state == "firing")
        .map(|t| happened(t, until_ns))
        .filter(|&at| at < until_ns && !bursts.iter().any(|b| within(b, at)))
        .collect();
    (outcomes, spurious)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transition the target stamped at `at` and the sentinel first saw 10 ns later.
    fn t(state: &str, at: u64) -> SeenTransition {
        SeenTransition {
            rule: "r".into(),
            state: state.into(),
            at_unix_nano: at,
            seen_unix_nano: at + 10,
        }
    }

    fn bursts() -> [BurstWindow; 2] {
        [
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
        ]
    }

    #[test]
    fn bursts_are_matched_and_strays_are_spurious() {
        let bursts = bursts();
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
            received_unix_nano: 171,
        }];
        let grace = Duration::from_nanos(50);
        let (out, spurious) = evaluate(&bursts, "r", &history, &hooks, grace, 2000);
        assert_eq!(
            out[0],
            BurstOutcome {
                fired_ns: Some(160),
                cleared_ns: Some(270),
                notified: true,
                notified_ns: Some(171),
            }
        );
        let d = Duration::from_nanos;
        assert_eq!(out[0].detect_delay(&bursts[0]), Some(d(60)));
        assert_eq!(out[0].clear_delay(&bursts[0]), Some(d(70)));
        assert_eq!(out[0].notify_delay(&bursts[0]), Some(d(71)));
        assert_eq!(out[1], BurstOutcome::default());
        assert_eq!(spurious, vec![510]);
    }

    // Regression (issue 28, point 10): a stray firing no poll saw was stamped at the end-of-run
    // look, after `until`, and dropped out of `spurious_alerts`.
    #[test]
    fn a_stray_firing_no_poll_saw_is_still_spurious_when_it_happened() {
        let mut stray = t("firing", 500);
        stray.seen_unix_nano = 5000; // first seen by the look after the run
        let grace = Duration::from_nanos(50);
        let (_, spurious) = evaluate(&bursts(), "r", &[stray], &[], grace, 2000);
        assert_eq!(spurious, vec![500]);
        let mut after = t("firing", 3000);
        after.seen_unix_nano = 5000;
        let (_, spurious) = evaluate(&bursts(), "r", &[after], &[], grace, 2000);
        assert!(
            spurious.is_empty(),
            "a firing after the run is not the run's"
        );
    }

    #[test]
    fn delays_are_on_the_sentinels_clock_not_the_targets() {
        // The target stamps its firing 10 ns into the burst, but the sentinel only sees it
        // 90 ns later, and the notification arrives later still: both delays are the
        // sentinel's, never the stamp's.
        let bursts = bursts();
        let mut fire = t("firing", 110);
        fire.seen_unix_nano = 190;
        let hooks = [Notification {
            rule: "r".into(),
            state: "firing".into(),
            at_unix_nano: 110,
            received_unix_nano: 240,
        }];
        let grace = Duration::from_nanos(50);
        let (out, _) = evaluate(&bursts, "r", &[fire], &hooks, grace, 2000);
        assert_eq!(
            out[0].detect_delay(&bursts[0]),
            Some(Duration::from_nanos(90))
        );
        assert_eq!(
            out[0].notify_delay(&bursts[0]),
            Some(Duration::from_nanos(140))
        );
    }
}
