//! `span-sentinel watch [PROFILE]`: the sentinel alone, until stopped (or for `--duration`),
//! verified over rolling windows, with Prometheus metrics on `--metrics-addr`. Ctrl-C or
//! SIGTERM ends it with a final report. Exit code 0 when every check passed in some window and
//! failed in none, 1 otherwise.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Args;

use super::flags::{SentinelArgs, TargetArgs};
use crate::config::watch::{WatchOverrides, watch_plan};
use crate::report::watch::WatchReport;
use crate::report::{self, JsonOut};
use crate::verify::status::Status;
use crate::watch::engine::{Observer, watch};
use crate::watch::windows::{Totals, WindowVerdict};

/// Flags of `span-sentinel watch`.
#[derive(Debug, Clone, Args)]
#[command(mut_arg("profile", |a| a.help(
    "Profile (its [sentinel], [checks] and [pipeline] sections; phases and load are ignored)"
)))]
pub struct WatchArgs {
    /// The profile and the target.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The embedded pipeline's isolation and the sentinel's seed.
    #[command(flatten)]
    pub sentinel: SentinelArgs,
    /// Length of a verification window: each window's checks get a verdict.
    #[arg(long, default_value = "60s", value_parser = positive_duration)]
    pub window: Duration,
    /// Stop after this long (default: until Ctrl-C or SIGTERM).
    #[arg(long, value_parser = positive_duration)]
    pub duration: Option<Duration>,
    /// Serve Prometheus metrics at http://ADDR/metrics (port 0 picks a free one; the bound
    /// address is printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9465")]
    pub metrics_addr: SocketAddr,
    /// Write the JSON report here when the watch ends.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// No line per window.
    #[arg(long, short)]
    pub quiet: bool,
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    match crate::units::duration::parse(s)? {
        d if d.is_zero() => Err("must be positive (e.g. 60s)".into()),
        d => Ok(d),
    }
}

/// Prints the ready line and one line per window on stderr.
struct Lines {
    quiet: bool,
}

impl Observer for Lines {
    fn ready(&mut self, metrics_addr: SocketAddr, target: &str, seed: u64) {
        // Not eprintln!: a closed stderr must not bring the watch down.
        let _ = writeln!(
            std::io::stderr(),
            "span-sentinel watch: metrics on http://{metrics_addr}/metrics | target {target} | seed {seed} (Ctrl-C to stop)"
        );
    }

    fn window(&mut self, w: &WindowVerdict, _totals: &Totals) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{}", report::watch::window_line(w));
        }
    }

    fn second(&mut self, elapsed: Duration, window: u64, t: &Totals) {
        if !self.quiet {
            let line = report::watch::second_line(elapsed, window, t);
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }
}

/// Runs `span-sentinel watch`.
pub fn run(args: WatchArgs) -> anyhow::Result<ExitCode> {
    let plan = watch_plan(&WatchOverrides {
        run: args.sentinel.apply(args.target.overrides()),
        window: args.window,
        duration: args.duration,
        metrics_addr: args.metrics_addr,
    })?;
    let json = args.json.as_deref().map(JsonOut::create).transpose()?;
    let stop = Arc::new(AtomicBool::new(false));
    crate::cli::stop_on_ctrl_c(&stop);
    let outcome = watch(plan, stop, &mut Lines { quiet: args.quiet })?;
    let report = WatchReport::new(&outcome);
    if let Some(json) = json {
        json.write(&report)?;
    }
    let _ = write!(std::io::stdout(), "{}", report.summary());
    Ok(if report.verdict == Status::Pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::error::EXIT_VERDICT)
    })
}
