//! `span-sentinel fidelity [PROFILE]`: the histogram-fidelity benchmark — known distributions in,
//! reported quantiles out, compared with the exact ones. Exit code 0, or 1 when the largest
//! relative error exceeds what is allowed (`--max-rel-error`, else the embedded pipeline's
//! promise of 10^-digits).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::config::{Profile, ProfileSource};
use crate::error::UsageError;
use crate::fidelity::fidelity_with;
use crate::fidelity::schemes::Scheme;
use crate::report::fidelity::FidelityReport;
use crate::report::progress::{ProgressMode, RunProgress};
use crate::report::{JsonOut, TextOut};
use crate::run::plan::{RunOverrides, RunPlan, TargetPlan, build};

/// Flags of `span-sentinel fidelity`.
#[derive(Debug, Clone, Default, Args)]
pub struct FidelityArgs {
    /// Profile (e.g. profiles/fidelity.toml); without one, the defaults.
    pub profile: Option<PathBuf>,
    /// Send to this OTLP endpoint instead of the embedded pipeline (needs --query-url).
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Base URL of the target's query API.
    #[arg(long, value_name = "URL")]
    pub query_url: Option<String>,
    /// Significant digits of the embedded pipeline's histograms (1 to 5).
    #[arg(long, value_name = "D")]
    pub histogram_digits: Option<u8>,
    /// Exit 1 when a relative quantile error exceeds this (default: 10^-digits, embedded only);
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
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the HTML report here (relative error by quantile for every distribution).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// No progress display, and only the conclusion line, not the table.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `span-sentinel fidelity`.
pub fn run(args: FidelityArgs) -> anyhow::Result<ExitCode> {
    let (profile, source) = match &args.profile {
        Some(path) => {
            let (p, s) = ProfileSource::read(path)?;
            (p, Some(s))
        }
        None => (Profile::default(), None),
    };
    let mut section = profile.fidelity.clone();
    crate::fidelity::suite::apply_flags(
        &mut section,
        args.schemes.clone(),
        args.prometheus.clone(),
    );
    if section.distributions.is_empty() || section.spans_per_distribution == 0 {
        return Err(crate::config::load::field_error(
            source.as_ref(),
            "fidelity.spans_per_distribution",
            "needs at least one distribution and one span per distribution",
        )
        .into());
    }
    let overrides = RunOverrides {
        profile: args.profile.clone(),
        target: args.target.clone(),
        query_url: args.query_url.clone(),
        isolation: None,
        seed: args.seed,
        alerts: None,
    };
    let mut plan = build(profile, source.as_ref(), &overrides)?;
    let digits = set_digits(&mut plan, args.histogram_digits)?;
    crate::fidelity::suite::check_prometheus(&section, &plan)?;
    if args
        .max_rel_error
        .is_some_and(|e| !(e.is_finite() && e >= 0.0))
    {
        return Err(UsageError::new("--max-rel-error: must be a number ≥ 0").into());
    }
    let allowed = args
        .max_rel_error
        .or(digits.map(|d| 10f64.powi(-i32::from(d))));
    let json = args.json.as_deref().map(JsonOut::create).transpose()?;
    let html = args
        .html
        .as_deref()
        .map(|p| TextOut::create("--html", p))
        .transpose()?;
    let printer = RunProgress::new(ProgressMode::detect(args.quiet)).printer();
    let outcome = fidelity_with(&plan, &section, &mut |step| printer.println(step))?;
    let report = FidelityReport::new(&outcome, plan.seed, digits, allowed);
    if let Some(json) = json {
        json.write(&report)?;
    }
    if let Some(html) = html {
        html.write(&crate::report::html::fidelity::render(&report))?;
    }
    let summary = report.summary();
    match args.quiet {
        true => println!("{}", summary.lines().last().unwrap_or("")),
        false => print!("{summary}"),
    }
    Ok(if report.within_allowed == Some(false) {
        ExitCode::from(crate::error::EXIT_VERDICT)
    } else {
        ExitCode::SUCCESS
    })
}

/// Applies `--histogram-digits` to the embedded pipeline; returns its digits (`None` for an
/// external target, where the flag is a usage error).
fn set_digits(plan: &mut RunPlan, flag: Option<u8>) -> Result<Option<u8>, UsageError> {
    match &mut plan.target {
        TargetPlan::Embedded(config) => {
            if let Some(d) = flag {
                if !(1..=5).contains(&d) {
                    return Err(UsageError::new("--histogram-digits: must be 1 to 5"));
                }
                config.histogram_digits = d;
            }
            Ok(Some(config.histogram_digits))
        }
        TargetPlan::External { .. } if flag.is_some() => Err(UsageError::new(
            "--histogram-digits sets the embedded pipeline's digits; it cannot apply with --target",
        )),
        TargetPlan::External { .. } => Ok(None),
    }
}
