//! A stream: a trace shape, a latency distribution, an error ratio and a tenant, compiled into
//! the pure functions that say what span `node` of trace `seq` is.

use serde::{Deserialize, Serialize};

use super::latency::{LatencyDistribution, LatencyTable};
use super::shape::{Node, TraceShape};
use super::{FieldError, ids};

/// A stream as a profile declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamSpec {
    /// Name used in reports.
    pub name: String,
    /// Tenant the stream's spans belong to (sent in the tenant header).
    pub tenant: String,
    /// Share of the load's rate this stream gets, relative to the other streams.
    pub weight: f64,
    /// Fraction of spans with status ERROR (0 to 1); the others have status OK.
    pub error_ratio: f64,
    /// The shape of each trace.
    pub shape: TraceShape,
    /// The distribution of span durations.
    pub latency: LatencyDistribution,
}

impl Default for StreamSpec {
    fn default() -> Self {
        Self {
            name: "unruly".into(),
            tenant: "unruly".into(),
            weight: 1.0,
            error_ratio: 0.01,
            shape: TraceShape::default(),
            latency: LatencyDistribution::default(),
        }
    }
}

/// A span's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanStatus {
    /// `STATUS_CODE_OK` (1).
    Ok,
    /// `STATUS_CODE_ERROR` (2).
    Error,
}

impl SpanStatus {
    /// The OTLP status code.
    pub fn code(self) -> i32 {
        match self {
            SpanStatus::Ok => 1,
            SpanStatus::Error => 2,
        }
    }
}

/// Nanoseconds between the start of a span and the start of each of its children.
pub const CHILD_START_OFFSET_NS: u64 = 1_000;

/// A compiled stream: everything needed to say what any of its spans is.
#[derive(Debug, Clone)]
pub struct StreamModel {
    /// Index of the stream in the scenario; part of every ID.
    pub index: u32,
    /// The spec it was compiled from.
    pub spec: StreamSpec,
    /// The span tree, breadth-first.
    pub nodes: Vec<Node>,
    /// `service.name` of each service.
    pub service_names: Vec<String>,
    /// Span name of each operation.
    pub operation_names: Vec<String>,
    /// Value of the `payload` attribute (empty when the shape has no payload).
    pub payload: String,
    key: u64,
    error_threshold: u64,
    durations: LatencyTable,
    /// The 8 hex digits of every attribute value, when the cardinality is small enough for the
    /// table to stay in the L1 cache; empty otherwise.
    attribute_digits: Vec<[u8; 8]>,
}

/// Largest attribute cardinality whose digits are tabulated (8 KiB).
const DIGIT_TABLE_MAX: u64 = 1024;

impl StreamModel {
    /// Compiles a spec; the error names the offending field.
    pub fn new(spec: StreamSpec, seed: u64, index: u32) -> Result<Self, FieldError> {
        let err = FieldError::from_message;
        spec.shape.validate().map_err(|e| err("shape.", e))?;
        if !(0.0..=1.0).contains(&spec.error_ratio) {
            return Err(err("", "`error_ratio` must be between 0 and 1".into()));
        }
        if !(spec.weight.is_finite() && spec.weight > 0.0) {
            return Err(err("", "`weight` must be positive".into()));
        }
        let sampler = spec.latency.sampler().map_err(|e| err("latency.", e))?;
        let key = ids::stream_key(seed, index);
        let shape = &spec.shape;
        Ok(Self {
            index,
            nodes: shape.nodes(),
            service_names: (0..shape.services).map(|i| format!("svc-{i}")).collect(),
            operation_names: (0..shape.operations).map(|i| format!("op-{i}")).collect(),
            payload: "x".repeat(shape.payload_bytes as usize),
            key,
            error_threshold: (spec.error_ratio * (1u64 << 32) as f64).round() as u64,
            durations: LatencyTable::new(&sampler, ids::mix64(key ^ 0x1a7e_5c1e)),
            attribute_digits: digit_table(shape.attribute_cardinality),
            spec,
        })
    }

    /// The key of trace `seq`, from which all its IDs and choices derive.
    #[inline(always)]
    pub fn trace_key(&self, seq: u64) -> u64 {
        ids::trace_key(self.key, seq)
    }

    /// The second-level hash of a span that picks its duration, status and attribute values.
    #[inline(always)]
    pub fn choice_hash(span_hash: u64) -> u64 {
        ids::mix64(span_hash ^ 0x5bd1_e995_5bd1_e995)
    }

