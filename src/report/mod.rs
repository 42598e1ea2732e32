//! Reports: machine-readable JSON (with a `schema` field and a JSON Schema under `schemas/`),
//! the terminal summary, and the progress line printed while a run goes.

pub mod capacity;
pub mod fidelity;
pub mod load;
pub mod progress;
pub mod run;
pub mod watch;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::error::UsageError;

/// A JSON output file, opened before any load is sent so a bad path fails early.
#[derive(Debug)]
pub struct JsonOut {
    path: PathBuf,
    file: File,
}

impl JsonOut {
    /// Creates (truncates) the file.
    pub fn create(path: &Path) -> Result<Self, UsageError> {
        let file = File::create(path).map_err(|e| {
            UsageError::new(format!("--json {}: cannot create it: {e}", path.display()))
        })?;
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }

    /// Writes `value` as pretty JSON, replacing what an earlier write left.
    pub fn write<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        let file = &self.file;
        file.set_len(0)?;
        let mut w = BufWriter::new(file);
        std::io::Seek::rewind(&mut w)?;
        serde_json::to_writer_pretty(&mut w, value)?;
        w.write_all(b"\n")?;
        w.flush()
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// Percentile summary of a histogram in the unit it was recorded in; `None` when empty.
pub fn percentiles(h: &hdrhistogram::Histogram<u64>, qs: &[f64]) -> Option<Vec<u64>> {
    (!h.is_empty()).then(|| qs.iter().map(|q| h.value_at_quantile(*q)).collect())
}

/// Human form of a rate: `19.8M`, `512.0k`, `37`.
pub fn human_rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}
