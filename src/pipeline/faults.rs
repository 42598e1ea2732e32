//! When injected faults apply. A fault test that switches a fault on for the whole run proves
//! only that a check fails at baseline; to prove that a check *degrades* under load, the fault
//! must switch on only while the load runs. The pipeline cannot see the phases of a run, but it
//! sees the load: with `Faults::while_tenant` set, faults apply only while that tenant's spans
//! keep arriving (one was processed within the last second), from half a second after they
//! began — so the spans of the phase before, still being processed when the load starts, are
//! not touched.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// How long after the trigger tenant's last batch the faults stay on.
const LINGER: Duration = Duration::from_secs(1);
/// How long the trigger tenant must have been sending before the faults switch on.
const ARM: Duration = Duration::from_millis(500);

/// Whether the faults are on now.
#[derive(Debug)]
pub struct FaultGate {
    /// The tenant whose traffic switches the faults on; `None`: always on.
    trigger: Option<String>,
    /// Reference of `last_seen_ns`.
    origin: Instant,
    /// When the trigger tenant's last batch was processed, ns after `origin` (0: never).
    last_seen_ns: AtomicU64,
    /// When its current streak of batches began, ns after `origin`.
    streak_ns: AtomicU64,
    /// Whether the one-off stray firing was made.
    pub stray_made: std::sync::atomic::AtomicBool,
}

impl FaultGate {
    /// A gate switched by `trigger`'s traffic (always on without one).
    pub fn new(trigger: Option<String>) -> Self {
        Self {
            trigger,
            origin: Instant::now(),
            last_seen_ns: AtomicU64::new(0),
            streak_ns: AtomicU64::new(0),
            stray_made: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Notes a batch of `tenant` processed at `now`.
    pub fn saw(&self, tenant: &str, now: Instant) {
        if self.trigger.as_deref() == Some(tenant) {
            let ns = (now.saturating_duration_since(self.origin).as_nanos() as u64).max(1);
            let last = self.last_seen_ns.swap(ns, Relaxed);
            if last == 0 || ns.saturating_sub(last) >= LINGER.as_nanos() as u64 {
                self.streak_ns.store(ns, Relaxed);
            }
        }
    }

    /// Whether faults apply at `now`.
    pub fn on(&self, now: Instant) -> bool {
        if self.trigger.is_none() {
            return true;
        }
        let last = self.last_seen_ns.load(Relaxed);
        let since = now.saturating_duration_since(self.origin).as_nanos() as u64;
        let streak = self.streak_ns.load(Relaxed);
        last != 0
            && since.saturating_sub(last) < LINGER.as_nanos() as u64
            && since.saturating_sub(streak) >= ARM.as_nanos() as u64
    }
}

/// `ns` rounded to one significant digit (the coarse-histogram fault).
pub fn one_digit(ns: u64) -> u64 {
    let mut scale = 1u64;
    while ns / scale >= 10 {
        scale *= 10;
    }
    (ns + scale / 2) / scale * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_follows_the_trigger_tenant() {
        let gate = FaultGate::new(Some("unruly".into()));
        let t0 = Instant::now();
        assert!(!gate.on(t0));
        gate.saw("sentinel", t0);
        assert!(!gate.on(t0));
        gate.saw("unruly", t0);
        assert!(!gate.on(t0 + Duration::from_millis(100)), "not armed yet");
        gate.saw("unruly", t0 + Duration::from_millis(600));
        assert!(gate.on(t0 + Duration::from_millis(700)));
        assert!(!gate.on(t0 + Duration::from_millis(1700)));
        assert!(FaultGate::new(None).on(t0));
    }

    #[test]
    fn one_digit_rounds_to_the_nearest() {
        assert_eq!(one_digit(7), 7);
        assert_eq!(one_digit(1_449_000), 1_000_000);
        assert_eq!(one_digit(1_500_000), 2_000_000);
        assert_eq!(one_digit(96), 100);
    }
}
