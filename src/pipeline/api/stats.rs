//! `GET /api/v1/stats`: the tenant's span counters and the pipeline's shared figures (queue,
//! stores, evictions). Also used by the library API ([`crate::pipeline::Pipeline::stats`]).

use std::sync::atomic::Ordering::Relaxed;

use http::{Response, StatusCode};
use serde::Serialize;

use crate::pipeline::process::worker;
use crate::pipeline::refused::RefusedCounts;
use crate::pipeline::response::{ResponseBody, json};
use crate::pipeline::state::Shared;
use crate::pipeline::tenants::Tenant;

/// Counters of one tenant, in spans unless named otherwise.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TenantStats {
    /// The tenant ID.
    pub tenant: String,
    /// Spans in decoded requests.
    pub received_spans: u64,
    /// Spans acknowledged (admitted to the queue).
    pub accepted_spans: u64,
    /// Spans refused (invalid IDs, queue full, quota) after decoding.
    pub rejected_spans: u64,
    /// Spans processed by workers.
    pub processed_spans: u64,
    /// Spans of this tenant waiting in the queue.
    pub queued_spans: u64,
    /// Requests refused because the queue was full.
    pub queue_full_requests: u64,
    /// Requests refused because of the quota.
    pub quota_requests: u64,
    /// Spans discarded by an injected fault.
    pub fault_dropped_spans: u64,
    /// How long the tenant's last processed batch waited in the queue, ns.
    pub last_queue_wait_ns: u64,
    /// Histogram series (service, operation).
    pub histogram_series: u64,
    /// Spans not recorded in histograms: series limit reached.
    pub histogram_dropped_spans: u64,
    /// Assembled traces stored.
    pub stored_traces: u64,
    /// Assembled traces evicted.
    pub evicted_traces: u64,
    /// Alert transitions evicted from the history.
    pub evicted_alert_transitions: u64,
}

/// Figures shared by all tenants.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PipelineStats {
    /// Spans waiting in the admission queue, all tenants.
    pub queue_depth: u64,
    /// Queue capacity in spans (per tenant with fair isolation).
    pub queue_capacity: u64,
    /// `shared` or `fair`.
    pub isolation: &'static str,
    /// Tenants registered.
    pub tenants: u64,
    /// Requests refused because `max_tenants` was reached.
    pub refused_tenant_requests: u64,
    /// Spans in the span store.
    pub span_store_spans: u64,
    /// Request bytes the span store keeps alive.
    pub span_store_bytes: u64,
    /// Spans evicted from the span store to make room.
    pub span_store_evicted_spans: u64,
    /// Spans evicted from the span store by age.
    pub span_store_expired_spans: u64,
    /// Traces assembled (all tenants).
    pub assembled_traces: u64,
    /// Traces waiting for their settle window.
    pub pending_assemblies: u64,
    /// Roots not scheduled because the pending list was full.
    pub dropped_assemblies: u64,
    /// Requests received (both listeners, all paths).
    pub requests: u64,
    /// Requests refused as invalid.
    pub invalid_requests: u64,
    /// Webhook transitions delivered.
    pub webhooks_delivered: u64,
    /// Webhook transitions that could not be delivered.
    pub webhooks_failed: u64,
    /// Spans refused after decoding, by reason (all tenants; a span without a tenant belongs
    /// to none).
    pub refused_spans: RefusedCounts,
    /// Every bounded map keyed by client data: its limit, use and refusals.
    pub limits: super::limits::Limits,
}

/// Both parts of `/api/v1/stats`.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// The tenant's counters.
    pub tenant: TenantStats,
    /// Pipeline-wide figures.
    pub pipeline: PipelineStats,
}

/// The tenant's counters.
pub fn tenant_stats(shared: &Shared, tenant: &Tenant) -> TenantStats {
    let c = &tenant.counters;
    let (mut series, mut dropped) = (std::collections::HashSet::new(), 0);
    for state in &shared.workers {
        dropped += worker::lock(state)
            .histograms
            .series_keys(tenant.index, &mut series);
    }
    let series = series.len() as u64;
    let (stored, evicted) = shared.traces.counts(tenant.index);
    TenantStats {
        tenant: tenant.name.to_string(),
        received_spans: c.received.load(Relaxed),
        accepted_spans: c.accepted.load(Relaxed),
        rejected_spans: c.rejected.load(Relaxed),
        processed_spans: c.processed.load(Relaxed),
        queued_spans: c.queued.load(Relaxed),
        queue_full_requests: c.queue_full_requests.load(Relaxed),
        quota_requests: c.quota_requests.load(Relaxed),
        fault_dropped_spans: c.fault_dropped.load(Relaxed),
        last_queue_wait_ns: c.last_queue_wait_ns.load(Relaxed),
        histogram_series: series,
        histogram_dropped_spans: dropped,
        stored_traces: stored as u64,
        evicted_traces: evicted,
        evicted_alert_transitions: shared.alerts.view(tenant.index).evicted_transitions,
    }
}

/// Pipeline-wide figures.
pub fn pipeline_stats(shared: &Shared) -> PipelineStats {
    let (mut spans, mut bytes, mut evicted, mut expired) = (0, 0, 0, 0);
    for state in &shared.workers {
        let (n, b, e) = worker::lock(state).spans.totals();
        spans += n;
        bytes += b as u64;
        evicted += e.capacity;
        expired += e.age;
    }
    PipelineStats {
        queue_depth: shared.queue.depth(),
        queue_capacity: shared.config.queue_spans as u64,
        isolation: match shared.config.isolation {
            crate::pipeline::config::Isolation::Shared => "shared",
            crate::pipeline::config::Isolation::Fair => "fair",
        },
        tenants: shared.tenants.all().len() as u64,
        refused_tenant_requests: shared.tenants.refused.load(Relaxed),
        span_store_spans: spans,
        span_store_bytes: bytes,
        span_store_evicted_spans: evicted,
        span_store_expired_spans: expired,
        assembled_traces: shared.assembler.assembled.load(Relaxed),
        pending_assemblies: shared.assembler.waiting() as u64,
        dropped_assemblies: shared.assembler.dropped.load(Relaxed),
        requests: shared.ingest.requests.load(Relaxed),
        invalid_requests: shared.ingest.invalid_requests.load(Relaxed),
        webhooks_delivered: shared.webhooks.stats.delivered.load(Relaxed),
        webhooks_failed: shared.webhooks.stats.failed.load(Relaxed),
        refused_spans: shared.ingest.refused_spans.snapshot(),
        limits: super::limits::limits(shared),
    }
}

/// `GET /api/v1/stats`.
pub fn stats(shared: &Shared, tenant: &Tenant) -> Response<ResponseBody> {
    json(
        StatusCode::OK,
        &Stats {
            tenant: tenant_stats(shared, tenant),
            pipeline: pipeline_stats(shared),
        },
    )
}
