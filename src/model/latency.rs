//! Latency distributions of span durations, sampled with rand_distr.
//!
//! Load streams draw their durations from a table pre-sampled once per (seed, stream), so the hot
//! path pays one lookup per span instead of a transcendental function, and a span's duration is
//! still a pure function of (seed, stream, sequence, node).

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal, Pareto, Uniform, Weibull};
use serde::{Deserialize, Serialize};

use crate::units::duration as dur;

/// A distribution of span durations. Durations are written as `"250us"`, `"20ms"`, `"1.5s"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LatencyDistribution {
    /// Always the same duration.
    Constant {
        /// The duration.
        #[serde(with = "dur")]
        value: Duration,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// Smallest duration.
        #[serde(with = "dur")]
        min: Duration,
        /// Largest duration.
        #[serde(with = "dur")]
        max: Duration,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean duration.
        #[serde(with = "dur")]
        mean: Duration,
    },
    /// Log-normal: `median` is e^μ, `sigma` the standard deviation of the logarithm.
    LogNormal {
        /// Median duration.
        #[serde(with = "dur")]
        median: Duration,
        /// Standard deviation of ln(duration).
        sigma: f64,
    },
    /// Pareto (heavy tail) with minimum `scale` and tail index `shape`.
    Pareto {
        /// Smallest duration.
        #[serde(with = "dur")]
        scale: Duration,
        /// Tail index α (smaller is heavier).
        shape: f64,
    },
    /// Weibull with scale λ and shape k.
    Weibull {
        /// Scale λ.
        #[serde(with = "dur")]
        scale: Duration,
        /// Shape k.
        shape: f64,
    },
    /// A weighted mixture of other distributions.
    Mixture {
        /// The components; weights need not sum to 1.
        components: Vec<MixtureComponent>,
    },
}

/// One component of a mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixtureComponent {
    /// Relative weight (positive).
    pub weight: f64,
    /// The component's distribution.
    pub latency: LatencyDistribution,
}

impl Default for LatencyDistribution {
    fn default() -> Self {
        LatencyDistribution::LogNormal {
            median: Duration::from_millis(20),
            sigma: 1.0,
        }
    }
}

/// A ready-to-sample distribution; every sample is in nanoseconds.
#[derive(Debug, Clone)]
pub enum Sampler {
    /// Always the same.
    Constant(f64),
    /// Uniform.
    Uniform(Uniform<f64>),
    /// Exponential (rate in 1/ns).
    Exponential(Exp<f64>),
    /// Log-normal over ns.
    LogNormal(LogNormal<f64>),
    /// Pareto over ns.
    Pareto(Pareto<f64>),
    /// Weibull over ns.
    Weibull(Weibull<f64>),
    /// Mixture: cumulative weights and components.
    Mixture(Vec<(f64, Sampler)>),
}

fn ns(d: Duration) -> f64 {
    d.as_nanos() as f64
}

impl LatencyDistribution {
    /// Validates parameters and builds a sampler; the error names the parameter.
    pub fn sampler(&self) -> Result<Sampler, String> {
        use LatencyDistribution as L;
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(format!("`{name}` must be positive"))
            }
        };
        Ok(match self {
            L::Constant { value } => Sampler::Constant(ns(*value)),
            L::Uniform { min, max } => {
                if min > max {
                    return Err("`min` must not exceed `max`".into());
                }
                Sampler::Uniform(
                    Uniform::new_inclusive(ns(*min), ns(*max)).map_err(|e| e.to_string())?,
                )
            }
            L::Exponential { mean } => Sampler::Exponential(
                Exp::new(1.0 / positive("mean", ns(*mean))?).map_err(|e| e.to_string())?,
            ),
            L::LogNormal { median, sigma } => {
                let mu = positive("median", ns(*median))?.ln();
                let sigma = if *sigma == 0.0 {
                    0.0
                } else {
                    positive("sigma", *sigma)?
                };
                Sampler::LogNormal(LogNormal::new(mu, sigma).map_err(|e| e.to_string())?)
            }
            L::Pareto { scale, shape } => Sampler::Pareto(
                Pareto::new(positive("scale", ns(*scale))?, positive("shape", *shape)?)
                    .map_err(|e| e.to_string())?,
            ),
            L::Weibull { scale, shape } => Sampler::Weibull(
                Weibull::new(positive("scale", ns(*scale))?, positive("shape", *shape)?)
                    .map_err(|e| e.to_string())?,
            ),
            L::Mixture { components } => mixture(components)?,
        })
    }
}

