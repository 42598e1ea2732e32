//! `span-sentinel fidelity`: the histogram-fidelity benchmark. The sentinel tenant sends spans
//! whose durations come from a suite of known distributions (`suite`), each under its own
//! operation name; the exact values are kept (a few thousand per distribution), the target's
//! reported quantiles are read back, and each is compared with the exact one (`bench`).

pub mod bench;
pub mod measure;
pub mod prometheus;
pub mod recommend;
pub mod schemes;
mod send;
pub mod suite;

pub use bench::{FidelityOutcome, fidelity, fidelity_with};
pub use measure::{DistributionResult, QuantileError, SchemeResult};
pub use suite::Distribution;
