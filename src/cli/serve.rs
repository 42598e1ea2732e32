//! `span-sentinel serve`: the reference pipeline on its own, until Ctrl-C (or SIGTERM), then a
//! graceful shutdown that drains every acknowledged batch.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::error::UsageError;
use crate::pipeline::{Isolation, Pipeline, PipelineConfig, PipelineError};

/// Flags of `span-sentinel serve` (boxed, so the `Command` enum stays small).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The flags.
    #[command(flatten)]
    pub flags: Box<ServeFlags>,
}

/// The flags of `span-sentinel serve`.
#[derive(Debug, Args)]
pub struct ServeFlags {
    /// Address of the OTLP/gRPC listener, HOST:PORT (a host name is resolved; port 0 picks a
    /// free port).
    #[arg(long, default_value = "127.0.0.1:4317", value_parser = parse_listen_addr)]
    pub grpc: SocketAddr,
    /// Address of the HTTP listener (OTLP/HTTP, query API, /metrics), HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:4318", value_parser = parse_listen_addr)]
    pub http: SocketAddr,
    /// Header that names the tenant.
    #[arg(long, default_value = "x-scope-orgid")]
    pub tenant_header: String,
    /// Take the tenant of requests without the tenant header from this resource attribute
    /// (e.g. tenant.id), splitting mixed requests by tenant; for collectors that forward no
    /// headers.
    #[arg(long, value_name = "KEY")]
    pub tenant_attribute: Option<String>,
    /// How the admission queue is shared between tenants.
    #[arg(long, value_enum, default_value_t = Isolation::Shared)]
    pub isolation: Isolation,
    /// Admission queue capacity in spans (per tenant with --isolation fair).
    #[arg(long, default_value_t = 1_000_000)]
    pub queue_spans: usize,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Significant digits of the latency histograms (1-5).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub histogram_digits: u8,
    /// Rate quota of a tenant, TENANT=SPANS_PER_SEC (repeatable).
    #[arg(long = "tenant-quota", value_name = "TENANT=SPANS_PER_SEC")]
    pub tenant_quotas: Vec<String>,
    /// Root duration at or above which a trace is assembled, e.g. 1s, 250ms.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub assembly_threshold: Duration,
    /// Per-tenant assembly threshold, TENANT=DURATION (repeatable).
    #[arg(long = "tenant-assembly-threshold", value_name = "TENANT=DURATION")]
    pub tenant_thresholds: Vec<String>,
    /// How long to wait for late children after a root arrived.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub settle_window: Duration,
    /// Alert rule evaluation interval.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub alert_interval: Duration,
    /// Spans kept for trace assembly (all workers).
    #[arg(long, default_value_t = 4_000_000)]
    pub span_store_spans: usize,
    /// Request bytes kept for trace assembly (all workers), in MiB.
    #[arg(long, default_value_t = 512)]
    pub span_store_mib: usize,
    /// Age limit of stored spans.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub span_store_age: Duration,
    /// With --isolation fair: equal shares the span store is split into (tenant i uses share
    /// i % shares), so a flood evicts only its own share.
    #[arg(long, default_value_t = 8)]
    pub span_store_shares: usize,
    /// Assembled traces kept per tenant.
    #[arg(long, default_value_t = 10_000)]
    pub traces_per_tenant: usize,
    /// Assembled traces kept over all tenants, in MiB (their size as the query API returns
    /// them); over it, the tenant keeping the most loses its oldest trace.
    #[arg(long, default_value_t = 512)]
    pub traces_mib: usize,
    /// Alert transitions kept per tenant.
    #[arg(long, default_value_t = 1_000)]
    pub alert_history: usize,
    /// Tenants accepted at most.
    #[arg(long, default_value_t = 1_000)]
    pub max_tenants: usize,
    /// Largest request body on the wire, in bytes.
    #[arg(long, default_value_t = 8 << 20)]
    pub max_body_bytes: usize,
    /// Largest request after decompression, in bytes.
    #[arg(long, default_value_t = 32 << 20)]
    pub max_message_bytes: usize,
    /// Webhook targets, API token, connection limits.
    #[command(flatten)]
    pub guard: super::serve_guard::GuardFlags,
}

