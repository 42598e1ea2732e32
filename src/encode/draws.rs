//! The random draws of a batch, made before any byte is written: both template encoders
//! (protobuf and JSON) patch from them.
//!
//! A span's hash gives its ID and its children's parent ID; its choice hash gives its status,
//! attribute values and duration. Drawing every span of a batch first, in trace order, hashes
//! each span once (a child reuses its parent's) and keeps the loop that waits on the duration
//! table short, so many lookups are in flight at once.

use super::SeqRange;
use crate::model::{StreamModel, ids};

/// What a span's hashes decide.
#[derive(Debug, Clone, Copy, Default)]
pub struct Draw {
    /// The span's hash: its ID, and its children's parent ID.
    pub hash: u64,
    /// The second-level hash that picks status and attribute values.
    pub choice: u64,
    /// The span's duration.
    pub duration_ns: u64,
}

/// The draws of one batch: each trace's key, and every span's [`Draw`], trace-major.
#[derive(Debug, Clone)]
pub struct Draws {
    /// Trace keys of the batch's traces.
    pub trace_keys: Vec<u64>,
    /// Span `node` of trace `t` is at `t * spans_per_trace + node`.
    pub spans: Vec<Draw>,
}

impl Draws {
    /// Room for a batch of `traces` traces of `model`.
    pub fn new(model: &StreamModel, traces: usize) -> Self {
        Self {
            trace_keys: vec![0; traces],
            spans: vec![Draw::default(); traces * model.spans_per_trace()],
        }
    }

    /// Draws every span of the batch `seqs`.
    pub fn fill(&mut self, model: &StreamModel, seqs: SeqRange) {
        let nodes = model.spans_per_trace();
        for (t, (key, draws)) in self
            .trace_keys
            .iter_mut()
            .zip(self.spans.chunks_exact_mut(nodes))
            .enumerate()
        {
            *key = model.trace_key(seqs.nth(t));
            for (node, draw) in draws.iter_mut().enumerate() {
                let hash = ids::span_hash(*key, node as u16);
                let choice = StreamModel::choice_hash(hash);
                *draw = Draw {
                    hash,
                    choice,
                    duration_ns: model.duration_ns(choice),
                };
            }
        }
    }
}
