//! Bucket arithmetic on the histograms Prometheus answered: what each raw series gained in the
//! window, the sum per service and operation, and each quantile's bucket by rank.

use std::collections::BTreeMap;

use super::SpanmetricsPlan;
use super::answer::{Bin, Hist, RawSeries};
use crate::verify::api::Series;
use crate::verify::histograms::{Bucket, BucketedSeries, QUANTILES};

/// A bucket's identity: its bounds, exactly.
type Key = (u64, u64);

fn key(b: &Bin) -> Key {
    (b.lower.to_bits(), b.upper.to_bits())
}

/// What each raw series of `end` gained since `start`. A series absent at the start was born in
/// the window and counts whole; one with a count or bucket that fell was reset in the window and
/// counts from its reset.
pub fn increase(start: Vec<RawSeries>, end: Vec<RawSeries>) -> Vec<RawSeries> {
    let before: BTreeMap<_, _> = start.into_iter().map(|s| (s.labels, s.hist)).collect();
    end.into_iter()
        .map(|mut s| {
            if let Some(b) = before.get(&s.labels)
                && let Some(gained) = difference(&s.hist, b)
            {
                s.hist = gained;
            }
            s
        })
        .collect()
}

/// `end − start` bucket by bucket, `None` when a count fell (a reset).
fn difference(end: &Hist, start: &Hist) -> Option<Hist> {
    let mut was: BTreeMap<Key, f64> = start.bins.iter().map(|b| (key(b), b.count)).collect();
    let mut bins = Vec::with_capacity(end.bins.len());
    for b in &end.bins {
        let count = b.count - was.remove(&key(b)).unwrap_or(0.0);
        if count < 0.0 {
            return None;
        }
        bins.push(Bin { count, ..*b });
    }
    // A bucket that held counts and vanished, or a count that fell: the series restarted.
    let count = end.count - start.count;
    if count < 0.0 || was.values().any(|c| *c > 0.0) {
        return None;
    }
    Some(Hist { count, bins })
}

/// The sum of the raw series per (service, operation), with each quantile's bucket.
pub fn by_operation(
    raw: &[RawSeries],
    plan: &SpanmetricsPlan,
) -> Result<Vec<BucketedSeries>, String> {
    let mut sums: BTreeMap<(String, String), (f64, BTreeMap<Key, Bin>)> = BTreeMap::new();
    for s in raw {
        let label = |name: &str| s.labels.get(name).cloned().unwrap_or_default();
        let entry = sums
            .entry((label(&plan.service_label), label(&plan.operation_label)))
            .or_default();
        entry.0 += s.hist.count;
        for b in &s.hist.bins {
            entry
                .1
                .entry(key(b))
                .or_insert(Bin { count: 0.0, ..*b })
                .count += b.count;
        }
    }
    sums.into_iter()
        .map(|((service, operation), (count, bins))| {
            let mut bins: Vec<Bin> = bins.into_values().collect();
            bins.sort_by(|a, b| a.lower.total_cmp(&b.lower));
            if let Some(w) = bins.windows(2).find(|w| w[1].lower < w[0].upper) {
                return Err(format!(
                    "{service}/{operation}: buckets ({}, {}] and ({}, {}] overlap (series of \
                     different bucket layouts cannot be summed)",
                    w[0].lower, w[0].upper, w[1].lower, w[1].upper
                ));
            }
            Ok(quantiles(service, operation, count, &bins, plan.unit.ns()))
        })
        .collect()
}

/// The bucket of each of [`QUANTILES`]: the one holding the value of rank ⌈q·n⌉, the rank
/// [`crate::verify::histograms::exact_quantile`] uses.
fn quantiles(
    service: String,
    operation: String,
    count: f64,
    bins: &[Bin],
    unit_ns: f64,
) -> BucketedSeries {
    let n = count.round().max(0.0) as u64;
    let buckets: Vec<Bucket> = if n == 0 {
        Vec::new()
    } else {
        QUANTILES
            .iter()
            .filter_map(|q| {
                let rank = ((q * n as f64).ceil() as u64).clamp(1, n) as f64;
                let mut cum = 0.0;
                let bin = bins.iter().find(|b| {
                    cum += b.count;
                    cum >= rank - 0.5
                })?;
                Some(Bucket {
                    lower_ns: bin.lower.max(0.0) * unit_ns,
                    upper_ns: bin.upper.is_finite().then(|| bin.upper * unit_ns),
                })
            })
            .collect()
    };
    let at = |i: usize| buckets.get(i).map_or(0, Bucket::representative_ns);
    BucketedSeries {
        series: Series {
            service,
            operation,
            count: n,
            p50_ns: at(0),
            p90_ns: at(1),
            p99_ns: at(2),
            p999_ns: at(3),
            max_ns: at(4),
        },
        buckets,
    }
}
