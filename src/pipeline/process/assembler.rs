//! Trace assembly: when a worker sees a root span at or above the tenant's threshold it enqueues
//! the trace; once the settle window has passed, the assembler collects the trace's spans from
//! every worker's span store (children sent earlier, in other requests, or after the root
//! within the window), decodes them with prost, and stores the trace exactly once.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use super::worker::{self, WorkerState};
use crate::pipeline::alerts::evaluator::unix_nanos;
use crate::pipeline::store::spans::FoundSpan;
use crate::pipeline::store::traces::{
    AssembledEvent, AssembledLink, AssembledResource, AssembledScope, AssembledSpan,
    AssembledTrace, TraceStore,
};

#[derive(Debug, Default)]
struct Pending {
    /// Due time, tenant, trace ID, and whether the faults were on when its root arrived.
    queue: VecDeque<(Instant, u16, [u8; 16], bool)>,
    keys: HashSet<(u16, [u8; 16])>,
}

/// Traces waiting for their settle window, and assembly counters.
#[derive(Debug)]
pub struct Assembler {
    pending: Mutex<Pending>,
    settle: Duration,
    limit: usize,
    /// Traces assembled.
    pub assembled: AtomicU64,
    /// Roots not enqueued because `pending_assemblies` was reached.
    pub dropped: AtomicU64,
    /// Stored spans prost could not decode (skipped).
    pub undecodable_spans: AtomicU64,
    faults: AssemblyFaults,
}

/// The assembly faults (`Faults::extra_assembly_every`, `Faults::corrupt_every`,
/// `assemble_at_root`, `max_trace_spans`, `count_duplicate_spans`) and their counters.
#[derive(Debug, Default)]
pub struct AssemblyFaults {
    /// Assemble every Nth root below the threshold (0: never).
    pub extra_every: u64,
    /// Corrupt every Nth assembled trace (0: never).
    pub corrupt_every: u64,
    /// Assemble when the root arrives, without waiting for late spans.
    pub at_root: bool,
    /// Keep at most this many spans of a trace (0: all).
    pub max_spans: usize,
    /// Count both copies of a span that arrived twice.
    pub count_duplicates: bool,
    /// Drop every link.
    pub drop_links: bool,
    /// Drop the first attribute of every event.
    pub drop_event_attribute: bool,
    below_threshold_roots: AtomicU64,
    assembled_for_corruption: AtomicU64,
}

impl AssemblyFaults {
    /// The faults configured in `faults`.
    pub fn from_config(faults: &crate::pipeline::config::Faults) -> Self {
        Self {
            extra_every: faults.extra_assembly_every,
            corrupt_every: faults.corrupt_every,
            at_root: faults.assemble_at_root,
            max_spans: faults.max_trace_spans,
            count_duplicates: faults.count_duplicate_spans,
            drop_links: faults.drop_links,
            drop_event_attribute: faults.drop_event_attribute,
            ..Self::default()
        }
    }
}

fn every_nth(counter: &AtomicU64, n: u64) -> bool {
    n > 0 && (counter.fetch_add(1, Relaxed) + 1) % n == 0
}

impl Assembler {
    /// An assembler that waits `settle` after a root, with at most `limit` traces waiting.
    pub fn new(settle: Duration, limit: usize) -> Self {
        Self::with_faults(settle, limit, AssemblyFaults::default())
    }

    /// An assembler that also commits the given faults.
    pub fn with_faults(settle: Duration, limit: usize, faults: AssemblyFaults) -> Self {
        Self {
            faults,
            pending: Mutex::default(),
            settle,
            limit,
            assembled: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            undecodable_spans: AtomicU64::new(0),
        }
    }

    /// Called for a root below the threshold: whether the extra-assembly fault takes it.
    pub fn extra_fault(&self) -> bool {
        every_nth(&self.faults.below_threshold_roots, self.faults.extra_every)
    }

    /// Schedules a trace whose root was seen at `seen` (a second root of it is ignored).
    pub fn enqueue(&self, tenant: u16, trace_id: [u8; 16], seen: Instant) {
        self.enqueue_faulty(tenant, trace_id, seen, false);
    }

