//! The backend layer: everything the verifier asks of the system under test, behind one type.
//! A trace by ID and a search by tenant and time window come from the chosen trace backend (the
//! reference pipeline's API, or Jaeger's v3 or v1 query API); histograms, alert history and the
//! sentinel's alert rule come from the reference API where there is one. What the chosen
//! backend cannot answer is `QueryError::Unsupported` naming it, which the verdict shows as
//! `unsupported by <backend>`, never as a pass. Each backend's table of what it drops or
//! transforms in a span is in `content`.

pub mod content;
pub mod jaeger;
mod jaeger_v1;
pub mod metrics;
mod otlp_json;

use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use http::{HeaderName, HeaderValue};

use super::api::{ApiTrace, QueryClient, QueryError, RuleBody, TraceSummary, Transition};
use super::spanmetrics::SpanmetricsHistograms;
use crate::transport::ClientTls;
pub use content::Content;
pub use jaeger::{JaegerApi, JaegerClient};
pub use metrics::{Histograms, MetricsPlan, PrometheusUrl};

/// What answered one part of the verification, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackendUse {
    /// `traces`, `histograms`, `alerts` or `notifications`.
    pub role: String,
    /// The backend (`jaeger`, `reference`, `prometheus`, `alertmanager`), or `unsupported by
    /// <backend>` when the chosen one cannot answer it.
    pub backend: String,
    /// Where it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// What the content check could not compare there (`not carried by jaeger v1 API: …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_compared: Option<String>,
}

impl BackendUse {
    /// `role` answered by `backend` at `url`.
    pub fn new(role: &str, backend: &str, url: Option<&str>) -> Self {
        Self {
            role: role.into(),
            backend: backend.into(),
            url: url.map(str::to_owned),
            not_compared: None,
        }
    }
}

/// Which query API serves traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceApi {
    /// The reference pipeline's `/api/v1/traces` (docs/pipeline-api.md).
    Reference,
    /// Jaeger's query API, v3 (OTLP JSON) or v1 (Jaeger JSON).
    Jaeger(JaegerApi),
}

/// `--traces SCHEME+http://HOST:PORT[/prefix]`: where the verifier reads traces back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracesPlan {
    /// The API.
    pub api: TraceApi,
    /// Its base URL (`http://` or `https://`, with any path prefix, no trailing slash).
    pub base_url: String,
}

impl FromStr for TracesPlan {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = || {
            format!(
                "{s:?}: use jaeger+http://HOST:PORT[/prefix] (Jaeger's v3 API), \
                 jaeger-v1+http://HOST:PORT[/prefix] (its v1 JSON API), or \
                 reference+http://HOST:PORT (span-sentinel serve); +https for TLS"
            )
        };
        let (scheme, rest) = s.split_once('+').ok_or_else(usage)?;
        let api = match scheme {
            "jaeger" => TraceApi::Jaeger(JaegerApi::V3),
            "jaeger-v1" => TraceApi::Jaeger(JaegerApi::V1),
            "reference" => TraceApi::Reference,
            _ => return Err(usage()),
        };
        let uri: http::Uri = rest.parse().map_err(|_| usage())?;
        let ok_scheme = matches!(uri.scheme_str(), Some("http" | "https"));
        if !ok_scheme || uri.authority().is_none() || uri.query().is_some() {
            return Err(usage());
        }
        Ok(TracesPlan {
            api,
            base_url: rest.trim_end_matches('/').to_owned(),
        })
    }
}

/// How the verifier reaches the backend: the trace API, the reference API (histograms, alerts,
/// the sentinel's rule) when there is one, and the tenant they are asked for.
#[derive(Debug, Clone)]
pub struct BackendPlan {
    /// Where traces are read back; `None`: from `reference`.
    pub traces: Option<TracesPlan>,
    /// The reference pipeline's query API (embedded, or `--query-url`), if any.
    pub reference: Option<String>,
    /// `--metrics`: where latency histograms are read when not from `reference`.
    pub metrics: Option<MetricsPlan>,
    /// The header the reference API reads the tenant from.
    pub tenant_header: HeaderName,
    /// The header Jaeger's multi-tenancy reads (its default `x-tenant`).
    pub jaeger_tenant_header: HeaderName,
    /// The sentinel's tenant.
    pub tenant: HeaderValue,
    /// The sentinel's `tenant.id` resource attribute, which a search keeps traces by.
    pub tenant_id: String,
    /// Services the sentinel's traces have their root in: what a Jaeger search asks for.
    pub root_services: Vec<String>,
}

