//! Latency histograms per (tenant, service, operation), one set per worker so workers never
//! share a cache line on the hot path; a query merges the workers' sets.
//!
//! Spans of one resource share the same service range, so the service map is looked up once per
//! run of spans, and the operation map once per span (an FxHash of the span name). Beside each
//! service's histograms sit its span counts by status (unset, ok, error), counted in the same
//! pass with no allocation: `/metrics` exports them for a Prometheus error-ratio rule.
//! Beside each HDR histogram sit the series' classic buckets (`buckets`), also for `/metrics`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::FxHashMap;
use super::buckets::{DurationBuckets, SPANMETRICS_DEFAULT_MS};
use crate::pipeline::span_ref::SpanRef;

type Ops = FxHashMap<Box<[u8]>, OpSeries>;

/// One operation's HDR histogram and classic buckets.
#[derive(Debug)]
struct OpSeries {
    hdr: Histogram<u64>,
    buckets: DurationBuckets,
}

/// (service, operation) as sent.
pub type SeriesKey = (Box<[u8]>, Box<[u8]>);

/// Spans by status code: unset (0, and codes this version does not know), ok (1), error (2).
pub type StatusCounts = [u64; 3];

/// One service's histograms and span counts by status.
#[derive(Debug, Default)]
struct ServiceSeries {
    ops: Ops,
    status: StatusCounts,
}

#[derive(Debug, Default)]
struct TenantSeries {
    services: FxHashMap<Box<[u8]>, ServiceSeries>,
    series: usize,
    dropped_spans: u64,
}

/// One worker's histograms.
#[derive(Debug)]
pub struct WorkerHistograms {
    digits: u8,
    series_limit: usize,
    tenants: Vec<TenantSeries>,
    /// The coarse-histogram fault is on for the batch being recorded.
    pub coarse: bool,
    bounds: Arc<[u64]>,
}

/// Quantiles of one series, in nanoseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeriesSummary {
    /// `service.name` of the spans' resource (empty when absent).
    pub service: String,
    /// Span name.
    pub operation: String,
    /// Spans recorded.
    pub count: u64,
    /// Median duration.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Smallest duration recorded.
    pub min_ns: u64,
    /// Largest duration recorded.
    pub max_ns: u64,
}

impl WorkerHistograms {
    /// Empty histograms with `digits` significant digits and at most `series_limit` series per
    /// tenant.
    pub fn new(digits: u8, series_limit: usize) -> Self {
        Self {
            digits,
            series_limit,
            tenants: Vec::new(),
            coarse: false,
            bounds: SPANMETRICS_DEFAULT_MS
                .iter()
                .map(|ms| ms * 1_000_000)
                .collect(),
        }
    }

    /// The same with classic buckets under `bounds` (ns, ascending) instead of the spanmetrics
    /// connector's defaults.
    pub fn with_buckets(mut self, bounds: Arc<[u64]>) -> Self {
        self.bounds = bounds;
        self
    }

    /// Records the durations of a batch's spans.
    pub fn record_batch(&mut self, tenant: u16, body: &[u8], spans: &[SpanRef]) {
        let index = usize::from(tenant);
        if self.tenants.len() <= index {
            self.tenants.resize_with(index + 1, TenantSeries::default);
        }
        let (digits, limit, coarse) = (self.digits, self.series_limit, self.coarse);
        let bounds = &self.bounds;
        let series = &mut self.tenants[index];
        for run in spans.chunk_by(|a, b| a.service == b.service) {
            let service = key_of(run[0].service.slice(body));
            // A new service is only taken while there is room for one more series: services
            // never outnumber series, so both stay within the limit.
            if !series.services.contains_key(service) {
                if series.series >= limit {
                    series.dropped_spans += run.len() as u64;
                    continue;
                }
                series
                    .services
                    .insert(service.into(), ServiceSeries::default());
            }
            let Some(ServiceSeries { ops, status }) = series.services.get_mut(service) else {
                continue;
            };
            for span in run {
                status[status_index(span.status_code)] += 1;
                let name = key_of(span.name.slice(body));
                let op = match ops.get_mut(name) {
                    Some(h) => h,
                    None if series.series >= limit => {
                        series.dropped_spans += 1;
                        continue;
                    }
                    None => {
                        series.series += 1;
                        let hdr = Histogram::new(digits).expect("digits validated to 1..=5");
                        let buckets = DurationBuckets::new(bounds.clone());
                        ops.entry(name.into()).or_insert(OpSeries { hdr, buckets })
                    }
                };
                let ns = if coarse {
                    crate::pipeline::faults::one_digit(span.duration_ns())
                } else {
                    span.duration_ns()
                };
                op.buckets.record(ns);
                let histogram = &mut op.hdr;
                // `record` grows the histogram; `saturating_record` would clamp instead.
                if histogram.record(ns).is_err() {
                    histogram.saturating_record(ns);
                }
            }
        }
    }

