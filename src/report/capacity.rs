//! The report of `span-sentinel capacity`: JSON (`schemas/capacity.schema.json`), rewritten after
//! every step so a stopped search keeps what it measured, and a terminal table of steps.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::human_rate;
use super::split::{SegmentReport, StartReport};
use crate::capacity::{CapacityResult, Search, StepResult};
use crate::config::capacity::PlanKind;
use crate::verify::checks::Check;

/// Name and version of the JSON layout.
pub const SCHEMA: &str = "span-sentinel/capacity/v1";

/// The JSON report of `span-sentinel capacity`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CapacityReport {
    /// `span-sentinel/capacity/v1`.
    pub schema: String,
    /// Where spans went.
    pub target: String,
    /// Seed of the sentinel's traces.
    pub seed: u64,
    /// The profile, if any.
    pub profile: Option<String>,
    /// Whether the search has ended (false in the partial reports written as it goes).
    pub finished: bool,
    /// The most the search may take, seconds.
    pub time_limit_s: f64,
    /// What it concluded (so far).
    #[serde(flatten)]
    pub result: CapacityResult,
    /// `--require`: the least acceptable capacity, spans/s.
    pub require_spans_per_sec: Option<f64>,
    /// Whether the capacity found meets `--require`.
    pub require_met: Option<bool>,
    /// The baseline's checks, judged absolutely.
    pub baseline: Vec<Check>,
    /// Every step measured.
    pub steps: Vec<StepResult>,
    /// What the user should know.
    pub warnings: Vec<String>,
    /// `search` or `staircase` (absent from reports written before the staircase: `search`).
    #[serde(default)]
    pub plan: PlanKind,
    /// What `merge` needs to add up the segments of a staircase and judge each step again.
    #[serde(flatten)]
    pub split: SplitFields,
}

/// The fields a `merge` of a staircase's segments reads (as `run` reports carry them).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SplitFields {
    /// The segment of the test this process ran; absent for the whole test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegmentReport>,
    /// Which segment ran the sentinel; absent for the whole test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel_segment: Option<usize>,
    /// The scheduled and the actual start; absent without `--start-at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<StartReport>,
    /// Seed of the load's trace and span IDs, shared by the segments of one test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_seed: Option<u64>,
    /// `sha256:HEX` of what decides the load's spans besides its seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_digest: Option<String>,
    /// `[capacity] generator_limit` and `refused_limit` the steps were judged with, so that
    /// `merge` judges the summed load of each step the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<StepLimits>,
    /// The staircase's rates for the whole test, spans/s (empty for a search): segments of one
    /// test share them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub staircase_spans_per_sec: Vec<f64>,
    /// The reports a `merge` added up; absent for one process's report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
}

/// The limits a step's load is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepLimits {
    /// `[capacity] generator_limit`.
    pub generator_limit: f64,
    /// `[capacity] refused_limit`.
    pub refused_limit: f64,
}

/// Context every capacity report shares.
#[derive(Debug, Clone)]
pub struct ReportContext {
    /// Where spans go.
    pub target: String,
    /// The sentinel's seed.
    pub seed: u64,
    /// The profile.
    pub profile: Option<String>,
    /// The search's time limit, seconds.
    pub time_limit_s: f64,
    /// `--require`.
    pub require: Option<f64>,
    /// `search` or `staircase`.
    pub plan: PlanKind,
    /// Segment, seeds and limits for `merge`.
    pub split: SplitFields,
}

impl CapacityReport {
    /// The report of `search` as it stands.
    pub fn new(cx: &ReportContext, search: &Search, finished: bool) -> Self {
        let result = search.result();
        let found = result
            .max_sustainable_spans_per_sec
            .or(result.capacity_at_least);
        Self {
            schema: SCHEMA.to_owned(),
            target: cx.target.clone(),
            seed: cx.seed,
            profile: cx.profile.clone(),
            finished,
            time_limit_s: cx.time_limit_s,
            require_spans_per_sec: cx.require,
            require_met: cx.require.map(|r| found.is_some_and(|f| f >= r)),
            result,
            baseline: search.baseline.clone(),
            steps: search.steps.clone(),
            warnings: search.warnings.clone(),
            plan: cx.plan,
            split: cx.split.clone(),
        }
    }