/// The trace API in use.
#[derive(Debug, Clone)]
enum Traces {
    Reference(QueryClient),
    Jaeger(JaegerClient),
}

/// Everything the verifier asks of the system under test.
#[derive(Debug, Clone)]
pub struct Backend {
    traces: Traces,
    reference: Option<QueryClient>,
    metrics: Option<(String, SpanmetricsHistograms)>,
}

impl Backend {
    /// The reference pipeline's API at `client` answers everything.
    pub fn reference(client: QueryClient) -> Self {
        Self {
            traces: Traces::Reference(client.clone()),
            reference: Some(client),
            metrics: None,
        }
    }

    /// The backend `plan` describes, whose `https://` connections use `tls`.
    pub fn new(plan: &BackendPlan, tls: &ClientTls) -> Result<Self, String> {
        let reference = plan.reference.as_ref().map(|url| {
            QueryClient::with_tls(url, plan.tenant_header.clone(), plan.tenant.clone(), tls)
        });
        let traces = match (&plan.traces, &reference) {
            (Some(t), _) if t.api != TraceApi::Reference => match t.api {
                TraceApi::Jaeger(api) => Traces::Jaeger(JaegerClient::new(
                    QueryClient::with_tls(
                        &t.base_url,
                        plan.jaeger_tenant_header.clone(),
                        plan.tenant.clone(),
                        tls,
                    ),
                    api,
                    plan.tenant_id.clone(),
                    plan.root_services.clone(),
                )),
                TraceApi::Reference => unreachable!("matched above"),
            },
            (Some(t), _) => Traces::Reference(QueryClient::with_tls(
                &t.base_url,
                plan.tenant_header.clone(),
                plan.tenant.clone(),
                tls,
            )),
            (None, Some(r)) => Traces::Reference(r.clone()),
            (None, None) => return Err("no backend to read traces from".into()),
        };
        let reference = reference.or_else(|| match &traces {
            Traces::Reference(r) => Some(r.clone()),
            Traces::Jaeger(_) => None,
        });
        let metrics = plan.metrics.as_ref().map(|m| {
            let client = QueryClient::with_tls(
                &m.base_url,
                plan.tenant_header.clone(),
                plan.tenant.clone(),
                tls,
            );
            let reader = SpanmetricsHistograms::new(client, m.spanmetrics.clone());
            (m.base_url.clone(), reader)
        });
        Ok(Self {
            traces,
            reference,
            metrics,
        })
    }

