//! The admission queue: one FIFO (`shared`) or one queue per tenant served by deficit round
//! robin (`fair`), bounded in spans, with blocking `pop` for the worker threads.
//!
//! A single mutex guards it; it is taken once per batch (hundreds to thousands of spans), so it
//! is far from the per-span hot path.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;

use super::Refusal;
use crate::pipeline::config::Isolation;
use crate::pipeline::span_ref::SpanRef;
use crate::pipeline::tenants::Tenant;

/// Spans a tenant may take per round of the fair scheduler: small, so a flooding tenant's turn
/// is short (a batch bigger than this takes several rounds of credit, which costs only loops).
const QUANTUM: u64 = 512;

/// One admitted request: its bytes (kept for assembly) and its decoded spans.
#[derive(Debug)]
pub struct Batch {
    /// The tenant that sent it.
    pub tenant: Arc<Tenant>,
    /// The (decompressed) request.
    pub body: Bytes,
    /// Its valid spans.
    pub spans: Vec<SpanRef>,
    /// When it was admitted.
    pub admitted: Instant,
}

impl Batch {
    fn len(&self) -> u64 {
        self.spans.len() as u64
    }
}

#[derive(Debug, Default)]
struct TenantQueue {
    batches: VecDeque<Batch>,
    spans: u64,
    deficit: u64,
    active: bool,
}

#[derive(Debug, Default)]
struct State {
    shared: VecDeque<Batch>,
    tenants: Vec<TenantQueue>,
    active: VecDeque<usize>,
    closed: bool,
}

/// The bounded queue between ingest and the workers.
#[derive(Debug)]
pub struct AdmissionQueue {
    isolation: Isolation,
    capacity: u64,
    total: AtomicU64,
    state: Mutex<State>,
    ready: Condvar,
}

impl AdmissionQueue {
    /// An empty queue of `capacity` spans (per tenant with fair isolation).
    pub fn new(isolation: Isolation, capacity: usize) -> Self {
        Self {
            isolation,
            capacity: capacity as u64,
            total: AtomicU64::new(0),
            state: Mutex::default(),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Spans waiting, over all tenants.
    pub fn depth(&self) -> u64 {
        self.total.load(Relaxed)
    }

    /// A cheap check, before a request is decoded, that it has no chance to get in.
    pub fn is_full_for(&self, tenant: &Tenant) -> bool {
        match self.isolation {
            Isolation::Shared => self.depth() >= self.capacity,
            Isolation::Fair => tenant.counters.queued.load(Relaxed) >= self.capacity,
        }
    }

    /// Admits a batch, or refuses it when its queue has no room for all its spans.
    pub fn push(&self, batch: Batch) -> Result<(), Refusal> {
        let n = batch.len();
        let mut state = self.lock();
        if state.closed {
            return Err(Refusal::Closed);
        }
        let tenant = Arc::clone(&batch.tenant);
        let used = match self.isolation {
            Isolation::Shared => self.depth(),
            Isolation::Fair => tenant.counters.queued.load(Relaxed),
        };
        // An oversized batch still gets into an empty queue, so it cannot be refused forever.
        if used > 0 && used + n > self.capacity {
            return Err(Refusal::QueueFull {
                retry_after: super::QUEUE_FULL_RETRY,
            });
        }
        match self.isolation {
            Isolation::Shared => state.shared.push_back(batch),
            Isolation::Fair => {
                let index = usize::from(tenant.index);
                if state.tenants.len() <= index {
                    state.tenants.resize_with(index + 1, TenantQueue::default);
                }
                let queue = &mut state.tenants[index];
                queue.batches.push_back(batch);
                queue.spans += n;
                if !queue.active {
                    queue.active = true;
                    state.active.push_back(index);
                }
            }
        }
        tenant.counters.queued.fetch_add(n, Relaxed);
        self.total.fetch_add(n, Relaxed);
        drop(state);
        self.ready.notify_one();
        Ok(())
    }

    /// The next batch to process, waiting for one; `None` once closed and drained.
    pub fn pop(&self) -> Option<Batch> {
        let mut state = self.lock();
        loop {
            let next = match self.isolation {
                Isolation::Shared => state.shared.pop_front(),
                Isolation::Fair => pop_fair(&mut state),
            };
            if let Some(batch) = next {
                batch.tenant.counters.queued.fetch_sub(batch.len(), Relaxed);
                self.total.fetch_sub(batch.len(), Relaxed);
                return Some(batch);
            }
            if state.closed {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Refuses new batches and wakes the workers so they drain what is left and stop.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

/// Deficit round robin over the active tenants' queues.
fn pop_fair(state: &mut State) -> Option<Batch> {
    loop {
        let index = *state.active.front()?;
        let queue = &mut state.tenants[index];
        let Some(need) = queue.batches.front().map(Batch::len) else {
            queue.active = false;
            queue.deficit = 0;
            state.active.pop_front();
            continue;
        };
        if queue.deficit >= need {
            queue.deficit -= need;
            queue.spans -= need;
            let batch = queue.batches.pop_front();
            if queue.batches.is_empty() {
                queue.active = false;
                queue.deficit = 0;
                state.active.pop_front();
            }
            return batch;
        }
        queue.deficit += QUANTUM;
        state.active.rotate_left(1);
    }
}
