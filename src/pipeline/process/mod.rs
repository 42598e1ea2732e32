//! Processing: the fixed pool of worker threads that drain the admission queue and feed the
//! histograms, the span store, the alert windows and the assembler (here), what each worker
//! owns (`worker`), and the assembler that builds traces once their settle window has passed
//! (`assembler`). Per span a worker does a histogram record, a span-store insert and a
//! threshold comparison; everything else is per batch.
//!
//! Each worker owns its histograms and span store (behind a mutex only queries and the
//! assembler ever contend for), so the per-span work takes no shared lock and allocates nothing.
//! `worker` and `assembler` do not know the shared state, so it can hold them; only the loops
//! here take it.

pub mod assembler;
pub mod cap;
pub mod worker;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::thread::JoinHandle;
use std::time::Instant;

use self::worker::lock;
use super::admission::Batch;
use super::state::Shared;

/// Starts `shared.workers.len()` worker threads; they stop once the queue is closed and drained.
pub fn start_workers(shared: &Arc<Shared>) -> std::io::Result<Vec<JoinHandle<()>>> {
    (0..shared.workers.len())
        .map(|index| {
            let shared = Arc::clone(shared);
            std::thread::Builder::new()
                .name(format!("pipeline-worker-{index}"))
                .spawn(move || run(&shared, index))
        })
        .collect()
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
            shared.assembler.enqueue_faulty(
                tenant.index,
                span.trace_id,
                now + assembly_delay,
                faulty,
            );
        }
    }
    if faulty && faults.ignore_errors {
        errors = 0;
    }
    tenant.errors.add(now, n, errors);
    tenant.counters.processed.fetch_add(n, Relaxed);
}
