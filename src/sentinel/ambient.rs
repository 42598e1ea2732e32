//! The ambient sentinel stream: traces of every shape (`shapes`) whose root durations cycle
//! through the latency probe, sent in fragments (`arrival`). Every trace is a pure function of
//! (run seed, sequence number, phase, root end time), so the verifier regenerates what it
//! expects instead of storing it, and the traces that must be assembled (root duration at or
//! above the assembly threshold) are known exactly.
//!
//! Shapes are crossed with the probe: trace `seq` has probe value `seq mod P` and shape
//! `(seq + ⌊seq / P⌋) mod 5`, so within one pass of the probe every shape meets durations on
//! both sides of the threshold, and over five passes every shape meets every duration.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;

use super::arrival::{Arrival, ArrivalSpec, Fragment};
use super::content;
use super::shapes::{SHAPES, Shape, span_window};
use crate::model::ids;

/// Stream index of the ambient stream in ID derivation (far from load stream indices).
pub const AMBIENT_STREAM: u32 = 0x5e00_0001;

/// The ambient stream of one run.
#[derive(Debug, Clone)]
pub struct Ambient {
    key: u64,
    probe: Vec<u64>,
    threshold_ns: u64,
    run_id: String,
    arrival: ArrivalSpec,
}

impl Ambient {
    /// The stream for `seed`, cycling through `probe` (nanoseconds, non-empty), with the
    /// default arrival settings.
    pub fn new(seed: u64, probe: Vec<u64>, threshold_ns: u64) -> Self {
        assert!(!probe.is_empty(), "the probe has durations");
        Self {
            key: ids::stream_key(seed, AMBIENT_STREAM),
            probe,
            threshold_ns,
            run_id: format!("{seed:016x}"),
            arrival: ArrivalSpec::default(),
        }
    }

    /// The same stream with other arrival settings.
    pub fn with_arrival(self, arrival: ArrivalSpec) -> Self {
        Self { arrival, ..self }
    }

    /// The arrival settings.
    pub fn arrival_spec(&self) -> &ArrivalSpec {
        &self.arrival
    }

    /// The run identifier carried in every span (`sentinel.run`).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Root duration of trace `seq`.
    pub fn root_duration_ns(&self, seq: u64) -> u64 {
        self.probe[(seq % self.probe.len() as u64) as usize]
    }

    /// Shape of trace `seq`.
    pub fn shape(&self, seq: u64) -> Shape {
        let pass = seq / self.probe.len() as u64;
        SHAPES[((seq + pass) % SHAPES.len() as u64) as usize]
    }

    /// Arrival pattern of trace `seq` (a single span has no fragment to send late).
    pub fn arrival(&self, seq: u64) -> Arrival {
        match self.arrival.arrival(ids::trace_key(self.key, seq)) {
            Arrival::Late if self.shape(seq) == Shape::Single => Arrival::InOrder,
            a => a,
        }
    }

    /// Spans of trace `seq` (without duplicates).
    pub fn span_count(&self, seq: u64) -> u32 {
        self.shape(seq).span_count(self.arrival.large_trace_spans)
    }

    /// Whether trace `seq` must be assembled by the target.
    pub fn must_assemble(&self, seq: u64) -> bool {
        self.root_duration_ns(seq) >= self.threshold_ns
    }

    /// Trace ID of trace `seq`.
    pub fn trace_id(&self, seq: u64) -> [u8; 16] {
        ids::trace_id(ids::trace_key(self.key, seq))
    }

    /// The requests trace `seq` is sent in, in sending order.
    pub fn fragments(&self, seq: u64) -> Vec<Fragment> {
        let tk = ids::trace_key(self.key, seq);
        self.arrival
            .fragments(tk, self.shape(seq), self.root_duration_ns(seq))
    }

