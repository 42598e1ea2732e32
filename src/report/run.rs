//! The report of `span-sentinel run`: JSON (`schemas/run.schema.json`) and a terminal summary
//! with one table of checks.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::human_rate;
use super::mergeable::Histograms;
use super::split::{SegmentReport, StartReport};
use crate::placement::Placement;
use crate::run::evidence::TraceCounts;
use crate::run::execute::RunOutcome;
use crate::run::timeline::Timeline;
use crate::run::walk::PhaseOutcome;
use crate::verify::checks::Check;
use crate::verify::histograms::QuantileRow;
use crate::verify::status::{Millis, PhaseKind, Status};

/// Name and version of the JSON layout.
pub const SCHEMA: &str = "span-sentinel/run/v1";

/// The load of one phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadSummary {
    /// Mean offered rate (0 outside load phases; null for `max`).
    pub offered_spans_per_sec: Option<f64>,
    /// Achieved rate.
    pub achieved_spans_per_sec: f64,
    /// Spans accepted.
    pub acked_spans: u64,
    /// Spans refused for good.
    pub rejected_spans: u64,
    /// Spans without a definitive answer.
    pub failed_spans: u64,
    /// Why the load of the phase could not run, if it could not (absent when it ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_error: Option<String>,
    /// The load's HDR histograms, lossless as in `load` reports, so that `merge` gives the
    /// whole load's percentiles (absent when the load did not run, and in older reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histograms: Option<Histograms>,
}

/// p50 and max of a delay, ms.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DelayMs {
    /// Median.
    pub p50: Option<f64>,
    /// Largest.
    pub max: Option<f64>,
}

/// The sentinel's alert evidence in one phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertSummary {
    /// Bursts that started in the phase.
    pub bursts: u64,
    /// Bursts the alert fired for.
    pub detected: u64,
    /// Bursts it did not fire for.
    pub missed: u64,
    /// Firings outside any burst.
    pub spurious: u64,
    /// Bursts whose firing reached the webhook.
    pub notified: u64,
    /// Burst start to firing.
    pub detect_delay_ms: DelayMs,
    /// Burst end to resolving.
    pub clear_delay_ms: DelayMs,
}

/// Histogram fidelity in one phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistogramSummary {
    /// Largest relative quantile error.
    pub max_rel_error: Option<f64>,
    /// Every quantile compared.
    pub quantiles: Vec<QuantileRow>,
}

/// The sentinel's evidence in one phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentinelSummary {
    /// Ambient traces sent.
    pub traces_sent: u64,
    /// Traces that had to be assembled.
    pub traces_expected_assembled: u64,
    /// Found with the expected content.
    pub traces_verified: u64,
    /// Not found in time.
    pub traces_missing: u64,
    /// Found with other content.
    pub traces_incorrect: u64,
    /// Assembled although they should not have been (or twice).
    pub traces_unexpected: u64,
    /// The traces by shape (`single`, `chain`, `fan_out`, `services`, `large`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub traces_by_shape: BTreeMap<String, TraceCounts>,
    /// The traces by arrival pattern (`in_order`, `late_fragment`, `duplicate_fragment`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub traces_by_arrival: BTreeMap<String, TraceCounts>,
    /// Send to first found.
    pub freshness_ms: Option<Millis>,
    /// Histogram fidelity.
    pub histogram: HistogramSummary,
    /// Alert cycles.
    pub alerts: AlertSummary,
}

/// One phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseReport {
    /// Name.
    pub name: String,
    /// `warmup`, `baseline`, `load` or `recovery`.
    pub kind: String,
    /// Length, seconds.
    pub duration_s: f64,
    /// Whether it ran to its end.
    pub completed: bool,
    /// The unruly load.
    pub load: LoadSummary,
    /// The sentinel.
    pub sentinel: SentinelSummary,
}

