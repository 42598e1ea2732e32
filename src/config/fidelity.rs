//! The `[fidelity]` section and the plan of `span-sentinel fidelity`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration as dur;
use super::load::field_error;
use super::run::{RunPlan, TargetPlan, build};
use super::{Overrides, Profile};
use crate::error::UsageError;
use crate::fidelity::suite::{ALL, Distribution};

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
}

impl Default for FidelitySection {
    fn default() -> Self {
        Self {
            distributions: ALL.to_vec(),
            spans_per_distribution: 2000,
            batch: 500,
            service: "sentinel-fidelity".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Flags of `fidelity` that override the profile.
#[derive(Debug, Clone, Default)]
pub struct FidelityOverrides {
    /// What `run` takes too (`--isolation` and `--alerts` do not apply).
    pub run: Overrides,
    /// `--histogram-digits` of the embedded pipeline.
    pub histogram_digits: Option<u8>,
    /// `--max-rel-error`.
    pub max_rel_error: Option<f64>,
}

/// A validated fidelity benchmark.
#[derive(Debug, Clone)]
pub struct FidelityPlan {
    /// The sentinel's tenant, seed and target.
    pub run: RunPlan,
    /// The distributions and how many spans of each.
    pub section: FidelitySection,
    /// The embedded pipeline's histogram digits (`None` for an external target).
    pub digits: Option<u8>,
    /// The largest relative error allowed, if any.
    pub allowed: Option<f64>,
}

/// Reads the profile, applies the flags and validates the result.
pub fn fidelity_plan(o: &FidelityOverrides) -> Result<FidelityPlan, UsageError> {
    let (profile, source) = Profile::read(o.run.profile.as_deref())?;
    let section = profile.fidelity.clone();
    if section.distributions.is_empty() || section.spans_per_distribution == 0 {
        return Err(field_error(
            source.as_ref(),
            "fidelity.spans_per_distribution",
            "needs at least one distribution and one span per distribution",
        ));
    }
    let mut run = build(profile, source.as_ref(), &o.run)?;
    let digits = set_digits(&mut run, o.histogram_digits)?;
    if o.max_rel_error
        .is_some_and(|e| !(e.is_finite() && e >= 0.0))
    {
        return Err(UsageError::new("--max-rel-error: must be a number ≥ 0"));
    }
    let allowed = o
        .max_rel_error
        .or(digits.map(|d| 10f64.powi(-i32::from(d))));
    Ok(FidelityPlan {
        run,
        section,
        digits,
        allowed,
    })
}

/// Applies `--histogram-digits` to the embedded pipeline; returns its digits (`None` for an
/// external target, where the flag is a usage error).
fn set_digits(plan: &mut RunPlan, flag: Option<u8>) -> Result<Option<u8>, UsageError> {
    match &mut plan.target {
        TargetPlan::Embedded(config) => {
            if let Some(d) = flag {
                if !(1..=5).contains(&d) {
                    return Err(UsageError::new("--histogram-digits: must be 1 to 5"));
                }
                config.histogram_digits = d;
            }
            Ok(Some(config.histogram_digits))
        }
        TargetPlan::External { .. } if flag.is_some() => Err(UsageError::new(
            "--histogram-digits sets the embedded pipeline's digits; it cannot apply with --target",
        )),
        TargetPlan::External { .. } => Ok(None),
    }
}