fn mixture(components: &[MixtureComponent]) -> Result<Sampler, String> {
    if components.is_empty() {
        return Err("`components` must not be empty".into());
    }
    let mut total = 0.0;
    let mut out = Vec::with_capacity(components.len());
    for c in components {
        if !(c.weight.is_finite() && c.weight > 0.0) {
            return Err("`weight` must be positive".into());
        }
        total += c.weight;
        out.push((total, c.latency.sampler()?));
    }
    for (cum, _) in &mut out {
        *cum /= total;
    }
    Ok(Sampler::Mixture(out))
}

impl Sampler {
    /// Draws one duration in nanoseconds, saturating at u64::MAX.
    pub fn sample_ns<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let x = match self {
            Sampler::Constant(v) => *v,
            Sampler::Uniform(d) => d.sample(rng),
            Sampler::Exponential(d) => d.sample(rng),
            Sampler::LogNormal(d) => d.sample(rng),
            Sampler::Pareto(d) => d.sample(rng),
            Sampler::Weibull(d) => d.sample(rng),
            Sampler::Mixture(parts) => {
                let u: f64 = rng.random();
                let pick = parts
                    .iter()
                    .find(|(cum, _)| u < *cum)
                    .unwrap_or(&parts[parts.len() - 1]);
                return pick.1.sample_ns(rng);
            }
        };
        // `as` saturates: NaN becomes 0, values beyond u64 become u64::MAX.
        x.round() as u64
    }
}

/// Entries in a pre-sampled duration table (a power of two; 64 KiB of u64).
pub const TABLE_LEN: usize = 8192;

/// Durations pre-sampled from a distribution with a deterministic RNG.
#[derive(Debug, Clone)]
pub struct LatencyTable {
    values: Box<[u64; TABLE_LEN]>,
}

impl LatencyTable {
    /// Samples the table from `sampler`, seeded by `key`.
    pub fn new(sampler: &Sampler, key: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(key);
        let mut values = Box::new([0u64; TABLE_LEN]);
        for v in values.iter_mut() {
            *v = sampler.sample_ns(&mut rng);
        }
        Self { values }
    }

    /// The duration chosen by `hash` (its low bits index the table).
    #[inline(always)]
    pub fn get(&self, hash: u64) -> u64 {
        self.values[(hash as usize) & (TABLE_LEN - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samplers_follow_their_parameters() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let lognormal = LatencyDistribution::default().sampler().unwrap();
        let mut xs: Vec<u64> = (0..20_001).map(|_| lognormal.sample_ns(&mut rng)).collect();
        xs.sort_unstable();
        let median = xs[10_000] as f64;
        assert!((median / 20e6 - 1.0).abs() < 0.05, "median {median}");
        let constant = LatencyDistribution::Constant {
            value: Duration::from_micros(3),
        };
        assert_eq!(constant.sampler().unwrap().sample_ns(&mut rng), 3000);
    }

    #[test]
    fn invalid_parameters_name_the_field() {
        let bad = LatencyDistribution::Pareto {
            scale: Duration::from_millis(1),
            shape: -1.0,
        };
        assert!(bad.sampler().unwrap_err().contains("`shape`"));
        let empty = LatencyDistribution::Mixture { components: vec![] };
        assert!(empty.sampler().unwrap_err().contains("`components`"));
    }
}
