//! Reports: machine-readable JSON (with a `schema` field and a JSON Schema under `schemas/`),
//! the terminal summary, Markdown and self-contained HTML renderings, the comparison of two
//! saved reports, and the progress display shown while a run goes.
//!
//! Each report kind has its own module with its JSON layout and terminal summary; the other
//! formats have one module each (`markdown`, `html/`), and `saved` dispatches a report read back
//! from its JSON to them.

pub mod capacity;
pub mod compare;
pub mod fidelity;
pub mod html;
pub mod load;
pub mod markdown;
pub mod merge;
pub mod mergeable;
pub mod progress;
pub mod run;
pub mod saved;
pub mod split;
pub mod watch;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::error::UsageError;

/// Removes an output file that was created but never written (the command ended before it had
/// anything to report, e.g. an unreachable target): no file is better than an empty one that
/// `report` would reject. Only an empty regular file is removed.
#[derive(Debug)]
struct RemoveIfUnwritten {
    path: PathBuf,
    written: std::sync::atomic::AtomicBool,
}

impl RemoveIfUnwritten {
    fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            written: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl Drop for RemoveIfUnwritten {
    fn drop(&mut self) {
        if self.written.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let empty_file = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.file_type().is_file() && m.len() == 0);
        if empty_file {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// `1 thread`, `2 threads`: a count with its noun, singular for one.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A JSON output file, opened before any load is sent so a bad path fails early.
#[derive(Debug)]
pub struct JsonOut {
    path: PathBuf,
    file: File,
    unwritten: RemoveIfUnwritten,
}

impl JsonOut {
    /// Creates (truncates) the file; it is removed again if nothing is ever written to it.
    pub fn create(path: &Path) -> Result<Self, UsageError> {
        let file = File::create(path).map_err(|e| {
            UsageError::new(format!("--json {}: cannot create it: {e}", path.display()))
        })?;
        Ok(Self {
            path: path.to_owned(),
            file,
            unwritten: RemoveIfUnwritten::new(path),
        })
    }

    /// Writes `value` as pretty JSON, replacing what an earlier write left.
    pub fn write<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        self.unwritten
            .written
            .store(true, std::sync::atomic::Ordering::Relaxed);
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

/// A text output file (`--html FILE`, `--markdown FILE`), opened before any load is sent so a
/// bad path fails early, naming the flag.
#[derive(Debug)]
pub struct TextOut {
    flag: &'static str,
    path: PathBuf,
    file: File,
    unwritten: RemoveIfUnwritten,
}

impl TextOut {
    /// Creates (truncates) the file given to `flag` (e.g. `--html`).
    pub fn create(flag: &'static str, path: &Path) -> Result<Self, UsageError> {
        let file = File::create(path).map_err(|e| {
            UsageError::new(format!("{flag} {}: cannot create it: {e}", path.display()))
        })?;
        Ok(Self {
            flag,
            path: path.to_owned(),
            file,
            unwritten: RemoveIfUnwritten::new(path),
        })
    }

    /// Writes `text`, replacing what an earlier write left.
    pub fn write(&self, text: &str) -> anyhow::Result<()> {
        self.unwritten
            .written
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let file = &self.file;
        file.set_len(0)?;
        let mut w = BufWriter::new(file);
        std::io::Seek::rewind(&mut w)?;
        w.write_all(text.as_bytes())?;
        w.flush()
            .with_context(|| format!("writing {} {}", self.flag, self.path.display()))
    }
}

/// Percentile summary of a histogram in the unit it was recorded in; `None` when empty.
pub fn percentiles(h: &hdrhistogram::Histogram<u64>, qs: &[f64]) -> Option<Vec<u64>> {
    (!h.is_empty()).then(|| qs.iter().map(|q| h.value_at_quantile(*q)).collect())
}

pub use crate::units::rate::human as human_rate;

/// A check's value as the reports print it: four decimals, more when that leaves fewer than
/// three significant digits, so a small value shows where it stands against its limit
/// (`0.00098` against `0.005`, not `0.0010`).
pub fn check_value(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v:.4}");
    }
    let magnitude = v.abs().log10().floor() as i64;
    let decimals = (2 - magnitude).clamp(4, 15) as usize;
    let mut s = format!("{v:.decimals$}");
    // Zeros past the fourth decimal only pad the significant digits: drop them.
    let keep = s.len() - (decimals - 4);
    while s.len() > keep && s.ends_with('0') {
        s.pop();
    }
    s
}

/// A change of a check's value, signed, with the precision of [`check_value`].
pub fn check_delta(v: f64) -> String {
    let s = check_value(v);
    if s.starts_with('-') {
        s
    } else {
        format!("+{s}")
    }
}

#[cfg(test)]
mod value_tests {
    /// `0.00098` was printed `0.0010` beside a limit of `0.005`.
    #[test]
    fn small_values_keep_three_significant_digits() {
        use super::{check_delta, check_value};
        assert_eq!(check_value(0.00098), "0.00098");
        assert_eq!(check_value(0.000_012_345), "0.0000123");
        assert_eq!(check_value(0.001), "0.0010");
        assert_eq!(check_value(0.93), "0.9300");
        assert_eq!(check_value(1317.18294), "1317.1829");
        assert_eq!(check_value(0.0), "0.0000");
        assert_eq!(check_value(-0.00042), "-0.00042");
        assert_eq!(check_delta(0.00008), "+0.00008");
        assert_eq!(check_delta(-2928.70934), "-2928.7093");
    }
}

#[cfg(test)]
mod count_tests {
    /// Summaries said "1 threads" and "in 1 windows".
    #[test]
    fn one_is_singular() {
        assert_eq!(super::count(1u64, "thread"), "1 thread");
        assert_eq!(super::count(2u64, "window"), "2 windows");
        assert_eq!(super::count(0u64, "burst"), "0 bursts");
    }
}
