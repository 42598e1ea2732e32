//! Recent spans, kept for trace assembly: one store per worker (no sharing on the hot path).
//!
//! A span costs one 48-byte record in a ring plus its share of the request bytes, which the
//! store keeps alive (`Bytes`, no copy). Records are chained by trace ID through a bucket array
//! (`heads`), so inserting is O(1) with no allocation and finding a trace walks only its bucket.
//! Eviction is FIFO by request: when the ring, the byte budget or the age limit is exceeded, the
//! oldest request and all its records go, and are counted.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::pipeline::span_ref::{Range, SpanRef};

#[derive(Debug, Clone, Copy, Default)]
struct Record {
    trace_id: [u8; 16],
    /// `seq + 1` of the previous record in the same bucket; 0 ends the chain.
    prev: u64,
    span: Range,
    service: Range,
    resource: Range,
    scope: Range,
    tenant: u16,
}

#[derive(Debug)]
struct StoredBatch {
    first_seq: u64,
    spans: u64,
    body: Bytes,
    at: Instant,
}

/// What the store has dropped, in spans.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SpanEvictions {
    /// Evicted to make room (span or byte limit).
    pub capacity: u64,
    /// Evicted because they were older than the age limit.
    pub age: u64,
}

/// One worker's recent spans.
#[derive(Debug)]
pub struct SpanStore {
    records: Vec<Record>,
    capacity: usize,
    heads: Vec<u64>,
    mask: usize,
    next_seq: u64,
    batches: VecDeque<StoredBatch>,
    bytes: usize,
    max_bytes: usize,
    max_age: Duration,
    /// Spans dropped so far.
    pub evictions: SpanEvictions,
}

/// One stored span found by [`SpanStore::find`]: the request it came in and where it is.
#[derive(Debug, Clone)]
pub struct FoundSpan {
    /// The request bytes.
    pub body: Bytes,
    /// The encoded `Span` in `body`.
    pub span: Range,
    /// The `service.name` value in `body`.
    pub service: Range,
    /// The encoded `Resource` in `body` (empty when the request had none).
    pub resource: Range,
    /// The encoded `InstrumentationScope` in `body` (empty when the request had none).
    pub scope: Range,
}

impl SpanStore {
    /// A store of at most `capacity` spans, `max_bytes` request bytes and `max_age` age.
    pub fn new(capacity: usize, max_bytes: usize, max_age: Duration) -> Self {
        let capacity = capacity.max(1);
        let buckets = capacity.next_power_of_two();
        Self {
            records: Vec::new(),
            capacity,
            heads: vec![0; buckets],
            mask: buckets - 1,
            next_seq: 0,
            batches: VecDeque::new(),
            bytes: 0,
            max_bytes,
            max_age,
            evictions: SpanEvictions::default(),
        }
    }

    fn oldest_seq(&self) -> u64 {
        self.batches.front().map_or(self.next_seq, |b| b.first_seq)
    }

