//! Flag groups shared by several commands, flattened into each command's flags with
//! `#[command(flatten)]`, and their one conversion into `config::Overrides`. A command whose
//! help for a shared flag must say more rewords it with `mut_arg` on its own struct.

use std::path::PathBuf;

use clap::Args;

use crate::config::Overrides;
use crate::pipeline::Isolation;
use crate::report::progress::{ProgressMode, RunProgress};
use crate::report::{JsonOut, TextOut};
use crate::transport::TlsOptions;

/// The profile and where to send: the embedded pipeline, or `--target` with `--query-url`.
#[derive(Debug, Clone, Default, Args)]
pub struct TargetArgs {
    /// Profile (e.g. profiles/interference.toml); without one, the defaults.
    pub profile: Option<PathBuf>,
    /// Send to this OTLP endpoint instead of the embedded pipeline (needs --traces or
    /// --query-url).
    #[arg(long, value_name = "URL", env = "SPAN_SENTINEL_TARGET")]
    pub target: Option<String>,
    /// Base URL of the reference pipeline's query API, `span-sentinel serve` (e.g.
    /// http://127.0.0.1:4318): traces, histograms, alerts and the sentinel's alert rule.
    #[arg(long, value_name = "URL")]
    pub query_url: Option<String>,
    /// Where the verifier reads traces back: jaeger+http://HOST:PORT[/prefix] (Jaeger's v3
    /// API, OTLP JSON), jaeger-v1+http://HOST:PORT[/prefix] (its v1 JSON API, also served by
    /// others), reference+http://HOST:PORT; +https for TLS. See docs/backends.md.
    #[arg(long, value_name = "BACKEND+URL", env = "SPAN_SENTINEL_TRACES")]
    pub traces: Option<crate::verify::backend::TracesPlan>,
    /// Where the sentinel's latency histograms are read: prometheus://HOST:PORT[/prefix], a
    /// Prometheus scraping the Collector's spanmetrics connector (its default metric and
    /// labels). Without it, from the reference API when there is one.
    #[arg(
        long,
        value_name = "prometheus://HOST:PORT",
        env = "SPAN_SENTINEL_METRICS"
    )]
    pub metrics: Option<crate::verify::backend::PrometheusUrl>,
    /// The header Jaeger's multi-tenancy reads the tenant from (Jaeger's default: x-tenant).
    #[arg(long, value_name = "NAME", env = "SPAN_SENTINEL_JAEGER_TENANT_HEADER")]
    pub jaeger_tenant_header: Option<String>,
    /// Extra header on every request to --target, KEY=VALUE; repeatable. Values never
    /// appear in reports.
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = super::load::parse_header)]
    pub headers: Vec<(String, String)>,
    /// Headers from a file, one KEY=VALUE a line: for tokens that must not show in `ps`.
    #[arg(long, value_name = "FILE")]
    pub header_file: Option<PathBuf>,
    /// TLS to the target, its query API and Prometheus.
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// The embedded pipeline's isolation, the sentinel's seed and where its webhook receiver
/// listens: `run`, `capacity` and `watch`.
#[derive(Debug, Clone, Default, Args)]
pub struct SentinelArgs {
    /// Isolation of the embedded pipeline.
    #[arg(long, value_enum)]
    pub isolation: Option<Isolation>,
    /// Seed of the sentinel's traces (default: the profile's, else random).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where the sentinel's webhook receiver listens for the target's alert notifications
    /// (default 127.0.0.1 on a free port). A pipeline in another pod or host needs an address
    /// it can reach, e.g. 0.0.0.0:9466, with --webhook-url.
    #[arg(long, value_name = "HOST:PORT", env = "SPAN_SENTINEL_WEBHOOK_LISTEN")]
    pub webhook_listen: Option<std::net::SocketAddr>,
    /// The URL the target is told to post notifications to (default http://LISTEN/hook; needed
    /// when --webhook-listen binds every interface), e.g. http://10.1.2.3:9466/hook.
    #[arg(long, value_name = "URL", env = "SPAN_SENTINEL_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
}

impl SentinelArgs {
    /// `o` with these flags set.
    pub fn apply(self, o: Overrides) -> Overrides {
        Overrides {
            isolation: self.isolation,
            seed: self.seed,
            webhook_listen: self.webhook_listen,
            webhook_url: self.webhook_url,
            ..o
        }
    }
}

