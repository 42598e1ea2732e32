//! A small client of the reference pipeline's query API (`docs/pipeline-api.md`): fetch a trace,
//! search traces, read histograms and alerts, create and delete the sentinel's alert rule. Its
//! answer types (`ApiTrace`, `Series`, `Transition`) are what every backend of
//! `verify::backend` maps its own answers into; its HTTP plumbing serves them all.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::transport::ClientTls;

/// Why a query failed.
#[derive(Debug, Error)]
pub enum QueryError {
    /// The request could not be made or timed out.
    #[error("{url}: {reason}")]
    Transport {
        /// What was asked for.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// The target answered with an unexpected status.
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        /// What was asked for.
        url: String,
        /// The status.
        status: StatusCode,
        /// The start of the answer.
        body: String,
    },
    /// The answer was not the JSON expected.
    #[error("{url}: unexpected answer: {reason}")]
    Decode {
        /// What was asked for.
        url: String,
        /// Why it did not decode.
        reason: String,
    },
    /// The chosen backend has no API for what was asked (e.g. alert rules on Jaeger).
    #[error("unsupported by {backend}: {what}")]
    Unsupported {
        /// The backend, as reports name it (`jaeger`, `jaeger v1 API`).
        backend: String,
        /// What it cannot answer.
        what: &'static str,
    },
}

/// One span of an assembled trace as the API returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiSpan {
    /// Hex span ID.
    pub span_id: String,
    /// Hex parent span ID, empty for a root.
    pub parent_span_id: String,
    /// Span name.
    pub name: String,
    /// `service.name` of its resource.
    pub service: String,
    /// OTLP span kind number.
    pub kind: i32,
    /// Start, unix ns.
    pub start_time_unix_nano: u64,
    /// End, unix ns.
    pub end_time_unix_nano: u64,
    /// Attributes as JSON values.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// OTLP status code number.
    pub status_code: i32,
    /// Status message.
    pub status_message: String,
    /// W3C trace state.
    #[serde(default)]
    pub trace_state: String,
    /// OTLP span flags.
    #[serde(default)]
    pub flags: u32,
    /// Attributes the sender dropped.
    #[serde(default)]
    pub dropped_attributes_count: u32,
    /// Events the sender dropped.
    #[serde(default)]
    pub dropped_events_count: u32,
    /// Links the sender dropped.
    #[serde(default)]
    pub dropped_links_count: u32,
    /// Events, each as the target returns it (compared as JSON).
    #[serde(default)]
    pub events: Vec<serde_json::Value>,
    /// Links, each as the target returns it (compared as JSON).
    #[serde(default)]
    pub links: Vec<serde_json::Value>,
    /// The span's resource as the target returns it (compared as JSON; absent is null).
    #[serde(default)]
    pub resource: serde_json::Value,
    /// The span's instrumentation scope as the target returns it (compared as JSON).
    #[serde(default)]
    pub scope: serde_json::Value,
}

/// An assembled trace.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiTrace {
    /// Hex trace ID.
    pub trace_id: String,
    /// When the target assembled it, unix ns.
    pub assembled_at_unix_nano: u64,
    /// How many spans the target says the trace has, when it says.
    #[serde(default)]
    pub span_count: Option<u64>,
    /// Its spans.
    pub spans: Vec<ApiSpan>,
}

/// One entry of a trace search.
#[derive(Debug, Clone, Deserialize)]
pub struct TraceSummary {
    /// Hex trace ID.
    pub trace_id: String,
    /// Root start, unix ns.
    pub start_time_unix_nano: u64,
}

#[derive(Deserialize)]
struct SearchAnswer {
    traces: Vec<TraceSummary>,
}

/// One histogram series.
#[derive(Debug, Clone, Deserialize)]
pub struct Series {
    /// `service.name`.
    pub service: String,
    /// Span name.
    pub operation: String,
    /// Spans recorded.
    pub count: u64,
    /// Median, ns.
    pub p50_ns: u64,
    /// 90th percentile, ns.
    pub p90_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// 99.9th percentile, ns.
    pub p999_ns: u64,
    /// Largest, ns.
    pub max_ns: u64,
}

#[derive(Deserialize)]
struct HistogramsAnswer {
    series: Vec<Series>,
}

/// An alert state transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// Rule name.
    pub rule: String,
    /// `firing` or `ok`.
    pub state: String,
    /// When, unix ns.
    pub at_unix_nano: u64,
}

#[derive(Deserialize)]
struct AlertsAnswer {
    history: Vec<Transition>,
}

/// The alert rule the sentinel creates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleBody {
    /// Unique name.
    pub name: String,
    /// Error ratio at or above which it fires.
    pub threshold: f64,
    /// Window of the ratio, ms.
    pub window_ms: u64,
    /// Spans the window must hold.
    pub min_spans: u64,
    /// Hysteresis before it resolves, ms.
    pub clear_after_ms: u64,
    /// Where transitions are posted.
    pub webhook_url: Option<String>,
}

