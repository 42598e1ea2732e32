//! OTLP/JSON patched in place: the JSON counterpart of [`super::Template`].
//!
//! In OTLP JSON every field that changes from batch to batch has a fixed width: trace and span
//! IDs are lowercase hex (32 and 16 characters), timestamps are decimal strings of 19 digits
//! for every instant from September 2001 to 2286, a status code is one digit and an `attr.N`
//! value is 8 hex digits. So one batch is serialized once by the plain path
//! ([`super::json::write_request`], the reference) and later batches overwrite those fields.
//! A batch whose times would not have 19 digits is serialized by the plain path instead.
//!
//! The fields are found by walking the serialized batch key by key in the order serde writes
//! them. A key pattern such as `"traceId":"` cannot occur inside a JSON string (a quote there
//! is escaped), so the walk only meets real keys; every field found is checked for its width.

use thiserror::Error;

use super::draws::Draws;
use super::{SeqRange, json, layout};
use crate::model::stream::hex8;
use crate::model::{StreamModel, ids};

/// The serialized template did not have the shape the patcher relies on: a bug, not input.
#[derive(Debug, Error)]
#[error("JSON template span {span}: {what}")]
pub struct JsonTemplateError {
    /// Index of the span in byte order.
    pub span: usize,
    /// What was wrong.
    pub what: String,
}

/// Start time the template is serialized with (19 digits).
const TEMPLATE_START_NS: u64 = 1_700_000_000_000_000_000;
/// The smallest and the first too large 19-digit time.
const DIGITS_19: std::ops::Range<u64> = 1_000_000_000_000_000_000..10_000_000_000_000_000_000;

/// Where one span's fields are, and what the span is in the batch.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    trace: u32,
    draw: u32,
    /// Index of the parent's draws, `u32::MAX` for a root.
    parent: u32,
    /// Index of the span's start digits in `JsonTemplate::starts` (its depth in the trace).
    node: u16,
    trace_id_at: u32,
    span_id_at: u32,
    parent_at: u32,
    start_at: u32,
    end_at: u32,
    status_at: u32,
}

/// A serialized OTLP/JSON batch of `traces` traces of one stream, patched in place per send.
#[derive(Debug, Clone)]
pub struct JsonTemplate {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
    attr_at: Vec<u32>,
    attrs_per_span: usize,
    draws: Draws,
    trace_hex: Vec<[u8; 32]>,
    span_hex: Vec<[u8; 16]>,
    /// Start offset of each node of a trace, and its 19 digits for the batch at hand.
    start_offsets: Vec<u64>,
    starts: Vec<[u8; 19]>,
    /// A batch the template cannot hold, serialized by the plain path.
    fallback: Vec<u8>,
}

impl JsonTemplate {
    /// Serializes a batch of `traces` traces of `model` once and records where to patch it.
    pub fn new(model: &StreamModel, traces: usize) -> Result<Self, JsonTemplateError> {
        let mut bytes = Vec::new();
        let seqs = SeqRange {
            first: 0,
            stride: 1,
        };
        json::encode_request(model, seqs, traces, TEMPLATE_START_NS, &mut bytes);
        let order: Vec<(usize, u16)> = layout(model, traces).into_iter().flatten().collect();
        let attrs_per_span = usize::from(model.spec.shape.attributes);
        let draws = Draws::new(model, traces);
        let nodes = model.spans_per_trace();
        let mut template = Self {
            slots: Vec::with_capacity(order.len()),
            attr_at: Vec::with_capacity(order.len() * attrs_per_span),
            attrs_per_span,
            trace_hex: vec![[0; 32]; traces],
            span_hex: vec![[0; 16]; draws.spans.len()],
            draws,
            start_offsets: (0..nodes as u16)
                .map(|n| model.start_offset_ns(n))
                .collect(),
            starts: vec![[0; 19]; nodes],
            fallback: Vec::new(),
            bytes,
        };
        template.scan(model, &order)?;
        Ok(template)
    }

    /// Spans in one batch.
    pub fn spans(&self) -> usize {
        self.slots.len()
    }

