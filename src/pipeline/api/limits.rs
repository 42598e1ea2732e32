//! The bound of every map a client's data can grow, how full it is, and what it refused, for
//! `/api/v1/stats` (`pipeline.limits`) and `/metrics` (`span_sentinel_pipeline_limit*`). The
//! list is documented in `docs/pipeline-api.md`; a new map keyed by client data belongs here.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use serde::Serialize;

use crate::pipeline::alerts::webhook;
use crate::pipeline::process::worker;
use crate::pipeline::state::Shared;

/// One bounded map.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Limit {
    /// The configured bound.
    pub limit: u64,
    /// Entries now (for per-tenant limits: the fullest tenant).
    pub used: u64,
    /// What was refused for want of room, since start (the unit is the map's: see the docs).
    pub refused: u64,
}

/// Every bounded map keyed by client data.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Limits {
    /// Tenants registered; refused: requests of further tenants.
    pub tenants: Limit,
    /// Histogram series (service, operation) per tenant; refused: spans not recorded.
    pub series_per_tenant: Limit,
    /// Alert rules per tenant; refused: rules refused for want of room.
    pub rules_per_tenant: Limit,
    /// Webhook targets (one per rule at most); refused: rules naming a target outside
    /// loopback and `--webhook-allow`.
    pub webhook_targets: Limit,
    /// Webhook deliveries waiting; refused: transitions dropped because the queue was full.
    pub webhook_queue: Limit,
    /// Traces waiting for their settle window; refused: roots not scheduled.
    pub pending_assemblies: Limit,
    /// Open connections over both listeners (the limit is per listener, so twice
    /// `max_connections`); refused: idle connections closed to make room for new ones.
    pub connections: Limit,
}

/// Reads every limit.
pub fn limits(shared: &Shared) -> Limits {
    let l = &shared.config.limits;
    let (mut series, mut dropped) = (0, 0);
    for state in &shared.workers {
        let (most, d) = worker::lock(state).histograms.usage();
        series = series.max(most);
        dropped += d;
    }
    let (rules, targets) = shared.alerts.usage();
    let hooks = &shared.webhooks.stats;
    let max_conn = shared.config.connections.max_connections as u64;
    let n = |v: usize| v as u64;
    Limits {
        tenants: Limit {
            limit: n(l.max_tenants),
            used: n(shared.tenants.all().len()),
            refused: shared.tenants.refused.load(Relaxed),
        },
        series_per_tenant: Limit {
            limit: n(l.series_per_tenant),
            used: n(series),
            refused: dropped,
        },
        rules_per_tenant: Limit {
            limit: n(l.rules_per_tenant),
            used: n(rules),
            refused: shared.alerts.refused.load(Relaxed),
        },
        webhook_targets: Limit {
            limit: n(l.rules_per_tenant * l.max_tenants),
            used: n(targets),
            refused: hooks.refused_targets.load(Relaxed),
        },
        webhook_queue: Limit {
            limit: n(webhook::QUEUE),
            used: n(shared.webhooks.queued()),
            refused: hooks.queue_full.load(Relaxed),
        },
        pending_assemblies: Limit {
            limit: n(l.pending_assemblies),
            used: n(shared.assembler.waiting()),
            refused: shared.assembler.dropped.load(Relaxed),
        },
        connections: Limit {
            limit: 2 * max_conn,
            used: shared.connections.open.load(Relaxed),
            refused: shared.connections.evicted.load(Relaxed),
        },
    }
}

/// A metric name, its type, and the figure of a [`Limit`] it exports.
type Part = (&'static str, &'static str, fn(&Limit) -> u64);

/// Writes `limit`, `limit_used` and `limit_refused_total`, labelled by map, for `/metrics`.
pub fn render(shared: &Shared, out: &mut String, prefix: &str) {
    let l = limits(shared);
    let maps = [
        ("tenants", l.tenants),
        ("series_per_tenant", l.series_per_tenant),
        ("rules_per_tenant", l.rules_per_tenant),
        ("webhook_targets", l.webhook_targets),
        ("webhook_queue", l.webhook_queue),
        ("pending_assemblies", l.pending_assemblies),
        ("connections", l.connections),
    ];
    let parts: [Part; 3] = [
        ("limit", "gauge", |l| l.limit),
        ("limit_used", "gauge", |l| l.used),
        ("limit_refused_total", "counter", |l| l.refused),
    ];
    for (name, kind, get) in parts {
        let _ = writeln!(out, "# TYPE {prefix}_{name} {kind}");
        for (map, limit) in &maps {
            let _ = writeln!(out, "{prefix}_{name}{{map=\"{map}\"}} {}", get(limit));
        }
    }
}