    /// Span `node` of trace `seq` whose root ends at `end_unix_ns`, with its service.
    pub fn span(&self, seq: u64, node: u32, phase: &str, end_unix_ns: u64) -> (Span, &'static str) {
        let tk = ids::trace_key(self.key, seq);
        let shape = self.shape(seq);
        let n = shape.node(node);
        let d = self.root_duration_ns(seq);
        let levels = shape.levels(self.arrival.large_trace_spans);
        let (start, end) = span_window(n.depth, levels, d);
        let root_start = end_unix_ns.saturating_sub(d);
        let mut span = Span {
            trace_id: ids::trace_id(tk).to_vec(),
            span_id: ids::span_id(ids::span_hash(tk, node as u16)).to_vec(),
            parent_span_id: n
                .parent
                .map(|p| ids::span_id(ids::span_hash(tk, p as u16)).to_vec())
                .unwrap_or_default(),
            name: format!("{phase}/{}", n.operation),
            start_time_unix_nano: root_start + start,
            end_time_unix_nano: root_start + end,
            attributes: vec![
                int_attr("sentinel.seq", seq as i64),
                int_attr("sentinel.node", i64::from(node)),
                string_attr("sentinel.run", &self.run_id),
                string_attr("sentinel.shape", shape.name()),
            ],
            ..Default::default()
        };
        let previous = seq.checked_sub(1).map(|p| {
            let tk = ids::trace_key(self.key, p);
            (ids::trace_id(tk), ids::span_id(ids::span_hash(tk, 0)))
        });
        content::dress(&mut span, node, previous);
        (span, n.service)
    }

    /// Every span of trace `seq`, whose root ends at `end_unix_ns`, in node order, with its
    /// service.
    pub fn spans(&self, seq: u64, phase: &str, end_unix_ns: u64) -> Vec<(Span, &'static str)> {
        (0..self.span_count(seq))
            .map(|node| self.span(seq, node, phase, end_unix_ns))
            .collect()
    }

    /// Calls `f(service, operation, duration)` for every span the target receives of trace
    /// `seq`, a duplicated fragment's spans twice (a backend counts what it receives).
    pub fn for_each_duration(&self, seq: u64, mut f: impl FnMut(&'static str, &'static str, u64)) {
        let shape = self.shape(seq);
        let d = self.root_duration_ns(seq);
        let levels = shape.levels(self.arrival.large_trace_spans);
        for fragment in self.fragments(seq) {
            for &i in &fragment.nodes {
                let n = shape.node(i);
                let (start, end) = span_window(n.depth, levels, d);
                f(n.service, n.operation, end - start);
            }
        }
    }

    /// Mean spans per trace over a cycle of the shapes (for rate budgets).
    pub fn mean_spans_per_trace(large_trace_spans: u32) -> f64 {
        let total: u32 = SHAPES.iter().map(|s| s.span_count(large_trace_spans)).sum();
        f64::from(total) / SHAPES.len() as f64
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
        let seq = (0..10).find(|s| a.shape(*s) == Shape::Chain).unwrap();
        let spans = a.spans(seq, "load", 10_000_000_000);
        assert_eq!(spans[0].0.end_time_unix_nano, 10_000_000_000);
        for (s, _) in &spans[1..] {
            assert!(s.start_time_unix_nano > spans[0].0.start_time_unix_nano);
            assert!(s.end_time_unix_nano < spans[0].0.end_time_unix_nano);
        }
        assert_eq!(spans[2].0.parent_span_id, spans[1].0.span_id);
    }

    #[test]
    fn every_shape_meets_both_sides_of_the_threshold_in_one_pass_of_the_probe() {
        let probe: Vec<u64> = (1..=40).map(|i| i * 100_000_000).collect();
        let a = Ambient::new(1, probe, 2_000_000_000);
        for shape in SHAPES {
            let sides: std::collections::HashSet<bool> = (0..40)
                .filter(|s| a.shape(*s) == shape)
                .map(|s| a.must_assemble(s))
                .collect();
            assert_eq!(sides.len(), 2, "{shape:?}");
        }
    }
}