    /// The trace backend's name as reports show it.
    pub fn name(&self) -> &'static str {
        match &self.traces {
            Traces::Reference(_) => "reference",
            Traces::Jaeger(j) => j.api().name(),
        }
    }

    /// The trace API's base URL.
    pub fn traces_url(&self) -> &str {
        match &self.traces {
            Traces::Reference(r) => r.base(),
            Traces::Jaeger(j) => j.base(),
        }
    }

    /// What the trace backend is documented to drop or transform.
    pub fn content(&self) -> &'static Content {
        match &self.traces {
            Traces::Reference(_) => &content::REFERENCE,
            Traces::Jaeger(j) => j.api().content(),
        }
    }

    /// The trace with this ID, `None` if the backend does not hold it (yet).
    pub async fn trace(&self, trace_id_hex: &str) -> Result<Option<ApiTrace>, QueryError> {
        match &self.traces {
            Traces::Reference(r) => r.trace(trace_id_hex).await,
            Traces::Jaeger(j) => j.trace(trace_id_hex).await,
        }
    }

    /// The sentinel tenant's traces whose root started in `[start, end)` (unix ns).
    pub async fn search(
        &self,
        start: u64,
        end: u64,
        limit: usize,
    ) -> Result<Vec<TraceSummary>, QueryError> {
        match &self.traces {
            Traces::Reference(r) => r.search(start, end, limit).await,
            Traces::Jaeger(j) => j.search(start, end, limit).await,
        }
    }

    fn unsupported(&self, what: &'static str) -> QueryError {
        QueryError::Unsupported {
            backend: self.name().to_owned(),
            what,
        }
    }

    fn reference_api(&self, what: &'static str) -> Result<&QueryClient, QueryError> {
        self.reference
            .as_ref()
            .ok_or_else(|| self.unsupported(what))
    }

    /// Every histogram series of the tenant: from Prometheus' spanmetrics over `window` (unix
    /// ns) with `--metrics`, else from the reference API (which counts since the run began).
    pub async fn histograms(&self, window: Range<u64>) -> Result<Histograms, QueryError> {
        if let Some((_, reader)) = &self.metrics {
            return reader.histograms(window).await.map(Histograms::Bucketed);
        }
        let reference = self.reference_api("latency histograms")?;
        reference.histograms().await.map(Histograms::Exact)
    }

    /// Why this backend cannot answer alert history (`unsupported by jaeger: alert history`),
    /// or `None` when it can.
    pub fn alert_history_unsupported(&self) -> Option<QueryError> {
        self.reference_api("alert history").err()
    }

    /// The tenant's alert transition history, oldest first.
    pub async fn alert_history(&self) -> Result<Vec<Transition>, QueryError> {
        self.reference_api("alert history")?.alert_history().await
    }

    /// Creates (or replaces) the sentinel's alert rule.
    pub async fn create_rule(&self, rule: &RuleBody) -> Result<(), QueryError> {
        self.reference_api("alert rules")?.create_rule(rule).await
    }

    /// Deletes an alert rule (a missing rule is not an error; without a rule API there is
    /// none to delete).
    pub async fn delete_rule(&self, name: &str) -> Result<(), QueryError> {
        match &self.reference {
            Some(r) => r.delete_rule(name).await,
            None => Ok(()),
        }
    }

    /// Sets the tenant's assembly threshold.
    pub async fn set_assembly_threshold(&self, threshold: Duration) -> Result<(), QueryError> {
        self.reference_api("an assembly threshold")?
            .set_assembly_threshold(threshold)
            .await
    }

    /// How long the tenant's last batch waited in the reference pipeline's queue, if known.
    pub async fn last_queue_wait(&self) -> Option<Duration> {
        self.reference.as_ref()?.last_queue_wait().await
    }

    /// A JSON answer of the reference API (`None` without one, or on 404).
    pub async fn reference_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, QueryError> {
        match &self.reference {
            Some(r) => r.get_json(path).await,
            None => Ok(None),
        }
    }

    /// What answers traces and histograms, for the report (`alerts` and `notifications` are
    /// added by the run, which knows where it reads them).
    pub fn uses(&self) -> Vec<BackendUse> {
        let mut traces = BackendUse::new("traces", self.name(), Some(self.traces_url()));
        traces.not_compared = self.content().uncompared();
        let histograms = match (&self.metrics, &self.reference) {
            (Some((url, _)), _) => {
                BackendUse::new("histograms", "prometheus spanmetrics", Some(url))
            }
            (None, Some(r)) => BackendUse::new("histograms", "reference", Some(r.base())),
            (None, None) => BackendUse::new(
                "histograms",
                &format!("unsupported by {}", self.name()),
                None,
            ),
        };
        vec![traces, histograms]
    }

    /// Whether the reference API (histograms, alerts, rules) is there.
    pub fn has_reference(&self) -> bool {
        self.reference.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_urls_parse() {
        let p: TracesPlan = "jaeger+http://127.0.0.1:16686/jaeger/".parse().unwrap();
        assert_eq!(p.api, TraceApi::Jaeger(JaegerApi::V3));
        assert_eq!(p.base_url, "http://127.0.0.1:16686/jaeger");
        let p: TracesPlan = "jaeger-v1+https://q.example:443".parse().unwrap();
        assert_eq!(p.api, TraceApi::Jaeger(JaegerApi::V1));
        assert_eq!(p.base_url, "https://q.example:443");
        let p: TracesPlan = "reference+http://127.0.0.1:4318".parse().unwrap();
        assert_eq!(p.api, TraceApi::Reference);
        for bad in [
            "http://127.0.0.1:16686",
            "tempo+http://h:1",
            "jaeger+ftp://h:1",
            "jaeger+http://h:1/?x=1",
            "jaeger+",
        ] {
            let e = bad.parse::<TracesPlan>().unwrap_err();
            assert!(e.contains("jaeger+http://"), "{bad}: {e}");
        }
    }
}
