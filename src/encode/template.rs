//! The template encoder: encode a batch once with prost, then patch the fixed-width fields of
//! every span in place for each later batch: the load engine's hot path.
//!
//! Patched per span: trace ID (16 bytes), span ID and parent span ID (8 bytes each), start and
//! end time (fixed64), status code (a one-byte varint, OK=1 or ERROR=2) and each `attr.N` value
//! (8 hex digits). The offsets are found by scanning the prost-encoded bytes with `crate::wire`,
//! never by searching for magic values. Nothing is allocated per batch or per span.

use thiserror::Error;

use super::draws::Draws;
use super::{SeqRange, layout, plain};
use crate::model::{StreamModel, ids};
use crate::wire::{Fields, Value, WireError};

/// The template's own encoding did not have the shape the patcher relies on: a bug, not input.
#[derive(Debug, Error)]
pub enum TemplateError {
    /// The bytes did not scan.
    #[error("template does not scan: {0}")]
    Wire(#[from] WireError),
    /// A field was missing or had an unexpected width.
    #[error("template span {span}: {what}")]
    Shape {
        /// Index of the span in byte order.
        span: usize,
        /// What was wrong.
        what: &'static str,
    },
}

/// Marks a root span's missing parent.
const NO_PARENT: u32 = u32::MAX;
/// Start time used when encoding the template; any non-zero value keeps the field present.
const TEMPLATE_START_NS: u64 = 1_700_000_000_000_000_000;

/// Where one span's patchable fields are.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    trace: u32,
    /// Index of the span's draws in `Template::draws` (trace-major, then node).
    draw: u32,
    /// Index of the parent's draws, `NO_PARENT` for a root.
    parent: u32,
    start_offset_ns: u64,
    trace_id_at: u32,
    span_id_at: u32,
    parent_at: u32,
    start_at: u32,
    end_at: u32,
    status_at: u32,
}

/// A pre-encoded batch of `traces` traces of one stream, patched in place per send.
#[derive(Debug, Clone)]
pub struct Template {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
    attr_at: Vec<u32>,
    attrs_per_span: usize,
    draws: Draws,
    trace_ids: Vec<[u8; 16]>,
    stream: u32,
}

impl Template {
    /// Encodes a batch of `traces` traces of `model` once and records where to patch it.
    pub fn new(model: &StreamModel, traces: usize) -> Result<Self, TemplateError> {
        let mut bytes = Vec::new();
        plain::encode_request(
            model,
            SeqRange {
                first: 0,
                stride: 1,
            },
            traces,
            TEMPLATE_START_NS,
            &mut bytes,
        );
        let order: Vec<(usize, u16)> = layout(model, traces).into_iter().flatten().collect();
        let attrs_per_span = usize::from(model.spec.shape.attributes);
        let mut template = Self {
            slots: Vec::with_capacity(order.len()),
            attr_at: Vec::with_capacity(order.len() * attrs_per_span),
            attrs_per_span,
            draws: Draws::new(model, traces),
            trace_ids: vec![[0; 16]; traces],
            stream: model.index,
            bytes,
        };
        template.scan(model, &order)?;
        Ok(template)
    }

    /// Spans in one batch.
    pub fn spans(&self) -> usize {
        self.slots.len()
    }

    /// Traces in one batch.
    pub fn traces(&self) -> usize {
        self.trace_ids.len()
    }

    /// Size of one encoded batch in bytes (the same for every batch).
    pub fn encoded_len(&self) -> usize {
        self.bytes.len()
    }

    fn scan(&mut self, model: &StreamModel, order: &[(usize, u16)]) -> Result<(), TemplateError> {
        let bytes = std::mem::take(&mut self.bytes);
        let mut span = 0;
        for rs in Fields::new(&bytes) {
            let rs = rs?;
            for ss in nested_with(&bytes, rs, 1)? {
                for sp in nested_with(&bytes, ss?, 2)? {
                    let Some(&(trace, node)) = order.get(span) else {
                        return Err(TemplateError::Shape {
                            span,
                            what: "more spans than laid out",
                        });
                    };
                    let sp = sp?;
                    if sp.number == 2 {
                        self.scan_span(&bytes, sp.value, span, model, trace, node)?;
                        span += 1;
                    }
                }
            }
        }
        self.bytes = bytes;
        if span != order.len() {
            return Err(TemplateError::Shape {
                span,
                what: "fewer spans than laid out",
            });
        }
        Ok(())
    }

