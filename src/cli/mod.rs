//! The command line: clap-derived structs and `run`, which dispatches to a command.
//!
//! Parsing turns argv into plain structs with no I/O; each command fills a `config` overrides
//! struct from them, and `config` validates it, together with the profile, into one immutable
//! plan (docs/configuration.md). Nothing below `cli` imports it.

pub mod capacity;
pub mod completions;
pub mod fidelity;
pub mod flags;
pub mod load;
pub mod merge;
pub mod report;
pub mod run;
pub mod serve;
pub mod serve_guard;
pub mod watch;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::exit_code_for;

/// Drive an unruly OTLP load, run a well-behaved sentinel tenant through the same pipeline, and
/// report whether its verification degrades under load.
#[derive(Debug, Parser)]
#[command(name = "span-sentinel", version, about, long_about = None,
    after_help = crate::error::EXIT_CODES_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load only (like telemetrygen): paced, template-encoded OTLP to a target or a discard sink.
    Load(load::LoadArgs),
    /// Phases of sentinel plus load against a target (the embedded pipeline by default); checks,
    /// a verdict (exit 0 pass, 1 otherwise) and reports.
    #[command(after_help = crate::error::EXIT_CODES_HELP)]
    Run(run::RunArgs),
    /// The reference pipeline on its own: a bounded, multi-tenant OTLP tracing backend.
    Serve(serve::ServeArgs),
    /// Step the load up beside the sentinel until a check degrades; the highest sustainable rate.
    #[command(after_help = crate::error::EXIT_CODES_HELP)]
    Capacity(capacity::CapacityArgs),
    /// Histogram fidelity: known latency distributions in, reported vs exact quantiles out.
    #[command(after_help = crate::error::EXIT_CODES_HELP)]
    Fidelity(fidelity::FidelityArgs),
    /// The sentinel alone, until stopped, verified over rolling windows, with Prometheus
    /// metrics; a final report on Ctrl-C or SIGTERM.
    #[command(after_help = crate::error::EXIT_CODES_HELP)]
    Watch(watch::WatchArgs),
    /// A completion script for bash, zsh or fish on stdout.
    Completions(completions::CompletionsArgs),
    /// Add up the `load --json` reports of a test's segments into the report of the whole test.
    Merge(merge::MergeArgs),
    /// Re-render a saved JSON report (terminal, Markdown, HTML), or compare it with a baseline.
    Report(report::ReportArgs),
}

/// Parses `args` and runs the command, printing errors with their whole context chain.
/// Exit codes: 0 success, 1 verdict not pass, 2 usage or configuration error, 3 target
/// unreachable, 4 could not finish.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // clap exits 0 for --help/--version and 2 for usage errors, as the exit codes below promise.
            let _ = err.print();
            return ExitCode::from(err.exit_code() as u8);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit_code_for(&err))
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Load(args) => load::run(args),
        Command::Run(args) => run::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Capacity(args) => capacity::run(args),
        Command::Fidelity(args) => fidelity::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Report(args) => report::run(args),
        Command::Merge(args) => merge::run(args),
    }
}

/// The flag Ctrl-C sets: the current run's, replaced by each run in the process.
static CTRL_C_FLAG: std::sync::Mutex<Option<std::sync::Arc<std::sync::atomic::AtomicBool>>> =
    std::sync::Mutex::new(None);

/// Sets `stop` on the first Ctrl-C or SIGTERM, so a run ends early and still reports what it
/// measured; a second Ctrl-C exits at once.
pub fn stop_on_ctrl_c(stop: &std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::Ordering;
    static INSTALL: std::sync::Once = std::sync::Once::new();
    *CTRL_C_FLAG.lock().unwrap_or_else(|e| e.into_inner()) = Some(stop.clone());
    INSTALL.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            let flag = CTRL_C_FLAG
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if flag.is_none_or(|f| f.swap(true, Ordering::SeqCst)) {
                std::process::exit(130);
            }
        });
    });
}
