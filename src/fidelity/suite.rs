//! The suite of latency distributions and the `[fidelity]` profile section. Every value is a
//! pure function of (seed, distribution name, index), so a run is reproducible from its seed.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::schemes::Scheme;
use crate::config::duration as dur;
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

/// The `[fidelity]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FidelitySection {
    /// Which distributions to send (default: all of them).
    pub distributions: Vec<Distribution>,
    /// Spans sent per distribution.
    pub spans_per_distribution: usize,
    /// Spans per request.
    pub batch: usize,
    /// Service name of the spans (the operation is `fidelity/<seed>/<distribution>`).
    pub service: String,
    /// How long to wait for the target to count every accepted span.
    #[serde(with = "dur")]
    pub timeout: Duration,
    /// Histogram schemes fed the same values in-process and reported beside the target (flag:
    /// --schemes): hdr, otel-explicit, otel-exponential, prom-classic, prom-native, ddsketch.
    pub schemes: Vec<Scheme>,
    /// A Prometheus that scrapes the target's classic span-duration histograms: its
    /// `histogram_quantile` of each distribution is reported beside the schemes.
    pub prometheus: Option<PrometheusSource>,
}

/// Applies `--schemes` and `--prometheus` over the profile's values.
pub fn apply_flags(
    section: &mut FidelitySection,
    schemes: Option<Vec<Scheme>>,
    prometheus: Option<String>,
) {
    if let Some(schemes) = schemes {
        section.schemes = schemes;
    }
    if let Some(url) = prometheus {
        let source = section
            .prometheus
            .get_or_insert_with(PrometheusSource::default);
        source.url = url.trim_end_matches('/').to_owned();
    }
}

/// `--prometheus` with the embedded pipeline on a port picked at random could never be scraped:
/// that is a usage error naming the field that fixes it.
pub fn check_prometheus(
    section: &FidelitySection,
    plan: &crate::run::plan::RunPlan,
) -> Result<(), crate::error::UsageError> {
    let embedded_port = match &plan.target {
        crate::run::plan::TargetPlan::Embedded(config) => Some(config.http_addr.port()),
        crate::run::plan::TargetPlan::External { .. } => None,
    };
    match &section.prometheus {
        Some(p) if p.url.is_empty() => Err(crate::error::UsageError::new(
            "[fidelity.prometheus] url: must be the Prometheus base URL, e.g. http://127.0.0.1:9090",
        )),
        Some(_) if embedded_port == Some(0) => Err(crate::error::UsageError::new(
            "--prometheus: the embedded pipeline listens on a random port no Prometheus scrapes; \
             set [pipeline] http_listen in the profile to the address Prometheus scrapes",
        )),
        _ => Ok(()),
    }
}

/// Where and how to read the target's histograms from Prometheus (`[fidelity.prometheus]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusSource {
    /// Base URL of the Prometheus HTTP API (flag: --prometheus).
    pub url: String,
    /// The classic histogram's name, in seconds (its `_bucket`, `_count` series are read).
    pub metric: String,
    /// The label holding the span's service name.
    pub service_label: String,
    /// The label holding the span name (the operation).
    pub operation_label: String,
}

impl Default for PrometheusSource {
    fn default() -> Self {
        Self {
            url: String::new(),
            metric: "span_sentinel_pipeline_span_duration_seconds".into(),
            service_label: "service".into(),
            operation_label: "operation".into(),
        }
    }
}

impl Default for FidelitySection {
    fn default() -> Self {
        Self {
            distributions: ALL.to_vec(),
            spans_per_distribution: 2000,
            batch: 500,
            service: "sentinel-fidelity".into(),
            timeout: Duration::from_secs(10),
            schemes: Vec::new(),
            prometheus: None,
        }
    }
}
