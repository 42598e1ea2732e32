//! Processing: the fixed pool of worker threads that drain the admission queue (`worker`), and
//! the assembler that builds traces once their settle window has passed (`assembler`).
//!
//! Each worker owns its histograms and span store (behind a mutex only queries and the
//! assembler ever contend for), so the per-span work takes no shared lock and allocates nothing.

pub mod assembler;
pub mod cap;
pub mod worker;

pub use assembler::Assembler;
pub use worker::WorkerState;

use std::sync::Arc;
use std::thread::JoinHandle;

use super::state::Shared;

/// Starts `shared.workers.len()` worker threads; they stop once the queue is closed and drained.
pub fn start_workers(shared: &Arc<Shared>) -> std::io::Result<Vec<JoinHandle<()>>> {
    (0..shared.workers.len())
        .map(|index| {
            let shared = Arc::clone(shared);
            std::thread::Builder::new()
                .name(format!("pipeline-worker-{index}"))
                .spawn(move || worker::run(&shared, index))
        })
        .collect()
}
