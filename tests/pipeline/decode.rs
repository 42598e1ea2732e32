//! The scanning decoder against prost: equal on valid input (differential), safe and never
//! more lenient than claimed on mutated and random input (fuzz-style).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use span_sentinel::pipeline::ingest::decode::{DecodeError, SpanRef, scan_request};
use span_sentinel::wire::WireError;

fn text(rng: &mut StdRng) -> String {
    const PARTS: [&str; 6] = ["GET /", "db.query", "é", "服务", "", "service.name"];
    (0..rng.random_range(0..4))
        .map(|_| PARTS[rng.random_range(0..PARTS.len())])
        .collect()
}

fn id(rng: &mut StdRng, len: usize) -> Vec<u8> {
    match rng.random_range(0..20) {
        0 => vec![0; len],
        1 => vec![7; rng.random_range(0..len + 3)],
        _ => (0..len).map(|_| rng.random()).collect(),
    }
}

fn value(rng: &mut StdRng) -> Option<AnyValue> {
    let v = match rng.random_range(0..5) {
        0 => return None,
        1 => any_value::Value::IntValue(rng.random()),
        2 => any_value::Value::BoolValue(rng.random()),
        3 => any_value::Value::BytesValue(id(rng, 3)),
        _ => any_value::Value::StringValue(text(rng)),
    };
    Some(AnyValue { value: Some(v) })
}

fn attrs(rng: &mut StdRng) -> Vec<KeyValue> {
    (0..rng.random_range(0..4))
        .map(|_| {
            let key = if rng.random_bool(0.4) {
                "service.name".into()
            } else {
                text(rng)
            };
            KeyValue {
                key,
                value: value(rng),
                ..KeyValue::default()
            }
        })
        .collect()
}

fn random_span(rng: &mut StdRng) -> Span {
    Span {
        trace_id: id(rng, 16),
        span_id: id(rng, 8),
        parent_span_id: if rng.random_bool(0.3) {
            Vec::new()
        } else {
            id(rng, 8)
        },
        trace_state: text(rng),
        name: text(rng),
        kind: rng.random_range(0..6),
        start_time_unix_nano: rng.random(),
        end_time_unix_nano: rng.random(),
        attributes: attrs(rng),
        events: (0..rng.random_range(0..2))
            .map(|_| span::Event {
                name: text(rng),
                attributes: attrs(rng),
                ..span::Event::default()
            })
            .collect(),
        status: rng.random_bool(0.7).then(|| Status {
            message: text(rng),
            code: rng.random_range(0..3),
        }),
        flags: rng.random(),
        ..Span::default()
    }
}

/// A random request.
pub fn random_request(rng: &mut StdRng) -> ExportTraceServiceRequest {
    let resource_spans = (0..rng.random_range(0..3))
        .map(|_| ResourceSpans {
            resource: rng.random_bool(0.8).then(|| Resource {
                attributes: attrs(rng),
                ..Resource::default()
            }),
            scope_spans: (0..rng.random_range(0..3))
                .map(|_| ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: text(rng),
                        ..InstrumentationScope::default()
                    }),
                    spans: (0..rng.random_range(0..5))
                        .map(|_| random_span(rng))
                        .collect(),
                    schema_url: text(rng),
                })
                .collect(),
            schema_url: text(rng),
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

/// Valid spans as (SpanRef without offsets, name, service, resource, scope), and the rejected
/// count.
type Scanned = (
    Vec<(SpanRef, String, String, Resource, InstrumentationScope)>,
    u32,
);

fn fixed<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    let id: [u8; N] = bytes.try_into().ok()?;
    (id != [0; N]).then_some(id)
}

/// What the scanner should produce, computed from prost's structs: (valid spans as
/// (SpanRef without offsets, name, service), rejected count).
fn expected(req: &ExportTraceServiceRequest) -> Scanned {
    let (mut out, mut rejected) = (Vec::new(), 0);
    for rs in &req.resource_spans {
        let service = rs
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .filter(|kv| kv.key == "service.name")
            .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .next_back()
            .unwrap_or_default();
        let resource = rs.resource.clone().unwrap_or_default();
        for (ss, span) in rs
            .scope_spans
            .iter()
            .flat_map(|ss| ss.spans.iter().map(move |s| (ss, s)))
        {
            let scope = ss.scope.clone().unwrap_or_default();
            let parent = if span.parent_span_id.is_empty() {
                Some([0; 8])
            } else {
                span.parent_span_id.as_slice().try_into().ok()
            };
            let (Some(trace_id), Some(span_id), Some(parent_span_id)) = (
                fixed::<16>(&span.trace_id),
                fixed::<8>(&span.span_id),
                parent,
            ) else {
                rejected += 1;
                continue;
            };
            let r = SpanRef {
                trace_id,
                span_id,
                parent_span_id,
                start_ns: span.start_time_unix_nano,
                end_ns: span.end_time_unix_nano,
                status_code: span.status.as_ref().map_or(0, |s| s.code),
                ..SpanRef::default()
            };
            out.push((
                r,
                span.name.clone(),
                service.clone(),
                resource.clone(),
                scope,
            ));
        }
    }
    (out, rejected)
}

