//! `span-sentinel report FILE.json`: re-render a saved JSON report (run, capacity or fidelity,
//! recognised by its `schema` field) on the terminal, as Markdown or as HTML, and with
//! `--baseline OLD.json` show how every check moved against an earlier report. Exit code 0, 1
//! with `--fail-on-worse` when any check got worse (a CI gate on regressions), or 2 when a file
//! is not a span-sentinel report (the message names the file, and the line and column of a JSON
//! syntax error).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::error::UsageError;
use crate::report::compare::{self, Change};
use crate::report::saved::SavedReport;
use crate::report::{TextOut, html};

/// Flags of `span-sentinel report`.
#[derive(Debug, Clone, Default, Args)]
pub struct ReportArgs {
    /// A JSON report written with --json by run, capacity or fidelity.
    pub file: PathBuf,
    /// Markdown instead of the terminal rendering: to FILE, or to stdout without one (put it
    /// after the report's FILE).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    pub markdown: Option<PathBuf>,
    /// Write the HTML rendering here (one self-contained file).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// An earlier report of the same kind: show each check's old and new status and value.
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: the relative change of a value (a capacity, a delay, an error) beyond
    /// which it is better or worse, as a fraction or a percentage (default 5%).
    #[arg(long, value_name = "FRACTION|N%", value_parser = parse_tolerance, requires = "baseline")]
    pub tolerance: Option<f64>,
    /// With --baseline: exit 1 when any check got worse.
    #[arg(long, requires = "baseline")]
    pub fail_on_worse: bool,
}

/// Parses `--tolerance`: `0.05` or `5%`.
pub fn parse_tolerance(s: &str) -> Result<f64, String> {
    let (number, scale) = match s.strip_suffix('%') {
        Some(n) => (n, 0.01),
        None => (s, 1.0),
    };
    match number.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && (scale < 1.0 || v <= 1.0) => Ok(v * scale),
        _ => Err(format!(
            "{s:?} is not a tolerance; give a fraction from 0 to 1 (0.05) or a percentage (5%)"
        )),
    }
}

/// A saved report and, with `--baseline`, its comparison, in every rendering.
struct Rendering {
    report: SavedReport,
    changes: Option<Vec<Change>>,
    old: String,
    new: String,
}

impl Rendering {
    fn markdown(&self) -> String {
        let mut text = self.report.markdown();
        if let Some(c) = &self.changes {
            text.push('\n');
            text.push_str(&compare::markdown(c, &self.old, &self.new));
        }
        text
    }

    fn html(&self) -> String {
        let page = self.report.html();
        match &self.changes {
            Some(c) => html::append_section(&page, &html::comparison(c, &self.old, &self.new)),
            None => page,
        }
    }

    fn terminal(&self) -> String {
        let mut text = self.report.terminal();
        if let Some(c) = &self.changes {
            text.push('\n');
            text.push_str(&compare::terminal(c, &self.old, &self.new));
        }
        text
    }
}

/// Runs `span-sentinel report`.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let report = SavedReport::read(&args.file)?;
    let changes = match &args.baseline {
        Some(path) => Some(baseline_changes(
            &report,
            path,
            args.tolerance.unwrap_or(compare::DEFAULT_TOLERANCE),
        )?),
        None => None,
    };
    let markdown_to_stdout = args.markdown.as_deref() == Some(Path::new("-"));
    let markdown_file = args.markdown.as_deref().filter(|_| !markdown_to_stdout);
    let files = [
        ("Markdown", "--markdown", markdown_file),
        ("HTML", "--html", args.html.as_deref()),
    ];
    // Every file is created before anything is written, so a path that cannot be is said first.
    let files = files
        .into_iter()
        .filter_map(|(kind, flag, path)| Some((kind, path?, flag)))
        .map(|(kind, path, flag)| Ok((kind, path, TextOut::create(flag, path)?)))
        .collect::<Result<Vec<_>, UsageError>>()?;
    let r = Rendering {
        report,
        changes,
        old: args
            .baseline
            .as_deref()
            .map_or(String::new(), |p| p.display().to_string()),
        new: args.file.display().to_string(),
    };
    for (kind, _, out) in &files {
        out.write(&if *kind == "HTML" {
            r.html()
        } else {
            r.markdown()
        })?;
    }
    let written: Vec<String> = files
        .iter()
        .map(|(kind, path, _)| format!("wrote the {kind} report to {}", path.display()))
        .collect();
    if markdown_to_stdout {
        print!("{}", r.markdown());
        // stdout carries the Markdown: what else was written goes beside it, on stderr.
        written.iter().for_each(|line| eprintln!("{line}"));
    } else if written.is_empty() {
        print!("{}", r.terminal());
    } else {
        // The files are the output asked for: say where they went, not the whole report again.
        written.iter().for_each(|line| println!("{line}"));
        if let Some(c) = &r.changes {
            println!("against {}: {}", r.old, compare::tally(c));
        }
    }
    let worse = r.changes.as_deref().is_some_and(compare::any_worse);
    if args.fail_on_worse && worse {
        eprintln!("a check got worse than in the baseline (--fail-on-worse)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the baseline at `path` and compares `report`'s checks with it; both must be of one kind.
fn baseline_changes(
    report: &SavedReport,
    path: &Path,
    tolerance: f64,
) -> Result<Vec<Change>, UsageError> {
    let old = SavedReport::read(path)?;
    if old.schema() != report.schema() {
        return Err(UsageError::new(format!(
            "--baseline {}: a {} report cannot be compared with a {} report",
            path.display(),
            old.schema(),
            report.schema()
        )));
    }
    Ok(compare::compare(&old.rows(), &report.rows(), tolerance))
}
