//! The span model: what a stream's traces look like, as pure functions of
//! (run seed, stream, sequence number, node).
//!
//! Nothing here stores spans. The plain encoder builds OTLP structs from these functions, and the
//! template encoder patches the same values into pre-encoded bytes, so both paths agree by
//! construction and a differential test can compare them field by field. The sentinel regenerates
//! what it expects from the same functions instead of remembering what it sent.

pub mod ids;
pub mod latency;
pub mod shape;
pub mod stream;

pub use latency::LatencyDistribution;
pub use shape::{Node, TraceShape};
pub use stream::{SpanStatus, StreamModel, StreamSpec};
