//! One row of the schemes table per scheme: the values the target accepted, fed in-process into
//! a fresh series of the scheme per distribution, each quantile compared with the exact one, and
//! the bytes each series keeps; and the comparison of one quantile (`QuantileError`) and one
//! distribution (`DistributionResult`) that the benchmark and Prometheus's read-back share.

use serde::{Deserialize, Serialize};

use super::schemes::{Scheme, fill};
use super::suite::Distribution;
use crate::verify::histograms::{QUANTILES, exact_quantile, rel_error};

/// One quantile of one distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileError {
    /// The quantile (1.0 = max).
    pub q: f64,
    /// The exact value, ns.
    pub expected: u64,
    /// What the target reported, ns.
    pub reported: u64,
    /// |reported − expected|, ns.
    pub abs_error: u64,
    /// |reported − expected| / expected (0 when both are 0).
    pub rel_error: f64,
}

impl QuantileError {
    /// The comparison of what was reported with the exact value at quantile `q`.
    pub fn new(q: f64, expected: u64, reported: u64) -> Self {
        Self {
            q,
            expected,
            reported,
            abs_error: expected.abs_diff(reported),
            rel_error: rel_error(expected, reported),
        }
    }
}

/// One distribution's comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributionResult {
    /// The distribution.
    pub name: String,
    /// Spans the target accepted (the exact values are of these).
    pub count: u64,
    /// Spans the target's series counted.
    pub reported_count: u64,
    /// Every quantile compared.
    pub quantiles: Vec<QuantileError>,
    /// Largest relative error of this distribution.
    pub max_rel_error: f64,
}

/// Bytes one series of a scheme keeps after one distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesMemory {
    /// The distribution.
    pub distribution: String,
    /// Bytes of counters and per-series fields.
    pub bytes: u64,
}

/// One scheme over the whole suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemeResult {
    /// `hdr`, `otel-explicit`, …, or `prometheus` for the quantiles a real Prometheus read.
    pub scheme: String,
    /// The scheme's configuration and quantile reader.
    pub description: String,
    /// Every distribution compared.
    pub distributions: Vec<DistributionResult>,
    /// Bytes per series, per distribution (empty for `prometheus`: not observable from here).
    pub memory: Vec<SeriesMemory>,
    /// The most bytes a series kept.
    pub max_memory_bytes: Option<u64>,
    /// The largest relative error over every distribution and quantile.
    pub max_rel_error: f64,
}

/// The values accepted per distribution, in the order sent.
pub type Sent = [(Distribution, Vec<u64>)];

/// Feeds every distribution's values into `scheme` and compares.
pub fn measure(scheme: Scheme, digits: u8, sent: &Sent) -> SchemeResult {
    let mut distributions = Vec::new();
    let mut memory = Vec::new();
    for (d, values) in sent {
        let series = fill(scheme, digits, values);
        memory.push(SeriesMemory {
            distribution: d.name().into(),
            bytes: series.memory_bytes() as u64,
        });
        distributions.push(rows(*d, values, |q| Some(series.quantile(q))));
    }
    SchemeResult {
        scheme: scheme.name().into(),
        description: scheme.describe(digits),
        max_memory_bytes: memory.iter().map(|m| m.bytes).max(),
        memory,
        max_rel_error: max_error(&distributions),
        distributions,
    }
}

/// The largest relative error of `distributions`.
pub fn max_error(distributions: &[DistributionResult]) -> f64 {
    distributions
        .iter()
        .map(|d| d.max_rel_error)
        .fold(0.0, f64::max)
}

/// Compares `values`' exact quantiles with what `read(q)` reports (ns; `None` or not finite:
/// nothing reported, which counts as a relative error of 1).
pub fn rows(
    d: Distribution,
    values: &[u64],
    read: impl Fn(f64) -> Option<f64>,
) -> DistributionResult {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mut out = DistributionResult {
        name: d.name().into(),
        count: sorted.len() as u64,
        reported_count: sorted.len() as u64,
        quantiles: Vec::new(),
        max_rel_error: 0.0,
    };
    if sorted.is_empty() {
        out.max_rel_error = 1.0;
        return out;
    }
    for q in QUANTILES {
        let expected = exact_quantile(&sorted, q);
        let Some(v) = read(q).filter(|v| v.is_finite()) else {
            out.max_rel_error = 1.0;
            continue;
        };
        let e = QuantileError::new(q, expected, v.max(0.0).round() as u64);
        out.max_rel_error = out.max_rel_error.max(e.rel_error);
        out.quantiles.push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_reports_every_quantile_of_every_distribution() {
        let sent: Vec<_> = super::super::suite::ALL
            .iter()
            .map(|&d| (d, d.values(3, 500)))
            .collect();
        for scheme in super::super::schemes::ALL_SCHEMES {
            let r = measure(scheme, 3, &sent);
            assert_eq!(r.distributions.len(), 8, "{scheme}");
            for d in &r.distributions {
                assert_eq!(d.quantiles.len(), QUANTILES.len(), "{scheme} {}", d.name);
            }
            assert!(r.max_memory_bytes.unwrap() > 0);
        }
    }
}
