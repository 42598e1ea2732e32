//! What a `load` report carries beyond its summary so that the reports of the segments of one
//! test add up exactly (`span-sentinel merge`): the per-second timeline and the HDR histograms,
//! serialized losslessly in the HdrHistogram V2 format (base64 in the JSON).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2Serializer};
use serde::{Deserialize, Serialize};

use crate::engine::Counts;

/// One second of the grid from the start: what was sent in it, and the answers that came in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondReport {
    /// The second, from 1 (the first second after the start).
    pub second: u64,
    /// Spans handed to the transport.
    pub sent_spans: u64,
    /// Spans accepted.
    pub acked_spans: u64,
    /// Spans refused for good.
    pub rejected_spans: u64,
    /// Spans with no definitive answer.
    pub failed_spans: u64,
    /// Requests sent.
    pub batches: u64,
}

impl SecondReport {
    /// The report of second `second` (from 1).
    pub fn of(second: u64, c: &Counts) -> Self {
        Self {
            second,
            sent_spans: c.sent,
            acked_spans: c.acked,
            rejected_spans: c.rejected,
            failed_spans: c.failed,
            batches: c.batches,
        }
    }

    /// Adds another process's same second.
    pub fn add(&mut self, other: &SecondReport) {
        self.sent_spans += other.sent_spans;
        self.acked_spans += other.acked_spans;
        self.rejected_spans += other.rejected_spans;
        self.failed_spans += other.failed_spans;
        self.batches += other.batches;
    }
}

/// The per-second reports of a run's seconds of counters, numbered from 1.
pub fn timeline(counts: &[Counts]) -> Vec<SecondReport> {
    counts
        .iter()
        .enumerate()
        .map(|(i, c)| SecondReport::of(i as u64 + 1, c))
        .collect()
}

/// The HDR histograms of a run, each in the V2 format, base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Histograms {
    /// Schedule lag, µs.
    pub schedule_lag_us: String,
    /// Export latency from the intended send time to the answer, µs (empty for the discard
    /// sink).
    pub export_latency_us: String,
}

impl Histograms {
    /// Serializes both histograms.
    pub fn of(lag: &Histogram<u64>, latency: &Histogram<u64>) -> Self {
        Self {
            schedule_lag_us: encode(lag),
            export_latency_us: encode(latency),
        }
    }
}

/// A histogram in the V2 format, base64.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(h, &mut bytes)
        .expect("a histogram serializes into memory");
    STANDARD.encode(bytes)
}

/// A histogram back from [`encode`]; the error says what is wrong with the text.
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram V2 histogram: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};
    use crate::engine::stats::micros_histogram;

    /// The V2 round trip keeps every count: the merge of two decoded histograms equals the
    /// histogram of all the values.
    #[test]
    fn histograms_round_trip_losslessly() {
        let (mut a, mut b, mut all) = (micros_histogram(), micros_histogram(), micros_histogram());
        for v in (1..5_000u64).map(|i| i * 37 % 100_003) {
            if v % 3 == 0 { &mut a } else { &mut b }
                .record(v.max(1))
                .unwrap();
            all.record(v.max(1)).unwrap();
        }
        let mut merged = decode(&encode(&a)).unwrap();
        merged.add(decode(&encode(&b)).unwrap()).unwrap();
        assert_eq!(merged, all);
        assert!(decode("AAAA").is_err());
        assert!(decode("not base64!").is_err());
    }
}
