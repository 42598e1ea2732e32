//! The `[fidelity]` section and the plan of `span-sentinel fidelity`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::load::field_error;
use super::run::{RunPlan, TargetPlan, build};
use super::{Overrides, Profile};
use crate::error::UsageError;
use crate::fidelity::schemes::Scheme;
use crate::fidelity::suite::{ALL, Distribution};
use crate::units::duration as dur;

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

/// Flags of `fidelity` that override the profile.
#[derive(Debug, Clone, Default)]
pub struct FidelityOverrides {
    /// What `run` takes too (`--isolation` and `--alerts` do not apply).
    pub run: Overrides,
    /// `--histogram-digits` of the embedded pipeline.
    pub histogram_digits: Option<u8>,
    /// `--max-rel-error`.
    pub max_rel_error: Option<f64>,
    /// `--schemes`.
    pub schemes: Option<Vec<Scheme>>,
    /// `--prometheus URL`.
    pub prometheus: Option<String>,
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
    let mut section = profile.fidelity.clone();
    apply_flags(&mut section, o);
    if section.distributions.is_empty() || section.spans_per_distribution == 0 {
        return Err(field_error(
            source.as_ref(),
            "fidelity.spans_per_distribution",
            "needs at least one distribution and one span per distribution",
        ));
    }
    let mut run = build(profile, source.as_ref(), &o.run)?;
    let digits = set_digits(&mut run, o.histogram_digits)?;
    check_prometheus(&section, &run)?;
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

/// Applies `--schemes` and `--prometheus` over the profile's values.
fn apply_flags(section: &mut FidelitySection, o: &FidelityOverrides) {
    if let Some(schemes) = &o.schemes {
        section.schemes = schemes.clone();
    }
    if let Some(url) = &o.prometheus {
        let source = section
            .prometheus
            .get_or_insert_with(PrometheusSource::default);
        source.url = url.trim_end_matches('/').to_owned();
    }
}

/// `--prometheus` with the embedded pipeline on a port picked at random could never be scraped:
/// that is a usage error naming the field that fixes it.
fn check_prometheus(section: &FidelitySection, plan: &RunPlan) -> Result<(), UsageError> {
    let embedded_port = match &plan.target {
        TargetPlan::Embedded(config) => Some(config.http_addr.port()),
        TargetPlan::External { .. } => None,
    };
    match &section.prometheus {
        Some(p) if p.url.is_empty() => Err(UsageError::new(
            "[fidelity.prometheus] url: must be the Prometheus base URL, e.g. http://127.0.0.1:9090",
        )),
        Some(_) if embedded_port == Some(0) => Err(UsageError::new(
            "--prometheus: the embedded pipeline listens on a random port no Prometheus scrapes; \
             set [pipeline] http_listen in the profile to the address Prometheus scrapes",
        )),
        _ => Ok(()),
    }
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
