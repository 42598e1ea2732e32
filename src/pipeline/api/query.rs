//! Query endpoints: assembled traces (by ID, by time range), histograms, alerts, alert rules and
//! the tenant's assembly threshold.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use http::{Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error;
use crate::pipeline::alerts::evaluator::AlertState;
use crate::pipeline::alerts::{AlertRule, allow};
use crate::pipeline::response::{ResponseBody, json as json_response};
use crate::pipeline::state::Shared;
use crate::pipeline::store::histograms::Merged;
use crate::pipeline::tenants::Tenant;

const MAX_JSON_BODY: usize = 64 << 10;

fn parse_hex_id(hex: &str) -> Option<[u8; 16]> {
    if hex.len() != 32 {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(id)
}

/// `GET /api/v1/traces/{trace_id}`.
pub fn trace(shared: &Shared, tenant: &Tenant, id: &str) -> Response<ResponseBody> {
    let Some(id) = parse_hex_id(id) else {
        return error(StatusCode::BAD_REQUEST, "trace_id must be 32 hex digits");
    };
    match shared.traces.get(tenant.index, &id) {
        Some(trace) => json_response(StatusCode::OK, &*trace),
        None => error(StatusCode::NOT_FOUND, "trace not assembled (or evicted)"),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A time bound: unix nanoseconds, or RFC 3339.
fn parse_time(value: &str) -> Result<u64, String> {
    if let Ok(ns) = value.parse::<u64>() {
        return Ok(ns);
    }
    let t = humantime::parse_rfc3339_weak(value).map_err(|e| format!("{value:?}: {e}"))?;
    let d = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    Ok(d.as_nanos() as u64)
}

#[derive(Serialize)]
struct TraceSummary<'a> {
    trace_id: &'a str,
    root_name: &'a str,
    root_service: &'a str,
    start_time_unix_nano: u64,
    duration_ns: u64,
    span_count: usize,
}

/// `GET /api/v1/traces?start=&end=&limit=`.
pub fn search(shared: &Shared, tenant: &Tenant, query: Option<&str>) -> Response<ResponseBody> {
    let (mut start, mut end, mut limit) = (0, u64::MAX, 1000usize);
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        let parsed = match key {
            "start" => parse_time(&value).map(|v| start = v),
            "end" => parse_time(&value).map(|v| end = v),
            "limit" => value
                .parse()
                .map(|v: usize| limit = v.min(10_000))
                .map_err(|e| e.to_string()),
            _ => Err("unknown parameter (accepted: start, end, limit)".into()),
        };
        if let Err(why) = parsed {
            return error(StatusCode::BAD_REQUEST, &format!("{key}: {why}"));
        }
    }
    let found = shared.traces.search(tenant.index, start, end, limit);
    let traces: Vec<_> = found
        .iter()
        .map(|t| TraceSummary {
            trace_id: &t.trace_id,
            root_name: &t.root_name,
            root_service: &t.root_service,
            start_time_unix_nano: t.start_time_unix_nano,
            duration_ns: t.duration_ns,
            span_count: t.span_count,
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "traces": traces }))
}

/// `GET /api/v1/histograms`.
pub fn histograms(shared: &Shared, tenant: &Tenant) -> Response<ResponseBody> {
    let mut merged = Merged::default();
    for state in &shared.workers {
        crate::pipeline::process::worker::lock(state)
            .histograms
            .merge_into(tenant.index, &mut merged);
    }
    let body = json!({
        "significant_digits": shared.config.histogram_digits,
        "dropped_spans": merged.dropped_spans,
        "series": merged.summaries(),
    });
    json_response(StatusCode::OK, &body)
}

/// `GET /api/v1/alerts`.
pub fn alerts(shared: &Shared, tenant: &Tenant) -> Response<ResponseBody> {
    let mut view = shared.alerts.view(tenant.index);
    let lag = shared.config.faults.firing_shown_after;
    if !lag.is_zero() && shared.faults_on() {
        // The slow-alert-view fault: a firing shows only `lag` after it was made.
        let now = crate::pipeline::alerts::evaluator::unix_nanos();
        let lag = lag.as_nanos() as u64;
        view.history
            .retain(|t| t.state != AlertState::Firing || t.at_unix_nano + lag <= now);
    }
    json_response(StatusCode::OK, &view)
}

/// `GET /api/v1/alert-rules`.
pub fn rules(shared: &Shared, tenant: &Tenant) -> Response<ResponseBody> {
    let rules: Vec<_> = shared
        .alerts
        .view(tenant.index)
        .rules
        .into_iter()
        .map(|r| r.rule)
        .collect();
    json_response(StatusCode::OK, &json!({ "rules": rules }))
}

async fn read_json<T: for<'de> Deserialize<'de>>(
    req: http::Request<Incoming>,
) -> Result<T, Response<ResponseBody>> {
    let body = Limited::new(req.into_body(), MAX_JSON_BODY)
        .collect()
        .await
        .map_err(|_| {
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body too large or unreadable",
            )
        })?
        .to_bytes();
    serde_json::from_slice(&body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")))
}

/// `POST /api/v1/alert-rules`: creates or replaces a rule.
pub async fn post_rule(
    shared: &Shared,
    tenant: &Tenant,
    req: http::Request<Incoming>,
) -> Response<ResponseBody> {
    let rule: AlertRule = match read_json(req).await {
        Ok(rule) => rule,
        Err(response) => return response,
    };
    if let Err(why) = rule.validate() {
        return error(StatusCode::BAD_REQUEST, &why);
    }
    let allowed = &shared.config.webhook_allow;
    if let Some(Err(why)) = rule
        .webhook_url
        .as_deref()
        .map(|u| allow::check(u, allowed))
    {
        shared.webhooks.stats.refused_targets.fetch_add(1, Relaxed);
        return error(StatusCode::BAD_REQUEST, &why);
    }
    match shared.alerts.upsert(tenant.index, rule.clone()) {
        Ok(()) => json_response(StatusCode::CREATED, &rule),
        Err(why) => error(StatusCode::CONFLICT, &why),
    }
}

/// `DELETE /api/v1/alert-rules/{name}`.
pub fn delete_rule(shared: &Shared, tenant: &Tenant, name: &str) -> Response<ResponseBody> {
    let name = percent_decode(name);
    if shared.alerts.delete(tenant.index, &name) {
        json_response(StatusCode::OK, &json!({ "deleted": name }))
    } else {
        error(StatusCode::NOT_FOUND, "no rule of that name")
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Threshold {
    threshold_ns: u64,
}

/// `GET /api/v1/assembly-threshold`.
pub fn get_threshold(tenant: &Tenant) -> Response<ResponseBody> {
    json_response(
        StatusCode::OK,
        &Threshold {
            threshold_ns: tenant.assembly_threshold_ns.load(Relaxed),
        },
    )
}

/// `PUT /api/v1/assembly-threshold`: overrides the tenant's threshold.
pub async fn put_threshold(
    tenant: &Arc<Tenant>,
    req: http::Request<Incoming>,
) -> Response<ResponseBody> {
    match read_json::<Threshold>(req).await {
        Ok(t) => {
            tenant.assembly_threshold_ns.store(t.threshold_ns, Relaxed);
            json_response(StatusCode::OK, &t)
        }
        Err(response) => response,
    }
}
