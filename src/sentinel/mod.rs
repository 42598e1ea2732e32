//! The sentinel: a well-behaved tenant whose every expected outcome is known in advance.
//!
//! `ambient` and `errors` generate its traces as pure functions of (run seed, stream, sequence
//! number): `shapes` says what an ambient trace looks like, `content` what each span carries,
//! `arrival` how its fragments reach the target; `probe` picks the latency values that test
//! histogram limits.

pub mod ambient;
pub mod arrival;
pub mod content;
pub mod errors;
pub mod ledger;
pub mod origin;
pub mod plan;
pub mod probe;
pub mod sender;
pub mod shapes;
pub mod webhook;
