//! Span and error counts of one tenant in 250 ms slots over the last five minutes: the input of
//! alert rules. Workers add once per batch (not per span); the evaluator sums a window.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Width of one slot.
pub const SLOT: Duration = Duration::from_millis(250);
/// Slots kept: the longest rule window is `SLOTS * SLOT` (5 minutes).
pub const SLOTS: usize = 1200;

/// The longest window a rule may use.
pub const MAX_WINDOW: Duration = Duration::from_secs(300);

fn slot_of(at: Instant) -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    (at.saturating_duration_since(epoch).as_millis() / SLOT.as_millis()) as u64
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Slot number + 1 (0: never used).
    tag: u64,
    total: u64,
    errors: u64,
}

/// The ring of slots (allocated on first use).
#[derive(Debug, Default)]
pub struct ErrorWindow {
    slots: Mutex<Vec<Slot>>,
}

impl ErrorWindow {
    /// Counts `total` spans of which `errors` are errors, at `at`.
    pub fn add(&self, at: Instant, total: u64, errors: u64) {
        let slot = slot_of(at);
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.is_empty() {
            slots.resize(SLOTS, Slot::default());
        }
        let cell = &mut slots[(slot % SLOTS as u64) as usize];
        if cell.tag != slot + 1 {
            *cell = Slot {
                tag: slot + 1,
                total: 0,
                errors: 0,
            };
        }
        cell.total += total;
        cell.errors += errors;
    }

    /// (spans, errors) in the `window` that ends at `now` (the current slot included).
    pub fn sum(&self, now: Instant, window: Duration) -> (u64, u64) {
        let now_slot = slot_of(now);
        let n = (window.as_millis().div_ceil(SLOT.as_millis()) as u64).clamp(1, SLOTS as u64);
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.is_empty() {
            return (0, 0);
        }
        let first = now_slot + 1 - n.min(now_slot + 1);
        (first..=now_slot).fold((0, 0), |(t, e), slot| {
            let cell = slots[(slot % SLOTS as u64) as usize];
            if cell.tag == slot + 1 {
                (t + cell.total, e + cell.errors)
            } else {
                (t, e)
            }
        })
    }
}
