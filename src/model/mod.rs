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

/// A validation error about one field, named by its dotted path relative to what was validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path, e.g. `shape.fan_out`.
    pub field: String,
    /// What is wrong and what would be accepted.
    pub message: String,
}

impl FieldError {
    /// Builds an error from a message whose first back-ticked word names the field, prefixing
    /// `prefix` (e.g. `shape.`).
    pub fn from_message(prefix: &str, message: String) -> Self {
        let field = message.split('`').nth(1).unwrap_or("").to_owned();
        let field = if field.is_empty() {
            prefix.trim_end_matches('.').to_owned()
        } else {
            format!("{prefix}{field}")
        };
        Self { field, message }
    }
}
