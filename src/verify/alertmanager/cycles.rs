//! Notifications to bursts: which firing of the alert Alertmanager announced for each burst,
//! and whether it announced its end. A firing is named by its `startsAt` (the same text in
//! every notification about it); it belongs to the burst during or after whose start its first
//! firing notification arrived, before the next burst began. Every time is the arrival at the
//! sentinel's webhook.

use std::collections::BTreeMap;
use std::time::Duration;

use super::receiver::Delivered;
use crate::verify::alerts::BurstWindow;

/// What Alertmanager delivered for one burst.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BurstNotices {
    /// When the firing notification arrived, unix ns.
    pub firing_ns: Option<u64>,
    /// When the resolved notification of that firing arrived, unix ns.
    pub resolved_ns: Option<u64>,
}

impl BurstNotices {
    /// Burst start to the firing notification.
    pub fn notify_delay(&self, b: &BurstWindow) -> Option<Duration> {
        self.firing_ns
            .map(|n| Duration::from_nanos(n.saturating_sub(b.start_ns)))
    }

    /// Burst end to the resolved notification (zero if it came before the end).
    pub fn resolve_delay(&self, b: &BurstWindow) -> Option<Duration> {
        self.resolved_ns
            .map(|n| Duration::from_nanos(n.saturating_sub(b.end_ns)))
    }
}

/// First arrival of each status of one firing.
#[derive(Debug, Default)]
struct Firing {
    firing: Option<u64>,
    resolved: Option<u64>,
}

/// Matches the sentinel's alert's notifications (`alerts` holds only those) to `bursts`,
/// which are in order of start.
pub fn match_bursts(bursts: &[BurstWindow], alerts: &[Delivered]) -> Vec<BurstNotices> {
    let mut firings: BTreeMap<&str, Firing> = BTreeMap::new();
    for a in alerts {
        let f = firings.entry(a.starts_at.as_str()).or_default();
        let slot = match a.status.as_str() {
            "firing" => &mut f.firing,
            "resolved" => &mut f.resolved,
            _ => continue,
        };
        let at = a.received_unix_nano;
        *slot = Some(slot.map_or(at, |s| s.min(at)));
    }
    bursts
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let next = bursts.get(i + 1).map_or(u64::MAX, |n| n.start_ns);
            firings
                .values()
                .filter_map(|f| Some((f.firing?, f.resolved)))
                .filter(|(at, _)| *at >= b.start_ns && *at < next)
                .min_by_key(|(at, _)| *at)
                .map_or_else(BurstNotices::default, |(at, resolved)| BurstNotices {
                    firing_ns: Some(at),
                    resolved_ns: resolved,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(status: &str, starts_at: &str, at: u64) -> Delivered {
        Delivered {
            status: status.into(),
            labels: Default::default(),
            starts_at: starts_at.into(),
            received_unix_nano: at,
        }
    }

    fn burst(start_ns: u64, end_ns: u64) -> BurstWindow {
        BurstWindow {
            phase: 0,
            start_ns,
            end_ns,
        }
    }

    #[test]
    fn each_burst_gets_its_firing_and_resolved_notifications() {
        let bursts = [burst(100, 200), burst(1000, 1100)];
        let alerts = [
            d("firing", "a", 150),
            // Repeated inside a later notification of the group: the first arrival counts.
            d("firing", "a", 170),
            d("resolved", "a", 260),
            d("firing", "b", 1040),
        ];
        let out = match_bursts(&bursts, &alerts);
        assert_eq!(
            out[0],
            BurstNotices {
                firing_ns: Some(150),
                resolved_ns: Some(260)
            }
        );
        assert_eq!(
            out[0].notify_delay(&bursts[0]),
            Some(Duration::from_nanos(50))
        );
        assert_eq!(
            out[0].resolve_delay(&bursts[0]),
            Some(Duration::from_nanos(60))
        );
        // The second burst fired but its end was never announced.
        assert_eq!(
            out[1],
            BurstNotices {
                firing_ns: Some(1040),
                resolved_ns: None
            }
        );
    }

    #[test]
    fn nothing_delivered_is_nothing_notified() {
        let bursts = [burst(100, 200)];
        // A firing announced before the burst, or only ever as resolved, is not this burst's.
        let alerts = [d("firing", "old", 50), d("resolved", "c", 150)];
        assert_eq!(match_bursts(&bursts, &alerts), [BurstNotices::default()]);
    }
}
