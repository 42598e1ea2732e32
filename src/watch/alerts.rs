//! Following the sentinel's alert: each burst is decided once its clear limit (plus grace) has
//! passed — did the alert fire and notify, how soon, did it clear — and every firing of the
//! sentinel's rule outside this process's own bursts is spurious.
//!
//! Restarts: before a process sends anything it waits, after creating its rule, until the
//! error window of the previous process's spans has passed and the rule is not firing
//! ([`wait_for_quiet`]); only firings after its own start count. So a firing caused by the
//! previous process's last burst is neither a detection nor spurious.

use std::time::{Duration, Instant};

use super::windows::Recorder;
use crate::sentinel::errors::BurstSchedule;
use crate::sentinel::sender::SentinelCtx;
use crate::sentinel::webhook::{Notification, WebhookReceiver};
use crate::verify::alerts::{self, BurstWindow};
use crate::verify::api::Transition;
use crate::verify::backend::Backend;

/// Follows the alert of one process.
#[derive(Debug)]
pub struct AlertFollower {
    /// Index of the next burst to decide.
    next_burst: u64,
    /// Firings before this (unix ns) were judged.
    spurious_from: u64,
    /// Notifications that may still belong to an undecided burst.
    notifications: Vec<Notification>,
    /// How long an alert may take to clear once a burst ends (the checks' tolerance).
    clear_limit: Duration,
}

/// How long after a transition it is surely in the target's history.
const HISTORY_LAG: Duration = Duration::from_secs(2);

impl AlertFollower {
    /// A follower for a sentinel started at `ctx.anchor`, whose alerts may take `clear_limit`
    /// to clear.
    pub fn new(ctx: &SentinelCtx, clear_limit: Duration) -> Self {
        Self {
            next_burst: 0,
            spurious_from: ctx.anchor.start_unix_ns,
            notifications: Vec::new(),
            clear_limit,
        }
    }

    /// Burst `k` on the wall clock.
    fn burst(ctx: &SentinelCtx, k: u64) -> BurstWindow {
        let (start, end) = offsets(&ctx.plan.sentinel.bursts, k);
        let at = |d: Duration| ctx.anchor.start_unix_ns + d.as_nanos() as u64;
        BurstWindow {
            phase: 0,
            start_ns: at(start),
            end_ns: at(end),
        }
    }

    /// Decides every burst that ended by `sent_until` (offset from the start) and whose clear
    /// limit has passed, and judges firings up to a little before now (up to now if `last`).
    pub async fn tick(
        &mut self,
        ctx: &SentinelCtx,
        query: &Backend,
        webhook: &WebhookReceiver,
        rec: &mut Recorder,
        sent_until: Duration,
        last: bool,
    ) {
        let s = &ctx.plan.sentinel;
        let wait = self.clear_limit + s.alert_grace + HISTORY_LAG;
        let now = Instant::now();
        let mut due = Vec::new();
        for k in self.next_burst.. {
            let (_, end) = offsets(&s.bursts, k);
            if end > sent_until || now < ctx.anchor.instant + end + wait {
                break;
            }
            due.push(Self::burst(ctx, k));
        }
        let lag = if last { Duration::ZERO } else { HISTORY_LAG };
        let spurious_until = ctx
            .anchor
            .unix_ns(now)
            .saturating_sub(lag.as_nanos() as u64);
        if due.is_empty() && spurious_until <= self.spurious_from {
            return;
        }
        let history = match query.alert_history().await {
            Ok(h) => h,
            // A backend without alerts (Jaeger): no burst is decided, the alert checks keep no
            // samples and read `inconclusive`, and no query error is counted.
            Err(crate::verify::api::QueryError::Unsupported { .. }) => return,
            Err(e) => {
                let mut ledger = ctx.ledger();
                ledger.query_errors += 1;
                ledger.last_query_error = Some(e.to_string());
                return;
            }
        };
        self.notifications.extend(webhook.take());
        let seen = alerts::as_seen(
            &history,
            &ctx.ledger().alerts_seen,
            ctx.anchor.unix_ns(Instant::now()),
        );
        let (outcomes, _) = alerts::evaluate(
            &due,
            &s.alert.name,
            &seen,
            &self.notifications,
            s.alert_grace,
            0,
        );
        for (b, o) in due.iter().zip(&outcomes) {
            rec.burst_decided(b, o);
        }
        self.next_burst += due.len() as u64;
        let keep_from = Self::burst(ctx, self.next_burst).start_ns;
        self.notifications.retain(|n| n.at_unix_nano >= keep_from);
        let spurious = self.spurious(ctx, &history, spurious_until);
        rec.spurious(spurious);
    }

