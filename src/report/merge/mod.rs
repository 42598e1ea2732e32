//! `span-sentinel merge`: the reports of the segments of one test, added up exactly into the
//! report one process would have written, after checking that they are the segments of one run.
//!
//! `load` reports: counts summed, HDR histograms added, timelines aligned by wall-clock second
//! (`sum`). `run` reports: the load of every phase summed beside the sentinel segment's
//! evidence, and the verdict judged again with the whole load (`run`). `capacity` reports of a
//! fixed staircase: each step's load summed, each step judged again, the capacity read off the
//! merged steps (`capacity`). `checks` refuses what
//! cannot be merged, naming the file and the field.

mod capacity;
mod checks;
mod run;
mod sum;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::capacity::{self as capacity_report, CapacityReport};
use super::load::{self, LoadReport};
use super::run::{self as run_report, RunReport};
use crate::error::UsageError;

/// A report read for merging, with the file it came from (named in every error).
#[derive(Debug, Clone)]
pub struct Input<R> {
    /// The file.
    pub path: PathBuf,
    /// Its report.
    pub report: R,
}

/// A load-only segment's warnings as the merged report carries them, each named by its file;
/// "the sentinel ran in segment …" is dropped, since the merged report judges the whole test.
pub fn segment_warnings<'a>(
    path: &'a std::path::Path,
    warnings: &'a [String],
) -> impl Iterator<Item = String> + 'a {
    warnings
        .iter()
        .filter(|w| !w.contains("the sentinel ran in segment"))
        .map(move |w| format!("{}: {w}", path.display()))
}

/// What `merge` wrote: the report of the whole test.
#[derive(Debug, Clone)]
pub enum Merged {
    /// From `load` reports.
    Load(Box<LoadReport>),
    /// From `run` reports.
    Run(Box<RunReport>),
    /// From the `capacity` reports of a fixed staircase.
    Capacity(Box<CapacityReport>),
}

fn named(path: &Path, msg: impl std::fmt::Display) -> UsageError {
    UsageError::new(format!("{}: {msg}", path.display()))
}

/// A report file as JSON, and its `schema` field.
fn read_value(path: &Path) -> Result<(serde_json::Value, String), UsageError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| named(path, format!("cannot read it: {e}")))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| named(path, format!("not valid JSON: {e}")))?;
    let schema = value.get("schema").and_then(|s| s.as_str());
    let schema = match schema {
        Some(s @ (load::SCHEMA | run_report::SCHEMA | capacity_report::SCHEMA)) => s.to_owned(),
        other => {
            return Err(named(
                path,
                format!(
                    "field `schema` is {}: merge adds up {}, {} or {} reports",
                    other.map_or("missing".into(), |s| format!("{s:?}")),
                    load::SCHEMA,
                    run_report::SCHEMA,
                    capacity_report::SCHEMA
                ),
            ));
        }
    };
    Ok((value, schema))
}

fn parse<R: DeserializeOwned>(
    path: &Path,
    value: serde_json::Value,
) -> Result<Input<R>, UsageError> {
    let report = serde_json::from_value(value).map_err(|e| {
        named(
            path,
            format!("{e}: not a report merge can add up (written by a span-sentinel without mergeable reports?)"),
        )
    })?;
    Ok(Input {
        path: path.to_owned(),
        report,
    })
}

/// Reads the reports (all `load`, all `run` or all `capacity`), checks that they are the segments of one run
/// covering the test exactly once, and adds them up.
pub fn merge(paths: &[PathBuf]) -> Result<Merged, UsageError> {
    let mut values = Vec::with_capacity(paths.len());
    for path in paths {
        values.push((path, read_value(path)?));
    }
    let Some((first, (_, kind))) = values.first() else {
        return Err(UsageError::new("merge needs at least one report"));
    };
    let (first, kind) = (first.to_path_buf(), kind.clone());
    if let Some((path, (_, other))) = values.iter().find(|(_, (_, s))| *s != kind) {
        return Err(named(
            path,
            format!(
                "field `schema` is {other:?}, but {} is a {kind:?} report",
                first.display()
            ),
        ));
    }
    if kind == load::SCHEMA {
        let inputs: Vec<Input<LoadReport>> = values
            .into_iter()
            .map(|(p, (v, _))| parse(p, v))
            .collect::<Result<_, _>>()?;
        let keys: Vec<_> = inputs.iter().map(checks::Key::of_load).collect();
        checks::same_run(&keys)?;
        checks::cover_once(&keys)?;
        Ok(Merged::Load(Box::new(sum::sum(&inputs)?)))
    } else if kind == capacity_report::SCHEMA {
        let inputs: Vec<Input<CapacityReport>> = values
            .into_iter()
            .map(|(p, (v, _))| parse(p, v))
            .collect::<Result<_, _>>()?;
        let keys: Vec<_> = inputs.iter().map(checks::Key::of_capacity).collect();
        checks::same_run(&keys)?;
        checks::cover_once(&keys)?;
        Ok(Merged::Capacity(Box::new(capacity::merge(&inputs)?)))
    } else {
        let inputs: Vec<Input<RunReport>> = values
            .into_iter()
            .map(|(p, (v, _))| parse(p, v))
            .collect::<Result<_, _>>()?;
        let keys: Vec<_> = inputs.iter().map(checks::Key::of_run).collect();
        checks::same_run(&keys)?;
        checks::cover_once(&keys)?;
        Ok(Merged::Run(Box::new(run::merge(&inputs)?)))
    }
}
