//! `span-sentinel capacity [PROFILE]`: raise the unruly load step by step beside the sentinel
//! until one of its checks degrades; report the highest sustainable rate. Exit code 0, or 1 when
//! `--require RATE` is not met (a release gate) or the baseline itself fails.

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;

use crate::units::rate;

use super::flags::{OutputArgs, SentinelArgs, TargetArgs};
use super::load::parse_duration;
use crate::capacity::step::{Purpose, measure};
use crate::capacity::{End, Search, StepResult};
use crate::config::Overrides;
use crate::config::capacity::{CapacityOverrides, CapacityPlan, SearchSettings, capacity_plan};
use crate::config::run::TargetPlan;
use crate::report::capacity::{CapacityReport, ReportContext, SplitFields, StepLimits};
use crate::report::progress::Printer;
use crate::report::split::{SegmentReport, StartReport};
use crate::report::{JsonOut, TextOut};
use crate::run::execute::{RunOutcome, execute_with};
use crate::run::load_only::execute_load_only;

/// Flags of `span-sentinel capacity`.
#[derive(Debug, Clone, Default, Args)]
#[command(
    mut_arg("profile", |a| a.help("Profile (e.g. profiles/capacity.toml); without one, the defaults")),
    mut_arg("query_url", |a| a.help("Base URL of the target's query API")),
    mut_arg("seed", |a| a.help("Seed of the sentinel's traces")),
    mut_arg("json", |a| a.help("Write the JSON report here (rewritten after every step)")),
    mut_arg("html", |a| a.help("Write the HTML report here (rewritten after every step)")),
)]
pub struct CapacityArgs {
    /// The profile and the target.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The embedded pipeline's isolation and the sentinel's seed.
    #[command(flatten)]
    pub sentinel: SentinelArgs,
    /// Offered load of the first step, spans/s (`[capacity] start_spans_per_sec`).
    #[arg(long, value_name = "RATE", value_parser = rate::parse_positive)]
    pub start: Option<f64>,
    /// Multiply the rate by this after a good step (`[capacity] growth`).
    #[arg(long)]
    pub growth: Option<f64>,
    /// Add this many spans/s after a good step instead (`[capacity] increment`).
    #[arg(long, value_name = "RATE", value_parser = rate::parse)]
    pub increment: Option<f64>,
    /// How long each step's load runs (`[capacity] step`).
    #[arg(long, value_parser = parse_duration)]
    pub step: Option<Duration>,
    /// The highest rate tried (`[capacity] max_spans_per_sec`).
    #[arg(long, value_name = "RATE", value_parser = rate::parse_positive)]
    pub max: Option<f64>,
    /// With segments (`plan = "staircase"` only): the index of the segment that runs the
    /// sentinel (default 0); the others send their share of every step and judge nothing.
    #[arg(long, value_name = "K")]
    pub sentinel_segment: Option<usize>,
    /// Execution segments and a common start (`plan = "staircase"` only).
    #[command(flatten)]
    pub split: super::flags::SplitArgs,
    /// Exit 1 when the capacity found is below this many spans/s (a release gate).
    #[arg(long, value_name = "RATE", value_parser = rate::parse)]
    pub require: Option<f64>,
    /// The reports (rewritten after every step) and the progress display.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `span-sentinel capacity`.
pub fn run(args: CapacityArgs) -> anyhow::Result<ExitCode> {
    if args.require.is_some_and(|r| !(r.is_finite() && r >= 0.0)) {
        return Err(
            crate::error::UsageError::new("--require: must be a rate ≥ 0 (spans/s)").into(),
        );
    }
    let process_start = std::time::SystemTime::now();
    let plan = capacity_plan(&CapacityOverrides {
        run: Overrides {
            segment: args.split.segment_flags(),
            sentinel_segment: args.sentinel_segment,
            start_at: args.split.start_at.map(|s| s.instant(process_start)),
            ..args.sentinel.apply(args.target.overrides())
        },
        start: args.start,
        growth: args.growth,
        increment: args.increment,
        step: args.step,
        max: args.max,
    })?;
    let outputs = args.output.open()?;
    let cx = ReportContext {
        target: match &plan.run.target {
            TargetPlan::Embedded(_) => "embedded".into(),
            TargetPlan::External { target, .. } => target.to_string(),
        },
        seed: plan.run.seed,
        profile: args
            .target
            .profile
            .as_ref()
            .map(|p| p.display().to_string()),
        time_limit_s: plan.search.time_limit.as_secs_f64(),
        require: args.require,
        plan: plan.kind,
        split: split_fields(&plan),
    };
    if !plan.run.runs_sentinel() {
        return load_only(plan, &cx, &args.output);
    }
    let outs = Arc::new(Mutex::new((outputs.json, outputs.html)));
    let mut progress = args.output.progress();
    let mut search = Search::new(
        plan.search.clone(),
        plan.run.checks.clone(),
        on_step(outs.clone(), cx.clone(), progress.printer()),
    );
    let stop = Arc::new(AtomicBool::new(false));
    crate::cli::stop_on_ctrl_c(&stop);
    progress.printer().println(&format!(
        "capacity search: at most {} steps, within {:?}",
        plan.search.max_steps, plan.search.time_limit
    ));
    let outcome = execute_with(plan.run, stop, |p| progress.update(p), &mut search);
    progress.finish();
    let outcome = outcome?;
    let mut report = CapacityReport::new(&cx, &search, true);
    report.target = outcome.target;
    report.warnings = outcome.warnings;
    with_start(&mut report, outcome.start.as_ref());
    write_outputs(&outs, &report)?;
    print!("{}", report.summary());
    if matches!(report.result.end, End::Stopped | End::LoadError) {
        return Ok(ExitCode::from(crate::error::EXIT_UNFINISHED));
    }
    let failed = report.result.end == End::BaselineFailed;
    Ok(if failed || report.require_met == Some(false) {
        ExitCode::from(crate::error::EXIT_VERDICT)
    } else {
        ExitCode::SUCCESS
    })
}

/// What `merge` needs besides the steps: the segment, the load's seed and digest, the limits
/// the steps are judged by and the staircase.
fn split_fields(plan: &CapacityPlan) -> SplitFields {
    let load = &plan.run.load;
    let segmented = load.segment.count > 1;
    SplitFields {
        segment: SegmentReport::of(&load.segment),
        sentinel_segment: segmented.then_some(plan.run.sentinel_segment),
        start: None,
        load_seed: Some(load.seed),
        test_digest: Some(load.test_digest.clone()),
        limits: Some(StepLimits {
            generator_limit: plan.search.generator_limit,
            refused_limit: plan.search.refused_limit,
        }),
        staircase_spans_per_sec: plan.search.staircase.clone().unwrap_or_default(),
        merged_from: Vec::new(),
    }
}

/// Records the actual start against `--start-at`, warning when it was late.
fn with_start(report: &mut CapacityReport, start: Option<&crate::engine::start::Start>) {
    if let Some(start) = start {
        let (start, warning) = StartReport::of(start);
        report.split.start = Some(start);
        report.warnings.extend(warning);
    }
}

/// A segment without the sentinel: it walks the staircase's phases on the common clock,
/// sends its share of every step and judges nothing; its report carries each step's load for
/// `merge`.
fn load_only(
    plan: CapacityPlan,
    cx: &ReportContext,
    output: &OutputArgs,
) -> anyhow::Result<ExitCode> {
    let outputs = output.open()?;
    let stop = Arc::new(AtomicBool::new(false));
    crate::cli::stop_on_ctrl_c(&stop);
    let settings = plan.search.clone();
    let outcome = execute_load_only(plan.run, stop)?;
    let search = Search::new(settings.clone(), Default::default(), |_| {});
    let mut report = CapacityReport::new(cx, &search, true);
    report.steps = load_only_steps(&settings, &outcome);
    report.result = crate::capacity::staircase::conclude(&report.steps, Some(End::TimeLimit));
    report.target = outcome.target.clone();
    report.warnings = outcome.warnings.clone();
    with_start(&mut report, outcome.start.as_ref());
    if let Some(json) = outputs.json {
        json.write(&report)?;
    }
    print!("{}", report.summary());
    Ok(ExitCode::SUCCESS)
}

/// Each step's load, without the sentinel's checks: inconclusive until merged.
fn load_only_steps(settings: &SearchSettings, outcome: &RunOutcome) -> Vec<StepResult> {
    let rates = settings.staircase.as_deref().unwrap_or_default();
    let phases = outcome.plan.phases.iter().zip(&outcome.phases);
    phases
        .filter(|(p, _)| p.name.starts_with("step-"))
        .zip(rates)
        .filter_map(|((p, o), &rate)| {
            let load = o.load.as_ref()?;
            Some(measure(
                settings,
                p.name.clone(),
                (rate, Purpose::Staircase),
                load,
                Vec::new(),
            ))
        })
        .collect()
}

/// The JSON and HTML outputs, shared by the step callback and the end of the command.
type Outputs = Arc<Mutex<(Option<JsonOut>, Option<TextOut>)>>;

fn write_outputs(outs: &Outputs, report: &CapacityReport) -> anyhow::Result<()> {
    let outs = outs.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(out) = &outs.0 {
        out.write(report)?;
    }
    if let Some(out) = &outs.1 {
        out.write(&crate::report::html::capacity::render(report))?;
    }
    Ok(())
}

/// What happens after the baseline and each step: the partial reports are rewritten, and the
/// step is printed.
fn on_step(
    outs: Outputs,
    cx: ReportContext,
    printer: Printer,
) -> impl FnMut(&Search) + Send + 'static {
    let mut printed = 0;
    move |s| {
        let report = CapacityReport::new(&cx, s, false);
        let _ = write_outputs(&outs, &report);
        if s.steps.len() > printed {
            printed = s.steps.len();
            let st = &s.steps[printed - 1];
            printer.println(&format!(
                "[{}] offered {} achieved {} spans/s: {}",
                st.phase,
                crate::units::rate::human(st.offered_spans_per_sec),
                crate::units::rate::human(st.achieved_spans_per_sec),
                st.status.as_str()
            ));
        }
    }
}
