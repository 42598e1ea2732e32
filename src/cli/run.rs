//! `span-sentinel run [PROFILE]`: phases of sentinel plus load against a target; checks, a
//! verdict and reports. Exit code 0 for `pass`, 1 for any other verdict, 4 when interrupted.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Args;

use super::flags::{OutputArgs, SentinelArgs, TargetArgs};
use crate::config::Overrides;
use crate::config::run::{AlertSource, run_plan, with_alertmanager};
use crate::placement::{CpuList, Placement};
use crate::report::run::RunReport;
use crate::run::execute::execute;
use crate::run::load_only::execute_load_only;
use crate::verify::status::Status;

/// Flags of `span-sentinel run`.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// The profile and the target.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The embedded pipeline's isolation and the sentinel's seed.
    #[command(flatten)]
    pub sentinel: SentinelArgs,
    /// Where to read the sentinel's alert state: `target` (the target's alert history and
    /// webhook, the default) or prometheus://HOST:PORT (a Prometheus server's alerts, polled;
    /// its rule must be named as [sentinel.alert] name and carry a `tenant` label).
    #[arg(
        long,
        value_name = "prometheus://HOST:PORT",
        env = "SPAN_SENTINEL_ALERTS"
    )]
    pub alerts: Option<AlertSource>,
    /// With --alerts prometheus://...: the Alertmanager that Prometheus sends the alert to
    /// (http://HOST:PORT). Before the load the sentinel checks that it routes the sentinel's
    /// alert to the sentinel's webhook (and prints the receiver to add when it does not); every
    /// burst must then bring a firing and a resolved notification (`alert_notification`).
    #[arg(
        long,
        value_name = "URL",
        requires = "alerts",
        env = "SPAN_SENTINEL_ALERTMANAGER_URL"
    )]
    pub alertmanager: Option<String>,
    /// Where the sentinel's webhook receiver for Alertmanager listens; Alertmanager's receiver
    /// posts to http://HOST:PORT/alertmanager (default 127.0.0.1:9097, as
    /// prometheus/alertmanager.yml).
    #[arg(
        long,
        value_name = "HOST:PORT",
        requires = "alertmanager",
        env = "SPAN_SENTINEL_ALERTMANAGER_WEBHOOK"
    )]
    pub alertmanager_webhook: Option<SocketAddr>,
    /// With segments: the index of the segment that runs the sentinel (default 0); the others
    /// send their share of the load through the same phases and judge nothing.
    #[arg(long, value_name = "K")]
    pub sentinel_segment: Option<usize>,
    /// Pin the load engine's worker threads to these CPUs, as taskset writes them: 0, 0,1 or
    /// 0-3. Give the sentinel others (--sentinel-cpus), so the load cannot take its CPU.
    #[arg(long, value_name = "LIST", value_parser = CpuList::parse)]
    pub load_cpus: Option<CpuList>,
    /// Pin the sentinel's threads to these CPUs (the embedded pipeline's go with them: they
    /// share one runtime). Must not share a CPU with --load-cpus.
    #[arg(long, value_name = "LIST", value_parser = CpuList::parse)]
    pub sentinel_cpus: Option<CpuList>,
    /// Execution segments and a common start.
    #[command(flatten)]
    pub split: super::flags::SplitArgs,
    /// The reports and the progress display.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `span-sentinel run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let process_start = std::time::SystemTime::now();
    let mut plan = run_plan(&Overrides {
        alerts: args.alerts.clone(),
        segment: args.split.segment_flags(),
        sentinel_segment: args.sentinel_segment,
        start_at: args.split.start_at.map(|s| s.instant(process_start)),
        placement: Placement {
            load_cpus: args.load_cpus.clone(),
            sentinel_cpus: args.sentinel_cpus.clone(),
        },
        ..args.sentinel.apply(args.target.overrides())
    })?;
    if let Some(url) = &args.alertmanager {
        with_alertmanager(&mut plan, url, args.alertmanager_webhook)?;
    }
    let outputs = args.output.open()?;
    if let (Some(json), true) = (&outputs.json, plan.load.segment.count > 1) {
        json.write(&RunReport::new(&crate::run::load_only::unfinished(&plan)))?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    crate::cli::stop_on_ctrl_c(&stop);
    let outcome = if plan.runs_sentinel() {
        let mut progress = args.output.progress();
        let outcome = execute(plan, stop.clone(), |p| progress.update(p));
        progress.finish();
        outcome
    } else {
        execute_load_only(plan, stop.clone())
    };
    let report = RunReport::new(&outcome?);
    if let Some(json) = outputs.json {
        json.write(&report)?;
    }
    if let Some(html) = outputs.html {
        html.write(&crate::report::html::run::render(&report))?;
    }
    print!("{}", report.summary());
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        // Interrupted: the phases not run are inconclusive, and the run never exits 0.
        return Ok(ExitCode::from(crate::error::EXIT_UNFINISHED));
    }
    Ok(if report.verdict == Status::Pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::error::EXIT_VERDICT)
    })
}
