//! Template encoding against the plain "build opentelemetry-proto structs and prost-encode them"
//! path, in one group so the ratio shows in one run. Throughput is in spans.
// criterion's group macros generate public functions without documentation.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use span_sentinel::encode::{SeqRange, Template, plain};
use span_sentinel::model::{StreamModel, StreamSpec};

fn encode(c: &mut Criterion) {
    let model = StreamModel::new(StreamSpec::default(), 7, 0).unwrap();
    let traces = 512 / model.spans_per_trace();
    let mut template = Template::new(&model, traces).unwrap();
    let spans = template.spans() as u64;
    let mut group = c.benchmark_group("encode_batch");
    group.throughput(Throughput::Elements(spans));
    let mut seq = 0u64;
    group.bench_function("template_patch", |b| {
        b.iter(|| {
            seq += traces as u64;
            let bytes = template.patch(
                &model,
                SeqRange {
                    first: seq,
                    stride: 1,
                },
                1_700_000_000_000_000_000 + seq,
            );
            std::hint::black_box(bytes.len())
        })
    });
    let mut out = Vec::new();
    group.bench_function("prost_structs", |b| {
        b.iter(|| {
            seq += traces as u64;
            plain::encode_request(
                &model,
                SeqRange {
                    first: seq,
                    stride: 1,
                },
                traces,
                1_700_000_000_000_000_000 + seq,
                &mut out,
            );
            std::hint::black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
