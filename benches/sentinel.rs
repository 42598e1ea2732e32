//! The cost of the sentinel's ambient stream: building and encoding one second of it at the
//! default rate (every fragment of 20 traces, cycling through the shapes), as the sender does.
//! Throughput is in spans.
// criterion's group macros generate public functions without documentation.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use span_sentinel::sentinel::ambient::Ambient;
use span_sentinel::sentinel::origin::Origin;
use span_sentinel::sentinel::plan::SentinelSection;

fn one_second(c: &mut Criterion) {
    let section = SentinelSection::default();
    let ambient = Ambient::new(
        7,
        section.probe.durations_ns(),
        section.assembly_threshold.as_nanos() as u64,
    )
    .with_arrival(section.arrival());
    let origin = Origin::new(&section.tenant, 7);
    let traces = section.traces_per_sec as u64;
    // Start far into the stream, past the first pass of the probe.
    let first = 1_000u64;
    let spans: u64 = (first..first + traces)
        .flat_map(|seq| ambient.fragments(seq))
        .map(|f| f.nodes.len() as u64)
        .sum();
    let mut group = c.benchmark_group("sentinel_second");
    group.throughput(Throughput::Elements(spans));
    let mut out = Vec::new();
    group.bench_function("build_and_encode", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for seq in first..first + traces {
                for fragment in ambient.fragments(seq) {
                    let spans = fragment.nodes.iter().map(|&node| {
                        ambient.span(seq, node, "baseline", 1_700_000_000_000_000_000)
                    });
                    out.clear();
                    origin
                        .request(spans)
                        .encode(&mut out)
                        .expect("a Vec grows as needed");
                    bytes += out.len();
                }
            }
            std::hint::black_box(bytes)
        })
    });
    group.finish();
}

criterion_group!(benches, one_second);
criterion_main!(benches);
