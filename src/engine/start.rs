//! A common start without a coordinator: every process of a segmented test waits for the same
//! wall-clock instant, then paces and stamps its batches from that instant, not from when it
//! woke up. Processes on clocks in step (NTP) then send the batches of the one global sequence at
//! the same times as a single process would have, and a process that woke late catches up on its
//! schedule (its lag shows in the report) instead of shifting it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::Anchor;

/// How much later than scheduled a process may start before its report warns: ten times a
/// thread's wake-up slack on a busy machine, and a tenth of a one-second timeline bucket, so
/// segments' per-second timelines still line up.
pub const START_LAG_BUDGET: Duration = Duration::from_millis(100);

/// When a process was scheduled to start and when it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// The instant asked for, unix nanoseconds.
    pub scheduled_unix_ns: u64,
    /// The instant the process woke up to start, unix nanoseconds.
    pub actual_unix_ns: u64,
}

impl Start {
    /// How late the process started (zero when on time).
    pub fn late(&self) -> Duration {
        Duration::from_nanos(self.actual_unix_ns.saturating_sub(self.scheduled_unix_ns))
    }

    /// True when it started later than [`START_LAG_BUDGET`].
    pub fn over_budget(&self) -> bool {
        self.late() > START_LAG_BUDGET
    }
}

fn unix_ns(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64
}

/// Sleeps until the wall clock reaches `at` (in steps of at most 100 ms, so a stop is noticed),
/// then returns the anchor of a run scheduled for `at` and the record of the start.
pub fn wait_for(at: SystemTime, stop: &AtomicBool) -> (Anchor, Start) {
    loop {
        let now = SystemTime::now();
        let Ok(left) = at.duration_since(now) else {
            break;
        };
        if left.is_zero() || stop.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
    let instant = Instant::now();
    let actual = unix_ns(SystemTime::now());
    let scheduled = unix_ns(at);
    let late = Duration::from_nanos(actual.saturating_sub(scheduled));
    let anchor = Anchor {
        instant: instant.checked_sub(late).unwrap_or(instant),
        start_unix_ns: scheduled,
    };
    let start = Start {
        scheduled_unix_ns: scheduled,
        actual_unix_ns: actual,
    };
    (anchor, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_start_keeps_the_scheduled_instant() {
        let at = SystemTime::now() - Duration::from_millis(300);
        let (anchor, start) = wait_for(at, &AtomicBool::new(false));
        assert_eq!(anchor.start_unix_ns, unix_ns(at));
        assert!(start.over_budget(), "{start:?}");
        assert!(anchor.instant.elapsed() >= Duration::from_millis(300));
    }

    #[test]
    fn a_start_ahead_waits_for_it() {
        let at = SystemTime::now() + Duration::from_millis(50);
        let (_, start) = wait_for(at, &AtomicBool::new(false));
        assert!(start.actual_unix_ns >= start.scheduled_unix_ns);
        assert!(!start.over_budget(), "{start:?}");
    }
}