    /// Schedules a trace whose root was seen at `seen` while the faults were on (`faulty`):
    /// the corruption fault applies to such traces only, however late they are assembled.
    pub fn enqueue_faulty(&self, tenant: u16, trace_id: [u8; 16], seen: Instant, faulty: bool) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.queue.len() >= self.limit {
            self.dropped.fetch_add(1, Relaxed);
            return;
        }
        let settle = if faulty && self.faults.at_root {
            Duration::ZERO
        } else {
            self.settle
        };
        if pending.keys.insert((tenant, trace_id)) {
            pending
                .queue
                .push_back((seen + settle, tenant, trace_id, faulty));
        }
    }

    /// Traces waiting.
    pub fn waiting(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .queue
            .len()
    }

    /// Assembles every trace whose settle window ended by `now` from the span stores of
    /// `workers` into `traces`.
    pub fn run_due(&self, workers: &[Mutex<WorkerState>], traces: &TraceStore, now: Instant) {
        loop {
            let next = {
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                match pending.queue.front() {
                    Some(&(due, tenant, id, faulty)) if due <= now => {
                        pending.queue.pop_front();
                        pending.keys.remove(&(tenant, id));
                        Some((tenant, id, faulty))
                    }
                    _ => None,
                }
            };
            let Some((tenant, id, faulty)) = next else {
                return;
            };
            if traces.contains(tenant, &id) {
                continue;
            }
            if let Some(mut trace) = self.assemble(workers, tenant, &id, faulty) {
                if faulty
                    && every_nth(
                        &self.faults.assembled_for_corruption,
                        self.faults.corrupt_every,
                    )
                {
                    corrupt(&mut trace);
                }
                if faulty {
                    self.lose_content(&mut trace);
                }
                if traces.insert(tenant, id, trace) {
                    self.assembled.fetch_add(1, Relaxed);
                }
            }
        }
    }

    fn assemble(
        &self,
        workers: &[Mutex<WorkerState>],
        tenant: u16,
        id: &[u8; 16],
        faulty: bool,
    ) -> Option<AssembledTrace> {
        let mut found = Vec::new();
        for state in workers {
            worker::lock(state)
                .spans
                .find(tenant, id, |span| found.push(span));
        }
        let mut spans: Vec<AssembledSpan> = Vec::with_capacity(found.len());
        let mut seen = HashSet::new();
        let copies = found.len();
        for span in found {
            match decode(&span) {
                Some(s) if seen.insert(s.span_id.clone()) => spans.push(s),
                Some(_) => {}
                None => drop(self.undecodable_spans.fetch_add(1, Relaxed)),
            }
        }
        spans.sort_by(|a, b| {
            (a.start_time_unix_nano, &a.span_id).cmp(&(b.start_time_unix_nano, &b.span_id))
        });
        let mut span_count = spans.len();
        if faulty && self.faults.count_duplicates {
            span_count = copies;
        }
        if faulty && self.faults.max_spans > 0 && spans.len() > self.faults.max_spans {
            spans.truncate(self.faults.max_spans);
            span_count = spans.len();
        }
        let root = spans
            .iter()
            .filter(|s| s.parent_span_id.is_empty())
            .max_by_key(|s| s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano))?;
        Some(AssembledTrace {
            trace_id: hex(id),
            root_name: root.name.clone(),
            root_service: root.service.clone(),
            start_time_unix_nano: root.start_time_unix_nano,
            duration_ns: root
                .end_time_unix_nano
                .saturating_sub(root.start_time_unix_nano),
            assembled_at_unix_nano: unix_nanos(),
            span_count,
            spans,
        })
    }
}

impl Assembler {
    /// The content faults: links dropped, event attributes lost.
    fn lose_content(&self, trace: &mut AssembledTrace) {
        for span in &mut trace.spans {
            if self.faults.drop_links {
                span.links.clear();
            }
            if self.faults.drop_event_attribute {
                for event in &mut span.events {
                    let first = event.attributes.keys().next().cloned();
                    if let Some(key) = first {
                        event.attributes.remove(&key);
                    }
                }
            }
        }
    }
}