/// TLS to the target (`grpcs://`, `https://`, or `--tls`), its query API and Prometheus.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "TLS")]
pub struct TlsArgs {
    /// Use TLS with a grpc:// or http:// target (grpcs:// and https:// always do).
    #[arg(long)]
    pub tls: bool,
    /// PEM CA certificates to trust instead of the system roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain for mutual TLS (with --client-key).
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of --client-cert.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Name the server's certificate must carry, instead of the target's host.
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// Accept any server certificate: encrypted but not authenticated (the report warns).
    #[arg(long)]
    pub insecure_skip_verify: bool,
}

impl TlsArgs {
    /// The flags as `config` reads them.
    pub fn options(&self) -> TlsOptions {
        TlsOptions {
            ca_file: self.ca_file.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            server_name: self.tls_server_name.clone(),
            insecure_skip_verify: self.insecure_skip_verify,
            force: self.tls,
        }
    }
}

impl TargetArgs {
    /// The one conversion of the shared flags into what `config` reads; a command adds its
    /// own (`isolation`, `seed`, `alerts`) with struct update syntax.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            profile: self.profile.clone(),
            target: self.target.clone(),
            query_url: self.query_url.clone(),
            traces: self.traces.clone(),
            metrics: self.metrics.clone(),
            jaeger_tenant_header: self.jaeger_tenant_header.clone(),
            tls: self.tls.options(),
            headers: self.headers.clone(),
            header_file: self.header_file.clone(),
            ..Overrides::default()
        }
    }
}

/// Where the reports go and how much is shown while the command runs.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
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

/// The report files, created (and so checked) before the command starts its work.
pub struct Outputs {
    /// The JSON report, if asked for.
    pub json: Option<JsonOut>,
    /// The HTML report, if asked for.
    pub html: Option<TextOut>,
}

impl OutputArgs {
    /// Creates the report files now, so a bad path fails before anything runs.
    pub fn open(&self) -> anyhow::Result<Outputs> {
        Ok(Outputs {
            json: self.json.as_deref().map(JsonOut::create).transpose()?,
            html: self
                .html
                .as_deref()
                .map(|p| TextOut::create("--html", p))
                .transpose()?,
        })
    }

    /// The progress display `--quiet` asks for.
    pub fn progress(&self) -> RunProgress {
        RunProgress::new(ProgressMode::detect(self.quiet))
    }
}

/// One test split over many processes: which share this process sends, and when all start.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Execution segments")]
pub struct SplitArgs {
    /// Send the I-th of N equal shares of the test, I counted from 0 (0/4 … 3/4): the union of
    /// all N with one seed sends exactly what one process would.
    #[arg(long, value_name = "I/N", group = "split")]
    pub segment: Option<String>,
    /// Send the share A:B of the test (fractions, e.g. 1/4:1/2 or 0.25:0.5).
    #[arg(long, value_name = "A:B", group = "split")]
    pub execution_segment: Option<String>,
    /// The segments of the whole test, 0,...,1 (e.g. 0,1/4,1/2,1): --execution-segment must be
    /// two neighbouring values; refused when the values leave a gap or overlap.
    #[arg(long, value_name = "0,...,1", requires = "execution_segment")]
    pub execution_segment_sequence: Option<String>,
    /// N equal shares, this process's index from JOB_COMPLETION_INDEX (a Kubernetes Indexed
    /// Job).
    #[arg(long, value_name = "N", group = "split", value_parser = clap::value_parser!(u32).range(1..))]
    pub segments: Option<u32>,
    /// Wait for this instant before the first batch: RFC 3339 in UTC
    /// (2026-12-03T07:00:00Z) or +DURATION after the process started (+30s). Give every
    /// segment the same.
    #[arg(long, value_name = "TIME", value_parser = crate::config::start::StartAt::parse)]
    pub start_at: Option<crate::config::start::StartAt>,
}

impl SplitArgs {
    /// The segment flags as `config` reads them.
    pub fn segment_flags(&self) -> crate::config::segment::SegmentFlags {
        crate::config::segment::SegmentFlags {
            segment: self.segment.clone(),
            execution_segment: self.execution_segment.clone(),
            sequence: self.execution_segment_sequence.clone(),
            segments: self.segments,
        }
    }
}
