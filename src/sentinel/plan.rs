//! What the sentinel is told: its settings (the `[sentinel]` section of a profile, which config
//! reads and validates), where it reads its alert's state, and the part of a run its tasks use.
//! The sentinel owns these types so that it never imports `config`; config builds them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ambient::Ambient;
use super::arrival::ArrivalSpec;
use super::errors::BurstSchedule;
use super::origin::Origin;
use super::probe::ProbeSpec;
use crate::units::duration as dur;

/// Largest `large_trace_spans` (span IDs derive from a 16-bit node index).
pub const MAX_LARGE_TRACE_SPANS: u32 = 10_000;

/// A protocol the sentinel's fragments may go over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FragmentProtocol {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP.
    Http,
}

/// The alert rule the sentinel creates on the target at start and deletes at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSpec {
    /// Rule name (unique per tenant on the target).
    pub name: String,
    /// Error ratio at or above which the rule fires. The tenant's ratio counts the ambient
    /// stream's spans too (they are never errors).
    pub threshold: f64,
    /// Window over which the error ratio is computed.
    #[serde(with = "dur")]
    pub window: Duration,
    /// Spans the window must hold before the rule may fire.
    pub min_spans: u64,
    /// How long the ratio must stay below the threshold before the rule resolves.
    #[serde(with = "dur")]
    pub clear_after: Duration,
}

impl Default for AlertSpec {
    fn default() -> Self {
        Self {
            name: "span-sentinel-errors".into(),
            threshold: 0.3,
            window: Duration::from_secs(1),
            min_spans: 20,
            clear_after: Duration::from_secs(1),
        }
    }
}

/// The `[sentinel]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentinelSection {
    /// The sentinel's tenant.
    pub tenant: String,
    /// Seed of the sentinel's traces; unset means a new random seed each run (printed in the
    /// report), so repeated runs against one backend never reuse trace IDs.
    pub seed: Option<u64>,
    /// Ambient traces per second, cycling through the shapes (a single span, a chain of 10, a
    /// fan-out of 100, eight services, and a large trace); 224 spans per trace on average with
    /// the default `large_trace_spans`.
    pub traces_per_sec: f64,
    /// Spans of the large shape.
    pub large_trace_spans: u32,
    /// A trace's fragments (one request per service and depth, children first, the root last)
    /// are spread over at most this long, whatever the root's duration.
    #[serde(with = "dur")]
    pub fragment_spread: Duration,
    /// Share of traces that send one fragment after the root.
    pub reorder_ratio: f64,
    /// A late fragment comes at most this long after the root; it must fit in the target's
    /// settle window (checked against the embedded pipeline's `settle`, with half of it spare).
    #[serde(with = "dur")]
    pub late_fragment_max: Duration,
    /// Share of traces that send one fragment twice (the target must store its spans once).
    pub duplicate_ratio: f64,
    /// Protocols a trace's fragments are split between, in turn: `"grpc"`, `"http"`. Empty:
    /// the target's own protocol. Both need both addresses of the target (the embedded
    /// pipeline without a peer).
    pub fragment_protocols: Vec<FragmentProtocol>,
    /// Root duration at or above which the target assembles a trace; the sentinel sets it for
    /// its tenant through the target's API where the API allows.
    #[serde(with = "dur")]
    pub assembly_threshold: Duration,
    /// Root durations the ambient stream cycles through.
    pub probe: ProbeSpec,
    /// Error-stream spans per second (single-span traces). Unset: twice the ambient stream's
    /// spans per second, so that a burst lifts the tenant's error ratio well over the alert
    /// threshold (the ratio counts ambient spans too).
    pub error_spans_per_sec: Option<f64>,
    /// When the error stream bursts, from the start of the run.
    pub bursts: BurstSchedule,
    /// Fraction of error-stream spans with status ERROR inside a burst.
    pub error_ratio_in_burst: f64,
    /// Fraction outside bursts.
    pub error_ratio_outside: f64,
    /// The alert rule.
    pub alert: AlertSpec,
    /// Wait this long after sending a trace before looking it up (the target's settle window).
    #[serde(with = "dur")]
    pub settle: Duration,
    /// A trace not found this long after it was sent is missing.
    #[serde(with = "dur")]
    pub freshness_timeout: Duration,
    /// How often pending traces are looked up.
    #[serde(with = "dur")]
    pub poll_interval: Duration,
    /// After a burst ends, a firing alert still counts as that burst's for this long.
    #[serde(with = "dur")]
    pub alert_grace: Duration,
    /// Give a sentinel request up after retrying this long (then its trace is missing).
    #[serde(with = "dur")]
    pub retry_max_elapsed: Duration,
}

