//! Running the benchmark: reach the target, send every distribution's spans as the sentinel
//! tenant, wait until the target has counted them, read its quantiles back and compare each
//! with the exact quantile of the values sent (`verify::histograms::exact_quantile`).

use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use futures_util::future::join_all;
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span::SpanKind};
use prost::Message;
use serde::{Deserialize, Serialize};

use super::measure::{SchemeResult, measure};
use super::suite::Distribution;
use crate::config::fidelity::FidelitySection;
use crate::config::run::{RunPlan, TargetPlan};
use crate::encode::plain::request_from_spans;
use crate::engine::Anchor;
use crate::harness::{self, Harness};
use crate::model::ids;
use crate::transport::Exporter;
use crate::verify::api::{QueryClient, Series};
use crate::verify::histograms::{QUANTILES, exact_quantile, rel_error, reported_at};

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

fn operation(seed: u64, d: Distribution) -> String {
    format!("fidelity/{seed:016x}/{}", d.name())
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

/// Sends `values` as single-span traces in batches; returns the accepted values and how many
/// spans were not accepted.
pub(super) async fn send(
    plan: &RunPlan,
    section: &FidelitySection,
    exporter: &Exporter,
    stream: u64,
    d: Distribution,
    values: &[u64],
) -> (Vec<u64>, u64) {
    let end = Anchor::now().start_unix_ns;
    let name = operation(plan.seed, d);
    let key = ids::trace_key(plan.seed ^ 0xF1DE_1175, stream);
    let batches = values
        .chunks(section.batch.max(1))
        .enumerate()
        .map(|(b, chunk)| {
            let spans = chunk.iter().enumerate().map(|(j, &ns)| {
                let seq = (b * section.batch.max(1) + j) as u64;
                let tk = ids::trace_key(key, seq);
                let span = Span {
                    trace_id: ids::trace_id(tk).to_vec(),
                    span_id: ids::span_id(ids::span_hash(tk, 0)).to_vec(),
                    name: name.clone(),
                    kind: SpanKind::Server as i32,
                    start_time_unix_nano: end - ns,
                    end_time_unix_nano: end,
                    status: Some(Status {
                        message: String::new(),
                        code: 1,
                    }),
                    ..Default::default()
                };
                (span, section.service.as_str())
            });
            let tenant = plan.tenant.to_str().unwrap_or_default();
            let body = request_from_spans(tenant, spans).encode_to_vec();
            let delivery =
                exporter.export(plan.tenant.clone(), Bytes::from(body), chunk.len() as u64);
            async move { (chunk, delivery.await) }
        });
    let mut acked = Vec::with_capacity(values.len());
    let mut lost = 0;
    for (chunk, delivery) in join_all(batches).await {
        if delivery.acked == chunk.len() as u64 {
            acked.extend_from_slice(chunk);
        } else {
            lost += chunk.len() as u64;
        }
    }
    (acked, lost)
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