    fn scan(
        &mut self,
        model: &StreamModel,
        order: &[(usize, u16)],
    ) -> Result<(), JsonTemplateError> {
        let nodes = model.spans_per_trace();
        let mut walk = Walk {
            bytes: &self.bytes,
            at: 0,
        };
        for (span, &(trace, node)) in order.iter().enumerate() {
            let bad = |what: String| JsonTemplateError { span, what };
            let parent = model.nodes[usize::from(node)].parent;
            let mut slot = Slot {
                trace: trace as u32,
                draw: (trace * nodes + usize::from(node)) as u32,
                parent: parent.map_or(u32::MAX, |p| (trace * nodes + usize::from(p)) as u32),
                node,
                ..Slot::default()
            };
            slot.trace_id_at = walk.string(b"\"traceId\":\"", 32).map_err(bad)?;
            slot.span_id_at = walk.string(b"\"spanId\":\"", 16).map_err(bad)?;
            let parent_len = if parent.is_some() { 16 } else { 0 };
            slot.parent_at = walk
                .string(b"\"parentSpanId\":\"", parent_len)
                .map_err(bad)?;
            slot.start_at = walk.string(b"\"startTimeUnixNano\":\"", 19).map_err(bad)?;
            slot.end_at = walk.string(b"\"endTimeUnixNano\":\"", 19).map_err(bad)?;
            for a in 0..self.attrs_per_span {
                walk.find(format!("\"key\":\"attr.{a}\"").as_bytes())
                    .map_err(bad)?;
                let at = walk.string(b"\"stringValue\":\"", 8).map_err(bad)?;
                self.attr_at.push(at);
            }
            walk.find(b"\"status\":{").map_err(bad)?;
            slot.status_at = walk.find(b"\"code\":").map_err(bad)?;
            if !walk.bytes[slot.status_at as usize].is_ascii_digit()
                || walk.bytes[slot.status_at as usize + 1].is_ascii_digit()
            {
                return Err(bad("status code is not one digit".into()));
            }
            self.slots.push(slot);
        }
        if walk.find(b"\"traceId\":\"").is_ok() {
            return Err(JsonTemplateError {
                span: order.len(),
                what: "more spans than laid out".into(),
            });
        }
        Ok(())
    }

    /// Patches the batch for `seqs` starting at `start_unix_ns` and returns its bytes.
    pub fn patch(&mut self, model: &StreamModel, seqs: SeqRange, start_unix_ns: u64) -> &[u8] {
        if !self.fill(model, seqs, start_unix_ns) {
            let traces = self.trace_hex.len();
            json::encode_request(model, seqs, traces, start_unix_ns, &mut self.fallback);
            return &self.fallback;
        }
        let n_attrs = self.attrs_per_span;
        let bytes = &mut self.bytes[..];
        let draws = &self.draws.spans[..];
        let mut fits = true;
        for (i, slot) in self.slots.iter().enumerate() {
            let draw = draws[slot.draw as usize];
            put(
                bytes,
                slot.trace_id_at,
                &self.trace_hex[slot.trace as usize],
            );
            put(bytes, slot.span_id_at, &self.span_hex[slot.draw as usize]);
            if slot.parent != u32::MAX {
                put(bytes, slot.parent_at, &self.span_hex[slot.parent as usize]);
            }
            let node = usize::from(slot.node);
            put(bytes, slot.start_at, &self.starts[node]);
            let end = (start_unix_ns + self.start_offsets[node]).saturating_add(draw.duration_ns);
            fits &= end < DIGITS_19.end;
            put(bytes, slot.end_at, &decimal19(end));
            bytes[slot.status_at as usize] = b'0' + model.status(draw.choice).code() as u8;
            let attr_at = &self.attr_at[i * n_attrs..(i + 1) * n_attrs];
            for (a, &at) in attr_at.iter().enumerate() {
                put(bytes, at, &model.attribute_digits(draw.choice, a as u16));
            }
        }
        if !fits {
            let traces = self.trace_hex.len();
            json::encode_request(model, seqs, traces, start_unix_ns, &mut self.fallback);
            return &self.fallback;
        }
        &self.bytes
    }