    /// The terminal summary: one line per step, then the conclusion.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "target {} | seed {}", self.target, self.seed);
        let _ = writeln!(
            s,
            "{:<9} {:<8} {:>9} {:>9} {:>9} {:>6} {:>11} {:>11} {:>12}  gave way",
            "step",
            "purpose",
            "offered",
            "achieved",
            "acked/s",
            "load s",
            "acked",
            "rejected",
            "status"
        );
        for st in &self.steps {
            let gave = match st.inconclusive() {
                i if st.status == crate::verify::status::Status::Inconclusive => {
                    format!("inconclusive: {i}")
                }
                _ => st.gave_way(),
            };
            let _ = writeln!(
                s,
                "{:<9} {:<8} {:>9} {:>9} {:>9} {:>6.1} {:>11} {:>11} {:>12}  {}{}",
                st.phase,
                serde_json::to_value(st.purpose)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                human_rate(st.offered_spans_per_sec),
                human_rate(st.achieved_spans_per_sec),
                human_rate(st.acked_spans_per_sec),
                st.load_duration_s,
                st.acked_spans,
                st.rejected_spans,
                st.status.as_str(),
                gave,
                if st.generator_limited {
                    " (generator-limited)"
                } else {
                    ""
                },
            );
        }
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "{}", self.conclusion());
        s
    }

    /// The conclusion line(s): the capacity found, or why none was, and `--require`.
    pub fn conclusion(&self) -> String {
        use crate::capacity::End;
        let r = &self.result;
        let at_least = r.capacity_at_least.map_or("-".into(), human_rate);
        let mut line = match (r.end, r.max_sustainable_spans_per_sec) {
            (End::Degraded, Some(c)) => format!(
                "max sustainable: {} spans/s; {} gave way first at {} spans/s",
                human_rate(c),
                r.first_degraded_check.as_deref().unwrap_or("?"),
                r.first_degraded_spans_per_sec
                    .map_or("-".into(), human_rate)
            ),
            (End::Degraded, None) => format!(
                "below the first step: {} gave way at {} spans/s",
                r.first_degraded_check.as_deref().unwrap_or("?"),
                r.first_degraded_spans_per_sec
                    .map_or("-".into(), human_rate)
            ),
            (End::GeneratorLimited, _) => format!(
                "capacity at least {at_least} spans/s: the generator was the limit, not the target (use more [load] threads)"
            ),
            (End::MaxReached, _) => {
                format!(
                    "capacity at least {at_least} spans/s: every check held at the maximum rate"
                )
            }
            (End::TimeLimit, _) => {
                format!("capacity at least {at_least} spans/s: the time limit ended the search")
            }
            (End::Stopped, _) => format!("stopped: capacity at least {at_least} spans/s so far"),
            (End::BaselineFailed, _) => {
                "the baseline fails: no capacity can be measured".to_string()
            }
            (End::LoadError, _) => "the load could not run".to_string(),
            (End::Inconclusive, _) => {
                let step = self
                    .steps
                    .iter()
                    .find(|s| s.status == crate::verify::status::Status::Inconclusive)
                    .or(self.steps.last());
                format!(
                    "capacity at least {at_least} spans/s: {} was inconclusive ({}), so it neither held nor gave way",
                    step.map_or("a step", |s| s.phase.as_str()),
                    step.map(|s| s.inconclusive()).unwrap_or_default()
                )
            }
        };
        if let (Some(req), Some(met)) = (self.require_spans_per_sec, self.require_met) {
            let _ = write!(
                line,
                "\nrequire {} spans/s: {}",
                human_rate(req),
                if met { "met" } else { "NOT met" }
            );
        }
        line
    }
}
