//! `span-sentinel merge`: the `load` reports of the segments of one test, added up exactly into
//! the report one process would have written (counts summed, HDR histograms added, timelines
//! aligned by wall-clock second), after checking that they are the segments of one run.
//!
//! `checks` refuses what cannot be merged, naming the file and the field; `sum` adds up.

mod checks;
mod sum;

use std::path::{Path, PathBuf};

use super::load::{self, LoadReport};
use crate::error::UsageError;

/// A report read for merging, with the file it came from (named in every error).
#[derive(Debug, Clone)]
pub struct Input {
    /// The file.
    pub path: PathBuf,
    /// Its report.
    pub report: LoadReport,
}

impl Input {
    /// Reads a `load` JSON report; refuses other files, naming the file and the field.
    pub fn read(path: &Path) -> Result<Self, UsageError> {
        let named = |msg: String| UsageError::new(format!("{}: {msg}", path.display()));
        let text =
            std::fs::read_to_string(path).map_err(|e| named(format!("cannot read it: {e}")))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| named(format!("not valid JSON: {e}")))?;
        let schema = value.get("schema").and_then(|s| s.as_str());
        if schema != Some(load::SCHEMA) {
            return Err(named(format!(
                "field `schema` is {}: merge adds up {} reports (of `span-sentinel load --json`)",
                schema.map_or("missing".into(), |s| format!("{s:?}")),
                load::SCHEMA
            )));
        }
        let report = serde_json::from_value(value).map_err(|e| {
            named(format!(
                "{e}: not a report merge can add up (written by a span-sentinel without mergeable \
                 reports?)"
            ))
        })?;
        Ok(Self {
            path: path.to_owned(),
            report,
        })
    }
}

/// Checks that `inputs` are the segments of one run covering the test exactly once and adds
/// them up.
pub fn merge(inputs: &[Input]) -> Result<LoadReport, UsageError> {
    checks::same_run(inputs)?;
    checks::cover_once(inputs)?;
    sum::sum(inputs)
}