/// The JSON report of `span-sentinel run`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// `span-sentinel/run/v1`.
    pub schema: String,
    /// `pass`, `degraded`, `fail` or `inconclusive`, over the checks that were judged (not
    /// those `unsupported` by the backend).
    pub verdict: Status,
    /// Where spans went.
    pub target: String,
    /// What answered traces, histograms, alerts and notifications, and what the content check
    /// could not compare (absent from reports written before the backend layer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<crate::verify::backend::BackendUse>,
    /// The extra headers sent to the target, names only: `authorization=<redacted>`. Values
    /// are secrets and appear in no report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// Seed of the sentinel's traces (reuse it with `--seed` to reproduce them).
    pub seed: u64,
    /// The profile, if any.
    pub profile: Option<String>,
    /// Every phase.
    pub phases: Vec<PhaseReport>,
    /// Every check.
    pub checks: Vec<Check>,
    /// One sample per second, and the burst and alert-firing intervals (absent from reports
    /// written before the timeline existed, hence the default).
    #[serde(default)]
    pub timeline: Timeline,
    /// What the user should know.
    pub warnings: Vec<String>,
    /// The segment of the test this process ran; absent for the whole test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegmentReport>,
    /// Which segment ran the sentinel; absent for the whole test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel_segment: Option<usize>,
    /// The scheduled and the actual start; absent without `--start-at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<StartReport>,
    /// Seed of the load's trace and span IDs, shared by the segments of one test (absent from
    /// reports written before `merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_seed: Option<u64>,
    /// `sha256:HEX` of what decides the load's spans besides its seed (as in `load` reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_digest: Option<String>,
    /// `[checks] generator_limit` the load phases were judged with, so that `merge` judges the
    /// summed load by the same share (absent from older reports: the default then applied).
    #[serde(default = "default_generator_limit")]
    pub generator_limit: f64,
    /// The reports a `merge` added up; absent for one process's report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// The CPUs the load's and the sentinel's threads were pinned to (`--load-cpus`,
    /// `--sentinel-cpus`); absent when neither was, as in reports written before placement.
    /// A merged report keeps the sentinel's segment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
}

fn default_generator_limit() -> f64 {
    crate::verify::checks::CheckTolerances::default().generator_limit
}

fn delay(values: &[std::time::Duration]) -> DelayMs {
    let m = Millis::of(values);
    DelayMs {
        p50: m.map(|m| m.p50),
        max: m.map(|m| m.max),
    }
}

/// A phase's load: what it was asked to offer (in a load phase, whether or not the load ran, so
/// that `merge` judges the whole load against what was asked), what it did, and why it could
/// not run.
fn load_summary(p: &PhaseOutcome, offered: Option<f64>) -> LoadSummary {
    let load_error = p.load_error.clone();
    match &p.load {
        Some(l) => {
            let t = l.total.total();
            LoadSummary {
                offered_spans_per_sec: offered,
                achieved_spans_per_sec: t.sent as f64 / l.sending.as_secs_f64().max(1e-9),
                acked_spans: t.acked,
                rejected_spans: t.rejected,
                failed_spans: t.failed,
                load_error,
                histograms: Some(Histograms::of(&l.total.lag_us, &l.total.latency_us)),
            }
        }
        None => LoadSummary {
            offered_spans_per_sec: offered,
            achieved_spans_per_sec: 0.0,
            acked_spans: 0,
            rejected_spans: 0,
            failed_spans: 0,
            load_error,
            histograms: None,
        },
    }
}

fn sentinel_summary(p: &PhaseOutcome) -> SentinelSummary {
    let e = &p.sentinel.evidence;
    SentinelSummary {
        traces_sent: p.sentinel.traces_sent,
        traces_expected_assembled: e.expected,
        traces_verified: e.verified,
        traces_missing: e.missing,
        traces_incorrect: e.incorrect,
        traces_unexpected: e.unexpected,
        traces_by_shape: p.sentinel.by_shape.clone(),
        traces_by_arrival: p.sentinel.by_arrival.clone(),
        freshness_ms: Millis::of(&e.freshness),
        histogram: HistogramSummary {
            max_rel_error: e.histogram_max_rel_error,
            quantiles: p.sentinel.quantiles.clone(),
        },
        alerts: AlertSummary {
            bursts: e.bursts,
            detected: e.detected,
            missed: e.bursts - e.detected,
            spurious: e.spurious,
            notified: e.notified,
            detect_delay_ms: delay(&e.detect_delays),
            clear_delay_ms: delay(&e.clear_delays),
        },
    }
}

/// Which checks the verdict was judged over, when the backend left some `unsupported`:
/// `judged: a, b; unsupported: c (unsupported by jaeger: alert history)`.
pub fn judged_line(checks: &[Check]) -> Option<String> {
    let names = |unsupported: bool| {
        let mut v: Vec<&str> = checks
            .iter()
            .filter(|c| (c.status == Status::Unsupported) == unsupported)
            .map(|c| c.name.as_ref())
            .collect();
        v.dedup();
        v.sort_unstable();
        v.dedup();
        v
    };
    let unsupported = names(true);
    if unsupported.is_empty() {
        return None;
    }
    Some(format!(
        "judged: {}; not judged (unsupported by the backend): {}",
        names(false).join(", "),
        unsupported.join(", ")
    ))
}

