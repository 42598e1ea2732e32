//! The error stream: single-span traces whose status turns to ERROR in scheduled bursts, so the
//! target's error-rate alert must fire during each burst and clear after it.

use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::{Span, Status, span::SpanKind};
use serde::{Deserialize, Serialize};

use super::ambient::{int_attr, string_attr};
use crate::model::ids;
use crate::units::duration as dur;

/// Stream index of the error stream in ID derivation.
pub const ERROR_STREAM: u32 = 0x5e00_0002;
/// Service of every error-stream span.
pub const ERROR_SERVICE: &str = "sentinel-errors";
/// Name of every error-stream span.
pub const ERROR_OPERATION: &str = "error-probe";
/// Duration of every error-stream span.
pub const ERROR_SPAN_NS: u64 = 1_000_000;

/// When bursts happen, relative to the start of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BurstSchedule {
    /// Start of the first burst.
    #[serde(with = "dur")]
    pub offset: Duration,
    /// Time from the start of one burst to the start of the next.
    #[serde(with = "dur")]
    pub period: Duration,
    /// Length of a burst.
    #[serde(with = "dur")]
    pub burst: Duration,
}

impl Default for BurstSchedule {
    fn default() -> Self {
        Self {
            offset: Duration::from_secs(2),
            period: Duration::from_secs(10),
            burst: Duration::from_secs(3),
        }
    }
}

/// One burst, as offsets from the run start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    /// Index of the burst in the run.
    pub index: usize,
    /// Start.
    pub start: Duration,
    /// End.
    pub end: Duration,
}

impl BurstSchedule {
    /// Checks the schedule; errors name the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.burst.is_zero() || self.burst >= self.period {
            return Err("`burst` must be positive and shorter than `period`".into());
        }
        Ok(())
    }

    /// Whether `t` (since run start) falls inside a burst.
    pub fn in_burst(&self, t: Duration) -> bool {
        t >= self.offset
            && (t - self.offset).as_nanos() % self.period.as_nanos() < self.burst.as_nanos()
    }

    /// Every burst that starts before `until`.
    pub fn bursts_until(&self, until: Duration) -> Vec<Burst> {
        let mut out = Vec::new();
        let mut start = self.offset;
        while start < until {
            out.push(Burst {
                index: out.len(),
                start,
                end: start + self.burst,
            });
            start += self.period;
        }
        out
    }
}

/// The error stream of one run.
#[derive(Debug, Clone)]
pub struct ErrorStream {
    key: u64,
    /// Fraction of spans with status ERROR inside bursts.
    pub ratio_in_burst: f64,
    /// Fraction outside bursts.
    pub ratio_outside: f64,
    run_id: String,
}

impl ErrorStream {
    /// The stream for `seed`.
    pub fn new(seed: u64, ratio_in_burst: f64, ratio_outside: f64) -> Self {
        Self {
            key: ids::stream_key(seed, ERROR_STREAM),
            ratio_in_burst,
            ratio_outside,
            run_id: format!("{seed:016x}"),
        }
    }

    /// Error-stream span `seq`, ending at `end_unix_ns`, inside or outside a burst.
    pub fn span(&self, seq: u64, end_unix_ns: u64, in_burst: bool) -> Span {
        let tk = ids::trace_key(self.key, seq);
        let hash = ids::span_hash(tk, 0);
        let ratio = if in_burst {
            self.ratio_in_burst
        } else {
            self.ratio_outside
        };
        let error = ((hash >> 11) as f64 / (1u64 << 53) as f64) < ratio;
        Span {
            trace_id: ids::trace_id(tk).to_vec(),
            span_id: ids::span_id(hash).to_vec(),
            name: ERROR_OPERATION.into(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: end_unix_ns.saturating_sub(ERROR_SPAN_NS),
            end_time_unix_nano: end_unix_ns,
            attributes: vec![
                int_attr("sentinel.seq", seq as i64),
                string_attr("sentinel.run", &self.run_id),
            ],
            status: Some(Status {
                message: String::new(),
                code: if error { 2 } else { 1 },
            }),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_follow_the_schedule() {
        let s = BurstSchedule::default();
        assert!(!s.in_burst(Duration::from_secs(1)));
        assert!(s.in_burst(Duration::from_secs(2)));
        assert!(s.in_burst(Duration::from_millis(4999)));
        assert!(!s.in_burst(Duration::from_secs(5)));
        assert!(s.in_burst(Duration::from_secs(12)));
        assert_eq!(s.bursts_until(Duration::from_secs(30)).len(), 3);
    }

    #[test]
    fn error_ratio_follows_the_burst_state() {
        let e = ErrorStream::new(1, 0.9, 0.0);
        let errors = (0..10_000)
            .filter(|&s| e.span(s, 1, true).status.unwrap().code == 2)
            .count();
        assert!((8_800..9_200).contains(&errors), "{errors}");
        assert!((0..1000).all(|s| e.span(s, 1, false).status.unwrap().code == 1));
    }
}
