//! `span-sentinel merge`: the `load` reports of a test's segments (`--segment`, one per process
//! or pod) added up into one report, as if one process had sent the whole test.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::report::JsonOut;
use crate::report::merge::{Input, merge};

/// Flags of `span-sentinel merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The `load --json` reports of the segments, one per segment; together they must cover
    /// the test exactly once, with one seed and one test.
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// Write the merged JSON report here (the `load` layout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Runs `span-sentinel merge`.
pub fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let json = args.json.as_deref().map(JsonOut::create).transpose()?;
    let inputs = args
        .reports
        .iter()
        .map(|p| Input::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let report = merge(&inputs)?;
    if let Some(json) = json {
        json.write(&report)?;
    }
    let _ = write!(std::io::stdout(), "{}", report.summary());
    Ok(ExitCode::SUCCESS)
}