    /// Adds this worker's histograms of `tenant` into `into`.
    pub fn merge_into(&self, tenant: u16, into: &mut Merged) {
        let Some(series) = self.tenants.get(usize::from(tenant)) else {
            return;
        };
        into.dropped_spans += series.dropped_spans;
        for (service, ServiceSeries { ops, .. }) in &series.services {
            for (op, OpSeries { hdr: h, .. }) in ops {
                let key = (lossy(service), lossy(op));
                match into.series.get_mut(&key) {
                    Some(m) => {
                        // Same significant digits everywhere, auto-resizing: adding cannot fail.
                        let _ = m.add(h);
                    }
                    None => drop(into.series.insert(key, h.clone())),
                }
            }
        }
    }

    /// Adds this worker's classic buckets of `tenant` into `into`, by (service, operation).
    pub fn buckets_into(
        &self,
        tenant: u16,
        into: &mut BTreeMap<(String, String), DurationBuckets>,
    ) {
        let Some(series) = self.tenants.get(usize::from(tenant)) else {
            return;
        };
        for (service, ServiceSeries { ops, .. }) in &series.services {
            for (op, s) in ops {
                let key = (lossy(service), lossy(op));
                match into.get_mut(&key) {
                    Some(m) => m.add(&s.buckets),
                    None => drop(into.insert(key, s.buckets.clone())),
                }
            }
        }
    }

    /// Adds this worker's series keys of `tenant` to `keys` and returns its dropped spans, for
    /// `/api/v1/stats` (workers share series, so they are counted once over all workers).
    pub fn series_keys(&self, tenant: u16, keys: &mut HashSet<SeriesKey>) -> u64 {
        let Some(series) = self.tenants.get(usize::from(tenant)) else {
            return 0;
        };
        for (service, ServiceSeries { ops, .. }) in &series.services {
            keys.extend(ops.keys().map(|op| (service.clone(), op.clone())));
        }
        series.dropped_spans
    }

    /// The most series any tenant holds in this worker, and the spans this worker did not
    /// record for want of room, over all tenants (for the limits of `/api/v1/stats`).
    pub fn usage(&self) -> (usize, u64) {
        self.tenants.iter().fold((0, 0), |(most, dropped), t| {
            (most.max(t.series), dropped + t.dropped_spans)
        })
    }

    /// Adds this worker's span counts by status of `tenant`, per service, into `into`.
    pub fn status_into(&self, tenant: u16, into: &mut BTreeMap<String, StatusCounts>) {
        let Some(series) = self.tenants.get(usize::from(tenant)) else {
            return;
        };
        for (service, s) in &series.services {
            let counts = into.entry(lossy(service)).or_default();
            for (total, n) in counts.iter_mut().zip(s.status) {
                *total += n;
            }
        }
    }
}

/// Longest service or operation name kept as a series key, in bytes; longer names are cut, so
/// that the memory of `series_per_tenant` series is bounded by the limit, not by what a client
/// sends (a name may otherwise be as long as a whole request).
pub const MAX_SERIES_NAME_BYTES: usize = 256;

fn key_of(name: &[u8]) -> &[u8] {
    &name[..name.len().min(MAX_SERIES_NAME_BYTES)]
}

/// Where a status code is counted in [`StatusCounts`].
fn status_index(code: i32) -> usize {
    match code {
        1 => 1,
        2 => 2,
        _ => 0,
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Histograms of one tenant merged over all workers.
#[derive(Debug, Default)]
pub struct Merged {
    /// By (service, operation).
    pub series: BTreeMap<(String, String), Histogram<u64>>,
    /// Spans not recorded because the tenant reached its series limit.
    pub dropped_spans: u64,
}

impl Merged {
    /// Quantile summaries, ordered by service then operation.
    pub fn summaries(&self) -> Vec<SeriesSummary> {
        let q = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q);
        self.series
            .iter()
            .map(|((service, operation), h)| SeriesSummary {
                service: service.clone(),
                operation: operation.clone(),
                count: h.len(),
                p50_ns: q(h, 0.5),
                p90_ns: q(h, 0.9),
                p99_ns: q(h, 0.99),
                p999_ns: q(h, 0.999),
                min_ns: h.min(),
                max_ns: h.max(),
            })
            .collect()
    }
}
