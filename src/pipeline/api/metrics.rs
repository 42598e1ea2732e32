//! `GET /metrics`: the same counters as `/api/v1/stats`, for every tenant, in the Prometheus text
//! exposition format (not tenant-scoped: it is what an operator's Prometheus scrapes).
//!
//! `span_sentinel_pipeline_spans_total{tenant, service, status}` counts processed spans by
//! status (`unset`, `ok`, `error`), so a Prometheus rule can compute a tenant's error ratio
//! (`prometheus/rules.yml`). All three statuses are written for every series from its first
//! span on, so `rate()` sees an error series start at zero rather than appear mid-burst.
//!
//! `span_sentinel_pipeline_span_duration_seconds{tenant, service, operation}` is a classic
//! histogram of span durations (`_bucket{le}`, `_sum`, `_count`) under the configured bounds
//! (default: the spanmetrics connector's), for `histogram_quantile`.

use std::collections::BTreeMap;
use std::fmt::Write;

use http::{HeaderValue, Response, StatusCode};

use super::stats::{TenantStats, pipeline_stats, tenant_stats};
use crate::pipeline::process::worker;
use crate::pipeline::refused::RefusedCounts;
use crate::pipeline::response::{ResponseBody, plain};
use crate::pipeline::state::Shared;

const PREFIX: &str = "span_sentinel_pipeline";

type TenantMetric = (&'static str, &'static str, fn(&TenantStats) -> u64);

/// `span_sentinel_pipeline_refused_spans_total{reason}`: spans refused after decoding.
fn render_refused(refused: &RefusedCounts, out: &mut String) {
    let _ = writeln!(out, "# TYPE {PREFIX}_refused_spans_total counter");
    for (reason, _, n) in refused.by_reason() {
        let _ = writeln!(
            out,
            "{PREFIX}_refused_spans_total{{reason=\"{reason}\"}} {n}"
        );
    }
}

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
    render_status_counts(shared, &mut out);
    render_duration_buckets(shared, &mut out);
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
    render_refused(&p.refused_spans, &mut out);
    super::limits::render(shared, &mut out, PREFIX);
    let mut response = plain(StatusCode::OK, out.trim_end());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

/// Writes `spans_total{tenant, service, status}`, merged over the workers.
fn render_status_counts(shared: &Shared, out: &mut String) {
    let _ = writeln!(out, "# TYPE {PREFIX}_spans_total counter");
    for tenant in shared.tenants.all() {
        let mut services = BTreeMap::new();
        for state in &shared.workers {
            worker::lock(state)
                .histograms
                .status_into(tenant.index, &mut services);
        }
        for (service, counts) in services {
            let service = label_value(&service);
            for (status, n) in ["unset", "ok", "error"].into_iter().zip(counts) {
                let _ = writeln!(
                    out,
                    "{PREFIX}_spans_total{{tenant=\"{}\",service=\"{service}\",status=\"{status}\"}} {n}",
                    tenant.name
                );
            }
        }
    }
}

/// Writes `span_duration_seconds{tenant, service, operation}` as a classic histogram, merged
/// over the workers.
fn render_duration_buckets(shared: &Shared, out: &mut String) {
    let name = format!("{PREFIX}_span_duration_seconds");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for tenant in shared.tenants.all() {
        let mut series = BTreeMap::new();
        for state in &shared.workers {
            worker::lock(state)
                .histograms
                .buckets_into(tenant.index, &mut series);
        }
        for ((service, operation), b) in series {
            let labels = format!(
                "tenant=\"{}\",service=\"{}\",operation=\"{}\"",
                tenant.name,
                label_value(&service),
                label_value(&operation)
            );
            let mut cumulative = 0;
            for (i, n) in b.counts().iter().enumerate() {
                cumulative += n;
                let le = b
                    .bounds()
                    .get(i)
                    .map_or("+Inf".into(), |&ns| seconds(ns.into()));
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", seconds(b.sum_ns()));
            let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
        }
    }
}

/// Nanoseconds as exact decimal seconds: 2000000 → `0.002`.
fn seconds(ns: u128) -> String {
    let s = format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Escapes a label value as the exposition format requires (service names come off the wire).
fn label_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn bucket_bounds_are_exact_decimal_seconds() {
        assert_eq!(super::seconds(2_000_000), "0.002");
        assert_eq!(super::seconds(15_000_000_000), "15");
        assert_eq!(super::seconds(1_400_000_001), "1.400000001");
        assert_eq!(super::seconds(0), "0");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(super::label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