/// Parses a listen address: `IP:PORT`, or `HOST:PORT` with the host resolved (an IPv4 address
/// first, as `localhost` on a host without IPv6 must still bind).
pub fn parse_listen_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    let addrs: Vec<SocketAddr> = s
        .to_socket_addrs()
        .map_err(|e| format!("expected IP:PORT, or HOST:PORT with a host that resolves ({e})"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("{s:?}: the host resolves to no address"))
}

/// The bind error as a usage error naming the flag whose address could not be listened on: a
/// port in use is a setup mistake (exit 2), not a failure of the server.
fn bind_error(config: &PipelineConfig, err: PipelineError) -> anyhow::Error {
    match err {
        PipelineError::Bind { addr, source } => {
            let flag = match (addr == config.grpc_addr, addr == config.http_addr) {
                (true, true) => "--grpc and --http",
                (false, true) => "--http",
                _ => "--grpc",
            };
            UsageError::new(format!("{flag} {addr}: cannot listen on it: {source}")).into()
        }
        other => other.into(),
    }
}

fn pairs<T>(
    flag: &str,
    values: &[String],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<HashMap<String, T>, UsageError> {
    values
        .iter()
        .map(|v| {
            let parsed = v
                .split_once('=')
                .and_then(|(t, x)| Some((t.to_owned(), parse(x)?)));
            parsed.ok_or_else(|| UsageError::new(format!("{flag} {v:?}: expected TENANT=VALUE")))
        })
        .collect()
}

impl ServeFlags {
    /// Turns the flags into a pipeline configuration.
    pub fn to_config(&self) -> Result<PipelineConfig, UsageError> {
        let mut config = PipelineConfig {
            grpc_addr: self.grpc,
            http_addr: self.http,
            tenant_header: self.tenant_header.parse().map_err(|_| {
                UsageError::new(format!(
                    "--tenant-header {:?}: not a valid header name",
                    self.tenant_header
                ))
            })?,
            tenant_attribute: self.tenant_attribute.clone(),
            isolation: self.isolation,
            queue_spans: self.queue_spans,
            workers: self.workers,
            histogram_digits: self.histogram_digits,
            tenant_quotas: pairs("--tenant-quota", &self.tenant_quotas, |x| x.parse().ok())?,
            alert_interval: self.alert_interval,
            max_body_bytes: self.max_body_bytes,
            max_message_bytes: self.max_message_bytes,
            ..PipelineConfig::default()
        };
        config.assembly.threshold = self.assembly_threshold;
        config.assembly.settle = self.settle_window;
        config.assembly.tenant_thresholds = pairs(
            "--tenant-assembly-threshold",
            &self.tenant_thresholds,
            |x| humantime::parse_duration(x).ok(),
        )?;
        let limits = &mut config.limits;
        limits.span_store_spans = self.span_store_spans;
        limits.span_store_bytes = self.span_store_mib << 20;
        limits.span_store_age = self.span_store_age;
        limits.span_store_shares = self.span_store_shares;
        limits.traces_per_tenant = self.traces_per_tenant;
        limits.trace_store_bytes = self.traces_mib << 20;
        limits.alert_history = self.alert_history;
        limits.max_tenants = self.max_tenants;
        self.guard.apply(&mut config)?;
        config.validate().map_err(UsageError::new)?;
        Ok(config)
    }
}

/// Runs `span-sentinel serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.flags.to_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        for warning in config.exposure_warnings() {
            let _ = writeln!(std::io::stderr(), "{warning}");
        }
        let over = if config.tls.is_some() {
            " over TLS"
        } else {
            ""
        };
        let pipeline = Pipeline::start(config.clone())
            .await
            .map_err(|e| bind_error(&config, e))?;
        let shutdown = shutdown_signal();
        // Not eprintln!: a closed stderr must not bring the server down.
        let _ = writeln!(
            std::io::stderr(),
            "span-sentinel serve: OTLP/gRPC on {}, OTLP/HTTP + API on {}{over} (Ctrl-C to stop)",
            pipeline.grpc_addr(),
            pipeline.http_addr()
        );
        shutdown.await;
        let _ = writeln!(std::io::stderr(), "span-sentinel serve: draining");
        pipeline.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Registers the SIGTERM handler now (before the ready line is printed, so a SIGTERM sent right
/// after it is never fatal) and resolves on Ctrl-C or SIGTERM.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
