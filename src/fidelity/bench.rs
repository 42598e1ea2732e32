//! Running the benchmark: reach the target, send every distribution's spans as the sentinel
//! tenant, wait until the target has counted them, read its quantiles back and compare each
//! with the exact quantile of the values sent (`verify::histograms::exact_quantile`).

use std::time::{Duration, Instant};

use anyhow::Context;

use super::measure::{DistributionResult, QuantileError, SchemeResult, measure};
use super::send::{operation, send};
use super::suite::Distribution;
use crate::config::fidelity::FidelitySection;
use crate::config::run::{RunPlan, TargetPlan};
use crate::harness::{self, Harness};
use crate::verify::api::{QueryClient, Series};
use crate::verify::histograms::{QUANTILES, exact_quantile, reported_at};

/// What the benchmark measured.
#[derive(Debug, Clone)]
pub struct FidelityOutcome {
    /// Where spans went.
    pub target: String,
    /// One per distribution.
    pub distributions: Vec<DistributionResult>,
    /// Things the user should know (spans refused, series missing or short).
    pub warnings: Vec<String>,
    /// The values the target accepted, per distribution.
    pub sent: Vec<(Distribution, Vec<u64>)>,
    /// The schemes of `[fidelity] schemes` fed the same values in-process.
    pub schemes: Vec<SchemeResult>,
    /// What a real Prometheus read from the target's classic histograms.
    pub prometheus: Option<SchemeResult>,
}

/// Runs the benchmark against the plan's target.
pub fn fidelity(plan: &RunPlan, section: &FidelitySection) -> anyhow::Result<FidelityOutcome> {
    fidelity_with(plan, section, &mut |_| {})
}

/// Runs the benchmark, telling `on_step` what it is doing (each distribution sent, then the
/// wait for the target's counts) for the progress display.
pub fn fidelity_with(
    plan: &RunPlan,
    section: &FidelitySection,
    on_step: &mut (dyn FnMut(&str) + Send),
) -> anyhow::Result<FidelityOutcome> {
    harness::run(plan, "fidelity", async |h: &Harness| {
        run(h, plan, section, on_step).await
    })
}

async fn run(
    h: &Harness,
    plan: &RunPlan,
    section: &FidelitySection,
    on_step: &mut (dyn FnMut(&str) + Send),
) -> anyhow::Result<FidelityOutcome> {
    let (exporter, query) = (&h.exporters[0], &h.query);
    let mut warnings = Vec::new();
    let mut sent = Vec::new();
    for (i, &d) in section.distributions.iter().enumerate() {
        let values = d.values(plan.seed, section.spans_per_distribution);
        let (acked, lost) = send(plan, section, exporter, i as u64, d, &values).await;
        if lost > 0 {
            warnings.push(format!(
                "{}: the target refused {lost} spans; compared over the accepted ones",
                d.name()
            ));
        }
        on_step(&format!(
            "[fidelity {}/{}] sent {} spans of {}",
            i + 1,
            section.distributions.len(),
            acked.len(),
            d.name()
        ));
        sent.push((d, acked));
    }
    on_step("[fidelity] waiting for the target's histograms to count every span");
    let series = wait_for_counts(plan, section, query, &sent).await;
    let prometheus = match &section.prometheus {
        Some(source) => {
            on_step(&format!(
                "[fidelity] sending again and reading {}",
                source.url
            ));
            let op = |d| operation(plan.seed, d);
            let read =
                super::prometheus::read_back(plan, section, source, exporter, query, &sent, &op);
            Some(read.await)
        }
        None => None,
    };
    let series = series.context("reading the target's histograms")?;
    let distributions = sent
        .iter()
        .map(|(d, v)| {
            compare(
                *d,
                v.clone(),
                &operation(plan.seed, *d),
                &series,
                &mut warnings,
            )
        })
        .collect();
    let digits = match &plan.target {
        TargetPlan::Embedded(config) => config.histogram_digits,
        TargetPlan::External { .. } => 3,
    };
    let schemes = section.schemes.iter().map(|&s| measure(s, digits, &sent));
    let prometheus = prometheus.map(|read| super::prometheus::result(read, &mut warnings));
    Ok(FidelityOutcome {
        target: h.target.to_string(),
        distributions,
        warnings,
        schemes: schemes.collect(),
        prometheus: prometheus.flatten(),
        sent,
    })
}

/// Reads the histograms until every series counts what was accepted, or the timeout.
async fn wait_for_counts(
    plan: &RunPlan,
    section: &FidelitySection,
    query: &QueryClient,
    sent: &[(Distribution, Vec<u64>)],
) -> anyhow::Result<Vec<Series>> {
    let deadline = Instant::now() + section.timeout;
    loop {
        let series = query.histograms().await?;
        let complete = sent.iter().all(|(d, values)| {
            let op = operation(plan.seed, *d);
            series
                .iter()
                .find(|s| s.operation == op && s.service == section.service)
                .is_some_and(|s| s.count >= values.len() as u64)
        });
        if complete || Instant::now() >= deadline {
            return Ok(series);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Compares one distribution's exact quantiles with the reported ones.
pub fn compare(
    d: Distribution,
    mut values: Vec<u64>,
    operation: &str,
    series: &[Series],
    warnings: &mut Vec<String>,
) -> DistributionResult {
    values.sort_unstable();
    let found = series.iter().find(|s| s.operation == operation);
    let mut out = DistributionResult {
        name: d.name().into(),
        count: values.len() as u64,
        reported_count: found.map_or(0, |s| s.count),
        quantiles: Vec::new(),
        max_rel_error: 0.0,
    };
    let Some(s) = found.filter(|_| !values.is_empty()) else {
        warnings.push(format!(
            "{}: the target shows no series {operation}",
            d.name()
        ));
        out.max_rel_error = 1.0;
        return out;
    };
    if s.count != out.count {
        warnings.push(format!(
            "{}: the target counted {} spans of {} accepted",
            d.name(),
            s.count,
            out.count
        ));
    }
    for q in QUANTILES {
        let e = QuantileError::new(q, exact_quantile(&values, q), reported_at(s, q));
        out.max_rel_error = out.max_rel_error.max(e.rel_error);
        out.quantiles.push(e);
    }
    out
}
