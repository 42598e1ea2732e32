//! `GET /metrics`: the same counters as `/api/v1/stats`, for every tenant, in the Prometheus text
//! exposition format (not tenant-scoped: it is what an operator's Prometheus scrapes).

use std::fmt::Write;

use http::{HeaderValue, Response, StatusCode};

use super::stats::{TenantStats, pipeline_stats, tenant_stats};
use crate::pipeline::server::{ResponseBody, plain};
use crate::pipeline::state::Shared;

const PREFIX: &str = "span_sentinel_pipeline";

type TenantMetric = (&'static str, &'static str, fn(&TenantStats) -> u64);

/// Renders all metrics.
pub fn render(shared: &Shared) -> Response<ResponseBody> {
    let mut out = String::new();
    let tenants: Vec<_> = shared
        .tenants
        .all()
        .iter()
        .map(|t| tenant_stats(shared, t))
        .collect();
    let per_tenant: [TenantMetric; 6] = [
        ("received_spans_total", "counter", |s| s.received_spans),
        ("accepted_spans_total", "counter", |s| s.accepted_spans),
        ("rejected_spans_total", "counter", |s| s.rejected_spans),
        ("processed_spans_total", "counter", |s| s.processed_spans),
        ("queued_spans", "gauge", |s| s.queued_spans),
        ("evicted_traces_total", "counter", |s| s.evicted_traces),
    ];
    for (name, kind, get) in per_tenant {
        let _ = writeln!(out, "# TYPE {PREFIX}_{name} {kind}");
        for s in &tenants {
            // Tenant IDs are validated to a character set that needs no escaping here.
            let _ = writeln!(out, "{PREFIX}_{name}{{tenant=\"{}\"}} {}", s.tenant, get(s));
        }
    }
    let p = pipeline_stats(shared);
    let global = [
        ("queue_depth_spans", "gauge", p.queue_depth),
        ("span_store_spans", "gauge", p.span_store_spans),
        ("span_store_bytes", "gauge", p.span_store_bytes),
        (
            "span_store_evicted_spans_total",
            "counter",
            p.span_store_evicted_spans,
        ),
        (
            "span_store_expired_spans_total",
            "counter",
            p.span_store_expired_spans,
        ),
        ("assembled_traces_total", "counter", p.assembled_traces),
        ("requests_total", "counter", p.requests),
        ("invalid_requests_total", "counter", p.invalid_requests),
        ("webhooks_delivered_total", "counter", p.webhooks_delivered),
        ("webhooks_failed_total", "counter", p.webhooks_failed),
    ];
    for (name, kind, value) in global {
        let _ = writeln!(
            out,
            "# TYPE {PREFIX}_{name} {kind}\n{PREFIX}_{name} {value}"
        );
    }
    let mut response = plain(StatusCode::OK, out.trim_end());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
