//! Encoding batches of a stream's traces as OTLP `ExportTraceServiceRequest` bytes.
//!
//! `plain` builds the opentelemetry-proto structs and lets prost encode them: the reference, and
//! the baseline in `benches/encode.rs`. `template` encodes one batch that way once, finds the
//! fixed-width fields by scanning the bytes, and patches them in place for every later batch —
//! the hot path. Because every patched field has a fixed width, a patched template is
//! byte-for-byte what `plain` would encode for the same batch; the differential tests check that.
//! OTLP/JSON has the same two paths: `json` serializes the plain structs (the reference) and
//! `json_template` patches a serialized batch, its fields being fixed-width too.

pub mod draws;
pub mod json;
pub mod json_template;
pub mod plain;
pub mod template;

pub use json_template::JsonTemplate;
pub use template::Template;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// How OTLP bodies are serialized on the wire (`--encoding`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Binary protobuf (`application/x-protobuf`; the only encoding of OTLP/gRPC).
    #[default]
    Protobuf,
    /// OTLP JSON (`application/json`; OTLP/HTTP only).
    Json,
}

impl Encoding {
    /// The HTTP `Content-Type` of bodies in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }

    /// Serializes a whole request in this encoding.
    pub fn encode(self, request: &ExportTraceServiceRequest) -> Vec<u8> {
        match self {
            Encoding::Protobuf => prost::Message::encode_to_vec(request),
            Encoding::Json => {
                let mut out = Vec::new();
                json::write_request(request, &mut out);
                out
            }
        }
    }
}

impl std::str::FromStr for Encoding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "protobuf" | "proto" => Ok(Encoding::Protobuf),
            "json" => Ok(Encoding::Json),
            _ => Err(format!("{s:?} is not an encoding; use protobuf or json")),
        }
    }
}

/// Which traces a batch holds: trace `i` of the batch has sequence number `first + i * stride`.
/// The load engine numbers each stream's traces contiguously over the whole test (stride 1);
/// which process or thread sends a batch does not change its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRange {
    /// Sequence number of the batch's first trace.
    pub first: u64,
    /// Distance between consecutive sequence numbers.
    pub stride: u64,
}

impl SeqRange {
    /// Sequence number of the batch's trace `i`.
    #[inline(always)]
    pub fn nth(&self, i: usize) -> u64 {
        self.first
            .wrapping_add((i as u64).wrapping_mul(self.stride))
    }
}

/// The order spans take in an encoded batch: grouped by service (one `ResourceSpans` each, in
/// service order, services without spans left out), then by trace, then by node. Both encoders
/// follow it.
pub fn layout(model: &crate::model::StreamModel, traces: usize) -> Vec<Vec<(usize, u16)>> {
    let services = usize::from(model.spec.shape.services);
    let mut groups = vec![Vec::new(); services];
    for trace in 0..traces {
        for (i, node) in model.nodes.iter().enumerate() {
            groups[usize::from(node.service)].push((trace, i as u16));
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}
