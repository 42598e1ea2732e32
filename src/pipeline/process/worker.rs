//! What one worker owns: its histograms, its span store and the state of the drop-fraction
//! fault. The shared state holds one per worker behind a mutex that only queries and the
//! assembler ever contend for; the loop that feeds it is in the parent module.

use std::sync::{Mutex, MutexGuard};

use crate::pipeline::store::histograms::WorkerHistograms;
use crate::pipeline::store::spans::SpanStores;

/// What one worker owns.
#[derive(Debug)]
pub struct WorkerState {
    /// Latency histograms.
    pub histograms: WorkerHistograms,
    /// Recent spans for assembly.
    pub spans: SpanStores,
    /// Per-worker state of the drop-fraction fault.
    fault_rng: u64,
}

impl WorkerState {
    /// Empty state.
    pub fn new(histograms: WorkerHistograms, spans: SpanStores, seed: u64) -> Self {
        Self {
            histograms,
            spans,
            fault_rng: seed | 1,
        }
    }

    /// A uniform draw in [0, 1) for the drop-fraction fault.
    pub(super) fn fault_roll(&mut self) -> f64 {
        // xorshift64: a fault, not a statistic, needs no better generator.
        self.fault_rng ^= self.fault_rng << 13;
        self.fault_rng ^= self.fault_rng >> 7;
        self.fault_rng ^= self.fault_rng << 17;
        (self.fault_rng >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Locks a worker's state, ignoring poisoning (the state stays consistent per batch).
pub fn lock(state: &Mutex<WorkerState>) -> MutexGuard<'_, WorkerState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}
