//! The sentinel: a well-behaved tenant whose every expected outcome is known in advance.
//!
//! `ambient` and `errors` generate its traces as pure functions of (run seed, stream, sequence
//! number); `probe` picks the latency values that test histogram limits.

pub mod ambient;
pub mod arrival;
pub mod errors;
pub mod ledger;
pub mod probe;
pub mod sender;
pub mod shapes;
pub mod webhook;
