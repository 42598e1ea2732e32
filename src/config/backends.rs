//! The `[backends]` profile section: where the verifier reads traces and histograms back when
//! the flags do not say (`--traces`, `--metrics` and their environment defaults win), Jaeger's
//! tenancy header, and the name, labels and unit of the spanmetrics histogram (the Collector's
//! connector defaults unless given). See docs/backends.md.

use serde::{Deserialize, Serialize};

use crate::verify::backend::{PrometheusUrl, TracesPlan};
use crate::verify::spanmetrics::SpanmetricsPlan;

/// `[backends]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackendsSection {
    /// As `--traces`: `jaeger+http://HOST:PORT[/prefix]`, `jaeger-v1+http://…`, `reference+http://…`.
    pub traces: Option<String>,
    /// As `--metrics`: `prometheus://HOST:PORT[/prefix]`.
    pub metrics: Option<String>,
    /// As `--jaeger-tenant-header` (default `x-tenant`).
    pub jaeger_tenant_header: Option<String>,
    /// The spanmetrics histogram `--metrics` reads.
    pub spanmetrics: SpanmetricsSection,
}

/// `[backends.spanmetrics]`: the histogram as Prometheus names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpanmetricsSection {
    /// The histogram's name without `_bucket`.
    pub metric: String,
    /// `ms` or `s`, the connector's `histogram.unit`.
    pub unit: String,
    /// The label holding `service.name`.
    pub service_label: String,
    /// The label holding the span name.
    pub operation_label: String,
    /// The label holding the sentinel's tenant (the connector's `tenant.id` dimension); empty:
    /// the pipeline has no tenant dimension and every series counts.
    pub tenant_label: String,
    /// Further PromQL label matchers, e.g. `job="otelcol"`.
    pub matchers: Vec<String>,
}

impl Default for SpanmetricsSection {
    fn default() -> Self {
        let d = SpanmetricsPlan::connector_defaults("");
        Self {
            metric: d.metric,
            unit: "ms".into(),
            service_label: d.service_label,
            operation_label: d.operation_label,
            tenant_label: d.tenant.map(|(label, _)| label).unwrap_or_default(),
            matchers: d.matchers,
        }
    }
}

impl SpanmetricsSection {
    /// The reader's plan for `tenant`; the error names the field.
    pub fn plan(&self, tenant: &str) -> Result<SpanmetricsPlan, (&'static str, String)> {
        let unit = self
            .unit
            .parse()
            .map_err(|e| ("backends.spanmetrics.unit", e))?;
        Ok(SpanmetricsPlan {
            metric: self.metric.clone(),
            unit,
            service_label: self.service_label.clone(),
            operation_label: self.operation_label.clone(),
            tenant: (!self.tenant_label.is_empty())
                .then(|| (self.tenant_label.clone(), tenant.to_owned())),
            matchers: self.matchers.clone(),
        })
    }
}

impl BackendsSection {
    /// The trace backend: `flag` if given, else the section's; the error names the field.
    pub fn traces(
        &self,
        flag: Option<&TracesPlan>,
    ) -> Result<Option<TracesPlan>, (&'static str, String)> {
        match (flag, &self.traces) {
            (Some(t), _) => Ok(Some(t.clone())),
            (None, Some(text)) => text.parse().map(Some).map_err(|e| ("backends.traces", e)),
            (None, None) => Ok(None),
        }
    }

    /// The Prometheus of the histograms: `flag` if given, else the section's.
    pub fn metrics(
        &self,
        flag: Option<&PrometheusUrl>,
    ) -> Result<Option<PrometheusUrl>, (&'static str, String)> {
        match (flag, &self.metrics) {
            (Some(m), _) => Ok(Some(m.clone())),
            (None, Some(text)) => text.parse().map(Some).map_err(|e| ("backends.metrics", e)),
            (None, None) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_defaults_to_the_connectors_names_and_flags_win() {
        let s: BackendsSection = toml::from_str(
            "traces = \"jaeger+http://127.0.0.1:16686\"\n[spanmetrics]\nunit = \"s\"\n",
        )
        .unwrap();
        let plan = s.spanmetrics.plan("sentinel").unwrap();
        assert_eq!(plan.metric, "traces_span_metrics_duration_milliseconds");
        assert_eq!(plan.tenant, Some(("tenant_id".into(), "sentinel".into())));
        let flag: TracesPlan = "jaeger-v1+http://h:1".parse().unwrap();
        assert_eq!(s.traces(Some(&flag)).unwrap(), Some(flag));
        assert_eq!(
            s.traces(None).unwrap().unwrap().base_url,
            "http://127.0.0.1:16686"
        );
        let bad = BackendsSection {
            traces: Some("tempo://h:1".into()),
            ..BackendsSection::default()
        };
        assert_eq!(bad.traces(None).unwrap_err().0, "backends.traces");
    }
}