fn scanned(buf: &[u8]) -> Result<Scanned, DecodeError> {
    let mut spans = Vec::new();
    let summary = scan_request(buf, b"", &mut spans)?;
    let out = spans
        .iter()
        .map(|s| {
            let name =
                String::from_utf8(s.name.slice(buf).to_vec()).expect("scanner checked UTF-8");
            let service =
                String::from_utf8(s.service.slice(buf).to_vec()).expect("scanner checked UTF-8");
            // Offsets are positions in the buffer, not content: compare them separately.
            if let Ok(span) = Span::decode(s.span.slice(buf)) {
                assert_eq!(span.name, name);
            }
            (
                SpanRef {
                    span: Default::default(),
                    name: Default::default(),
                    service: Default::default(),
                    resource: Default::default(),
                    scope: Default::default(),
                    ..*s
                },
                name,
                service,
                // The whole resource and scope, decoded from the ranges the scanner kept.
                Resource::decode(s.resource.slice(buf)).unwrap_or_default(),
                InstrumentationScope::decode(s.scope.slice(buf)).unwrap_or_default(),
            )
        })
        .collect();
    Ok((out, summary.rejected))
}

#[test]
fn scanner_equals_prost_on_valid_requests() {
    let mut rng = StdRng::seed_from_u64(7);
    for case in 0..3000 {
        let req = random_request(&mut rng);
        let buf = req.encode_to_vec();
        let decoded = ExportTraceServiceRequest::decode(buf.as_slice()).unwrap();
        assert_eq!(scanned(&buf).unwrap(), expected(&decoded), "case {case}");
    }
}

fn mutate(rng: &mut StdRng, buf: &mut Vec<u8>) {
    match rng.random_range(0..4) {
        0 if !buf.is_empty() => {
            let i = rng.random_range(0..buf.len());
            buf[i] ^= 1 << rng.random_range(0..8);
        }
        1 => buf.truncate(rng.random_range(0..=buf.len())),
        2 => {
            let i = rng.random_range(0..=buf.len());
            buf.insert(i, rng.random());
        }
        _ if !buf.is_empty() => {
            let i = rng.random_range(0..buf.len());
            buf[i] = rng.random();
        }
        _ => buf.push(rng.random()),
    }
}

#[test]
fn scanner_is_safe_on_mutated_and_random_input_and_agrees_with_prost_when_both_accept() {
    let mut rng = StdRng::seed_from_u64(11);
    let (mut both_ok, mut prost_only, mut scanner_only) = (0, 0, 0);
    for _ in 0..20_000 {
        let mut buf = if rng.random_bool(0.1) {
            (0..rng.random_range(0..64)).map(|_| rng.random()).collect()
        } else {
            random_request(&mut rng).encode_to_vec()
        };
        for _ in 0..rng.random_range(1..4) {
            mutate(&mut rng, &mut buf);
        }
        let ours = scanned(&buf);
        match (ExportTraceServiceRequest::decode(buf.as_slice()), ours) {
            (Ok(req), Ok(ours)) => {
                both_ok += 1;
                assert_eq!(ours, expected(&req), "{buf:?}");
            }
            // The scanner refuses groups (wire types 3 and 4), which prost skips in unknown fields.
            (Ok(_), Err(DecodeError::Wire(WireError::WireType(_, 3 | 4)))) => prost_only += 1,
            (Ok(_), Err(err)) => panic!("prost accepts what the scanner refuses ({err}): {buf:?}"),
            // The scanner does not descend into attributes, events and links.
            (Err(_), Ok(_)) => scanner_only += 1,
            (Err(_), Err(_)) => {}
        }
    }
    assert!(both_ok > 1000, "{both_ok} {prost_only} {scanner_only}");
}
