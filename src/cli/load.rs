//! `span-sentinel load`: the load engine on its own, like telemetrygen but paced open-loop and
//! accounting for every span.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use clap::{Args, ValueEnum};

pub use crate::config::load::RateArg;
use crate::config::load::{LoadOverrides, load_plan};
use crate::encode::Encoding;
use crate::engine::{Anchor, run_load_from, start};
use crate::placement::CpuList;
use crate::report::load::LoadReport;
use crate::report::{JsonOut, progress};
use crate::transport::Codec;

/// Parses `--rate`: a positive number or `max`.
pub fn parse_rate(s: &str) -> Result<RateArg, String> {
    if s.eq_ignore_ascii_case("max") {
        return Ok(RateArg::Max);
    }
    crate::units::rate::parse_positive(s)
        .map(RateArg::PerSec)
        .map_err(|e| format!("{e}, or max"))
}

/// Parses a human duration flag such as `30s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = crate::units::duration::parse(s)?;
    if d.is_zero() {
        Err("must be longer than zero".into())
    } else {
        Ok(d)
    }
}

/// Parses `--header k=v`.
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    Ok((k.trim().to_owned(), v.trim().to_owned()))
}

/// Sinks that are not a network target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sink {
    /// Encode (in `--encoding`, compressed with `--compression`) and count, send nowhere: measures the
    /// generator alone.
    Discard,
}

/// Flags of `span-sentinel load`. Flags override the profile's `[load]` section.
#[derive(Debug, Clone, Default, Args)]
pub struct LoadArgs {
    /// Where to send: grpc://HOST:PORT or http://HOST:PORT/v1/traces.
    #[arg(long, value_name = "URL", conflicts_with = "sink")]
    pub target: Option<String>,
    /// Send nowhere: `discard` measures the generator alone.
    #[arg(long, value_enum)]
    pub sink: Option<Sink>,
    /// Offered rate in spans per second across all threads, or `max` (unthrottled).
    #[arg(long, value_name = "N|max", value_parser = parse_rate, allow_hyphen_values = true)]
    pub rate: Option<RateArg>,
    /// How long to send, e.g. 30s or 5m.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Spans per request (rounded to whole traces).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: Option<u32>,
    /// Tenant of every stream (sent in the tenant header).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Header that carries the tenant (default x-scope-orgid).
    #[arg(long)]
    pub tenant_header: Option<String>,
    /// Extra header on every request, KEY=VALUE; repeatable.
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Headers from a file, one KEY=VALUE a line: for tokens that must not show in `ps`.
    #[arg(long, value_name = "FILE")]
    pub header_file: Option<PathBuf>,
    /// Seed of trace and span IDs.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Connections per thread.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub connections: Option<u16>,
    /// Requests in flight per thread.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: Option<u16>,
    /// Gzip request bodies: the same as `--compression gzip`.
    #[arg(long, conflicts_with = "compression")]
    pub gzip: bool,
    /// Compress request bodies: gzip, zstd or none (OTLP/HTTP and OTLP/gRPC alike; with
    /// `--sink discard`, compress and drop).
    #[arg(long, value_name = "gzip|zstd|none")]
    pub compression: Option<Codec>,
    /// Level of `--compression`: gzip 1 to 9 (default 1), zstd -7 to 19 (default 1); not for
    /// OTLP/gRPC targets, which tonic compresses at its own level.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub compression_level: Option<i32>,
    /// Body encoding: protobuf, or json (OTLP JSON, OTLP/HTTP targets only).
    #[arg(long, value_name = "protobuf|json")]
    pub encoding: Option<Encoding>,
    /// Profile whose `[load]` section gives streams, shapes and the rate profile.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// TLS to the target.
    #[command(flatten)]
    pub tls: super::flags::TlsArgs,
    /// Execution segments and a common start.
    #[command(flatten)]
    pub split: super::flags::SplitArgs,
    /// Pin the worker threads to these CPUs, as taskset writes them: 0, 0,1 or 0-3.
    #[arg(long, value_name = "LIST", value_parser = CpuList::parse)]
    pub load_cpus: Option<CpuList>,
}

impl LoadArgs {
    /// What the flags override in the profile's `[load]` section.
    pub fn overrides(&self) -> LoadOverrides {
        LoadOverrides {
            target: self.target.clone(),
            discard: self.sink == Some(Sink::Discard),
            rate: self.rate,
            duration: self.duration,
            threads: self.threads,
            batch: self.batch,
            tenant: self.tenant.clone(),
            tenant_header: self.tenant_header.clone(),
            headers: self.headers.clone(),
            header_file: self.header_file.clone(),
            seed: self.seed,
            connections: self.connections,
            concurrency: self.concurrency,
            gzip: self.gzip,
            compression: self.compression,
            compression_level: self.compression_level,
            encoding: self.encoding,
            profile: self.profile.clone(),
            tls: self.tls.options(),
            segment: self.split.segment_flags(),
            cpus: self.load_cpus.clone(),
        }
    }
}

/// Runs `span-sentinel load`.
pub fn run(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let process_start = SystemTime::now();
    let plan = load_plan(&args.overrides())?;
    let json = args.json.as_deref().map(JsonOut::create).transpose()?;
    let stop = Arc::new(AtomicBool::new(false));
    crate::cli::stop_on_ctrl_c(&stop);
    let quiet = args.quiet;
    let (anchor, start) = match args.split.start_at {
        Some(at) => {
            let (anchor, start) = start::wait_for(at.instant(process_start), &stop);
            (anchor, Some(start))
        }
        None => (Anchor::now(), None),
    };
    let outcome = run_load_from(&plan, anchor, stop.clone(), |tick| {
        if !quiet {
            eprintln!("{}", progress::load_line(tick));
        }
    })?;
    let mut report = LoadReport::new(&plan, &outcome);
    if let Some(start) = &start {
        report = report.with_start(start);
    }
    if let Some(json) = json {
        json.write(&report)?;
    }
    // The summary is the command's result: stdout, where people and pipes look (progress stays
    // on stderr). A closed stdout is not an error.
    let _ = write!(std::io::stdout(), "{}", report.summary());
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "interrupted: stopped after {:.1}s of the {:.1}s asked for",
            outcome.sending.as_secs_f64(),
            plan.duration.as_secs_f64()
        );
        // The load asked for did not run: a script must not read this as a finished test.
        return Ok(ExitCode::from(crate::error::EXIT_UNFINISHED));
    }
    Ok(ExitCode::SUCCESS)
}
