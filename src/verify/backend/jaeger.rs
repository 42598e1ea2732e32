//! A client of Jaeger's HTTP query API, the one Jaeger v2 serves (and VictoriaTraces and others
//! serve its v1 half of): `GET /api/v3/traces/{id}` and `GET /api/v3/traces?query.…` answer
//! OTLP JSON; `GET /api/traces/{id}` and `GET /api/traces?service=…` answer Jaeger's v1 JSON.
//!
//! A search "by tenant" asks for the services the sentinel's traces have their root in, over
//! the time window, and keeps the traces whose resource carries the sentinel's `tenant.id`
//! (the v1 API also filters on it with `tags`; the v3 API's attribute filter is not relied
//! upon). Jaeger's own multi-tenancy reads the tenant from its tenancy header (`x-tenant` by
//! default), which every request carries. The v3 search passes its limit both as
//! `query.search_depth` (Jaeger v2's name) and `query.num_traces` (the earlier one).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::content::{self, Content};
use super::{jaeger_v1, otlp_json};
use crate::verify::api::{ApiTrace, QueryClient, QueryError, TraceSummary};

/// Which of Jaeger's query APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JaegerApi {
    /// `/api/v3`: OTLP JSON.
    V3,
    /// `/api`: Jaeger's v1 JSON model.
    V1,
}

impl JaegerApi {
    /// The name reports give it.
    pub fn name(self) -> &'static str {
        match self {
            JaegerApi::V3 => "jaeger",
            JaegerApi::V1 => "jaeger v1 API",
        }
    }

    /// What it drops or transforms.
    pub fn content(self) -> &'static Content {
        match self {
            JaegerApi::V3 => &content::JAEGER_V3,
            JaegerApi::V1 => &content::JAEGER_V1,
        }
    }
}

/// A tenant-scoped client of one Jaeger query API.
#[derive(Debug, Clone)]
pub struct JaegerClient {
    http: QueryClient,
    api: JaegerApi,
    tenant_id: String,
    services: Vec<String>,
}

impl JaegerClient {
    /// A client of `api` through `http` (its base URL and tenancy header), searching the
    /// `services` for traces of `tenant_id`.
    pub fn new(
        http: QueryClient,
        api: JaegerApi,
        tenant_id: String,
        services: Vec<String>,
    ) -> Self {
        Self {
            http,
            api,
            tenant_id,
            services,
        }
    }

    /// Which API.
    pub fn api(&self) -> JaegerApi {
        self.api
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        self.http.base()
    }

    fn decode(&self, path: &str, reason: String) -> QueryError {
        QueryError::Decode {
            url: format!("{}{path}", self.http.base()),
            reason,
        }
    }

    /// The trace with this ID; `None` when Jaeger does not hold it (404, or no spans).
    pub async fn trace(&self, trace_id_hex: &str) -> Result<Option<ApiTrace>, QueryError> {
        let path = match self.api {
            JaegerApi::V3 => format!("/api/v3/traces/{trace_id_hex}"),
            JaegerApi::V1 => format!("/api/traces/{trace_id_hex}"),
        };
        let Some(body) = self.http.get_raw(&path).await? else {
            return Ok(None);
        };
        let traces = self
            .parse(&body)
            .map_err(|reason| self.decode(&path, reason))?;
        Ok(traces.into_iter().find(|t| t.trace_id == trace_id_hex))
    }

    fn parse(&self, body: &Bytes) -> Result<Vec<ApiTrace>, String> {
        match self.api {
            JaegerApi::V3 => otlp_json::traces(body),
            JaegerApi::V1 => jaeger_v1::traces(body),
        }
    }

    /// The tenant's traces whose root started in `[start, end)` (unix ns), at most `limit`
    /// per service searched.
    pub async fn search(
        &self,
        start: u64,
        end: u64,
        limit: usize,
    ) -> Result<Vec<TraceSummary>, QueryError> {
        let mut found: BTreeMap<String, u64> = BTreeMap::new();
        for service in &self.services {
            let path = self.search_path(service, start, end, limit);
            let Some(body) = self.http.get_raw(&path).await? else {
                continue;
            };
            let traces = self
                .parse(&body)
                .map_err(|reason| self.decode(&path, reason))?;
            for t in traces.iter().filter(|t| self.is_tenants(t)) {
                let root = t.spans.iter().map(|s| s.start_time_unix_nano).min();
                if let Some(root) = root.filter(|r| (start..end).contains(r)) {
                    found.insert(t.trace_id.clone(), root);
                }
            }
        }
        Ok(found
            .into_iter()
            .map(|(trace_id, start_time_unix_nano)| TraceSummary {
                trace_id,
                start_time_unix_nano,
            })
            .collect())
    }

    /// Whether a span of `t` comes from a resource of the sentinel's tenant.
    fn is_tenants(&self, t: &ApiTrace) -> bool {
        let key = crate::encode::plain::TENANT_ATTRIBUTE;
        t.spans
            .iter()
            .any(|s| s.resource["attributes"][key].as_str() == Some(self.tenant_id.as_str()))
    }

    fn search_path(&self, service: &str, start: u64, end: u64, limit: usize) -> String {
        let service = encode(service);
        match self.api {
            JaegerApi::V3 => format!(
                "/api/v3/traces?query.service_name={service}&query.start_time_min={}\
                 &query.start_time_max={}&query.search_depth={limit}&query.num_traces={limit}",
                rfc3339(start),
                rfc3339(end)
            ),
            JaegerApi::V1 => {
                let key = crate::encode::plain::TENANT_ATTRIBUTE;
                let tags = serde_json::json!({ key: self.tenant_id }).to_string();
                format!(
                    "/api/traces?service={service}&start={}&end={}&limit={limit}&tags={}",
                    start / 1000,
                    end.div_ceil(1000),
                    encode(&tags)
                )
            }
        }
    }
}

/// A unix-ns instant as RFC 3339 in UTC, to the nanosecond.
fn rfc3339(unix_ns: u64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_nanos(unix_ns);
    humantime::format_rfc3339_nanos(at).to_string()
}

/// `text` percent-encoded for a query string value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};

    fn client(api: JaegerApi) -> JaegerClient {
        let http = QueryClient::new(
            "http://127.0.0.1:1/jaeger",
            HeaderName::from_static("x-tenant"),
            HeaderValue::from_static("sentinel"),
        );
        JaegerClient::new(
            http,
            api,
            "sentinel".into(),
            vec!["sentinel-frontend".into()],
        )
    }

    #[test]
    fn searches_ask_for_the_service_window_and_tenant() {
        let v3 = client(JaegerApi::V3).search_path(
            "sentinel-frontend",
            1_500_000_000,
            2_000_000_001,
            50,
        );
        assert_eq!(
            v3,
            "/api/v3/traces?query.service_name=sentinel-frontend\
             &query.start_time_min=1970-01-01T00:00:01.500000000Z\
             &query.start_time_max=1970-01-01T00:00:02.000000001Z&query.search_depth=50\
             &query.num_traces=50"
        );
        let v1 = client(JaegerApi::V1).search_path(
            "sentinel-frontend",
            1_500_000_000,
            2_000_000_001,
            50,
        );
        assert_eq!(
            v1,
            "/api/traces?service=sentinel-frontend&start=1500000&end=2000001&limit=50\
             &tags=%7B%22tenant.id%22%3A%22sentinel%22%7D"
        );
        assert!(v1.parse::<http::Uri>().is_ok() && v3.parse::<http::Uri>().is_ok());
    }
}