    /// The first pass of `patch`: draws, the IDs in hex, every node's start digits. False when
    /// a start would not have 19 digits.
    fn fill(&mut self, model: &StreamModel, seqs: SeqRange, start_unix_ns: u64) -> bool {
        let last_start = self
            .start_offsets
            .iter()
            .max()
            .map(|o| start_unix_ns.checked_add(*o));
        if !DIGITS_19.contains(&start_unix_ns)
            || !matches!(last_start, Some(Some(s)) if s < DIGITS_19.end)
        {
            return false;
        }
        for (digits, offset) in self.starts.iter_mut().zip(&self.start_offsets) {
            *digits = decimal19(start_unix_ns + offset);
        }
        self.draws.fill(model, seqs);
        for (hex, &key) in self.trace_hex.iter_mut().zip(&self.draws.trace_keys) {
            let id = ids::trace_id(key);
            let (hi, lo) = id.split_at(8);
            hex[..16].copy_from_slice(&hex16(u64::from_be_bytes(hi.try_into().expect("8"))));
            hex[16..].copy_from_slice(&hex16(u64::from_be_bytes(lo.try_into().expect("8"))));
        }
        for (hex, draw) in self.span_hex.iter_mut().zip(&self.draws.spans) {
            *hex = hex16(u64::from_be_bytes(ids::span_id(draw.hash)));
        }
        true
    }
}

/// A cursor over the serialized template that only moves forward.
struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Walk<'_> {
    /// Moves past the next `pattern`; returns where what follows it starts.
    fn find(&mut self, pattern: &[u8]) -> Result<u32, String> {
        let rest = &self.bytes[self.at..];
        let found = rest
            .windows(pattern.len())
            .position(|w| w == pattern)
            .ok_or_else(|| format!("{} not found", String::from_utf8_lossy(pattern)))?;
        self.at += found + pattern.len();
        Ok(self.at as u32)
    }

    /// Moves past the next `key` (ending in the string's opening quote) and checks the string
    /// value has `len` characters; returns where it starts.
    fn string(&mut self, key: &[u8], len: usize) -> Result<u32, String> {
        let at = self.find(key)?;
        if self.bytes.get(at as usize + len) != Some(&b'"') {
            return Err(format!(
                "{} is not {len} characters",
                String::from_utf8_lossy(key)
            ));
        }
        Ok(at)
    }
}

#[inline(always)]
fn put(bytes: &mut [u8], at: u32, value: &[u8]) {
    bytes[at as usize..at as usize + value.len()].copy_from_slice(value);
}

/// 16 lowercase hex digits of `v`, most significant first.
#[inline(always)]
fn hex16(v: u64) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&hex8((v >> 32) as u32));
    out[8..].copy_from_slice(&hex8(v as u32));
    out
}

/// The two digits of every number below 100.
const PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// 8 decimal digits of `v` (below 10^8).
#[inline(always)]
fn decimal8(v: u32, out: &mut [u8]) {
    let (hi, lo) = (v / 10_000, v % 10_000);
    out[0..2].copy_from_slice(&PAIRS[(hi / 100) as usize]);
    out[2..4].copy_from_slice(&PAIRS[(hi % 100) as usize]);
    out[4..6].copy_from_slice(&PAIRS[(lo / 100) as usize]);
    out[6..8].copy_from_slice(&PAIRS[(lo % 100) as usize]);
}

/// 19 decimal digits of `v`, zero-padded (`v` below 10^19).
#[inline(always)]
pub fn decimal19(v: u64) -> [u8; 19] {
    let mut out = [0; 19];
    let top = (v / 10_000_000_000_000_000) as u32;
    let rest = v % 10_000_000_000_000_000;
    out[0] = b'0' + (top / 100) as u8;
    out[1..3].copy_from_slice(&PAIRS[(top % 100) as usize]);
    decimal8((rest / 100_000_000) as u32, &mut out[3..11]);
    decimal8((rest % 100_000_000) as u32, &mut out[11..19]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal19_writes_every_digit() {
        for v in [
            1_000_000_000_000_000_000u64,
            1_733_616_000_123_456_789,
            9_999_999_999_999_999_999,
        ] {
            assert_eq!(decimal19(v), format!("{v:019}").as_bytes());
        }
        assert_eq!(hex16(0x0123_4567_89ab_cdef), *b"0123456789abcdef");
    }
}
