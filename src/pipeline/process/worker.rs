//! One worker: takes admitted batches off the queue and feeds the histograms, the span store,
//! the alert windows and the assembler. Per span it does a histogram record, a span-store insert
//! and a threshold comparison; everything else is per batch.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::pipeline::admission::Batch;
use crate::pipeline::state::Shared;
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

    fn fault_roll(&mut self) -> f64 {
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

/// The worker loop: runs until the queue is closed and empty.
pub fn run(shared: &Shared, index: usize) {
    while let Some(batch) = shared.queue.pop() {
        process(shared, index, batch);
    }
}

/// Processes one batch.
pub fn process(shared: &Shared, index: usize, batch: Batch) {
    let faults = &shared.config.faults;
    if let Some(cap) = &shared.cap {
        cap.wait(batch.spans.len());
    }
    let delay = faults.span_delay;
    if !delay.is_zero() {
        std::thread::sleep(delay.saturating_mul(batch.spans.len() as u32));
    }
    let now = Instant::now();
    let tenant = &batch.tenant;
    shared.fault_gate.saw(&tenant.name, now);
    let faulty = shared.fault_gate.on(now);
    let waited = now.duration_since(batch.admitted).as_nanos() as u64;
    tenant.counters.last_queue_wait_ns.store(waited, Relaxed);
    let n = batch.spans.len() as u64;
    let mut state = lock(&shared.workers[index]);
    let drop_fraction = faults.drop_fraction;
    if faulty && drop_fraction > 0.0 && state.fault_roll() < drop_fraction {
        tenant.counters.fault_dropped.fetch_add(n, Relaxed);
        return;
    }
    state.histograms.coarse = faulty && faults.coarse_histograms;
    state
        .histograms
        .record_batch(tenant.index, &batch.body, &batch.spans);
    let unstored = faults.unstored_fraction;
    if !(faulty && unstored > 0.0 && state.fault_roll() < unstored) {
        state
            .spans
            .insert(tenant.index, &batch.body, &batch.spans, now);
    }
    drop(state);

    let threshold = tenant.assembly_threshold_ns.load(Relaxed);
    let assembly_delay = if faulty {
        faults.assembly_delay
    } else {
        std::time::Duration::ZERO
    };
    let mut errors = 0;
    for span in &batch.spans {
        errors += u64::from(span.is_error());
        if span.is_root()
            && (span.duration_ns() >= threshold || (faulty && shared.assembler.extra_fault()))
        {
            shared
                .assembler
                .enqueue(tenant.index, span.trace_id, now + assembly_delay);
        }
    }
    if faulty && faults.ignore_errors {
        errors = 0;
    }
    tenant.errors.add(now, n, errors);
    tenant.counters.processed.fetch_add(n, Relaxed);
}
