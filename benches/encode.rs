//! Template encoding against the plain "build opentelemetry-proto structs and prost-encode them"
//! path, in one group so the ratio shows in one run; beside them, the generator's whole step
//! per batch (walk the global batch sequence to the worker's next batch, then patch): for the
//! whole test, for one of four execution segments, and for one worker's 1/128 part (8 threads
//! in one of 16 segments), where a worker walks past 127 batches others send for each of its
//! own. Throughput is in spans.
//!
//! `encode_json` puts the OTLP/JSON template beside serde serializing the plain structs, and
//! `compress_batch` each codec (at the levels `scripts/compression.sh` shows) over one patched
//! batch beside flate2's one-shot `GzEncoder` (a fresh deflate state per body); the ratio each
//! codec achieves on this batch is printed once.
// criterion's group macros generate public functions without documentation.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use span_sentinel::encode::{JsonTemplate, SeqRange, Template, json, plain};
use span_sentinel::engine::schedule::{Schedule, StreamBatch};
use span_sentinel::engine::segment::{Fraction, Owner, Segment};
use span_sentinel::model::{StreamModel, StreamSpec};
use span_sentinel::transport::compress::Compressor;
use span_sentinel::transport::{Codec, Compression};

const START_NS: u64 = 1_700_000_000_000_000_000;

fn seqs(first: u64) -> SeqRange {
    SeqRange { first, stride: 1 }
}

fn encode_json(c: &mut Criterion) {
    let model = StreamModel::new(StreamSpec::default(), 7, 0).unwrap();
    let traces = 512 / model.spans_per_trace();
    let mut template = JsonTemplate::new(&model, traces).unwrap();
    let mut group = c.benchmark_group("encode_json");
    group.throughput(Throughput::Elements(template.spans() as u64));
    let mut seq = 0u64;
    group.bench_function("json_template_patch", |b| {
        b.iter(|| {
            seq += traces as u64;
            let bytes = template.patch(&model, seqs(seq), START_NS + seq);
            std::hint::black_box(bytes.len())
        })
    });
    let mut out = Vec::new();
    group.bench_function("serde_structs", |b| {
        b.iter(|| {
            seq += traces as u64;
            json::encode_request(&model, seqs(seq), traces, START_NS + seq, &mut out);
            std::hint::black_box(out.len())
        })
    });
    group.finish();
}

fn compress_batch(c: &mut Criterion) {
    use std::io::Write;
    let model = StreamModel::new(StreamSpec::default(), 7, 0).unwrap();
    let traces = 512 / model.spans_per_trace();
    let mut template = Template::new(&model, traces).unwrap();
    let body = template.patch(&model, seqs(1000), START_NS).to_vec();
    let mut group = c.benchmark_group("compress_batch");
    group.throughput(Throughput::Elements(template.spans() as u64));
    group.bench_function("flate2_gz_encoder_fast", |b| {
        b.iter(|| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&body).unwrap();
            std::hint::black_box(e.finish().unwrap().len())
        })
    });
    let cases = [
        (Codec::Gzip, 1),
        (Codec::Zstd, -5),
        (Codec::Zstd, -1),
        (Codec::Zstd, 1),
        (Codec::Zstd, 3),
    ];
    for (codec, level) in cases {
        let mut compressor = Compressor::new(Compression::new(codec, Some(level)).unwrap());
        let len = compressor.compress(&body).len();
        println!(
            "{} level {level}: {} -> {len} bytes, ratio {:.2}",
            codec.name(),
            body.len(),
            body.len() as f64 / len as f64
        );
        group.bench_function(format!("{}_{level}", codec.name()), |b| {
            b.iter(|| std::hint::black_box(compressor.compress(&body).len()))
        });
    }
    group.finish();
}

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
    let quarter = |i| Fraction::new(i, 4).unwrap();
    let owners: [(&str, Owner); 3] = [
        ("schedule_patch_whole", Segment::WHOLE.owner()),
        (
            "schedule_patch_segment_2_of_4",
            Segment::new(quarter(1), quarter(2)).unwrap().owner(),
        ),
        (
            "schedule_patch_part_1_of_128",
            Segment::new(quarter(1), quarter(2)).unwrap().part(0, 32),
        ),
    ];
    let stream = StreamBatch {
        traces,
        spans: template.spans(),
        weight: 1.0,
    };
    for (name, owner) in owners {
        let mut schedule = Schedule::new([stream], owner);
        group.bench_function(name, |b| {
            b.iter(|| {
                let batch = schedule.next_batch();
                let seqs = SeqRange {
                    first: batch.first_seq,
                    stride: 1,
                };
                let bytes = template.patch(&model, seqs, 1_700_000_000_000_000_000 + batch.index);
                std::hint::black_box(bytes.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, encode, encode_json, compress_batch);
criterion_main!(benches);
