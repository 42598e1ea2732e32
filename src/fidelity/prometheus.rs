//! The quantiles a real Prometheus shows: `histogram_quantile(q, rate(<metric>_bucket[…]))` of
//! each distribution's operation, read from a Prometheus that scrapes the target's classic
//! span-duration histograms.
//!
//! `rate` only sees what a counter gained inside its window, and a series that appears with its
//! first scrape has gained nothing yet. So the suite is sent twice: once so every series exists
//! and has been scraped whole, then again; the window starts when the first round had been
//! counted and ends one scrape after the second round was, so it holds at least three samples and
//! every bucket's increase is exactly the second round. `rate` scales every bucket of a series by
//! the same factor (the samples share timestamps), which `histogram_quantile` cancels: the answer
//! is the project's `prom-classic` computation up to float rounding.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde::Deserialize;

use super::measure::{SchemeResult, max_error, rows};
use super::send::send;
use super::suite::Distribution;
use crate::config::fidelity::{FidelitySection, PrometheusSource};
use crate::config::run::RunPlan;
use crate::transport::Exporter;
use crate::verify::api::QueryClient;
use crate::verify::histograms::QUANTILES;

/// What Prometheus answered for one distribution: the values of the second round, and the
/// quantile read for each of [`QUANTILES`], ns (`None`: no answer or NaN).
pub type Read = Vec<(Distribution, Vec<u64>, Vec<Option<f64>>)>;

#[derive(Deserialize)]
struct Answer {
    data: AnswerData,
}

#[derive(Deserialize)]
struct AnswerData {
    result: Vec<Sample>,
}

#[derive(Deserialize)]
struct Sample {
    metric: HashMap<String, String>,
    value: (f64, String),
}

/// A client of one Prometheus for one run's series.
struct Prom<'a> {
    client: QueryClient,
    source: &'a PrometheusSource,
    selector: String,
    deadline: Duration,
}