    /// Duration of a span in nanoseconds.
    #[inline(always)]
    pub fn duration_ns(&self, choice: u64) -> u64 {
        self.durations.get(choice)
    }

    /// Status of a span.
    #[inline(always)]
    pub fn status(&self, choice: u64) -> SpanStatus {
        if (choice >> 32) < self.error_threshold {
            SpanStatus::Error
        } else {
            SpanStatus::Ok
        }
    }

    /// Start of span `node` relative to the trace's start.
    #[inline(always)]
    pub fn start_offset_ns(&self, node: u16) -> u64 {
        u64::from(self.nodes[node as usize].depth) * CHILD_START_OFFSET_NS
    }

    /// Index of the value that attribute `attr` of a span takes (below the cardinality).
    #[inline(always)]
    pub fn attribute_value(&self, choice: u64, attr: u16) -> u32 {
        let h = ids::mix64(choice.wrapping_add(u64::from(attr) + 1));
        ((u128::from(h) * u128::from(self.spec.shape.attribute_cardinality)) >> 64) as u32
    }

    /// The 8 hex digits the value of attribute `attr` of a span is written as.
    #[inline(always)]
    pub fn attribute_digits(&self, choice: u64, attr: u16) -> [u8; 8] {
        let value = self.attribute_value(choice, attr);
        match self.attribute_digits.get(value as usize) {
            Some(digits) => *digits,
            None => hex8(value),
        }
    }

    /// Spans per trace.
    pub fn spans_per_trace(&self) -> usize {
        self.nodes.len()
    }
}

/// The digits of every value below `cardinality`, or nothing when there are too many.
fn digit_table(cardinality: u64) -> Vec<[u8; 8]> {
    if cardinality > DIGIT_TABLE_MAX {
        return Vec::new();
    }
    (0..cardinality as u32).map(hex8).collect()
}

/// `value` as 8 lowercase hex digits.
///
/// Branch-free and without a table: the nibbles are spread one per byte of a `u64`, turned into
/// ASCII all at once.
#[inline(always)]
pub fn hex8(value: u32) -> [u8; 8] {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let x = u64::from(value);
    let x = ((x & 0xffff_0000) << 16) | (x & 0xffff);
    let x = ((x & 0x0000_ff00_0000_ff00) << 8) | (x & 0x0000_00ff_0000_00ff);
    // Byte i (from the least significant) now holds nibble i of `value`.
    let x = ((x & 0x00f0_00f0_00f0_00f0) << 4) | (x & 0x000f_000f_000f_000f);
    // 1 in every byte whose nibble is 10 or more: those need 'a' - '0' - 10 = 39 more.
    let letters = ((x + 6 * ONES) >> 4) & ONES;
    let ascii = x + u64::from(b'0') * ONES + letters * u64::from(b'a' - b'0' - 10);
    ascii.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_ratio_is_honoured_over_many_spans() {
        let spec = StreamSpec {
            error_ratio: 0.1,
            ..StreamSpec::default()
        };
        let model = StreamModel::new(spec, 9, 0).unwrap();
        let errors = (0..100_000u64)
            .filter(|&s| {
                model.status(StreamModel::choice_hash(ids::span_hash(
                    model.trace_key(s),
                    0,
                ))) == SpanStatus::Error
            })
            .count();
        assert!((9_500..10_500).contains(&errors), "{errors}");
    }

    #[test]
    fn attribute_values_stay_below_the_cardinality() {
        let spec = StreamSpec {
            shape: TraceShape {
                attribute_cardinality: 3,
                ..TraceShape::default()
            },
            ..StreamSpec::default()
        };
        let model = StreamModel::new(spec, 1, 0).unwrap();
        let seen: std::collections::HashSet<u32> = (0..1000u64)
            .map(|c| model.attribute_value(ids::mix64(c), 0))
            .collect();
        assert_eq!(seen.len(), 3);
        assert_eq!(&hex8(0xdeadbeef), b"deadbeef");
        for v in (0..200_000u64)
            .map(|i| ids::mix64(i) as u32)
            .chain([0, u32::MAX, 0x0a0a_0a0a])
        {
            assert_eq!(std::str::from_utf8(&hex8(v)).unwrap(), format!("{v:08x}"));
        }
    }
}
