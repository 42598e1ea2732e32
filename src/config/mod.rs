//! Configuration flows one way: the command line fills an `Overrides` (and, per command, a few
//! more fields), a profile (TOML) is parsed into plain section structs (`profile`), and one
//! function per command validates both into an immutable plan (`run`, `capacity`, `watch`,
//! `fidelity`, `load`) that everything below takes by reference. Nothing here knows the command
//! line; see docs/configuration.md.

pub mod backends;
pub mod capacity;
pub mod fidelity;
pub mod headers;
pub mod load;
pub mod otlp_env;
pub mod peer;
pub mod profile;
pub mod run;
pub mod segment;
pub mod start;
pub mod watch;

pub use profile::{LoadSection, Profile, ProfileSource};

use std::path::PathBuf;

use crate::pipeline::Isolation;
use crate::sentinel::plan::AlertSource;
use crate::transport::TlsOptions;

/// What the flags shared by `run`, `capacity`, `watch` and `fidelity` override in a profile.
/// The command line fills it; each command's plan function reads it.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// The profile file.
    pub profile: Option<PathBuf>,
    /// `--target`: an OTLP endpoint instead of the embedded pipeline.
    pub target: Option<String>,
    /// `--query-url`: the query API of the backend behind `--target`.
    pub query_url: Option<String>,
    /// `--traces`: the trace backend the verifier reads (Jaeger's query API, ...).
    pub traces: Option<crate::verify::backend::TracesPlan>,
    /// `--metrics`: the Prometheus that holds the Collector's spanmetrics histograms.
    pub metrics: Option<crate::verify::backend::PrometheusUrl>,
    /// `--jaeger-tenant-header`: the header Jaeger's multi-tenancy reads (default `x-tenant`).
    pub jaeger_tenant_header: Option<String>,
    /// The TLS flags, for the target, its query API and Prometheus.
    pub tls: TlsOptions,
    /// `--header KEY=VALUE` pairs sent to the target.
    pub headers: Vec<(String, String)>,
    /// `--header-file`: more headers, one `KEY=VALUE` a line (the pairs win).
    pub header_file: Option<PathBuf>,
    /// The `OTEL_EXPORTER_OTLP_*` variables; `None` reads the process environment.
    pub env: Option<otlp_env::OtlpEnv>,
    /// `--isolation` of the embedded pipeline.
    pub isolation: Option<Isolation>,
    /// `--seed` of the sentinel's traces.
    pub seed: Option<u64>,
    /// `--webhook-listen`: where the sentinel's webhook receiver listens.
    pub webhook_listen: Option<std::net::SocketAddr>,
    /// `--webhook-url`: the URL the target is told to post notifications to.
    pub webhook_url: Option<String>,
    /// `--alerts`: where the sentinel reads its alert's state.
    pub alerts: Option<AlertSource>,
    /// The segment flags: which share of the load this process sends.
    pub segment: segment::SegmentFlags,
    /// `--sentinel-segment`: the segment that runs the sentinel (default 0).
    pub sentinel_segment: Option<usize>,
    /// `--start-at`, as a wall-clock instant.
    pub start_at: Option<std::time::SystemTime>,
    /// `--load-cpus` and `--sentinel-cpus`: where the threads of `run` go.
    pub placement: crate::placement::Placement,
}
