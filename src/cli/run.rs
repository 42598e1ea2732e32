//! `span-sentinel run [PROFILE]`: phases of sentinel plus load against a target; checks, a
//! verdict and reports. Exit code 0 for `pass`, 1 for any other verdict.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Args;

use crate::report::progress::{ProgressMode, RunProgress};
use crate::report::run::RunReport;
use crate::report::{JsonOut, TextOut};
use crate::run::execute::execute;
use crate::run::plan::{AlertSource, IsolationArg, RunOverrides, run_plan};
use crate::verify::status::Status;

/// Flags of `span-sentinel run`.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// Profile (e.g. profiles/interference.toml); without one, the defaults.
    pub profile: Option<PathBuf>,
    /// Send to this OTLP endpoint instead of the embedded pipeline (needs --query-url).
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Base URL of the target's query API (e.g. http://127.0.0.1:4318).
    #[arg(long, value_name = "URL")]
    pub query_url: Option<String>,
    /// Isolation of the embedded pipeline.
    #[arg(long, value_enum)]
    pub isolation: Option<IsolationArg>,
    /// Seed of the sentinel's traces (default: the profile's, else random).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where to read the sentinel's alert state: `target` (the target's alert history and
    /// webhook, the default) or prometheus://HOST:PORT (a Prometheus server's alerts, polled;
    /// its rule must be named as [sentinel.alert] name and carry a `tenant` label).
    #[arg(long, value_name = "prometheus://HOST:PORT")]
    pub alerts: Option<AlertSource>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the HTML report here (one self-contained file with the run's timelines).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// No progress display (by default: bars on a terminal, a line per second otherwise).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `span-sentinel run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let plan = run_plan(&RunOverrides {
        profile: args.profile.clone(),
        target: args.target.clone(),
        query_url: args.query_url.clone(),
        isolation: args.isolation,
        seed: args.seed,
        alerts: args.alerts.clone(),
    })?;
    let json = args.json.as_deref().map(JsonOut::create).transpose()?;
    let html = args
        .html
        .as_deref()
        .map(|p| TextOut::create("--html", p))
        .transpose()?;
    let stop = Arc::new(AtomicBool::new(false));
    crate::cli::stop_on_ctrl_c(&stop);
    let mut progress = RunProgress::new(ProgressMode::detect(args.quiet));
    let outcome = execute(plan, stop, |p| progress.update(p));
    progress.finish();
    let report = RunReport::new(&outcome?);
    if let Some(json) = json {
        json.write(&report)?;
    }
    if let Some(html) = html {
        html.write(&crate::report::html::run::render(&report))?;
    }
    print!("{}", report.summary());
    Ok(if report.verdict == Status::Pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::error::EXIT_VERDICT)
    })
}
