//! `span-sentinel fidelity [PROFILE]`: the histogram-fidelity benchmark — known distributions in,
//! reported quantiles out, compared with the exact ones. Exit code 0, or 1 when the largest
//! relative error exceeds what is allowed (`--max-rel-error`, else the embedded pipeline's
//! promise of 10^-digits) or when nothing allowed applies (an external target without
//! `--max-rel-error`: measured, not judged, and no data is not a pass).

use std::process::ExitCode;

use clap::Args;

use super::flags::{OutputArgs, TargetArgs};
use crate::config::Overrides;
use crate::config::fidelity::{FidelityOverrides, fidelity_plan};
use crate::fidelity::fidelity_with;
use crate::fidelity::schemes::Scheme;
use crate::report::fidelity::FidelityReport;

/// Flags of `span-sentinel fidelity`.
#[derive(Debug, Clone, Default, Args)]
#[command(
    mut_arg("profile", |a| a.help("Profile (e.g. profiles/fidelity.toml); without one, the defaults")),
    mut_arg("query_url", |a| a.help("Base URL of the target's query API")),
    mut_arg("html", |a| a.help("Write the HTML report here (relative error by quantile for every distribution)")),
    mut_arg("quiet", |a| a.help("No progress display, and only the conclusion line, not the table")),
)]
pub struct FidelityArgs {
    /// The profile and the target.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Significant digits of the embedded pipeline's histograms (1 to 5).
    #[arg(long, value_name = "D")]
    pub histogram_digits: Option<u8>,
    /// Exit 1 when a relative quantile error exceeds this (default: 10^-digits, embedded only;
    /// without it an external target is measured but not judged, which also exits 1);
    /// with --schemes, also the budget each scheme is judged against, with boundaries that meet it.
    #[arg(long, value_name = "E")]
    pub max_rel_error: Option<f64>,
    /// Also feed the same values into these histogram schemes, one column each (comma-separated:
    /// hdr, otel-explicit, otel-exponential, prom-classic, prom-native, ddsketch).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub schemes: Option<Vec<Scheme>>,
    /// Also read each distribution's quantiles with histogram_quantile from this Prometheus,
    /// which must scrape the target's /metrics.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Seed of the values sent.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The reports and the progress display.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `span-sentinel fidelity`.
pub fn run(args: FidelityArgs) -> anyhow::Result<ExitCode> {
    let plan = fidelity_plan(&FidelityOverrides {
        run: Overrides {
            seed: args.seed,
            ..args.target.overrides()
        },
        histogram_digits: args.histogram_digits,
        max_rel_error: args.max_rel_error,
        schemes: args.schemes.clone(),
        prometheus: args.prometheus.clone(),
    })?;
    let outputs = args.output.open()?;
    let printer = args.output.progress().printer();
    let outcome = fidelity_with(&plan.run, &plan.section, &mut |step| printer.println(step))?;
    let report = FidelityReport::new(&outcome, plan.run.seed, plan.digits, plan.allowed);
    if let Some(json) = outputs.json {
        json.write(&report)?;
    }
    if let Some(html) = outputs.html {
        html.write(&crate::report::html::fidelity::render(&report))?;
    }
    let summary = report.summary();
    match args.output.quiet {
        true => println!("{}", summary.lines().last().unwrap_or("")),
        false => print!("{summary}"),
    }
    // Not judged (no allowed error) is not a pass, as an inconclusive `run` is not: exit 1.
    Ok(if report.within_allowed == Some(true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::error::EXIT_VERDICT)
    })
}
