//! The report of `span-sentinel load`: JSON (`schemas/load.schema.json`) and a terminal summary.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use super::mergeable::{Histograms, SecondReport};
use super::split::{SegmentReport, StartReport};
use super::{human_rate, percentiles};
use crate::engine::{LoadOutcome, LoadPlan};

/// Name and version of the JSON layout.
pub const SCHEMA: &str = "span-sentinel/load/v1";

/// Schedule lag percentiles, µs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LagUs {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

/// Export latency percentiles from the intended send time, µs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LatencyUs {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

impl LatencyUs {
    /// The percentiles of a latency histogram in µs; `None` when it is empty.
    pub fn of(h: &hdrhistogram::Histogram<u64>) -> Option<Self> {
        percentiles(h, &[0.5, 0.99, 0.999, 1.0]).map(|v| Self {
            p50: v[0],
            p99: v[1],
            p999: v[2],
            max: v[3],
        })
    }
}

/// Span accounting of one stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamReport {
    /// Stream name.
    pub name: String,
    /// Tenant.
    pub tenant: String,
    /// Spans handed to the transport.
    pub sent_spans: u64,
    /// Spans accepted.
    pub acked_spans: u64,
    /// Spans refused for good.
    pub rejected_spans: u64,
    /// Spans with no definitive answer.
    pub failed_spans: u64,
}

/// A run short of its rate whose workers waited for the target's answers, with every in-flight
/// slot taken, at least this share of the sending time was held back by the target.
const PUSH_BACK_SHARE: f64 = 0.5;

/// With retries the target asked for, this lower share of waiting is enough to blame it.
const PUSH_BACK_SHARE_WITH_RETRIES: f64 = 0.2;

/// Something the user should act on.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// Achieved rate below offered, the generator's own limit.
    FellBehind {
        /// Percent behind.
        percent: f64,
    },
    /// Achieved rate below offered because the target answered slowly or asked for retries.
    TargetPushedBack {
        /// Percent behind.
        percent: f64,
        /// Retries the target asked for.
        retries: u64,
        /// Share of the sending time the workers waited for answers with every slot taken.
        waiting_share: f64,
    },
    /// Spans failed.
    Failed {
        /// How many.
        spans: u64,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::FellBehind { percent } => write!(
                f,
                "the generator fell {percent:.1}% behind its target rate: use more --threads, more --concurrency or a lower --rate"
            ),
            Warning::TargetPushedBack {
                percent,
                retries,
                waiting_share,
            } => write!(
                f,
                "the target held the load {percent:.1}% below its rate: it asked for {retries} retries and the workers waited for its answers {:.0}% of the time with every in-flight slot taken (the target's push-back, not the generator: more --threads will not help; raise the target's limits or lower --rate)",
                waiting_share * 100.0
            ),
            Warning::Failed { spans } => write!(
                f,
                "{spans} spans got no definitive answer from the target (transport errors or retries past their maximum time)"
            ),
        }
    }
}

/// The JSON report of `span-sentinel load`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    /// `span-sentinel/load/v1`.
    pub schema: String,
    /// Where spans went.
    pub target: String,
    /// Worker threads.
    pub threads: usize,
    /// Length of the sending window, seconds.
    pub duration_s: f64,
    /// Mean offered rate; null for `max`.
    pub offered_spans_per_sec: Option<f64>,
    /// Spans sent per second over the sending window.
    pub achieved_spans_per_sec: f64,
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
    /// Encoded bytes sent (before compression).
    pub bytes: u64,
    /// Retries made (each one the target asked for, or a transport error).
    pub retries: u64,
    /// Time the workers waited for the target's answers with every in-flight slot taken,
    /// summed over workers, s: the target's push-back.
    pub throttled_s: f64,
    /// Actual minus intended send time, µs.
    pub schedule_lag_us: LagUs,
    /// Intended send time to answer, µs; null for the discard sink.
    pub export_latency_us: Option<LatencyUs>,
    /// Per-stream accounting.
    pub streams: Vec<StreamReport>,
    /// What the user should act on.
    pub warnings: Vec<String>,
    /// The extra headers sent, values redacted: `authorization=<redacted>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// The segment of the test this process sent; absent for the whole test.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegmentReport>,
    /// The scheduled and the actual start; absent without `--start-at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<StartReport>,
    /// Seed of every trace and span ID.
    pub seed: u64,
    /// `sha256:HEX` of what decides the test's spans besides the seed: shared by its segments.
    pub test_digest: String,
    /// Wall-clock start of the timeline's first second, RFC 3339 UTC.
    pub timeline_start: String,
    /// Each second from the start.
    pub timeline: Vec<SecondReport>,
    /// The HDR histograms, lossless (V2, base64).
    pub histograms: Histograms,
    /// The reports a `merge` added up; absent for one process's report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
}

/// The warnings of a run's rates and failures.
pub fn rate_warnings(
    offered: Option<f64>,
    achieved: f64,
    waiting_share: f64,
    retries: u64,
    failed: u64,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if let Some(o) = offered.filter(|o| achieved < o * 0.99) {
        let percent = 100.0 * (1.0 - achieved / o);
        let pushed_back = waiting_share >= PUSH_BACK_SHARE
            || (retries > 0 && waiting_share >= PUSH_BACK_SHARE_WITH_RETRIES);
        warnings.push(if pushed_back {
            Warning::TargetPushedBack {
                percent,
                retries,
                waiting_share,
            }
        } else {
            Warning::FellBehind { percent }
        });
    }
    if failed > 0 {
        warnings.push(Warning::Failed { spans: failed });
    }
    warnings
}

