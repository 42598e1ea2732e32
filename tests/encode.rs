//! The template encoder against the plain prost path: patched batches must decode to exactly the
//! spans that were meant, over many shapes, seeds and sequence numbers; the same for the OTLP/JSON
//! template against the plain JSON serializer.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use proptest::prelude::*;
use prost::Message;
use span_sentinel::encode::{JsonTemplate, SeqRange, Template, json, plain};
use span_sentinel::model::{LatencyDistribution, StreamModel, StreamSpec, TraceShape};

fn shapes() -> impl Strategy<Value = TraceShape> {
    (
        1u16..5,
        1u16..8,
        1u16..4,
        1u16..4,
        0u16..4,
        // Both sides of the template's 1024-value digit table.
        1u64..3000,
        0u32..40,
    )
        .prop_map(
            |(
                services,
                operations,
                depth,
                fan_out,
                attributes,
                attribute_cardinality,
                payload_bytes,
            )| TraceShape {
                services,
                operations,
                depth,
                fan_out,
                attributes,
                attribute_cardinality,
                payload_bytes,
            },
        )
}

fn latencies() -> impl Strategy<Value = LatencyDistribution> {
    prop_oneof![
        (0u64..10_000_000).prop_map(|ns| LatencyDistribution::Constant {
            value: Duration::from_nanos(ns)
        }),
        (1u64..1000, 0.1f64..3.0).prop_map(|(ms, sigma)| LatencyDistribution::LogNormal {
            median: Duration::from_millis(ms),
            sigma
        }),
        (1u64..1000, 0.5f64..3.0).prop_map(|(us, shape)| LatencyDistribution::Pareto {
            scale: Duration::from_micros(us),
            shape
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn patched_template_equals_plain_encoding(
        shape in shapes(),
        latency in latencies(),
        error_ratio in 0.0f64..=1.0,
        seed in any::<u64>(),
        stream in 0u32..16,
        traces in 1usize..6,
        batches in prop::collection::vec((any::<u64>(), 1u64..64, 1u64..u64::MAX / 2), 1..4),
    ) {
        let spec = StreamSpec { shape, latency, error_ratio, ..StreamSpec::default() };
        let model = StreamModel::new(spec, seed, stream).unwrap();
        let mut template = Template::new(&model, traces).unwrap();
        for (first, stride, start) in batches {
            let seqs = SeqRange { first, stride };
            let patched = template.patch(&model, seqs, start).to_vec();
            let meant = plain::build_request(&model, seqs, traces, start);
            let decoded = ExportTraceServiceRequest::decode(&patched[..]).unwrap();
            prop_assert_eq!(&decoded, &meant);
            prop_assert_eq!(patched, meant.encode_to_vec());
        }
    }
}

/// Start times: mostly of 19 digits (the patched path), some outside (the plain fallback), and
/// some right at the edge, where a span's end may leave the 19 digits.
fn json_starts() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 1_000_000_000_000_000_000u64..9_000_000_000_000_000_000,
        1 => 0u64..1_000_000_000_000_000_000,
        1 => 9_999_999_999_000_000_000u64..u64::MAX,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn patched_json_template_parses_to_the_plain_serialization(
        shape in shapes(),
        latency in latencies(),
        error_ratio in 0.0f64..=1.0,
        seed in any::<u64>(),
        stream in 0u32..16,
        traces in 1usize..6,
        batches in prop::collection::vec((any::<u64>(), 1u64..64, json_starts()), 1..5),
    ) {
        let spec = StreamSpec { shape, latency, error_ratio, ..StreamSpec::default() };
        let model = StreamModel::new(spec, seed, stream).unwrap();
        let mut template = JsonTemplate::new(&model, traces).unwrap();
        prop_assert_eq!(template.spans(), traces * model.spans_per_trace());
        for (first, stride, start) in batches {
            let seqs = SeqRange { first, stride };
            let patched = template.patch(&model, seqs, start).to_vec();
            let meant = plain::build_request(&model, seqs, traces, start);
            let parsed: ExportTraceServiceRequest = serde_json::from_slice(&patched).unwrap();
            prop_assert_eq!(&parsed, &meant);
            let mut reference = Vec::new();
            json::write_request(&meant, &mut reference);
            prop_assert_eq!(
                serde_json::from_slice::<serde_json::Value>(&patched).unwrap(),
                serde_json::from_slice::<serde_json::Value>(&reference).unwrap()
            );
        }
    }
}

#[test]
fn same_seed_same_traces_other_seed_other_traces() {
    let batch = |seed| {
        let model = StreamModel::new(StreamSpec::default(), seed, 0).unwrap();
        let mut t = Template::new(&model, 3).unwrap();
        t.patch(
            &model,
            SeqRange {
                first: 10,
                stride: 1,
            },
            5,
        )
        .to_vec()
    };
    assert_eq!(batch(1), batch(1));
    assert_ne!(batch(1), batch(2));
}
