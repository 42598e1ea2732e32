//! Assembled traces, per tenant, bounded in count and age per tenant and in bytes over all
//! tenants (oldest evicted first, and counted).
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
    order: VecDeque<([u8; 16], Instant, usize)>,
    by_id: HashMap<[u8; 16], Arc<AssembledTrace>>,
    bytes: usize,
    evicted: u64,
}

impl TenantTraces {
    /// Evicts the oldest trace, returning its size.
    fn evict_oldest(&mut self) -> usize {
        let Some((id, _, size)) = self.order.pop_front() else {
            return 0;
        };
        self.by_id.remove(&id);
        self.bytes -= size;
        self.evicted += 1;
        size
    }
}

#[derive(Debug, Default)]
struct Tenants {
    by_tenant: HashMap<u16, TenantTraces>,
    bytes: usize,
}

/// Assembled traces of all tenants.
#[derive(Debug)]
pub struct TraceStore {
    tenants: Mutex<Tenants>,
    per_tenant: usize,
    max_bytes: usize,
    max_age: Duration,
}

impl TraceStore {
    /// An empty store of at most `per_tenant` traces per tenant, each kept at most `max_age`,
    /// and at most `max_bytes` of traces (their size as the query API returns them) over all
    /// tenants; over that, the tenant keeping the most bytes loses its oldest trace, so a
    /// flood of assembled traces evicts its own before anyone else's.
    pub fn new(per_tenant: usize, max_bytes: usize, max_age: Duration) -> Self {
        Self {
            tenants: Mutex::default(),
            per_tenant: per_tenant.max(1),
            max_bytes,
            max_age,
        }
    }

    fn with<R>(&self, tenant: u16, f: impl FnOnce(&mut TenantTraces) -> R) -> R {
        let mut all = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let all = &mut *all;
        let traces = all.by_tenant.entry(tenant).or_default();
        let now = Instant::now();
        while let Some(&(_, at, _)) = traces.order.front() {
            if traces.order.len() <= self.per_tenant && now.duration_since(at) < self.max_age {
                break;
            }
            all.bytes -= traces.evict_oldest();
        }
        let before = traces.bytes;
        let out = f(traces);
        all.bytes = all.bytes + traces.bytes - before;
        while all.bytes > self.max_bytes {
            let Some(largest) = all.by_tenant.values_mut().max_by_key(|t| t.bytes) else {
                break;
            };
            match largest.evict_oldest() {
                0 => break,
                size => all.bytes -= size,
            }
        }
        out
    }

    /// Stores a trace; `false` when one with this ID is already there.
    pub fn insert(&self, tenant: u16, id: [u8; 16], trace: AssembledTrace) -> bool {
        let per_tenant = self.per_tenant;
        let size = json_size(&trace);
        self.with(tenant, |traces| {
            if traces.by_id.contains_key(&id) {
                return false;
            }
            if traces.order.len() >= per_tenant {
                traces.evict_oldest();
            }
            traces.order.push_back((id, Instant::now(), size));
            traces.by_id.insert(id, Arc::new(trace));
            traces.bytes += size;
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

    /// Bytes of traces stored over all tenants.
    pub fn bytes(&self) -> usize {
        self.tenants.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }

    /// (stored, evicted) for a tenant.
    pub fn counts(&self, tenant: u16) -> (usize, u64) {
        self.with(tenant, |traces| (traces.by_id.len(), traces.evicted))
    }
}

/// The size of a trace as the query API returns it, counted without building the JSON.
fn json_size(trace: &AssembledTrace) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Serialising plain structs and JSON maps into a writer that cannot fail does not fail.
    let _ = serde_json::to_writer(&mut count, trace);
    count.0.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(id: u8, spans: usize) -> AssembledTrace {
        let span = AssembledSpan {
            span_id: "00".repeat(8),
            parent_span_id: String::new(),
            name: "x".repeat(100),
            service: "svc".into(),
            kind: 1,
            start_time_unix_nano: 0,
            end_time_unix_nano: 0,
            attributes: serde_json::Map::new(),
            status_code: 0,
            status_message: String::new(),
            trace_state: String::new(),
            flags: 0,
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
            events: vec![],
            links: vec![],
            resource: AssembledResource::default(),
            scope: AssembledScope::default(),
        };
        AssembledTrace {
            trace_id: format!("{id:032x}"),
            root_name: "root".into(),
            root_service: "svc".into(),
            start_time_unix_nano: 1_000,
            duration_ns: 1,
            assembled_at_unix_nano: 0,
            span_count: spans,
            spans: vec![span; spans],
        }
    }

    #[test]
    fn the_byte_bound_evicts_the_oldest_traces_of_the_tenant_keeping_the_most() {
        let one = json_size(&trace(0, 100));
        let store = TraceStore::new(1_000, one * 10, Duration::from_secs(60));
        assert!(store.insert(1, [1; 16], trace(1, 100)));
        assert!(store.insert(1, [2; 16], trace(2, 100)));
        for i in 0..50u8 {
            store.insert(2, [i + 10; 16], trace(i + 10, 100));
        }
        assert!(
            store.bytes() <= one * 10,
            "{} > {}",
            store.bytes(),
            one * 10
        );
        // The flood evicted its own traces; the small tenant keeps both of its own.
        assert_eq!(store.counts(1), (2, 0));
        let (kept, evicted) = store.counts(2);
        assert_eq!((kept, evicted), (8, 42));
        assert!(store.get(2, &[59; 16]).is_some() && store.get(2, &[10; 16]).is_none());
    }

    #[test]
    fn a_store_under_its_bounds_keeps_everything() {
        let store = TraceStore::new(10, usize::MAX, Duration::from_secs(60));
        for i in 0..10u8 {
            assert!(store.insert(1, [i; 16], trace(i, 3)));
        }
        assert!(
            !store.insert(1, [0; 16], trace(0, 3)),
            "a duplicate ID is refused"
        );
        assert_eq!(store.counts(1), (10, 0));
        assert!(store.insert(1, [10; 16], trace(10, 3)));
        assert_eq!(
            store.counts(1),
            (10, 1),
            "the count bound evicts the oldest"
        );
    }
}
