//! The suite of latency distributions and the `[fidelity]` profile section. Every value is a
//! pure function of (seed, distribution name, index), so a run is reproducible from its seed.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::model::latency::{LatencyDistribution, MixtureComponent};

/// The distributions of the suite, as written in profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Log-normal, median 20 ms, σ 1.
    LogNormal,
    /// Pareto heavy tail: scale 1 ms, tail index 1.2 (capped at one day).
    Pareto,
    /// Bimodal: 90% around 2 ms, 10% around 800 ms (log-normal modes).
    Bimodal,
    /// Log-uniform over 1 µs to 1 h.
    LogUniform,
    /// Uniform whole nanoseconds 0 to 999, zero included.
    SubMicrosecond,
    /// Powers of two (where HDR buckets begin) and powers of ten, and ±1 ns around each, cycled.
    BucketEdges,
    /// One constant on a bucket boundary (2^20 ns).
    ConstantOnEdge,
    /// One constant next to a bucket boundary (2^20 + 1 ns).
    ConstantNextToEdge,
}

/// Every distribution, in report order.
pub const ALL: [Distribution; 8] = [
    Distribution::LogNormal,
    Distribution::Pareto,
    Distribution::Bimodal,
    Distribution::LogUniform,
    Distribution::SubMicrosecond,
    Distribution::BucketEdges,
    Distribution::ConstantOnEdge,
    Distribution::ConstantNextToEdge,
];

/// Longest value sent (one day): a span of that length still has a sane start time.
const CAP_NS: u64 = 86_400_000_000_000;

impl Distribution {
    /// The name used in reports and operation names.
    pub fn name(self) -> &'static str {
        match self {
            Distribution::LogNormal => "log_normal",
            Distribution::Pareto => "pareto",
            Distribution::Bimodal => "bimodal",
            Distribution::LogUniform => "log_uniform",
            Distribution::SubMicrosecond => "sub_microsecond",
            Distribution::BucketEdges => "bucket_edges",
            Distribution::ConstantOnEdge => "constant_on_edge",
            Distribution::ConstantNextToEdge => "constant_next_to_edge",
        }
    }

    /// `count` values, a pure function of (`seed`, the distribution).
    pub fn values(self, seed: u64, count: usize) -> Vec<u64> {
        let key = self.name().bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let mut rng = ChaCha8Rng::seed_from_u64(key);
        let sampled = |d: LatencyDistribution, rng: &mut ChaCha8Rng| {
            let s = d.sampler().expect("the suite's parameters are valid");
            (0..count)
                .map(|_| s.sample_ns(rng).min(CAP_NS))
                .collect::<Vec<_>>()
        };
        let ms = Duration::from_millis;
        match self {
            Distribution::LogNormal => sampled(
                LatencyDistribution::LogNormal {
                    median: ms(20),
                    sigma: 1.0,
                },
                &mut rng,
            ),
            Distribution::Pareto => sampled(
                LatencyDistribution::Pareto {
                    scale: ms(1),
                    shape: 1.2,
                },
                &mut rng,
            ),
            Distribution::Bimodal => sampled(bimodal(), &mut rng),
            Distribution::LogUniform => {
                let (lo, hi) = (1e3f64.ln(), 3.6e12f64.ln());
                (0..count)
                    .map(|_| rng.random_range(lo..=hi).exp().round() as u64)
                    .collect()
            }
            Distribution::SubMicrosecond => {
                let mut v: Vec<u64> = (0..count).map(|_| rng.random_range(0..1000)).collect();
                if let Some(first) = v.first_mut() {
                    *first = 0;
                }
                v
            }
            Distribution::BucketEdges => {
                let edges = bucket_edges();
                (0..count).map(|i| edges[i % edges.len()]).collect()
            }
            Distribution::ConstantOnEdge => vec![1 << 20; count],
            Distribution::ConstantNextToEdge => vec![(1 << 20) + 1; count],
        }
    }
}

fn bimodal() -> LatencyDistribution {
    let mode = |median, sigma, weight| MixtureComponent {
        weight,
        latency: LatencyDistribution::LogNormal {
            median: Duration::from_millis(median),
            sigma,
        },
    };
    LatencyDistribution::Mixture {
        components: vec![mode(2, 0.3, 0.9), mode(800, 0.2, 0.1)],
    }
}

/// Powers of two from 2^10 to 2^40 and powers of ten from 10^3 to 10^12, each with its
/// neighbours ±1 ns.
pub fn bucket_edges() -> Vec<u64> {
    let mut out = Vec::new();
    let centres = (10..=40)
        .map(|k| 1u64 << k)
        .chain((3..=12).map(|k| 10u64.pow(k)));
    for c in centres {
        out.extend([c - 1, c, c + 1]);
    }
    out.sort_unstable();
    out
}
