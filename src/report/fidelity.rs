//! The report of `span-sentinel fidelity`: JSON (`schemas/fidelity.schema.json`) and a terminal
//! table of quantile, exact value, reported value, absolute and relative error.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::fidelity::recommend::{Recommendation, recommend};
use crate::fidelity::schemes::Scheme;
use crate::fidelity::{DistributionResult, FidelityOutcome, SchemeResult};

/// Name and version of the JSON layout.
pub const SCHEMA: &str = "span-sentinel/fidelity/v1";

/// What the report says when no allowed error applies (an external target without
/// `--max-rel-error`): the errors are measured, but nothing is judged.
pub const NOT_JUDGED: &str = "not judged: no allowed error (give --max-rel-error E for an \
    external target)";

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
    /// The schemes fed the same values in-process (`--schemes`), then what a real Prometheus
    /// read (`--prometheus`), if asked.
    #[serde(default)]
    pub schemes: Vec<SchemeResult>,
    /// Per scheme, what breaks `allowed_rel_error` and, for explicit buckets, boundaries that
    /// would meet it (only with schemes and an allowed error).
    #[serde(default)]
    pub recommendations: Vec<Recommendation>,
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
            warnings: o
                .warnings
                .iter()
                .cloned()
                .chain(allowed.is_none().then(|| NOT_JUDGED.to_owned()))
                .collect(),
            schemes: o.schemes.iter().chain(&o.prometheus).cloned().collect(),
            recommendations: Vec::new(),
        }
        .with_recommendations(o)
    }

    fn with_recommendations(mut self, o: &FidelityOutcome) -> Self {
        if let Some(budget) = self.allowed_rel_error {
            self.recommendations = self
                .schemes
                .iter()
                .map(|r| recommend(r, r.scheme.parse::<Scheme>().ok(), budget, &o.sent))
                .collect();
        }
        self
    }

    /// The terminal table: the target's quantiles, or with schemes one table of relative
    /// errors with a column per scheme.
    pub fn summary(&self) -> String {
        if !self.schemes.is_empty() {
            return schemes_summary(self);
        }
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
        let _ = writeln!(s, "{}", judgement(self));
        s
    }
}

/// The schemes table: per distribution and quantile, the exact value and each column's relative
/// error (the target first); then bytes per series, the conclusion and the recommendations.
fn schemes_summary(r: &FidelityReport) -> String {
    let mut s = String::new();
    let digits = r
        .histogram_digits
        .map_or("external".into(), |d| format!("{d} significant digits"));
    let _ = writeln!(s, "target {} ({digits}) | seed {}", r.target, r.seed);
    let _ = writeln!(s, "relative error of each quantile (0.0100 = 1%):");
    let names: Vec<&str> = std::iter::once("target")
        .chain(r.schemes.iter().map(|x| x.scheme.as_str()))
        .collect();
    let _ = write!(s, "{:<22} {:>5} {:>15}", "distribution", "q", "exact ns");
    for n in &names {
        let _ = write!(s, " {n:>16}");
    }
    let _ = writeln!(s);
    let columns: Vec<&[DistributionResult]> = std::iter::once(r.distributions.as_slice())
        .chain(r.schemes.iter().map(|x| x.distributions.as_slice()))
        .collect();
    for d in &r.distributions {
        for q in &d.quantiles {
            let name = quantile_name(q.q);
            let _ = write!(s, "{:<22} {name:>5} {:>15}", d.name, q.expected);
            for col in &columns {
                let cell = col
                    .iter()
                    .find(|x| x.name == d.name)
                    .and_then(|x| x.quantiles.iter().find(|y| y.q == q.q))
                    .map_or("-".into(), |y| format!("{:.4}", y.rel_error));
                let _ = write!(s, " {cell:>16}");
            }
            let _ = writeln!(s);
        }
    }
    let _ = write!(s, "{:<44}", "bytes per series (largest)");
    let _ = write!(s, " {:>16}", "-");
    for x in &r.schemes {
        let cell = x.max_memory_bytes.map_or("-".into(), |b| b.to_string());
        let _ = write!(s, " {cell:>16}");
    }
    let _ = writeln!(s);
    let _ = write!(s, "{:<44}", "largest relative error");
    let _ = write!(s, " {:>16.4}", r.max_rel_error);
    for x in &r.schemes {
        let _ = write!(s, " {:>16.4}", x.max_rel_error);
    }
    let _ = writeln!(s);
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    if let Some(budget) = r.allowed_rel_error {
        let _ = writeln!(s, "\nwithin {budget}?");
        for rec in &r.recommendations {
            let _ = writeln!(s, "  {}", recommendation_line(rec, budget));
        }
    }
    let _ = writeln!(s);
    let _ = write!(s, "target: max relative error {:.6}", r.max_rel_error);
    let _ = writeln!(s, "{}", judgement(r));
    s
}

/// The end of the conclusion line: ` (allowed E: within)`, or that nothing was judged.
fn judgement(r: &FidelityReport) -> String {
    match (r.allowed_rel_error, r.within_allowed) {
        (Some(a), Some(ok)) => {
            format!(" (allowed {a}: {})", if ok { "within" } else { "EXCEEDED" })
        }
        _ => format!(" ({NOT_JUDGED})"),
    }
}

/// One recommendation as a line (two with boundaries).
fn recommendation_line(rec: &Recommendation, budget: f64) -> String {
    if rec.meets_budget {
        return format!("{}: yes, every quantile", rec.scheme);
    }
    let mut worst: Vec<String> = rec
        .breaches
        .iter()
        .take(5)
        .map(|b| match b.q {
            Some(q) => {
                let q = quantile_name(q);
                format!("{} {q} {:.4}", b.distribution, b.rel_error)
            }
            None => format!("{} (not reported)", b.distribution),
        })
        .collect();
    if rec.breaches.len() > worst.len() {
        worst.push(format!("and {} more", rec.breaches.len() - worst.len()));
    }
    let mut line = format!(
        "{}: no, {} over {budget}: {}",
        rec.scheme,
        rec.breaches.len(),
        worst.join(", ")
    );
    if let Some(b) = &rec.boundaries {
        let _ = write!(
            line,
            "\n    boundaries that meet it: {} bounds from {:.3} ns to {:.4e} ns, each {} times \
             the previous (re-measured: largest error {:.6})",
            b.count, b.first_ns, b.last_ns, b.ratio, b.achieved_max_rel_error
        );
    }
    line
}

/// Short name of a quantile: `p50`, `p99.9`, `max`.
pub fn quantile_name(q: f64) -> String {
    if q >= 1.0 {
        "max".into()
    } else {
        let p = format!("{:.3}", q * 100.0);
        format!("p{}", p.trim_end_matches('0').trim_end_matches('.'))
    }
}