    fn scan_span(
        &mut self,
        bytes: &[u8],
        value: Value,
        span: usize,
        model: &StreamModel,
        trace: usize,
        node: u16,
    ) -> Result<(), TemplateError> {
        let bad = |what| TemplateError::Shape { span, what };
        let nodes = model.spans_per_trace();
        let parent = model.nodes[usize::from(node)].parent;
        let mut slot = Slot {
            trace: trace as u32,
            draw: (trace * nodes + usize::from(node)) as u32,
            parent: parent.map_or(NO_PARENT, |p| (trace * nodes + usize::from(p)) as u32),
            start_offset_ns: model.start_offset_ns(node),
            ..Slot::default()
        };
        let mut attrs = 0;
        for field in Fields::nested(bytes, value).ok_or(bad("not a message"))? {
            let field = field?;
            match (field.number, field.value) {
                (1, Value::Len { start, end }) if end - start == 16 => {
                    slot.trace_id_at = start as u32
                }
                (2, Value::Len { start, end }) if end - start == 8 => {
                    slot.span_id_at = start as u32
                }
                (4, Value::Len { start, end }) if end - start == 8 => slot.parent_at = start as u32,
                (7, Value::Fixed64 { at, .. }) => slot.start_at = at as u32,
                (8, Value::Fixed64 { at, .. }) => slot.end_at = at as u32,
                (9, v) if attrs < self.attrs_per_span => {
                    self.attr_at.push(
                        attribute_value_at(bytes, v)
                            .ok_or(bad("attribute value is not 8 bytes"))?,
                    );
                    attrs += 1;
                }
                (15, v) => {
                    slot.status_at =
                        status_code_at(bytes, v).ok_or(bad("status code is not one byte"))?
                }
                _ => {}
            }
        }
        let found =
            slot.trace_id_at > 0 && slot.span_id_at > 0 && slot.start_at > 0 && slot.end_at > 0;
        if !found || slot.status_at == 0 || (slot.parent != NO_PARENT && slot.parent_at == 0) {
            return Err(bad("a fixed-width field is missing"));
        }
        if attrs != self.attrs_per_span {
            return Err(bad("attribute count differs"));
        }
        self.slots.push(slot);
        Ok(())
    }

    /// Patches the batch for `seqs` starting at `start_unix_ns` and returns its bytes.
    ///
    /// Two passes: the first draws every span's hashes and duration in trace order (each span
    /// hash once, so a child reuses its parent's instead of hashing it again, and the duration
    /// table's lookups run back to back); the second writes the fields in byte order.
    pub fn patch(&mut self, model: &StreamModel, seqs: SeqRange, start_unix_ns: u64) -> &[u8] {
        debug_assert_eq!(
            model.index, self.stream,
            "template patched with another stream's model"
        );
        self.draws.fill(model, seqs);
        for (id, &key) in self.trace_ids.iter_mut().zip(&self.draws.trace_keys) {
            *id = ids::trace_id(key);
        }
        let n_attrs = self.attrs_per_span;
        let bytes = &mut self.bytes[..];
        let draws = &self.draws.spans[..];
        for (i, slot) in self.slots.iter().enumerate() {
            let draw = draws[slot.draw as usize];
            put(
                bytes,
                slot.trace_id_at,
                &self.trace_ids[slot.trace as usize],
            );
            put(bytes, slot.span_id_at, &ids::span_id(draw.hash));
            if slot.parent != NO_PARENT {
                put(
                    bytes,
                    slot.parent_at,
                    &ids::span_id(draws[slot.parent as usize].hash),
                );
            }
            let start = start_unix_ns.saturating_add(slot.start_offset_ns);
            put(bytes, slot.start_at, &start.to_le_bytes());
            put(
                bytes,
                slot.end_at,
                &start.saturating_add(draw.duration_ns).to_le_bytes(),
            );
            bytes[slot.status_at as usize] = model.status(draw.choice).code() as u8;
            let attr_at = &self.attr_at[i * n_attrs..(i + 1) * n_attrs];
            for (a, &at) in attr_at.iter().enumerate() {
                put(bytes, at, &model.attribute_digits(draw.choice, a as u16));
            }
        }
        &self.bytes
    }
}

#[inline(always)]
fn put(bytes: &mut [u8], at: u32, value: &[u8]) {
    bytes[at as usize..at as usize + value.len()].copy_from_slice(value);
}

/// Fields of the message `field` holds, provided it has the number `number`; other fields give
/// an empty scan.
fn nested_with<'a>(
    bytes: &'a [u8],
    field: crate::wire::Field,
    number: u32,
) -> Result<Fields<'a>, TemplateError> {
    if field.number != number {
        return Ok(Fields::within(bytes, 0, 0));
    }
    Fields::nested(bytes, field.value).ok_or(TemplateError::Shape {
        span: 0,
        what: "expected a message",
    })
}

/// Offset of the 8-byte string value inside a `KeyValue { key, value: AnyValue { string } }`.
fn attribute_value_at(bytes: &[u8], kv: Value) -> Option<u32> {
    let any = Fields::nested(bytes, kv)?
        .filter_map(Result::ok)
        .find(|f| f.number == 2)?;
    let s = Fields::nested(bytes, any.value)?
        .filter_map(Result::ok)
        .find(|f| f.number == 1)?;
    match s.value {
        Value::Len { start, end } if end - start == 8 => Some(start as u32),
        _ => None,
    }
}

/// Offset of the one-byte code varint inside a `Status` message.
fn status_code_at(bytes: &[u8], status: Value) -> Option<u32> {
    let code = Fields::nested(bytes, status)?
        .filter_map(Result::ok)
        .find(|f| f.number == 3)?;
    match code.value {
        Value::Varint(v) if v < 0x80 => Some(code.tag_at as u32 + 1),
        _ => None,
    }
}
