//! The fast ingest decoder: scans an `ExportTraceServiceRequest` with the zero-allocation wire
//! scanner and writes one compact [`SpanRef`] per span into a reused `Vec`, without building
//! prost structs. Everything the hot path needs (IDs, times, name, service, status) is read
//! here; the rest of a span (attributes, events, links) stays in the request bytes, where trace
//! assembly decodes it with prost when (rarely) needed.
//!
//! Equality with prost on valid input is checked by a differential test, and safety on invalid
//! input by a fuzz-style test (`tests/pipeline/decode.rs`). Like prost, the scanner rejects a known
//! field with the wrong wire type and invalid UTF-8 in the strings it reads (span name, service
//! name); unlike prost it does not descend into attributes, events and links.

pub use crate::pipeline::span_ref::{Range, SpanRef};
use crate::wire::{Field, Fields, Value, WireError};

/// Why a request cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not valid protobuf.
    #[error("{0}")]
    Wire(#[from] WireError),
    /// A known field has the wrong wire type.
    #[error("field {field} at byte {at} has the wrong wire type")]
    WrongType {
        /// Field number.
        field: u32,
        /// Offset of its tag.
        at: usize,
    },
    /// A string field is not UTF-8.
    #[error("string at byte {0} is not valid UTF-8")]
    Utf8(usize),
    /// A request over 4 GiB cannot be indexed with `u32` offsets.
    #[error("request too large to index")]
    TooLarge,
}

/// Why one span is refused (reported through partial success).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanDefect {
    /// The trace ID is not 16 bytes, or all zero.
    TraceId,
    /// The span ID is not 8 bytes, or all zero.
    SpanId,
    /// The parent span ID is neither empty nor 8 bytes.
    ParentId,
}

/// Counts of one scanned request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Spans found, valid or not.
    pub spans: u32,
    /// Spans refused, with the defect of the first one.
    pub rejected: u32,
    /// The first defect seen.
    pub first_defect: Option<SpanDefect>,
}

fn len_of(f: &Field) -> Result<(usize, usize), DecodeError> {
    match f.value {
        Value::Len { start, end } => Ok((start, end)),
        _ => Err(DecodeError::WrongType {
            field: f.number,
            at: f.tag_at,
        }),
    }
}

fn utf8(buf: &[u8], start: usize, end: usize) -> Result<Range, DecodeError> {
    std::str::from_utf8(&buf[start..end]).map_err(|_| DecodeError::Utf8(start))?;
    Ok(Range::of(start, end))
}

/// Scans a request, appending its valid spans to `out` (cleared first). When `tenant_key` is not
/// empty, each span's [`SpanRef::tenant`] is the string value of that resource attribute.
pub fn scan_request(
    buf: &[u8],
    tenant_key: &[u8],
    out: &mut Vec<SpanRef>,
) -> Result<ScanSummary, DecodeError> {
    out.clear();
    if buf.len() > u32::MAX as usize {
        return Err(DecodeError::TooLarge);
    }
    let mut summary = ScanSummary::default();
    for field in Fields::new(buf) {
        let field = field?;
        if field.number == 1 {
            let (start, end) = len_of(&field)?;
            scan_resource_spans(buf, (start, end), tenant_key, out, &mut summary)?;
        }
    }
    Ok(summary)
}

/// The resource attributes the pipeline reads.
#[derive(Debug, Clone, Copy, Default)]
struct ResourceKeys {
    resource: Range,
    service: Range,
    tenant: Range,
}

fn scan_resource_spans(
    buf: &[u8],
    (start, end): (usize, usize),
    tenant_key: &[u8],
    out: &mut Vec<SpanRef>,
    summary: &mut ScanSummary,
) -> Result<(), DecodeError> {
    // The resource may come after the spans on the wire: note where this resource's spans begin
    // and patch the service and tenant into them at the end.
    let first = out.len();
    let mut keys = ResourceKeys::default();
    for field in Fields::within(buf, start, end) {
        let field = field?;
        match field.number {
            1 => {
                let (s, e) = len_of(&field)?;
                keys.resource = Range::of(s, e);
                scan_resource(buf, s, e, tenant_key, &mut keys)?;
            }
            2 => {
                let (s, e) = len_of(&field)?;
                scan_scope_spans(buf, s, e, out, summary)?;
            }
            3 => drop(len_of(&field)?),
            _ => {}
        }
    }
    for span in &mut out[first..] {
        span.service = keys.service;
        span.tenant = keys.tenant;
        span.resource = keys.resource;
    }
    Ok(())
}

fn scan_resource(
    buf: &[u8],
    start: usize,
    end: usize,
    tenant_key: &[u8],
    keys: &mut ResourceKeys,
) -> Result<(), DecodeError> {
    for field in Fields::within(buf, start, end) {
        let field = field?;
        if field.number == 1 {
            let (s, e) = len_of(&field)?;
            let (key, value) = string_attribute(buf, s, e)?;
            let Some(value) = value else { continue };
            let key = key.slice(buf);
            if key == b"service.name" {
                keys.service = value;
            } else if !tenant_key.is_empty() && key == tenant_key {
                keys.tenant = value;
            }
        }
    }
    Ok(())
}

