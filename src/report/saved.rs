//! A saved JSON report read back (`span-sentinel report FILE.json`): recognised by its `schema`
//! field, re-rendered in any format, and reduced to rows of checks for `--baseline`.
//!
//! Reading is strict about what it accepts and precise about what it refuses: a file that is not
//! JSON names its line and column, a JSON file that is not a span-sentinel report says which
//! schemas are understood.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::capacity::{self, CapacityReport};
use super::compare::Row;
use super::fidelity::{self, FidelityReport};
use super::html;
use super::markdown;
use super::run::{self, RunReport};
use crate::error::UsageError;
use crate::verify::status::Status;

/// A report of one of the kinds `report` re-renders.
#[derive(Debug, Clone)]
pub enum SavedReport {
    /// `span-sentinel/run/v1`.
    Run(Box<RunReport>),
    /// `span-sentinel/capacity/v1`.
    Capacity(Box<CapacityReport>),
    /// `span-sentinel/fidelity/v1`.
    Fidelity(Box<FidelityReport>),
}

fn parse<T: DeserializeOwned>(
    path: &Path,
    schema: &str,
    value: serde_json::Value,
) -> Result<T, UsageError> {
    serde_json::from_value(value).map_err(|e| {
        UsageError::new(format!(
            "{}: not a valid {schema} report: {e}",
            path.display()
        ))
    })
}

impl SavedReport {
    /// Reads and recognises `path`.
    pub fn read(path: &Path) -> Result<Self, UsageError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError::new(format!("{}: cannot read it: {e}", path.display())))?;
        Self::parse(path, &text)
    }

    /// Recognises `text`, read from `path` (named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self, UsageError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            let what = e.to_string();
            let what = what
                .rsplit_once(" at line ")
                .map_or(what.as_str(), |(w, _)| w);
            UsageError::new(format!(
                "{}:{}:{}: not valid JSON: {what}",
                path.display(),
                e.line(),
                e.column()
            ))
        })?;
        let schema = value
            .get("schema")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_owned();
        match schema.as_str() {
            run::SCHEMA => Ok(Self::Run(parse(path, &schema, value)?)),
            capacity::SCHEMA => Ok(Self::Capacity(parse(path, &schema, value)?)),
            fidelity::SCHEMA => Ok(Self::Fidelity(parse(path, &schema, value)?)),
            "" => Err(UsageError::new(format!(
                "{}: not a span-sentinel report (no `schema` field; expected one of {}, {}, {})",
                path.display(),
                run::SCHEMA,
                capacity::SCHEMA,
                fidelity::SCHEMA
            ))),
            other => Err(UsageError::new(format!(
                "{}: a `{other}` report cannot be re-rendered; `report` reads {}, {} and {}",
                path.display(),
                run::SCHEMA,
                capacity::SCHEMA,
                fidelity::SCHEMA
            ))),
        }
    }

    /// The `schema` it declared.
    pub fn schema(&self) -> &str {
        match self {
            Self::Run(r) => &r.schema,
            Self::Capacity(r) => &r.schema,
            Self::Fidelity(r) => &r.schema,
        }
    }

    /// The terminal rendering (what the command printed when it ran).
    pub fn terminal(&self) -> String {
        match self {
            Self::Run(r) => r.summary(),
            Self::Capacity(r) => r.summary(),
            Self::Fidelity(r) => r.summary(),
        }
    }

    /// The Markdown rendering.
    pub fn markdown(&self) -> String {
        match self {
            Self::Run(r) => markdown::run(r),
            Self::Capacity(r) => markdown::capacity(r),
            Self::Fidelity(r) => markdown::fidelity(r),
        }
    }

    /// The HTML rendering.
    pub fn html(&self) -> String {
        match self {
            Self::Run(r) => html::run::render(r),
            Self::Capacity(r) => html::capacity::render(r),
            Self::Fidelity(r) => html::fidelity::render(r),
        }
    }

    /// Every check as a row to compare with another report of the same kind.
    pub fn rows(&self) -> Vec<Row> {
        match self {
            Self::Run(r) => r
                .checks
                .iter()
                .map(|c| Row::new(&c.name, &c.phase, Some(c.status), c.observed))
                .collect(),
            Self::Capacity(r) => {
                let mut rows: Vec<Row> = r
                    .baseline
                    .iter()
                    .map(|c| Row::new(&c.name, &c.phase, Some(c.status), c.observed))
                    .collect();
                for st in &r.steps {
                    rows.extend(
                        st.checks
                            .iter()
                            .map(|c| Row::new(&c.name, &st.phase, Some(c.status), c.observed)),
                    );
                }
                let found = r
                    .result
                    .max_sustainable_spans_per_sec
                    .or(r.result.capacity_at_least);
                let met = r
                    .require_met
                    .map(|m| if m { Status::Pass } else { Status::Fail });
                rows.push(Row::new("capacity_spans_per_sec", "result", met, found));
                rows
            }
            Self::Fidelity(r) => {
                let judge = |e: f64| {
                    r.allowed_rel_error
                        .map(|a| if e <= a { Status::Pass } else { Status::Fail })
                };
                let mut rows = Vec::new();
                for d in &r.distributions {
                    for q in &d.quantiles {
                        let name = format!("rel_error {}", super::fidelity::quantile_name(q.q));
                        rows.push(Row::new(
                            &name,
                            &d.name,
                            judge(q.rel_error),
                            Some(q.rel_error),
                        ));
                    }
                }
                rows.push(Row::new(
                    "max_rel_error",
                    "all",
                    judge(r.max_rel_error),
                    Some(r.max_rel_error),
                ));
                rows
            }
        }
    }
}
