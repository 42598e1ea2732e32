//! Latency histograms of the sentinel read from a Prometheus that scrapes the OpenTelemetry
//! Collector's `spanmetrics` connector (through the Collector's `prometheus` exporter), so the
//! histogram check can judge a pipeline people run, not only the reference pipeline.
//!
//! The connector's histograms are cumulative, and a series keeps counting across runs, so the
//! reader takes each raw series' buckets at the window's end minus those at its start (a series
//! born inside the window starts from zero, so its first scrape is not lost the way `increase`
//! loses it; a series whose counts fell was reset, and counts from zero). Series that differ only
//! in other labels (span kind, status code, instance) are summed per service and operation.
//! Classic buckets (`<metric>_bucket`) and native histograms (`<metric>`) are both read; a quantile
//! is the bucket holding its rank, judged by [`crate::verify::histograms`] as a bucket.

mod answer;
mod buckets;

use std::ops::Range;

use super::api::{QueryClient, QueryError};
use super::histograms::BucketedSeries;
use answer::Vector;

pub use answer::encode_query;

/// The unit of the connector's duration histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    /// `ms`, the connector's default.
    Milliseconds,
    /// `s`.
    Seconds,
}

impl DurationUnit {
    /// Nanoseconds in one unit.
    pub fn ns(self) -> f64 {
        match self {
            Self::Milliseconds => 1e6,
            Self::Seconds => 1e9,
        }
    }
}

impl std::str::FromStr for DurationUnit {
    type Err = String;

    /// `ms` or `s`, as the connector's `histogram.unit` spells them.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ms" => Ok(Self::Milliseconds),
            "s" => Ok(Self::Seconds),
            other => Err(format!("unknown duration unit {other:?}: expected ms or s")),
        }
    }
}

/// Where the sentinel's durations are in Prometheus. [`SpanmetricsPlan::connector_defaults`]
/// gives the connector's and the prometheus exporter's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanmetricsPlan {
    /// The histogram's name as Prometheus stores it, without `_bucket`.
    pub metric: String,
    /// The unit of its values.
    pub unit: DurationUnit,
    /// The label holding `service.name`.
    pub service_label: String,
    /// The label holding the span name.
    pub operation_label: String,
    /// The label holding the tenant and its value (`None`: the pipeline has no tenant dimension,
    /// every series counts).
    pub tenant: Option<(String, String)>,
    /// Further PromQL label matchers (`job="otelcol"`), joined to the selector.
    pub matchers: Vec<String>,
}

impl SpanmetricsPlan {
    /// The connector's defaults (namespace `traces.span.metrics`, unit `ms`, dimension
    /// `tenant.id`) as the exporter names them with unit suffixes:
    /// `traces_span_metrics_duration_milliseconds{service_name, span_name, tenant_id}`.
    pub fn connector_defaults(tenant: &str) -> Self {
        Self {
            metric: "traces_span_metrics_duration_milliseconds".into(),
            unit: DurationUnit::Milliseconds,
            service_label: "service_name".into(),
            operation_label: "span_name".into(),
            tenant: Some(("tenant_id".into(), tenant.into())),
            matchers: Vec::new(),
        }
    }

    /// The label selector of the sentinel's series, `{…}`.
    fn selector(&self) -> String {
        let mut parts = vec![format!("{}!=\"\"", self.operation_label)];
        if let Some((label, value)) = &self.tenant {
            parts.push(format!("{label}=\"{}\"", escape(value)));
        }
        parts.extend(self.matchers.iter().cloned());
        format!("{{{}}}", parts.join(","))
    }
}

/// A PromQL string literal's content.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Reads the sentinel's latency histograms from Prometheus.
#[derive(Debug, Clone)]
pub struct SpanmetricsHistograms {
    client: QueryClient,
    plan: SpanmetricsPlan,
}

impl SpanmetricsHistograms {
    /// A reader through `client`, a client of the Prometheus HTTP API.
    pub fn new(client: QueryClient, plan: SpanmetricsPlan) -> Self {
        Self { client, plan }
    }

    /// Every series of the tenant, counting only the spans Prometheus saw arrive in `window`
    /// (unix ns; its end is usually now): the run's histograms, as
    /// [`QueryClient::histograms`] gives them for the reference pipeline. Native histograms are
    /// read when Prometheus holds them, classic buckets otherwise.
    pub async fn histograms(&self, window: Range<u64>) -> Result<Vec<BucketedSeries>, QueryError> {
        let selector = self.plan.selector();
        let native = format!("{}{selector}", self.plan.metric);
        let end = self.query(&native, window.end).await?;
        let (expr, end) = if end.has_native() {
            (native, end)
        } else {
            let classic = format!("{}_bucket{selector}", self.plan.metric);
            let end = self.query(&classic, window.end).await?;
            (classic, end)
        };
        let start = self.query(&expr, window.start).await?;
        let raw = buckets::increase(start.series(), end.series());
        buckets::by_operation(&raw, &self.plan)
            .map_err(|reason| QueryError::Decode { url: expr, reason })
    }

    /// The instant vector of `expr` at `at_unix_ns`.
    async fn query(&self, expr: &str, at_unix_ns: u64) -> Result<Vector, QueryError> {
        let path = format!(
            "/api/v1/query?query={}&time={:.3}",
            encode_query(expr),
            at_unix_ns as f64 / 1e9
        );
        let answer = self.client.get_json::<answer::Answer>(&path).await?;
        answer
            .ok_or_else(|| QueryError::Status {
                url: path.clone(),
                status: http::StatusCode::NOT_FOUND,
                body: "no Prometheus query API here".into(),
            })?
            .into_vector()
            .map_err(|reason| QueryError::Decode { url: path, reason })
    }
}

#[cfg(test)]
mod tests;
