//! The report of `span-sentinel fidelity`: JSON (`schemas/fidelity.schema.json`) and a terminal
//! table of quantile, exact value, reported value, absolute and relative error.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::fidelity::{DistributionResult, FidelityOutcome};

/// Name and version of the JSON layout.
pub const SCHEMA: &str = "span-sentinel/fidelity/v1";

/// The JSON report of `span-sentinel fidelity`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FidelityReport {
    /// `span-sentinel/fidelity/v1`.
    pub schema: String,
    /// Where spans went.
    pub target: String,
    /// Seed of the values sent.
    pub seed: u64,
    /// Significant digits of the embedded pipeline's histograms (null for an external target).
    pub histogram_digits: Option<u8>,
    /// The largest relative error allowed (`--max-rel-error`, else 10^-digits for the embedded
    /// pipeline); null when none applies.
    pub allowed_rel_error: Option<f64>,
    /// Every distribution.
    pub distributions: Vec<DistributionResult>,
    /// The largest relative error over every distribution and quantile.
    pub max_rel_error: f64,
    /// Whether `max_rel_error` is within `allowed_rel_error` (null when none applies).
    pub within_allowed: Option<bool>,
    /// What the user should know.
    pub warnings: Vec<String>,
}

impl FidelityReport {
    /// Builds the report.
    pub fn new(o: &FidelityOutcome, seed: u64, digits: Option<u8>, allowed: Option<f64>) -> Self {
        let max = o
            .distributions
            .iter()
            .map(|d| d.max_rel_error)
            .fold(0.0, f64::max);
        Self {
            schema: SCHEMA.to_owned(),
            target: o.target.clone(),
            seed,
            histogram_digits: digits,
            allowed_rel_error: allowed,
            distributions: o.distributions.clone(),
            max_rel_error: max,
            within_allowed: allowed.map(|a| max <= a),
            warnings: o.warnings.clone(),
        }
    }

    /// The terminal table.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let digits = self
            .histogram_digits
            .map_or("external".into(), |d| format!("{d} significant digits"));
        let _ = writeln!(s, "target {} ({digits}) | seed {}", self.target, self.seed);
        let _ = writeln!(
            s,
            "{:<22} {:>6} {:>6} {:>18} {:>18} {:>14} {:>10}",
            "distribution", "count", "q", "exact ns", "reported ns", "abs error ns", "rel error"
        );
        for d in &self.distributions {
            for q in &d.quantiles {
                let _ = writeln!(
                    s,
                    "{:<22} {:>6} {:>6} {:>18} {:>18} {:>14} {:>10.6}",
                    d.name, d.count, q.q, q.expected, q.reported, q.abs_error, q.rel_error
                );
            }
        }
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        let _ = writeln!(s);
        let _ = write!(s, "max relative error {:.6}", self.max_rel_error);
        if let (Some(a), Some(ok)) = (self.allowed_rel_error, self.within_allowed) {
            let _ = write!(
                s,
                " (allowed {a}: {})",
                if ok { "within" } else { "EXCEEDED" }
            );
        }
        let _ = writeln!(s);
        s
    }
}
