//! The processing cap: the workers together process at most a configured number of spans per
//! second. A pipeline this slow saturates under any load thread on any machine, which makes the
//! interference demo's outcome a property of the profile rather than of the machine's speed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A shared schedule of processing time: each batch reserves its spans' share of a second.
#[derive(Debug)]
pub struct ProcessingCap {
    /// Spans per second, over all workers.
    rate: f64,
    /// When the next batch may start.
    next: Mutex<Instant>,
}

impl ProcessingCap {
    /// A cap of `rate` spans per second.
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            next: Mutex::new(Instant::now()),
        }
    }

    /// Reserves the time of `spans` spans and returns when the batch may be processed. Idle
    /// time is not saved up: a burst after a quiet spell is paced like any other.
    pub fn reserve(&self, spans: usize, now: Instant) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let start = (*next).max(now);
        *next = start + Duration::from_secs_f64(spans as f64 / self.rate);
        start
    }

    /// Waits (blocking the worker thread) until a batch of `spans` spans may be processed.
    pub fn wait(&self, spans: usize) {
        let start = self.reserve(spans, Instant::now());
        let now = Instant::now();
        if start > now {
            std::thread::sleep(start - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_spaced_by_their_share_of_a_second() {
        let cap = ProcessingCap::new(1000.0);
        let t0 = Instant::now();
        let a = cap.reserve(500, t0);
        let b = cap.reserve(500, t0);
        assert!(a <= t0 + Duration::from_millis(1));
        assert!(b >= a + Duration::from_millis(499));
        let later = t0 + Duration::from_secs(10);
        assert_eq!(cap.reserve(1, later), later);
    }
}
