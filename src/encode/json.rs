//! OTLP/HTTP JSON serialized from the plain prost structs: the reference that
//! [`super::JsonTemplate`] patches a copy of, and its fallback.
//!
//! opentelemetry-proto's serde derive already follows the OTLP JSON rules (trace and span IDs
//! as hex, 64-bit integers as decimal strings, lowerCamelCase keys, enums as integers), which
//! the independent decoder test (`tests/peers.rs`) checks against the Python protobuf runtime.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::SeqRange;
use crate::model::StreamModel;

/// Serializes `request` as OTLP JSON into `out` (cleared first).
pub fn write_request(request: &ExportTraceServiceRequest, out: &mut Vec<u8>) {
    out.clear();
    serde_json::to_writer(&mut *out, request).expect("OTLP structs serialize to a Vec");
}

/// Builds a batch as [`super::plain::build_request`] does and serializes it as OTLP JSON.
pub fn encode_request(
    model: &StreamModel,
    seqs: SeqRange,
    traces: usize,
    start_unix_ns: u64,
    out: &mut Vec<u8>,
) {
    let request = super::plain::build_request(model, seqs, traces, start_unix_ns);
    write_request(&request, out);
}