impl Default for SentinelSection {
    fn default() -> Self {
        Self {
            tenant: "sentinel".into(),
            seed: None,
            traces_per_sec: 20.0,
            large_trace_spans: 1000,
            fragment_spread: Duration::from_secs(2),
            reorder_ratio: 0.2,
            late_fragment_max: Duration::from_millis(500),
            duplicate_ratio: 0.1,
            fragment_protocols: Vec::new(),
            assembly_threshold: Duration::from_secs(1),
            probe: ProbeSpec::default(),
            error_spans_per_sec: None,
            bursts: BurstSchedule::default(),
            error_ratio_in_burst: 0.9,
            error_ratio_outside: 0.0,
            alert: AlertSpec::default(),
            settle: Duration::from_secs(2),
            freshness_timeout: Duration::from_secs(15),
            poll_interval: Duration::from_millis(250),
            alert_grace: Duration::from_secs(3),
            retry_max_elapsed: Duration::from_secs(5),
        }
    }
}

impl SentinelSection {
    /// Checks the section; errors name the field (relative to `sentinel.`).
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("traces_per_sec", self.traces_per_sec),
            ("error_spans_per_sec", self.error_spans_per_sec()),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("`{name}` must be positive"));
            }
        }
        self.validate_arrival()?;
        for (name, v) in [
            ("error_ratio_in_burst", self.error_ratio_in_burst),
            ("error_ratio_outside", self.error_ratio_outside),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("`{name}` must be between 0 and 1"));
            }
        }
        if !(self.alert.threshold > 0.0 && self.alert.threshold <= 1.0) {
            return Err("`alert.threshold` must be in (0, 1]".into());
        }
        let (burst, outside) = (
            self.burst_error_ratio(),
            self.error_ratio_outside * self.error_share(),
        );
        if burst <= self.alert.threshold || outside >= self.alert.threshold {
            return Err(format!(
                "`alert.threshold` {} must lie between the tenant's error ratio outside bursts ({outside:.3}) and inside them ({burst:.3}); ambient spans count too",
                self.alert.threshold
            ));
        }
        if self.poll_interval.is_zero() || self.freshness_timeout <= self.settle {
            return Err(
                "`freshness_timeout` must exceed `settle`, and `poll_interval` must be non-zero"
                    .into(),
            );
        }
        self.bursts.validate().map_err(|e| format!("bursts: {e}"))?;
        self.probe.validate().map_err(|e| format!("probe: {e}"))
    }

    fn validate_arrival(&self) -> Result<(), String> {
        if !(1..=MAX_LARGE_TRACE_SPANS).contains(&self.large_trace_spans) {
            return Err(format!(
                "`large_trace_spans` must be between 1 and {MAX_LARGE_TRACE_SPANS}"
            ));
        }
        for (name, v) in [
            ("reorder_ratio", self.reorder_ratio),
            ("duplicate_ratio", self.duplicate_ratio),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("`{name}` must be between 0 and 1"));
            }
        }
        if self.reorder_ratio + self.duplicate_ratio > 1.0 {
            return Err("`reorder_ratio` + `duplicate_ratio` must be at most 1".into());
        }
        if self.fragment_spread.is_zero() {
            return Err("`fragment_spread` must be positive".into());
        }
        if self.late_fragment_max * 2 > self.settle {
            return Err(format!(
                "`late_fragment_max` {:?} could miss the settle window: at most half of `settle` ({:?})",
                self.late_fragment_max, self.settle
            ));
        }
        Ok(())
    }

    /// The arrival settings of the ambient stream.
    pub fn arrival(&self) -> ArrivalSpec {
        ArrivalSpec {
            large_trace_spans: self.large_trace_spans,
            fragment_spread: self.fragment_spread,
            reorder_ratio: self.reorder_ratio,
            late_fragment_max: self.late_fragment_max,
            duplicate_ratio: self.duplicate_ratio,
        }
    }

    /// Ambient spans per second, on average.
    pub fn ambient_spans_per_sec(&self) -> f64 {
        self.traces_per_sec * Ambient::mean_spans_per_trace(self.large_trace_spans)
    }

    /// Error-stream spans per second: as set, or twice the ambient stream's.
    pub fn error_spans_per_sec(&self) -> f64 {
        self.error_spans_per_sec
            .unwrap_or_else(|| 2.0 * self.ambient_spans_per_sec())
    }

    /// Share of the tenant's spans that come from the error stream.
    pub fn error_share(&self) -> f64 {
        let errors = self.error_spans_per_sec();
        errors / (errors + self.ambient_spans_per_sec())
    }

    /// The tenant's error ratio inside a burst.
    pub fn burst_error_ratio(&self) -> f64 {
        self.error_ratio_in_burst * self.error_share()
    }
}