/// RFC 3339 UTC, µs, of unix nanoseconds.
pub fn rfc3339(unix_ns: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(unix_ns);
    humantime::format_rfc3339_micros(at).to_string()
}

/// The loud warning of a TLS target whose certificate was not verified.
fn insecure_warning(plan: &LoadPlan) -> Option<String> {
    (plan.target.is_tls() && plan.transport.tls.is_insecure())
        .then(|| crate::transport::tls::INSECURE_WARNING.to_owned())
}

impl LoadReport {
    /// Builds the report of a finished run.
    pub fn new(plan: &LoadPlan, outcome: &LoadOutcome) -> Self {
        let total = outcome.total.total();
        let secs = outcome.sending.as_secs_f64().max(1e-9);
        let achieved = total.sent as f64 / secs;
        let waiting_share = outcome.waiting_for_acks_share();
        let offered = plan.offered_spans_per_sec();
        let lag = percentiles(&outcome.total.lag_us, &[0.5, 0.99, 1.0]).unwrap_or(vec![0, 0, 0]);
        let latency = plan
            .target
            .is_network()
            .then(|| LatencyUs::of(&outcome.total.latency_us))
            .flatten();
        let warnings = rate_warnings(
            offered,
            achieved,
            waiting_share,
            total.retries,
            total.failed,
        );
        let streams = plan
            .streams
            .iter()
            .zip(&outcome.total.streams)
            .map(|(m, c)| StreamReport {
                name: m.spec.name.clone(),
                tenant: m.spec.tenant.clone(),
                sent_spans: c.sent,
                acked_spans: c.acked,
                rejected_spans: c.rejected,
                failed_spans: c.failed,
            })
            .collect();
        Self {
            schema: SCHEMA.to_owned(),
            target: plan.target.to_string(),
            headers: crate::transport::redacted_headers(&plan.transport.headers),
            threads: plan.threads,
            duration_s: secs,
            offered_spans_per_sec: offered,
            achieved_spans_per_sec: achieved,
            sent_spans: total.sent,
            acked_spans: total.acked,
            rejected_spans: total.rejected,
            failed_spans: total.failed,
            batches: total.batches,
            bytes: total.bytes,
            retries: total.retries,
            throttled_s: outcome.total.waiting_for_acks.as_secs_f64(),
            schedule_lag_us: LagUs {
                p50: lag[0],
                p99: lag[1],
                max: lag[2],
            },
            export_latency_us: latency,
            streams,
            segment: SegmentReport::of(&plan.segment),
            start: None,
            seed: plan.seed,
            test_digest: plan.test_digest.clone(),
            timeline_start: rfc3339(outcome.start_unix_ns),
            timeline: super::mergeable::timeline(&outcome.timeline),
            histograms: Histograms::of(&outcome.total.lag_us, &outcome.total.latency_us),
            merged_from: Vec::new(),
            warnings: insecure_warning(plan)
                .into_iter()
                .chain(warnings.iter().map(ToString::to_string))
                .collect(),
        }
    }

    /// Adds the record of a scheduled start (and its warning when late).
    pub fn with_start(mut self, start: &crate::engine::start::Start) -> Self {
        let (report, warning) = StartReport::of(start);
        self.start = Some(report);
        self.warnings.extend(warning);
        self
    }

    /// The terminal summary.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let offered = self.offered_spans_per_sec.map_or("max".into(), human_rate);
        let _ = writeln!(
            s,
            "target {} | {} | {:.1}s",
            self.target,
            super::count(self.threads as u64, "thread"),
            self.duration_s
        );
        if !self.merged_from.is_empty() {
            let _ = writeln!(
                s,
                "merged {} (seed {})",
                super::count(self.merged_from.len() as u64, "report"),
                self.seed
            );
        }
        if let Some(seg) = &self.segment {
            let _ = writeln!(
                s,
                "segment {} of {} ({}:{} of the test)",
                seg.index, seg.count, seg.start, seg.end
            );
        }
        if let Some(st) = &self.start {
            let _ = writeln!(
                s,
                "started {} ({:.1} ms after {})",
                st.actual, st.late_ms, st.scheduled
            );
        }
        let _ = writeln!(
            s,
            "offered {offered} spans/s | achieved {} spans/s",
            human_rate(self.achieved_spans_per_sec)
        );
        let _ = writeln!(
            s,
            "sent {} = acked {} + rejected {} + failed {}",
            self.sent_spans, self.acked_spans, self.rejected_spans, self.failed_spans
        );
        let _ = writeln!(
            s,
            "retries {} | throttled {:.1}s (workers waiting for the target's answers, every in-flight slot taken)",
            self.retries, self.throttled_s
        );
        let l = &self.schedule_lag_us;
        let _ = writeln!(
            s,
            "schedule lag µs: p50 {} p99 {} max {}",
            l.p50, l.p99, l.max
        );
        if let Some(l) = &self.export_latency_us {
            let _ = writeln!(
                s,
                "export latency µs: p50 {} p99 {} p99.9 {} max {}",
                l.p50, l.p99, l.p999, l.max
            );
        }
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        s
    }
}
