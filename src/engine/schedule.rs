//! The whole test as one global sequence of batches, the same in every process and thread: batch
//! `j` goes to the stream furthest behind its weight, holds that stream's next traces (so
//! sequence numbers are contiguous per stream) and is due when the rate profile has offered the
//! spans of the batches before it. A worker walks the sequence and sends only the batches its
//! [`Owner`] holds, so what is sent depends on the seed, the streams and the rate, never on the
//! number of threads or segments that share the work.
//!
//! Skipping a batch someone else sends costs a comparison per stream and no allocation; the
//! schedule is per worker, nothing is shared.

use super::segment::Owner;

/// One stream's walk through the sequence.
#[derive(Debug, Clone)]
struct Cursor {
    /// Traces per batch of this stream.
    traces: u64,
    /// Spans per batch of this stream.
    spans: u64,
    weight: f64,
    /// Spans scheduled divided by the weight: the stream furthest behind goes next.
    progress: f64,
    /// Traces scheduled so far: the sequence number of its next trace.
    next_seq: u64,
}

/// A batch of the global sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// Its place in the sequence.
    pub index: u64,
    /// The stream.
    pub stream: usize,
    /// Sequence number of its first trace (the others follow, one apart).
    pub first_seq: u64,
    /// Spans of all the batches before it: it is due when the profile has offered as many.
    pub spans_before: u64,
}

/// A worker's walk through the global sequence of batches.
#[derive(Debug, Clone)]
pub struct Schedule {
    owner: Owner,
    cursors: Vec<Cursor>,
    next_index: u64,
    spans_before: u64,
}

/// What the schedule needs of a stream: traces and spans per batch, and its weight.
#[derive(Debug, Clone, Copy)]
pub struct StreamBatch {
    /// Traces per batch.
    pub traces: usize,
    /// Spans per batch.
    pub spans: usize,
    /// Relative share of the spans.
    pub weight: f64,
}

impl Schedule {
    /// The batches of `streams` that `owner` holds.
    pub fn new(streams: impl IntoIterator<Item = StreamBatch>, owner: Owner) -> Self {
        let cursors = streams
            .into_iter()
            .map(|s| Cursor {
                traces: s.traces as u64,
                spans: s.spans as u64,
                weight: s.weight,
                progress: 0.0,
                next_seq: 0,
            })
            .collect();
        Self {
            owner,
            cursors,
            next_index: 0,
            spans_before: 0,
        }
    }

    /// The next batch this owner sends.
    #[inline]
    pub fn next_batch(&mut self) -> Batch {
        loop {
            let batch = self.advance();
            if self.owner.owns(batch.index) {
                return batch;
            }
        }
    }

    /// Takes the next batch of the global sequence, whoever sends it.
    #[inline(always)]
    fn advance(&mut self) -> Batch {
        let mut stream = 0;
        for (i, c) in self.cursors.iter().enumerate() {
            if c.progress < self.cursors[stream].progress {
                stream = i;
            }
        }
        let c = &mut self.cursors[stream];
        let batch = Batch {
            index: self.next_index,
            stream,
            first_seq: c.next_seq,
            spans_before: self.spans_before,
        };
        c.next_seq += c.traces;
        c.progress += c.spans as f64 / c.weight;
        self.spans_before += c.spans;
        self.next_index += 1;
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::super::segment::{Fraction, Segment};
    use super::*;
    use std::collections::BTreeSet;

    const STREAMS: [StreamBatch; 2] = [
        StreamBatch {
            traces: 10,
            spans: 100,
            weight: 3.0,
        },
        StreamBatch {
            traces: 4,
            spans: 96,
            weight: 1.0,
        },
    ];

    /// Every trace sequence number (per stream) an owner sends among the first `spans`.
    fn traces(owner: Owner, spans: u64) -> Vec<(usize, u64)> {
        let mut s = Schedule::new(STREAMS, owner);
        let mut out = Vec::new();
        loop {
            let b = s.next_batch();
            if b.spans_before >= spans {
                return out;
            }
            let n = STREAMS[b.stream].traces as u64;
            out.extend((b.first_seq..b.first_seq + n).map(|q| (b.stream, q)));
        }
    }

    #[test]
    fn segments_and_threads_send_the_whole_tests_traces_once() {
        let whole = traces(Segment::WHOLE.owner(), 1_000_000);
        let all: BTreeSet<_> = whole.iter().copied().collect();
        assert_eq!(all.len(), whole.len(), "the whole test repeats no trace");
        let quarter = |i| Fraction::new(i, 4).unwrap();
        let mut union = Vec::new();
        for i in 0..4 {
            let segment = Segment::new(quarter(i), quarter(i + 1)).unwrap();
            // Each segment's threads split it again.
            for t in 0..3 {
                union.extend(traces(segment.part(t, 3), 1_000_000));
            }
        }
        let set: BTreeSet<_> = union.iter().copied().collect();
        assert_eq!(set.len(), union.len(), "segments overlap");
        assert_eq!(set, all, "the segments' union is the whole test");
    }

    #[test]
    fn streams_share_the_spans_by_weight() {
        let spans = |stream: usize| {
            traces(Segment::WHOLE.owner(), 1_000_000)
                .iter()
                .filter(|t| t.0 == stream)
                .count() as f64
                * STREAMS[stream].spans as f64
                / STREAMS[stream].traces as f64
        };
        let ratio = spans(0) / spans(1);
        assert!((ratio - 3.0).abs() < 0.01, "{ratio}");
    }
}
