//! One span as the pipeline holds it: a fixed-size record of IDs, times and status with byte
//! ranges into the request it came in (`SpanRef`). The ingest decoder writes it; the admission
//! queue carries it; the stores and the assembler read it. It lives below all of them so none
//! of those imports another for it.

/// A byte range `[start, end)` in the request buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Range {
    /// The range `[start, end)`.
    pub fn of(start: usize, end: usize) -> Self {
        Self {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The bytes of this range in `buf` (empty when out of bounds).
    pub fn slice(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

/// What the pipeline needs of one valid span; 104 bytes, no heap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpanRef {
    /// Trace ID.
    pub trace_id: [u8; 16],
    /// Span ID.
    pub span_id: [u8; 8],
    /// Parent span ID; all zero for a root span.
    pub parent_span_id: [u8; 8],
    /// Start time, unix ns.
    pub start_ns: u64,
    /// End time, unix ns.
    pub end_ns: u64,
    /// The whole encoded `Span` message.
    pub span: Range,
    /// The span name.
    pub name: Range,
    /// The `service.name` resource attribute (string value); empty when absent.
    pub service: Range,
    /// The resource attribute that names the tenant (see `ingest::decode::scan_request`); empty when absent
    /// or not asked for.
    pub tenant: Range,
    /// The whole encoded `Resource` of the span; empty when absent.
    pub resource: Range,
    /// The whole encoded `InstrumentationScope` of the span; empty when absent.
    pub scope: Range,
    /// `Status.code` (2 = error).
    pub status_code: i32,
}

impl SpanRef {
    /// Whether this span has no parent.
    pub fn is_root(&self) -> bool {
        self.parent_span_id == [0; 8]
    }

    /// `end - start`, 0 when the end is before the start.
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    /// Whether the status code is `STATUS_CODE_ERROR`.
    pub fn is_error(&self) -> bool {
        self.status_code == 2
    }
}