    /// Spans currently stored.
    pub fn len(&self) -> u64 {
        self.next_seq - self.oldest_seq()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Request bytes currently kept alive.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn bucket(&self, trace_id: &[u8; 16]) -> usize {
        let low = u64::from_le_bytes(trace_id[8..].try_into().unwrap_or_default());
        let high = u64::from_le_bytes(trace_id[..8].try_into().unwrap_or_default());
        ((low ^ high.rotate_left(29)) as usize) & self.mask
    }

    /// Evicts requests older than the age limit.
    pub fn expire(&mut self, now: Instant) {
        while let Some(front) = self.batches.front() {
            if now.duration_since(front.at) < self.max_age {
                break;
            }
            self.evictions.age += front.spans;
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        if let Some(batch) = self.batches.pop_front() {
            self.bytes -= batch.body.len();
        }
    }

    /// Stores the spans of one request.
    pub fn insert(&mut self, tenant: u16, body: &Bytes, spans: &[SpanRef], now: Instant) {
        let n = spans.len();
        if n == 0 {
            return;
        }
        if n > self.capacity || body.len() > self.max_bytes {
            self.evictions.capacity += n as u64;
            return;
        }
        self.expire(now);
        while self.len() as usize + n > self.capacity || self.bytes + body.len() > self.max_bytes {
            self.evictions.capacity += self.batches.front().map_or(0, |b| b.spans);
            self.pop_front();
        }
        self.batches.push_back(StoredBatch {
            first_seq: self.next_seq,
            spans: n as u64,
            body: body.clone(),
            at: now,
        });
        self.bytes += body.len();
        for span in spans {
            let bucket = self.bucket(&span.trace_id);
            let record = Record {
                trace_id: span.trace_id,
                prev: self.heads[bucket],
                span: span.span,
                service: span.service,
                resource: span.resource,
                scope: span.scope,
                tenant,
            };
            let slot = (self.next_seq % self.capacity as u64) as usize;
            if slot == self.records.len() {
                self.records.push(record);
            } else {
                self.records[slot] = record;
            }
            self.next_seq += 1;
            self.heads[bucket] = self.next_seq;
        }
    }

    /// Calls `found` for every stored span of `trace_id` sent by `tenant`, newest first.
    pub fn find(&self, tenant: u16, trace_id: &[u8; 16], mut found: impl FnMut(FoundSpan)) {
        let oldest = self.oldest_seq();
        let mut link = self.heads[self.bucket(trace_id)];
        while link > oldest {
            let seq = link - 1;
            let record = &self.records[(seq % self.capacity as u64) as usize];
            if record.trace_id == *trace_id && record.tenant == tenant {
                let at = self.batches.partition_point(|b| b.first_seq <= seq) - 1;
                found(FoundSpan {
                    body: self.batches[at].body.clone(),
                    span: record.span,
                    service: record.service,
                    resource: record.resource,
                    scope: record.scope,
                });
            }
            link = record.prev;
        }
    }
}

/// One worker's span stores: a single store for all tenants (`shared` isolation), or equal
/// shares (`fair`), tenant `i` in share `i % shares`, so that a flood from one tenant evicts the
/// spans of its own share and not those of every other tenant. The budget is the same either
/// way; it is split, never multiplied.
#[derive(Debug)]
pub struct SpanStores {
    shares: Vec<SpanStore>,
}

impl SpanStores {
    /// `shares` stores (at least one) splitting `capacity` spans and `max_bytes` bytes.
    pub fn new(shares: usize, capacity: usize, max_bytes: usize, max_age: Duration) -> Self {
        let shares = shares.max(1);
        let stores =
            (0..shares).map(|_| SpanStore::new(capacity / shares, max_bytes / shares, max_age));
        Self {
            shares: stores.collect(),
        }
    }

    fn share(&self, tenant: u16) -> usize {
        usize::from(tenant) % self.shares.len()
    }

    /// Stores the spans of one request of `tenant`.
    pub fn insert(&mut self, tenant: u16, body: &Bytes, spans: &[SpanRef], now: Instant) {
        let share = self.share(tenant);
        self.shares[share].insert(tenant, body, spans, now);
    }

    /// Calls `found` for every stored span of `trace_id` sent by `tenant`.
    pub fn find(&self, tenant: u16, trace_id: &[u8; 16], found: impl FnMut(FoundSpan)) {
        self.shares[self.share(tenant)].find(tenant, trace_id, found);
    }

    /// Evicts spans older than the age limit.
    pub fn expire(&mut self, now: Instant) {
        self.shares.iter_mut().for_each(|s| s.expire(now));
    }

    /// (spans stored, request bytes kept, evictions) over all shares.
    pub fn totals(&self) -> (u64, usize, SpanEvictions) {
        self.shares
            .iter()
            .fold((0, 0, SpanEvictions::default()), |(n, b, e), s| {
                let evictions = SpanEvictions {
                    capacity: e.capacity + s.evictions.capacity,
                    age: e.age + s.evictions.age,
                };
                (n + s.len(), b + s.bytes(), evictions)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: u8, at: u32) -> SpanRef {
        SpanRef {
            trace_id: [trace; 16],
            span: Range {
                start: at,
                end: at + 1,
            },
            ..SpanRef::default()
        }
    }

    fn found(store: &SpanStore, trace: u8) -> Vec<u32> {
        let mut out = Vec::new();
        store.find(0, &[trace; 16], |f| out.push(f.span.start));
        out
    }

    #[test]
    fn finds_spans_of_a_trace_across_requests_and_evicts_oldest_first() {
        let mut store = SpanStore::new(4, 1 << 20, Duration::from_secs(60));
        let now = Instant::now();
        let body = Bytes::from_static(b"0123456789");
        store.insert(0, &body, &[span(1, 0), span(2, 1)], now);
        store.insert(0, &body, &[span(1, 2)], now);
        assert_eq!(found(&store, 1), vec![2, 0]);
        store.insert(0, &body, &[span(3, 3), span(1, 4)], now);
        // The first request was evicted: 5 spans do not fit in 4.
        assert_eq!(found(&store, 1), vec![4, 2]);
        assert_eq!(found(&store, 2), Vec::<u32>::new());
        assert_eq!(store.evictions.capacity, 2);
        store.expire(now + Duration::from_secs(61));
        assert!(store.is_empty());
        assert_eq!(store.evictions.age, 3);
    }
}