/// An error and its sources joined with `: `: hyper's own message hides a TLS failure's cause.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A tenant-scoped client of the query API.
#[derive(Debug, Clone)]
pub struct QueryClient {
    base: String,
    tenant_header: HeaderName,
    tenant: HeaderValue,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl QueryClient {
    /// A client of the API at `base` (e.g. `http://127.0.0.1:4318`, or `https://` trusting
    /// the system roots) for `tenant`.
    pub fn new(base: &str, tenant_header: HeaderName, tenant: HeaderValue) -> Self {
        Self::with_tls(base, tenant_header, tenant, &ClientTls::system())
    }

    /// A client of the API at `base` whose `https://` connections use `tls`.
    pub fn with_tls(
        base: &str,
        tenant_header: HeaderName,
        tenant: HeaderValue,
        tls: &ClientTls,
    ) -> Self {
        let timeout = Duration::from_secs(5);
        Self {
            base: base.trim_end_matches('/').to_owned(),
            tenant_header,
            tenant,
            client: Client::builder(TokioExecutor::new()).build(tls.connector(timeout, false)),
            timeout,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), QueryError> {
        let url = format!("{}{path}", self.base);
        let fail = |reason: String| QueryError::Transport {
            url: url.clone(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|e| fail(format!("{e}")))?;
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(&self.tenant_header, &self.tenant);
        if body.is_some() {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| fail(e.to_string()))?;
        tokio::time::timeout(self.timeout, async {
            let resp = self.client.request(req).await.map_err(|e| {
                let reason = chain(&e);
                match crate::transport::tls::certificate_hint(&reason) {
                    Some(hint) if url.starts_with("https:") => fail(format!("{hint}: {reason}")),
                    _ => fail(reason),
                }
            })?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| fail(e.to_string()))?
                .to_bytes();
            Ok((status, bytes))
        })
        .await
        .map_err(|_| fail("timed out".into()))?
    }

    /// The base URL every path is appended to.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// GETs `path` and parses the JSON answer; `None` on 404.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, QueryError> {
        let Some(body) = self.get_raw(path).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| QueryError::Decode {
                url: format!("{}{path}", self.base),
                reason: e.to_string(),
            })
    }

    /// GETs `path`: the body of a 200, `None` on 404, any other status an error.
    pub async fn get_raw(&self, path: &str) -> Result<Option<Bytes>, QueryError> {
        let (status, body) = self.call(Method::GET, path, None).await?;
        let url = format!("{}{path}", self.base);
        match status {
            StatusCode::OK => Ok(Some(body)),
            StatusCode::NOT_FOUND => Ok(None),
            status => Err(QueryError::Status {
                url,
                status,
                body: String::from_utf8_lossy(&body[..body.len().min(200)]).into(),
            }),
        }
    }

    /// GETs `path` and parses the JSON answer; a 404 is an error (the endpoint must exist).
    async fn get_required<T: DeserializeOwned>(&self, path: &str) -> Result<T, QueryError> {
        self.get_json(path)
            .await?
            .ok_or_else(|| QueryError::Status {
                url: format!("{}{path}", self.base),
                status: StatusCode::NOT_FOUND,
                body: "the endpoint does not exist".into(),
            })
    }

    /// The assembled trace with this ID, `None` if the target has not assembled it.
    pub async fn trace(&self, trace_id_hex: &str) -> Result<Option<ApiTrace>, QueryError> {
        self.get_json(&format!("/api/v1/traces/{trace_id_hex}"))
            .await
    }

    /// Assembled traces whose root started in `[start, end)` (unix ns).
    pub async fn search(
        &self,
        start: u64,
        end: u64,
        limit: usize,
    ) -> Result<Vec<TraceSummary>, QueryError> {
        let path = format!("/api/v1/traces?start={start}&end={end}&limit={limit}");
        Ok(self.get_required::<SearchAnswer>(&path).await?.traces)
    }

    /// Every histogram series of the tenant.
    pub async fn histograms(&self) -> Result<Vec<Series>, QueryError> {
        Ok(self
            .get_required::<HistogramsAnswer>("/api/v1/histograms")
            .await?
            .series)
    }

    /// The tenant's alert transition history, oldest first.
    pub async fn alert_history(&self) -> Result<Vec<Transition>, QueryError> {
        Ok(self
            .get_required::<AlertsAnswer>("/api/v1/alerts")
            .await?
            .history)
    }

    /// How long the tenant's last processed batch waited in the target's queue, from the
    /// reference pipeline's `/api/v1/stats` (`None` when the target has no such figure).
    pub async fn last_queue_wait(&self) -> Option<Duration> {
        #[derive(Deserialize)]
        struct Tenant {
            last_queue_wait_ns: u64,
        }
        #[derive(Deserialize)]
        struct Stats {
            tenant: Tenant,
        }
        let stats: Stats = self.get_json("/api/v1/stats").await.ok()??;
        Some(Duration::from_nanos(stats.tenant.last_queue_wait_ns))
    }

    /// Creates (or replaces) an alert rule.
    pub async fn create_rule(&self, rule: &RuleBody) -> Result<(), QueryError> {
        let body = serde_json::to_vec(rule).expect("a rule serializes");
        self.expect_success(Method::POST, "/api/v1/alert-rules", Some(body))
            .await
    }

    /// Deletes an alert rule (a missing rule is not an error).
    pub async fn delete_rule(&self, name: &str) -> Result<(), QueryError> {
        match self
            .expect_success(Method::DELETE, &format!("/api/v1/alert-rules/{name}"), None)
            .await
        {
            Err(QueryError::Status {
                status: StatusCode::NOT_FOUND,
                ..
            }) => Ok(()),
            other => other,
        }
    }

    /// Sets the tenant's assembly threshold.
    pub async fn set_assembly_threshold(&self, threshold: Duration) -> Result<(), QueryError> {
        let body =
            serde_json::to_vec(&serde_json::json!({ "threshold_ns": threshold.as_nanos() as u64 }))
                .unwrap();
        self.expect_success(Method::PUT, "/api/v1/assembly-threshold", Some(body))
            .await
    }

    /// Sends `body` (JSON) with `method` to `path`; any answer but a 2xx is an error.
    pub async fn expect_success(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(), QueryError> {
        let (status, answer) = self.call(method, path, body).await?;
        if status.is_success() {
            return Ok(());
        }
        let url = format!("{}{path}", self.base);
        Err(QueryError::Status {
            url,
            status,
            body: String::from_utf8_lossy(&answer[..answer.len().min(200)]).into(),
        })
    }
}