/// The key of a `KeyValue`, and its value when that is a string.
fn string_attribute(
    buf: &[u8],
    start: usize,
    end: usize,
) -> Result<(Range, Option<Range>), DecodeError> {
    let mut key = Range::default();
    let mut value = None;
    for field in Fields::within(buf, start, end) {
        let field = field?;
        match field.number {
            1 => {
                let (s, e) = len_of(&field)?;
                key = utf8(buf, s, e)?;
            }
            2 => {
                let (s, e) = len_of(&field)?;
                value = any_string(buf, s, e)?;
            }
            _ => {}
        }
    }
    Ok((key, value))
}

/// The `string_value` of an `AnyValue`, if that is the variant set last.
fn any_string(buf: &[u8], start: usize, end: usize) -> Result<Option<Range>, DecodeError> {
    let mut value = None;
    for field in Fields::within(buf, start, end) {
        let field = field?;
        if (1..=7).contains(&field.number) {
            value = None;
        }
        if field.number == 1 {
            let (s, e) = len_of(&field)?;
            value = Some(utf8(buf, s, e)?);
        }
    }
    Ok(value)
}

fn scan_scope_spans(
    buf: &[u8],
    start: usize,
    end: usize,
    out: &mut Vec<SpanRef>,
    summary: &mut ScanSummary,
) -> Result<(), DecodeError> {
    // The scope may come after the spans on the wire, as the resource may.
    let first = out.len();
    let mut scope = Range::default();
    for field in Fields::within(buf, start, end) {
        let field = field?;
        match field.number {
            1 => {
                let (s, e) = len_of(&field)?;
                scope = Range::of(s, e);
            }
            3 => drop(len_of(&field)?),
            2 => {
                let (s, e) = len_of(&field)?;
                summary.spans += 1;
                match scan_span(buf, s, e)? {
                    Ok(span) => out.push(span),
                    Err(defect) => {
                        summary.rejected += 1;
                        summary.first_defect.get_or_insert(defect);
                    }
                }
            }
            _ => {}
        }
    }
    for span in &mut out[first..] {
        span.scope = scope;
    }
    Ok(())
}

fn fixed_id<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    let id: [u8; N] = bytes.try_into().ok()?;
    (id != [0; N]).then_some(id)
}

type SpanResult = Result<Result<SpanRef, SpanDefect>, DecodeError>;

fn scan_span(buf: &[u8], start: usize, end: usize) -> SpanResult {
    let mut span = SpanRef {
        span: Range::of(start, end),
        ..SpanRef::default()
    };
    let (mut trace_id, mut span_id, mut parent) =
        (Range::default(), Range::default(), Range::default());
    for field in Fields::within(buf, start, end) {
        let field = field?;
        let wrong = DecodeError::WrongType {
            field: field.number,
            at: field.tag_at,
        };
        match (field.number, field.value) {
            (1, Value::Len { start, end }) => trace_id = Range::of(start, end),
            (2, Value::Len { start, end }) => span_id = Range::of(start, end),
            (4, Value::Len { start, end }) => parent = Range::of(start, end),
            (5, Value::Len { start, end }) => span.name = utf8(buf, start, end)?,
            (3, Value::Len { start, end }) => drop(utf8(buf, start, end)?),
            (9 | 11 | 13, Value::Len { .. }) => {}
            (6 | 10 | 12 | 14, Value::Varint(_)) => {}
            (7, Value::Fixed64 { value, .. }) => span.start_ns = value,
            (8, Value::Fixed64 { value, .. }) => span.end_ns = value,
            (15, Value::Len { start, end }) => scan_status(buf, start, end, &mut span.status_code)?,
            (16, Value::Fixed32 { .. }) => {}
            (1..=16, _) => return Err(wrong),
            _ => {}
        }
    }
    let Some(id) = fixed_id::<16>(trace_id.slice(buf)) else {
        return Ok(Err(SpanDefect::TraceId));
    };
    span.trace_id = id;
    let Some(id) = fixed_id::<8>(span_id.slice(buf)) else {
        return Ok(Err(SpanDefect::SpanId));
    };
    span.span_id = id;
    let parent = parent.slice(buf);
    if !parent.is_empty() {
        // An all-zero parent is what some SDKs send for "no parent": treat it as a root.
        let Ok(id) = parent.try_into() else {
            return Ok(Err(SpanDefect::ParentId));
        };
        span.parent_span_id = id;
    }
    Ok(Ok(span))
}

fn scan_status(buf: &[u8], start: usize, end: usize, code: &mut i32) -> Result<(), DecodeError> {
    for field in Fields::within(buf, start, end) {
        let field = field?;
        match (field.number, field.value) {
            (2, Value::Len { start, end }) => drop(utf8(buf, start, end)?),
            // prost truncates an int32 varint the same way.
            (3, Value::Varint(v)) => *code = v as i32,
            (2 | 3, _) => {
                return Err(DecodeError::WrongType {
                    field: field.number,
                    at: field.tag_at,
                });
            }
            _ => {}
        }
    }
    Ok(())
}
