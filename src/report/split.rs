//! What a report says about a test split over processes: which segment this process sent and
//! when it started against the start it was given (`--segment`, `--start-at`).

use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::engine::SegmentPlace;
use crate::engine::start::{START_LAG_BUDGET, Start};

/// The segment of the test a process sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentReport {
    /// Where the segment starts, a fraction of the test (`1/4`).
    pub start: String,
    /// Where it ends.
    pub end: String,
    /// Its index among the segments, from 0.
    pub index: usize,
    /// How many segments the test has.
    pub count: usize,
}

impl SegmentReport {
    /// The report of a segmented process; `None` for the whole test.
    pub fn of(place: &SegmentPlace) -> Option<Self> {
        (!place.segment.is_whole()).then(|| Self {
            start: place.segment.start().to_string(),
            end: place.segment.end().to_string(),
            index: place.index,
            count: place.count,
        })
    }
}

/// A scheduled start (`--start-at`) and the actual one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartReport {
    /// The instant asked for, RFC 3339 UTC.
    pub scheduled: String,
    /// The instant the process started, RFC 3339 UTC.
    pub actual: String,
    /// How much later than scheduled it started, ms (0 when on time).
    pub late_ms: f64,
}

impl StartReport {
    /// The report of a start, and the warning when it was later than the budget.
    pub fn of(start: &Start) -> (Self, Option<String>) {
        let rfc = |ns: u64| {
            humantime::format_rfc3339_micros(UNIX_EPOCH + Duration::from_nanos(ns)).to_string()
        };
        let late = start.late();
        let report = Self {
            scheduled: rfc(start.scheduled_unix_ns),
            actual: rfc(start.actual_unix_ns),
            late_ms: late.as_secs_f64() * 1e3,
        };
        let warning = start.over_budget().then(|| {
            format!(
                "started {:.0} ms after the --start-at instant (budget {} ms): the batches due \
                 meanwhile went out late (see the schedule lag); start the processes earlier or \
                 check that their clocks are in step",
                late.as_secs_f64() * 1e3,
                START_LAG_BUDGET.as_millis()
            )
        });
        (report, warning)
    }
}
