//! The ambient sentinel stream: multi-span traces across a few services whose root durations
//! cycle through the latency probe. Every trace is a pure function of (run seed, sequence
//! number, phase, end time), so the verifier regenerates what it expects instead of storing it,
//! and the traces that must be assembled (root duration at or above the assembly threshold) are
//! known exactly.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span::SpanKind};

use crate::model::ids;

/// Stream index of the ambient stream in ID derivation (far from load stream indices).
pub const AMBIENT_STREAM: u32 = 0x5e00_0001;

/// Services of the ambient trace, by node.
pub const SERVICES: [&str; 4] = [
    "sentinel-frontend",
    "sentinel-api",
    "sentinel-db",
    "sentinel-api",
];
/// Operation suffixes by node; the span name is `{phase}/{op}` so each phase has its own
/// histogram series.
pub const OPERATIONS: [&str; 4] = ["checkout", "api", "db", "cache"];
/// Parent of each node.
const PARENTS: [Option<u16>; 4] = [None, Some(0), Some(1), Some(0)];

/// Spans in one ambient trace.
pub const SPANS_PER_TRACE: usize = 4;

/// The ambient stream of one run.
#[derive(Debug, Clone)]
pub struct Ambient {
    key: u64,
    probe: Vec<u64>,
    threshold_ns: u64,
    run_id: String,
}

/// Start offset and duration of a node, from the root's duration `d`: children sit inside
/// their parents.
fn node_timing(node: usize, d: u64) -> (u64, u64) {
    match node {
        0 => (0, d),
        1 => (d / 4, d / 2),
        2 => (d / 4 + d / 8, d / 4),
        _ => (d / 16, d / 8),
    }
}

impl Ambient {
    /// The stream for `seed`, cycling through `probe` (nanoseconds, non-empty).
    pub fn new(seed: u64, probe: Vec<u64>, threshold_ns: u64) -> Self {
        assert!(!probe.is_empty(), "the probe has durations");
        Self {
            key: ids::stream_key(seed, AMBIENT_STREAM),
            probe,
            threshold_ns,
            run_id: format!("{seed:016x}"),
        }
    }

    /// The run identifier carried in every span (`sentinel.run`).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Root duration of trace `seq`.
    pub fn root_duration_ns(&self, seq: u64) -> u64 {
        self.probe[(seq % self.probe.len() as u64) as usize]
    }

    /// Whether trace `seq` must be assembled by the target.
    pub fn must_assemble(&self, seq: u64) -> bool {
        self.root_duration_ns(seq) >= self.threshold_ns
    }

    /// Trace ID of trace `seq`.
    pub fn trace_id(&self, seq: u64) -> [u8; 16] {
        ids::trace_id(ids::trace_key(self.key, seq))
    }

    /// Every span of trace `seq`, whose root ends at `end_unix_ns`, in node order.
    pub fn spans(&self, seq: u64, phase: &str, end_unix_ns: u64) -> Vec<Span> {
        let tk = ids::trace_key(self.key, seq);
        let d = self.root_duration_ns(seq);
        let root_start = end_unix_ns.saturating_sub(d);
        (0..SPANS_PER_TRACE)
            .map(|node| {
                let (offset, duration) = node_timing(node, d);
                let start = root_start + offset;
                Span {
                    trace_id: ids::trace_id(tk).to_vec(),
                    span_id: ids::span_id(ids::span_hash(tk, node as u16)).to_vec(),
                    parent_span_id: PARENTS[node]
                        .map(|p| ids::span_id(ids::span_hash(tk, p)).to_vec())
                        .unwrap_or_default(),
                    name: format!("{phase}/{}", OPERATIONS[node]),
                    kind: if node == 0 {
                        SpanKind::Server
                    } else {
                        SpanKind::Internal
                    } as i32,
                    start_time_unix_nano: start,
                    end_time_unix_nano: start + duration,
                    attributes: vec![
                        int_attr("sentinel.seq", seq as i64),
                        int_attr("sentinel.node", node as i64),
                        string_attr("sentinel.run", &self.run_id),
                    ],
                    status: Some(Status {
                        message: String::new(),
                        code: 1,
                    }),
                    ..Default::default()
                }
            })
            .collect()
    }

    /// Durations of every span of trace `seq`, by node (for exact histogram quantiles).
    pub fn durations_ns(&self, seq: u64) -> [u64; SPANS_PER_TRACE] {
        let d = self.root_duration_ns(seq);
        std::array::from_fn(|node| node_timing(node, d).1)
    }
}

/// An integer attribute.
pub fn int_attr(key: &str, v: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(v)),
        }),
        ..Default::default()
    }
}

/// A string attribute.
pub fn string_attr(key: &str, v: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_are_pure_functions_of_seed_and_seq() {
        let a = Ambient::new(7, vec![1_000, 2_000_000_000], 1_000_000_000);
        assert_eq!(
            a.spans(3, "baseline", 10_000_000_000),
            a.spans(3, "baseline", 10_000_000_000)
        );
        let b = Ambient::new(8, vec![1_000, 2_000_000_000], 1_000_000_000);
        assert_ne!(a.trace_id(3), b.trace_id(3));
        assert!(!a.must_assemble(0) && a.must_assemble(1));
        let spans = a.spans(1, "load", 10_000_000_000);
        assert_eq!(spans[0].end_time_unix_nano, 10_000_000_000);
        for s in &spans[1..] {
            assert!(s.start_time_unix_nano >= spans[0].start_time_unix_nano);
            assert!(s.end_time_unix_nano <= spans[0].end_time_unix_nano);
        }
        assert_eq!(spans[2].parent_span_id, spans[1].span_id);
    }
}