/// Where the sentinel reads its alert's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertSource {
    /// The target's own alert history (`GET /api/v1/alerts` of the query API), with webhook
    /// notifications.
    Target,
    /// A Prometheus server's `GET /api/v1/alerts`, polled; notifications are expected only
    /// through `--alertmanager`.
    Prometheus {
        /// Base URL of its HTTP API, e.g. `http://127.0.0.1:9090`.
        base_url: String,
    },
}

impl std::str::FromStr for AlertSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "target" {
            return Ok(AlertSource::Target);
        }
        match s.strip_prefix("prometheus://") {
            Some(authority) if !authority.is_empty() && !authority.contains('/') => {
                Ok(AlertSource::Prometheus {
                    base_url: format!("http://{authority}"),
                })
            }
            _ => Err(format!(
                "{s:?}: use prometheus://HOST:PORT (a Prometheus server) or target"
            )),
        }
    }
}

/// A phase as the sentinel sees it: its name and length (what it is for, and the load's rate
/// in it, are the run's business).
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseWindow {
    /// Name.
    pub name: String,
    /// Length.
    pub duration: Duration,
}

/// What the sentinel's tasks (senders, poller, walker, evidence, watch followers) need of a
/// run: its own section, seed, tenant, phases and alert source — not the run's load, target or
/// check tolerances.
#[derive(Debug, Clone)]
pub struct SentinelPlan {
    /// The sentinel's settings.
    pub sentinel: SentinelSection,
    /// The seed of the sentinel's traces.
    pub seed: u64,
    /// The phases, in order.
    pub phases: Vec<PhaseWindow>,
    /// Where the sentinel reads its alert's state.
    pub alerts: AlertSource,
    /// The sentinel's tenant as a header value.
    pub tenant: http::HeaderValue,
    /// The resource and scope of the sentinel's spans.
    pub origin: Origin,
}

impl SentinelPlan {
    /// Total length of all phases.
    pub fn total(&self) -> Duration {
        self.phases.iter().map(|p| p.duration).sum()
    }

    /// Index of the phase at `offset` from the start (the last phase past the end).
    pub fn phase_at(&self, offset: Duration) -> usize {
        let mut end = Duration::ZERO;
        for (i, p) in self.phases.iter().enumerate() {
            end += p.duration;
            if offset < end {
                return i;
            }
        }
        self.phases.len().saturating_sub(1)
    }

    /// Offset of the start of phase `i`.
    pub fn phase_start(&self, i: usize) -> Duration {
        self.phases[..i].iter().map(|p| p.duration).sum()
    }
}
