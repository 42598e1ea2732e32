//! `span-sentinel merge`: the reports of a test's segments (`--segment`, one per process or
//! pod) added up into one report, as if one process had run the whole test.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::error::{EXIT_VERDICT, UsageError};
use crate::report::merge::{Merged, merge};
use crate::report::{JsonOut, TextOut, html};
use crate::verify::status::Status;

/// Flags of `span-sentinel merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The `load --json` (or `run --json`, or `capacity --json` of a staircase) reports of the segments, one per segment; together
    /// they must cover the test exactly once, with one seed and one test.
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// Write the merged JSON report here (the layout of the reports merged).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the merged report as self-contained HTML (`run` and `capacity` reports: `load`
    /// reports have no HTML rendering).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// The exit code of a merged capacity report, as `capacity` would have exited: 1 when the
/// baseline failed or `--require` is not met.
fn capacity_code(report: &crate::report::capacity::CapacityReport) -> ExitCode {
    use crate::capacity::End;
    if matches!(report.result.end, End::Stopped | End::LoadError) {
        return ExitCode::from(crate::error::EXIT_UNFINISHED);
    }
    if report.result.end == End::BaselineFailed || report.require_met == Some(false) {
        return ExitCode::from(EXIT_VERDICT);
    }
    ExitCode::SUCCESS
}

/// Runs `span-sentinel merge`: exit 0, or for `run` reports 1 when the merged verdict is not
/// pass (for `capacity` reports, when `capacity` would have exited 1); 2 when the reports cannot
/// be merged.
pub fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let json = args.json.as_deref().map(JsonOut::create).transpose()?;
    let html = args
        .html
        .as_deref()
        .map(|p| TextOut::create("--html", p))
        .transpose()?;
    let (summary, code) = match merge(&args.reports)? {
        Merged::Load(report) => {
            if html.is_some() {
                return Err(UsageError::new(
                    "--html: load reports have no HTML rendering; merge them with --json",
                )
                .into());
            }
            if let Some(json) = &json {
                json.write(&report)?;
            }
            (report.summary(), ExitCode::SUCCESS)
        }
        Merged::Run(report) => {
            if let Some(json) = &json {
                json.write(&report)?;
            }
            if let Some(html) = &html {
                html.write(&html::run::render(&report))?;
            }
            let code = match report.verdict {
                Status::Pass => ExitCode::SUCCESS,
                _ => ExitCode::from(EXIT_VERDICT),
            };
            (report.summary(), code)
        }
        Merged::Capacity(report) => {
            if let Some(json) = &json {
                json.write(&report)?;
            }
            if let Some(html) = &html {
                html.write(&html::capacity::render(&report))?;
            }
            (report.summary(), capacity_code(&report))
        }
    };
    let _ = write!(std::io::stdout(), "{summary}");
    Ok(code)
}
