//! What to do about an error budget (`--max-rel-error E`): per scheme, the quantiles and
//! distributions whose relative error breaks it, and for the explicit-bucket schemes the
//! boundaries that would meet it over the measured range.
//!
//! Inside a bucket (a, b] either reader answers a value in [a, b], so a value v in the bucket is
//! off by less than (b − a)/a. Geometric boundaries with ratio 1 + E therefore keep every
//! quantile of values in the covered range within E; they start one step below the smallest
//! non-zero value measured and end at the first boundary at or above the largest. The
//! recommendation is checked, not only derived: the scheme is re-run over the same values with
//! those boundaries and the error it reaches is reported (and the ratio narrowed while rounding
//! the answers to whole nanoseconds still breaks the budget).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::measure::{SchemeResult, Sent, max_error, rows};
use super::schemes::Scheme;
use super::schemes::Series;
use super::schemes::explicit::{Buckets, OtelExplicit, PromClassic};
use crate::verify::histograms::QUANTILES;

/// One quantile of one distribution over the budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    /// The distribution.
    pub distribution: String,
    /// The quantile (1.0 = max); `None` when some quantiles were not reported at all.
    pub q: Option<f64>,
    /// Its relative error (1 when not reported).
    pub rel_error: f64,
}

/// Boundaries that meet the budget over the measured range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Boundaries {
    /// The first boundary, ns.
    pub first_ns: f64,
    /// Each boundary is the previous one times this.
    pub ratio: f64,
    /// How many boundaries.
    pub count: usize,
    /// The last boundary, ns.
    pub last_ns: f64,
    /// The largest relative error the scheme reaches with them over the same values.
    pub achieved_max_rel_error: f64,
}

/// The recommendation for one scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The scheme (or `target`, `prometheus`).
    pub scheme: String,
    /// Whether every quantile of every distribution is within the budget.
    pub meets_budget: bool,
    /// Every quantile over the budget.
    pub breaches: Vec<Breach>,
    /// For explicit-bucket schemes over budget: boundaries that would meet it.
    pub boundaries: Option<Boundaries>,
}

/// The recommendation for `result` of `scheme` (`None`: the target or Prometheus).
pub fn recommend(
    result: &SchemeResult,
    scheme: Option<Scheme>,
    budget: f64,
    sent: &Sent,
) -> Recommendation {
    let mut breaches = Vec::new();
    for d in &result.distributions {
        let over = d.quantiles.iter().filter(|q| q.rel_error > budget);
        breaches.extend(over.map(|q| Breach {
            distribution: d.name.clone(),
            q: Some(q.q),
            rel_error: q.rel_error,
        }));
        if d.quantiles.len() < QUANTILES.len() {
            breaches.push(Breach {
                distribution: d.name.clone(),
                q: None,
                rel_error: d.max_rel_error,
            });
        }
    }
    let boundaries = match scheme {
        Some(s) if s.is_explicit() && !breaches.is_empty() => tightest(s, budget, sent),
        _ => None,
    };
    Recommendation {
        scheme: result.scheme.clone(),
        meets_budget: breaches.is_empty(),
        breaches,
        boundaries,
    }
}

/// The widest geometric boundaries that, re-measured, meet `budget`: ratio 1 + `budget` first,
/// then narrower steps while the error reported in whole nanoseconds (which adds up to 0.5 ns of
/// rounding to small values) still exceeds it.
fn tightest(scheme: Scheme, budget: f64, sent: &Sent) -> Option<Boundaries> {
    let mut step = budget;
    let mut best = geometric(scheme, step, sent)?;
    for _ in 0..8 {
        if best.achieved_max_rel_error <= budget {
            break;
        }
        step *= 0.8;
        best = geometric(scheme, step, sent)?;
    }
    Some(best)
}

/// Geometric boundaries with ratio 1 + `budget` over the measured range, checked by re-running
/// `scheme` with them.
fn geometric(scheme: Scheme, budget: f64, sent: &Sent) -> Option<Boundaries> {
    let all = sent.iter().flat_map(|(_, v)| v.iter().copied());
    let lo = all.clone().filter(|&v| v > 0).min()? as f64;
    let hi = all.max()? as f64;
    let ratio = 1.0 + budget;
    let mut bounds = vec![lo / ratio];
    while *bounds.last()? < hi && bounds.len() < 1_000_000 {
        let next = bounds.last()? * ratio;
        bounds.push(next);
    }
    let bounds: Arc<[f64]> = bounds.into();
    let fresh = || -> Box<dyn Series> {
        match scheme {
            Scheme::OtelExplicit => Box::new(OtelExplicit(Buckets::new(bounds.clone()))),
            _ => Box::new(PromClassic(Buckets::new(bounds.clone()))),
        }
    };
    let checked: Vec<_> = sent
        .iter()
        .map(|(d, values)| {
            let mut s = fresh();
            values.iter().for_each(|&v| s.record(v));
            rows(*d, values, |q| Some(s.quantile(q)))
        })
        .collect();
    Some(Boundaries {
        first_ns: bounds[0],
        ratio,
        count: bounds.len(),
        last_ns: bounds[bounds.len() - 1],
        achieved_max_rel_error: max_error(&checked),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fidelity::measure::measure;
    use crate::fidelity::suite::ALL;

    #[test]
    fn geometric_boundaries_meet_the_budget_the_defaults_break() {
        let sent: Vec<_> = ALL.iter().map(|&d| (d, d.values(5, 1000))).collect();
        let r = measure(Scheme::PromClassic, 3, &sent);
        let rec = recommend(&r, Some(Scheme::PromClassic), 0.01, &sent);
        assert!(!rec.meets_budget);
        let b = rec
            .boundaries
            .expect("an explicit scheme over budget gets boundaries");
        assert!(b.achieved_max_rel_error <= 0.01, "{b:?}");
        // Ratio 1.01 from the first to the last bound: ln(last/first)/ln(1.01) + 1 of them
        // (about 2840 between a few ns and an hour).
        let expected = ((b.last_ns / b.first_ns).ln() / 1.01f64.ln()).round() as usize + 1;
        assert_eq!(b.count, expected, "{b:?}");
    }

    #[test]
    fn a_scheme_within_budget_needs_nothing() {
        let sent: Vec<_> = ALL.iter().map(|&d| (d, d.values(5, 1000))).collect();
        let r = measure(Scheme::Hdr, 3, &sent);
        let rec = recommend(&r, Some(Scheme::Hdr), 0.01, &sent);
        assert!(rec.meets_budget && rec.boundaries.is_none(), "{rec:?}");
    }
}