impl RunReport {
    /// Builds the report of a finished run.
    pub fn new(o: &RunOutcome) -> Self {
        let phases = o
            .plan
            .phases
            .iter()
            .zip(&o.phases)
            .map(|(phase, p)| {
                let share = o.plan.load.segment.segment.share();
                let rate = phase.load_rate.as_ref().unwrap_or(&o.plan.load.rate);
                let offered = match phase.kind {
                    PhaseKind::Load => rate.mean_rate(phase.duration).map(|r| r * share),
                    _ => Some(0.0),
                };
                PhaseReport {
                    name: phase.name.clone(),
                    kind: serde_json::to_value(phase.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    duration_s: phase.duration.as_secs_f64(),
                    completed: p.completed,
                    load: load_summary(p, offered),
                    sentinel: sentinel_summary(p),
                }
            })
            .collect();
        let (start, start_warning) = match &o.start {
            Some(s) => {
                let (report, warning) = StartReport::of(s);
                (Some(report), warning)
            }
            None => (None, None),
        };
        let segment = SegmentReport::of(&o.plan.load.segment);
        let sentinel_segment = Some(o.plan.sentinel_segment);
        Self {
            schema: SCHEMA.to_owned(),
            verdict: o.verdict,
            target: o.target.clone(),
            backends: o.backends.clone(),
            headers: crate::transport::redacted_headers(&o.plan.load.transport.headers),
            seed: o.plan.seed,
            profile: o.plan.profile.as_ref().map(|p| p.display().to_string()),
            phases,
            checks: o.checks.clone(),
            timeline: o.timeline.clone(),
            warnings: o.warnings.iter().cloned().chain(start_warning).collect(),
            segment,
            sentinel_segment: sentinel_segment.filter(|_| o.plan.load.segment.count > 1),
            start,
            load_seed: Some(o.plan.load.seed),
            test_digest: Some(o.plan.load.test_digest.clone()),
            generator_limit: o.plan.checks.generator_limit,
            merged_from: Vec::new(),
            placement: Some(o.plan.placement()).filter(|p| !p.is_unpinned()),
        }
    }

    /// The target as the reports print it, with the names of the headers sent to it.
    pub fn target_line(&self) -> String {
        if self.headers.is_empty() {
            return self.target.clone();
        }
        format!("{} (headers {})", self.target, self.headers.join(", "))
    }

    /// The terminal summary: phases, one table of checks, what degraded and by how much.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "target {} | seed {}", self.target_line(), self.seed);
        for b in &self.backends {
            let url = b.url.as_deref().map_or(String::new(), |u| format!(" {u}"));
            let _ = writeln!(s, "{:<13} {}{url}", b.role, b.backend);
            if let Some(n) = &b.not_compared {
                let _ = writeln!(s, "{:<13} {n}", "");
            }
        }
        let _ = writeln!(
            s,
            "{:<10} {:>7} {:>13} {:>9} {:>8} {:>8} {:>12} {:>7}",
            "phase", "load/s", "traces", "verified", "missing", "unexp.", "fresh p99", "bursts"
        );
        for p in &self.phases {
            let t = &p.sentinel;
            let _ = writeln!(
                s,
                "{:<10} {:>7} {:>13} {:>9} {:>8} {:>8} {:>12} {:>7}",
                p.name,
                human_rate(p.load.achieved_spans_per_sec),
                format!("{}/{}", t.traces_expected_assembled, t.traces_sent),
                t.traces_verified,
                t.traces_missing,
                t.traces_unexpected,
                t.freshness_ms
                    .map_or("-".into(), |f| format!("{:.0} ms", f.p99)),
                format!("{}/{}", t.alerts.detected, t.alerts.bursts),
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{:<20} {:<10} {:<12} {:>12} {:>12}  evidence",
            "check", "phase", "status", "baseline", "observed"
        );
        for c in &self.checks {
            let num = |v: Option<f64>| v.map_or("-".into(), super::check_value);
            let _ = writeln!(
                s,
                "{:<20} {:<10} {:<12} {:>12} {:>12}  {}",
                c.name,
                c.phase,
                c.status.as_str(),
                num(c.baseline),
                num(c.observed),
                c.evidence
            );
        }
        let bad: Vec<String> = self
            .checks
            .iter()
            .filter(|c| matches!(c.status, Status::Degraded | Status::Fail))
            .map(|c| format!("{} in {} ({})", c.name, c.phase, c.status.as_str()))
            .collect();
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "why: {}", crate::run::verdict::why(&self.checks));
        let _ = write!(s, "verdict: {}", self.verdict.as_str());
        if !bad.is_empty() {
            let _ = write!(s, " — {}", bad.join(", "));
        }
        let _ = writeln!(s);
        if let Some(line) = judged_line(&self.checks) {
            let _ = writeln!(s, "{line}");
        }
        s
    }
}