impl Prom<'_> {
    /// The instant vector of `expr` at `time` (unix s; `None`: now), by operation.
    async fn query(&self, expr: &str, time: Option<f64>) -> anyhow::Result<HashMap<String, f64>> {
        let mut path = format!("/api/v1/query?query={}", encode(expr));
        if let Some(t) = time {
            path.push_str(&format!("&time={t:.3}"));
        }
        let answer: Answer = self
            .client
            .get_json(&path)
            .await?
            .with_context(|| format!("{} answered 404 to {path}", self.source.url))?;
        Ok(answer
            .data
            .result
            .into_iter()
            .filter_map(|s| {
                let op = s.metric.get(&self.source.operation_label)?.clone();
                Some((op, s.value.1.parse().unwrap_or(f64::NAN)))
            })
            .collect())
    }

    /// Waits for a scrape later than `after_ms` in which every operation counts `want(op)`;
    /// returns that scrape's counts and its time (unix ms).
    async fn scrape_after(
        &self,
        after_ms: u64,
        want: &dyn Fn(&str, f64) -> bool,
        ops: &[String],
    ) -> anyhow::Result<(HashMap<String, f64>, u64)> {
        let metric = format!("{}_count{}", self.source.metric, self.selector);
        let start = Instant::now();
        loop {
            let stamps = self.query(&format!("timestamp({metric})"), None).await?;
            let counts = self.query(&metric, None).await?;
            let ready = ops.iter().all(|op| {
                let fresh = stamps
                    .get(op)
                    .is_some_and(|t| (t * 1000.0) as u64 > after_ms);
                fresh && counts.get(op).is_some_and(|c| want(op, *c))
            });
            if ready {
                let at = stamps
                    .values()
                    .map(|t| (t * 1000.0) as u64)
                    .max()
                    .unwrap_or(0);
                return Ok((counts, at));
            }
            if start.elapsed() > self.deadline {
                bail!(
                    "{} shows no scrape of {metric} after {after_ms} ms with the expected counts \
                     within {:?} (counts {counts:?}); does it scrape the target's /metrics?",
                    self.source.url,
                    self.deadline
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Percent-encodes a query parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends the suite a second time and reads each distribution's quantiles from Prometheus.
/// `first` is the first round (already counted by the target), `operation` names a
/// distribution's series.
pub async fn read_back(
    plan: &RunPlan,
    section: &FidelitySection,
    source: &PrometheusSource,
    exporter: &Exporter,
    query: &QueryClient,
    first: &[(Distribution, Vec<u64>)],
    operation: &dyn Fn(Distribution) -> String,
) -> anyhow::Result<Read> {
    let prom = Prom {
        client: QueryClient::with_tls(
            &source.url,
            plan.tenant_header.clone(),
            plan.tenant.clone(),
            &plan.tls,
        ),
        source,
        selector: format!(
            "{{{}=\"{}\",{}=~\"{}\"}}",
            source.service_label,
            section.service,
            source.operation_label,
            operation(first[0].0)
                .rsplit_once('/')
                .map_or("", |(p, _)| p)
                .to_owned()
                + "/.+"
        ),
        deadline: section.timeout.max(Duration::from_secs(60)),
    };
    let ops: Vec<String> = first.iter().map(|(d, _)| operation(*d)).collect();
    let t1 = now_ms();
    let (before, _) = prom.scrape_after(t1, &|_, _| true, &ops).await?;
    let mut second = Vec::new();
    for (i, (d, values)) in first.iter().enumerate() {
        let (acked, _) = send(plan, section, exporter, 1000 + i as u64, *d, values).await;
        second.push((*d, acked));
    }
    let gained: HashMap<String, f64> = second
        .iter()
        .map(|(d, v)| (operation(*d), before[&operation(*d)] + v.len() as f64))
        .collect();
    wait_target(query, section, &gained).await?;
    let (_, counted) = prom
        .scrape_after(now_ms(), &|op, c| c == gained[op], &ops)
        .await?;
    let (_, t_eval) = prom.scrape_after(counted, &|_, _| true, &ops).await?;
    let window = t_eval - t1;
    let bucket = format!("{}_bucket{}", source.metric, prom.selector);
    let mut by_q = Vec::new();
    for q in QUANTILES {
        let expr = format!("histogram_quantile({q}, rate({bucket}[{window}ms]))");
        by_q.push(prom.query(&expr, Some(t_eval as f64 / 1000.0)).await?);
    }
    Ok(second
        .into_iter()
        .map(|(d, values)| {
            let op = operation(d);
            let read = by_q
                .iter()
                .map(|m| m.get(&op).filter(|v| v.is_finite()).map(|s| s * 1e9))
                .collect();
            (d, values, read)
        })
        .collect())
}

/// The Prometheus row of the report, or `None` with a warning saying why it is missing.
pub fn result(read: anyhow::Result<Read>, warnings: &mut Vec<String>) -> Option<SchemeResult> {
    let read = match read {
        Ok(read) => read,
        Err(e) => {
            warnings.push(format!("prometheus: no quantiles read: {e:#}"));
            return None;
        }
    };
    let distributions: Vec<_> = read
        .iter()
        .map(|(d, values, by_q)| {
            let at = |q: f64| QUANTILES.iter().position(|x| *x == q).and_then(|i| by_q[i]);
            if by_q.iter().any(Option::is_none) {
                warnings.push(format!(
                    "prometheus: no answer for some quantiles of {}",
                    d.name()
                ));
            }
            rows(*d, values, at)
        })
        .collect();
    Some(SchemeResult {
        scheme: "prometheus".into(),
        description: "a real Prometheus: histogram_quantile(q, rate(…_bucket[window])) of the \
                      target's classic buckets"
            .into(),
        max_rel_error: max_error(&distributions),
        distributions,
        memory: Vec::new(),
        max_memory_bytes: None,
    })
}

/// Waits until the target's own API counts what `gained` says per operation.
async fn wait_target(
    query: &QueryClient,
    section: &FidelitySection,
    gained: &HashMap<String, f64>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + section.timeout;
    loop {
        let series = query.histograms().await?;
        let done = gained.iter().all(|(op, want)| {
            series.iter().any(|s| {
                &s.operation == op && s.service == section.service && s.count as f64 >= *want
            })
        });
        if done {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "the target did not count the second round within {:?}",
                section.timeout
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_parameters_are_percent_encoded() {
        assert_eq!(
            super::encode("a_b{c=~\"x/.+\"}[5ms]"),
            "a_b%7Bc%3D~%22x%2F.%2B%22%7D%5B5ms%5D"
        );
    }
}