    fn spurious(&mut self, ctx: &SentinelCtx, history: &[Transition], until: u64) -> u64 {
        let from = self.spurious_from;
        if until <= from {
            return 0;
        }
        self.spurious_from = until;
        history
            .iter()
            .filter(|t| t.rule == ctx.plan.sentinel.alert.name && t.state == "firing")
            .filter(|t| (from..until).contains(&t.at_unix_nano))
            .filter(|t| {
                let s = &ctx.plan.sentinel;
                let offset =
                    Duration::from_nanos(t.at_unix_nano.saturating_sub(ctx.anchor.start_unix_ns));
                !in_own_burst(&s.bursts, s.alert_grace, ctx.plan.total(), offset)
            })
            .count() as u64
    }

    /// Bursts that ended by `sent_until` and were not decided.
    pub fn pending(&self, ctx: &SentinelCtx, sent_until: Duration) -> u64 {
        (self.next_burst..)
            .take_while(|k| offsets(&ctx.plan.sentinel.bursts, *k).1 <= sent_until)
            .count() as u64
    }
}

/// Start and end of burst `k` of `s`, as offsets from the start.
fn offsets(s: &BurstSchedule, k: u64) -> (Duration, Duration) {
    let start = s.offset + Duration::from_nanos((s.period.as_nanos() as u64).saturating_mul(k));
    (start, start + s.burst)
}

/// Whether a firing at `at` (offset from the start) belongs to one of the bursts of `s` that
/// were sent (those ending by `total`), counting `grace` after each burst's end.
fn in_own_burst(s: &BurstSchedule, grace: Duration, total: Duration, at: Duration) -> bool {
    if at < s.offset {
        return false;
    }
    let mut k = ((at - s.offset).as_nanos() / s.period.as_nanos()) as u64;
    loop {
        let (start, end) = offsets(s, k);
        if end + grace < at {
            return false;
        }
        if end <= total && at >= start {
            return true;
        }
        let Some(prev) = k.checked_sub(1) else {
            return false;
        };
        k = prev;
    }
}

/// Waits, after the sentinel's rule was created at `created_unix_ns`, until spans sent before
/// (by an earlier process) have left the rule's window and the rule is not firing; gives up
/// after `max_wait`. Returns whether the rule was quiet.
pub async fn wait_for_quiet(
    ctx_rule: &str,
    query: &Backend,
    created_unix_ns: u64,
    min_wait: Duration,
    max_wait: Duration,
) -> bool {
    let start = Instant::now();
    tokio::time::sleep(min_wait).await;
    loop {
        let answer = query.alert_history().await;
        if let Err(crate::verify::api::QueryError::Unsupported { .. }) = answer {
            return true;
        }
        if let Ok(history) = answer {
            let last = history
                .iter()
                .filter(|t| t.rule == ctx_rule && t.at_unix_nano >= created_unix_ns)
                .max_by_key(|t| t.at_unix_nano);
            if last.is_none_or(|t| t.state != "firing") {
                return true;
            }
        }
        if start.elapsed() >= max_wait {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firings_belong_to_sent_bursts_plus_grace_only() {
        let s = BurstSchedule {
            offset: Duration::from_secs(2),
            period: Duration::from_secs(10),
            burst: Duration::from_secs(3),
        };
        let grace = Duration::from_secs(3);
        let total = Duration::from_secs(30);
        let own = |secs: f64| in_own_burst(&s, grace, total, Duration::from_secs_f64(secs));
        // Before the first burst (e.g. the previous process's alert at start-up): not own.
        assert!(!own(0.5) && !own(1.99));
        assert!(own(2.0) && own(4.9) && own(7.9));
        assert!(!own(8.1) && !own(11.9));
        assert!(own(12.0) && own(17.5));
        // The burst at 32-35 s ends after `total`: never sent, so a firing then is not its.
        assert!(!own(33.0));
        assert_eq!(
            offsets(&s, 2),
            (Duration::from_secs(22), Duration::from_secs(25))
        );
    }
}
