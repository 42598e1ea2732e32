//! Assembled traces, per tenant, bounded in count and age (oldest evicted first, and counted).
//!
//! An assembled trace is stored in the shape the query API returns, so a query is a lookup and
//! a serialisation; the JSON shapes are documented in `docs/pipeline-api.md`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

/// One span of an assembled trace, with everything the sentinel compares.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssembledSpan {
    /// Span ID, hex.
    pub span_id: String,
    /// Parent span ID, hex; empty for the root.
    pub parent_span_id: String,
    /// Span name.
    pub name: String,
    /// `service.name` of the span's resource.
    pub service: String,
    /// Span kind as its OTLP number.
    pub kind: i32,
    /// Start, unix ns.
    pub start_time_unix_nano: u64,
    /// End, unix ns.
    pub end_time_unix_nano: u64,
    /// Attributes as a JSON object (bytes as hex, arrays and maps as JSON).
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Status code as its OTLP number (0 unset, 1 ok, 2 error).
    pub status_code: i32,
    /// Status message.
    pub status_message: String,
    /// W3C trace state.
    pub trace_state: String,
    /// OTLP span flags.
    pub flags: u32,
    /// Attributes the sender dropped.
    pub dropped_attributes_count: u32,
    /// Events the sender dropped.
    pub dropped_events_count: u32,
    /// Links the sender dropped.
    pub dropped_links_count: u32,
    /// Span events, in the order sent.
    pub events: Vec<AssembledEvent>,
    /// Links to other spans, in the order sent.
    pub links: Vec<AssembledLink>,
    /// The resource the span was sent under.
    pub resource: AssembledResource,
    /// The instrumentation scope the span was sent under.
    pub scope: AssembledScope,
}

/// The resource of an assembled span (the whole `Resource`, not only `service.name`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AssembledResource {
    /// Attributes, as span attributes are.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Attributes the sender dropped.
    pub dropped_attributes_count: u32,
}

/// The instrumentation scope of an assembled span.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AssembledScope {
    /// Scope name.
    pub name: String,
    /// Scope version.
    pub version: String,
    /// Attributes, as span attributes are.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Attributes the sender dropped.
    pub dropped_attributes_count: u32,
}

/// An event of an assembled span.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssembledEvent {
    /// When it happened, unix ns.
    pub time_unix_nano: u64,
    /// Event name.
    pub name: String,
    /// Attributes, as span attributes are.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Attributes the sender dropped.
    pub dropped_attributes_count: u32,
}

/// A link of an assembled span.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssembledLink {
    /// Linked trace ID, hex.
    pub trace_id: String,
    /// Linked span ID, hex.
    pub span_id: String,
    /// W3C trace state.
    pub trace_state: String,
    /// Attributes, as span attributes are.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Attributes the sender dropped.
    pub dropped_attributes_count: u32,
    /// OTLP link flags.
    pub flags: u32,
}

/// A trace assembled because its root was at least the tenant's threshold long.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssembledTrace {
    /// Trace ID, hex.
    pub trace_id: String,
    /// Root span name.
    pub root_name: String,
    /// Root span service.
    pub root_service: String,
    /// Root start, unix ns (the time searched by `GET /api/v1/traces`).
    pub start_time_unix_nano: u64,
    /// Root duration, ns.
    pub duration_ns: u64,
    /// When the pipeline assembled it, unix ns.
    pub assembled_at_unix_nano: u64,
    /// Spans of the trace, each counted once however often it arrived.
    pub span_count: usize,
    /// All spans found, ordered by start time then span ID.
    pub spans: Vec<AssembledSpan>,
}

#[derive(Debug, Default)]
struct TenantTraces {
    order: VecDeque<([u8; 16], Instant)>,
    by_id: HashMap<[u8; 16], Arc<AssembledTrace>>,
    evicted: u64,
}

/// Assembled traces of all tenants.
#[derive(Debug)]
pub struct TraceStore {
    tenants: Mutex<HashMap<u16, TenantTraces>>,
    per_tenant: usize,
    max_age: Duration,
}

impl TraceStore {
    /// An empty store of at most `per_tenant` traces per tenant, each kept at most `max_age`.
    pub fn new(per_tenant: usize, max_age: Duration) -> Self {
        Self {
            tenants: Mutex::default(),
            per_tenant: per_tenant.max(1),
            max_age,
        }
    }

    fn with<R>(&self, tenant: u16, f: impl FnOnce(&mut TenantTraces) -> R) -> R {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let traces = tenants.entry(tenant).or_default();
        let now = Instant::now();
        while let Some((id, at)) = traces.order.front().copied() {
            if traces.order.len() <= self.per_tenant && now.duration_since(at) < self.max_age {
                break;
            }
            traces.order.pop_front();
            traces.by_id.remove(&id);
            traces.evicted += 1;
        }
        f(traces)
    }

    /// Stores a trace; `false` when one with this ID is already there.
    pub fn insert(&self, tenant: u16, id: [u8; 16], trace: AssembledTrace) -> bool {
        let per_tenant = self.per_tenant;
        self.with(tenant, |traces| {
            if traces.by_id.contains_key(&id) {
                return false;
            }
            if traces.order.len() >= per_tenant {
                if let Some((old, _)) = traces.order.pop_front() {
                    traces.by_id.remove(&old);
                    traces.evicted += 1;
                }
            }
            traces.order.push_back((id, Instant::now()));
            traces.by_id.insert(id, Arc::new(trace));
            true
        })
    }

    /// Whether a trace with this ID is stored.
    pub fn contains(&self, tenant: u16, id: &[u8; 16]) -> bool {
        self.with(tenant, |traces| traces.by_id.contains_key(id))
    }

    /// One trace by ID.
    pub fn get(&self, tenant: u16, id: &[u8; 16]) -> Option<Arc<AssembledTrace>> {
        self.with(tenant, |traces| traces.by_id.get(id).cloned())
    }

    /// Traces whose root started in `[start, end)` (unix ns), oldest first, at most `limit`.
    pub fn search(
        &self,
        tenant: u16,
        start: u64,
        end: u64,
        limit: usize,
    ) -> Vec<Arc<AssembledTrace>> {
        self.with(tenant, |traces| {
            let mut found: Vec<_> = traces
                .by_id
                .values()
                .filter(|t| (start..end).contains(&t.start_time_unix_nano))
                .cloned()
                .collect();
            found.sort_by(|a, b| {
                (a.start_time_unix_nano, &a.trace_id).cmp(&(b.start_time_unix_nano, &b.trace_id))
            });
            found.truncate(limit);
            found
        })
    }

    /// (stored, evicted) for a tenant.
    pub fn counts(&self, tenant: u16) -> (usize, u64) {
        self.with(tenant, |traces| (traces.by_id.len(), traces.evicted))
    }
}