/// The corruption fault: alter the value of the first attribute of the first span.
fn corrupt(trace: &mut AssembledTrace) {
    let first = trace
        .spans
        .first_mut()
        .and_then(|s| s.attributes.values_mut().next());
    if let Some(value) = first {
        *value = serde_json::Value::String("corrupted".into());
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn decode(found: &FoundSpan) -> Option<AssembledSpan> {
    let span = Span::decode(found.span.slice(&found.body)).ok()?;
    let service = String::from_utf8_lossy(found.service.slice(&found.body)).into_owned();
    let parent = if span.parent_span_id.iter().all(|b| *b == 0) {
        String::new()
    } else {
        hex(&span.parent_span_id)
    };
    let status = span.status.unwrap_or_default();
    Some(AssembledSpan {
        span_id: hex(&span.span_id),
        parent_span_id: parent,
        name: span.name,
        service,
        kind: span.kind,
        start_time_unix_nano: span.start_time_unix_nano,
        end_time_unix_nano: span.end_time_unix_nano,
        attributes: attributes(&span.attributes),
        status_code: status.code,
        status_message: status.message,
        trace_state: span.trace_state,
        flags: span.flags,
        dropped_attributes_count: span.dropped_attributes_count,
        dropped_events_count: span.dropped_events_count,
        dropped_links_count: span.dropped_links_count,
        events: span
            .events
            .iter()
            .map(|e| AssembledEvent {
                time_unix_nano: e.time_unix_nano,
                name: e.name.clone(),
                attributes: attributes(&e.attributes),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        links: span
            .links
            .iter()
            .map(|l| AssembledLink {
                trace_id: hex(&l.trace_id),
                span_id: hex(&l.span_id),
                trace_state: l.trace_state.clone(),
                attributes: attributes(&l.attributes),
                dropped_attributes_count: l.dropped_attributes_count,
                flags: l.flags,
            })
            .collect(),
        resource: resource(found),
        scope: scope(found),
    })
}

/// The span's resource; an undecodable one (the scanner only checked its framing) is empty.
fn resource(found: &FoundSpan) -> AssembledResource {
    let r = Resource::decode(found.resource.slice(&found.body)).unwrap_or_default();
    AssembledResource {
        attributes: attributes(&r.attributes),
        dropped_attributes_count: r.dropped_attributes_count,
    }
}

/// The span's instrumentation scope; an undecodable one is empty.
fn scope(found: &FoundSpan) -> AssembledScope {
    let s = InstrumentationScope::decode(found.scope.slice(&found.body)).unwrap_or_default();
    AssembledScope {
        name: s.name,
        version: s.version,
        attributes: attributes(&s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
    }
}

fn attributes(kvs: &[KeyValue]) -> serde_json::Map<String, serde_json::Value> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), any_value(kv.value.as_ref())))
        .collect()
}

/// An `AnyValue` as JSON: strings, numbers, booleans as themselves, bytes as hex, arrays and
/// key-value lists as arrays and objects, an unset value as `null`.
pub fn any_value(value: Option<&AnyValue>) -> serde_json::Value {
    use serde_json::Value as J;
    match value.and_then(|v| v.value.as_ref()) {
        None => J::Null,
        Some(any_value::Value::StringValue(s)) => J::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => J::Bool(*b),
        Some(any_value::Value::IntValue(i)) => J::from(*i),
        Some(any_value::Value::DoubleValue(d)) => J::from(*d),
        Some(any_value::Value::BytesValue(b)) => J::String(hex(b)),
        Some(any_value::Value::ArrayValue(a)) => {
            J::Array(a.values.iter().map(|v| any_value(Some(v))).collect())
        }
        Some(any_value::Value::KvlistValue(l)) => J::Object(attributes(&l.values)),
        #[allow(unreachable_patterns)]
        Some(_) => J::Null,
    }
}
