//! Per-worker counters and HDR histograms, and the totals they are merged into once per second.
//!
//! A worker records into its own `Interval` with no sharing; once per reporting interval it hands
//! the whole interval to the collector and starts a fresh one.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::transport::Delivery;

/// Highest value the histograms hold, in microseconds (one hour); larger values saturate.
const HIST_MAX_US: u64 = 3_600_000_000;

/// A histogram of microseconds, 3 significant digits.
pub fn micros_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_US, 3).expect("constant bounds are valid")
}

/// Records a duration in microseconds, saturating at the histogram's maximum.
pub fn record_us(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
}

/// Span and batch counters of one stream.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Spans handed to the transport.
    pub sent: u64,
    /// Spans the target accepted.
    pub acked: u64,
    /// Spans the target refused for good.
    pub rejected: u64,
    /// Spans that got no definitive answer.
    pub failed: u64,
    /// Batches handed to the transport.
    pub batches: u64,
    /// Encoded bytes handed to the transport.
    pub bytes: u64,
    /// Retries the transport made.
    pub retries: u64,
}

impl Counts {
    /// Adds another set of counters.
    pub fn add(&mut self, other: &Counts) {
        self.sent += other.sent;
        self.acked += other.acked;
        self.rejected += other.rejected;
        self.failed += other.failed;
        self.batches += other.batches;
        self.bytes += other.bytes;
        self.retries += other.retries;
    }

    /// Adds the outcome of one batch.
    pub fn add_delivery(&mut self, d: &Delivery) {
        self.acked += d.acked;
        self.rejected += d.rejected;
        self.failed += d.failed;
        self.retries += u64::from(d.retries);
    }

    /// Spans sent but not yet decided (in flight).
    pub fn in_flight(&self) -> u64 {
        self.sent - self.acked - self.rejected - self.failed
    }
}

/// What one worker measured during one reporting interval.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Counters per stream, indexed like the scenario's streams.
    pub streams: Vec<Counts>,
    /// Schedule lag (actual minus intended send time), µs.
    pub lag_us: Histogram<u64>,
    /// Export latency from the intended send time to the answer, µs.
    pub latency_us: Histogram<u64>,
    /// Time workers spent waiting for a free in-flight slot (every slot held by an unanswered
    /// export), summed over workers: the target's backpressure, as opposed to a generator
    /// short of CPU.
    pub waiting_for_acks: std::time::Duration,
}

impl Interval {
    /// An empty interval for `streams` streams.
    pub fn new(streams: usize) -> Self {
        Self {
            streams: vec![Counts::default(); streams],
            lag_us: micros_histogram(),
            latency_us: micros_histogram(),
            waiting_for_acks: std::time::Duration::ZERO,
        }
    }

    /// Merges another interval into this one.
    pub fn merge(&mut self, other: &Interval) {
        for (mine, theirs) in self.streams.iter_mut().zip(&other.streams) {
            mine.add(theirs);
        }
        self.lag_us
            .add(&other.lag_us)
            .expect("histograms share bounds");
        self.latency_us
            .add(&other.latency_us)
            .expect("histograms share bounds");
        self.waiting_for_acks += other.waiting_for_acks;
    }

    /// Counters summed over streams.
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for c in &self.streams {
            total.add(c);
        }
        total
    }
}
