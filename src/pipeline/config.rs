//! Configuration of the reference pipeline: every knob of the reference pipeline in one plain struct.
//!
//! `PipelineConfig::default()` is a working single-machine setup on ephemeral loopback ports, so
//! tests and `span-sentinel run` can start the pipeline without thinking about it; `serve` fills
//! it from flags. Every field bounds something: there is no unbounded store in the pipeline.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use http::HeaderName;

use super::alerts::allow::Cidr;

/// How the admission queue shares capacity between tenants. The one isolation type of the
/// program: profiles (`[pipeline] isolation = "fair"`) and `--isolation` flags parse into it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// One FIFO for all tenants: a flood from one tenant delays or rejects the others.
    #[default]
    #[value(help = "One FIFO for all tenants")]
    Shared,
    /// One queue per tenant, each bounded by `queue_spans`, served by deficit round robin.
    #[value(help = "One queue per tenant, served by deficit round robin")]
    Fair,
}

/// Limits of every store the pipeline keeps; what goes over them is evicted and counted.
#[derive(Debug, Clone)]
pub struct StoreLimits {
    /// Spans kept for trace assembly, over all workers (each worker keeps an equal share).
    pub span_store_spans: usize,
    /// Request bytes kept alive for trace assembly, over all workers.
    pub span_store_bytes: usize,
    /// Age after which a stored span is evicted even when there is room.
    pub span_store_age: Duration,
    /// With `Isolation::Fair`, the span store is split into this many equal shares (tenant `i`
    /// uses share `i % shares`), so a flood only evicts its own share; `shared` uses one store.
    pub span_store_shares: usize,
    /// Assembled traces kept per tenant (oldest evicted first).
    pub traces_per_tenant: usize,
    /// Bytes of assembled traces (as the query API returns them) over all tenants; over it,
    /// the tenant keeping the most loses its oldest trace.
    pub trace_store_bytes: usize,
    /// Age after which an assembled trace is evicted.
    pub trace_age: Duration,
    /// Alert transitions kept per tenant (oldest evicted first).
    pub alert_history: usize,
    /// Alert rules per tenant.
    pub rules_per_tenant: usize,
    /// Tenants the pipeline accepts at all; requests of further tenants are refused.
    pub max_tenants: usize,
    /// Histogram series (service, operation) per tenant, enforced by each worker; spans of
    /// further series are counted (`histogram_dropped_spans`), not recorded.
    pub series_per_tenant: usize,
    /// Traces waiting for their settle window to end, over all tenants.
    pub pending_assemblies: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            span_store_spans: 4_000_000,
            span_store_bytes: 512 << 20,
            span_store_age: Duration::from_secs(30),
            span_store_shares: 8,
            traces_per_tenant: 10_000,
            trace_store_bytes: 512 << 20,
            trace_age: Duration::from_secs(3600),
            alert_history: 1_000,
            rules_per_tenant: 100,
            max_tenants: 1_000,
            series_per_tenant: 10_000,
            pending_assemblies: 100_000,
        }
    }
}

/// Limits and timeouts of each listener's connections, so that idle or slow clients can hold
/// neither file descriptors nor memory without bound.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Open connections per listener; further clients wait in the kernel's accept backlog
    /// until one closes (at most `header_read_timeout` when the others are slow clients).
    pub max_connections: usize,
    /// Time a client has to send a request's headers (HTTP/1.1), and a connection's first
    /// bytes: a slowloris client is closed after this.
    pub header_read_timeout: Duration,
    /// A connection with no bytes in either direction for this long is closed.
    pub idle_timeout: Duration,
    /// HTTP/2 streams one connection may have open at once.
    pub max_concurrent_streams: u32,
    /// HTTP/2 receive window of one stream, bytes.
    pub stream_window: u32,
    /// HTTP/2 receive window of one connection, bytes: what one client can have buffered
    /// before the server reads it (so all clients: this times `max_connections`).
    pub connection_window: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_concurrent_streams: 256,
            stream_window: 2 << 20,
            connection_window: 8 << 20,
        }
    }
}

/// When a trace is assembled.
#[derive(Debug, Clone)]
pub struct AssemblyConfig {
    /// Root-span duration at or above which a trace is assembled (all tenants without override).
    pub threshold: Duration,
    /// Per-tenant overrides of `threshold`.
    pub tenant_thresholds: HashMap<String, Duration>,
    /// How long after its root arrived a trace waits for late children before it is assembled.
    pub settle: Duration,
}

impl Default for AssemblyConfig {
    fn default() -> Self {
        Self {
            threshold: Duration::from_secs(1),
            tenant_thresholds: HashMap::new(),
            settle: Duration::from_secs(2),
        }
    }
}

/// Faults the pipeline can be told to inject, to check that a verifier notices them. All off
/// by default; each applies after a request was acknowledged, as a broken backend would.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Fraction (0..1) of acknowledged batches that workers silently discard.
    pub drop_fraction: f64,
    /// Extra delay added to every acknowledgement.
    pub ack_delay: Duration,
    /// Time a worker spends per span on top of the real work (a slow backend); slept once per
    /// batch, for all its spans.
    pub span_delay: Duration,
    /// Alert rules are evaluated on the error window as it was this long ago (a lagging
    /// evaluator): every transition comes this much later.
    pub alert_delay: Duration,
    /// Every Nth root span below the assembly threshold is assembled anyway (0: never).
    pub extra_assembly_every: u64,
    /// Every Nth assembled trace has the value of its first span's first attribute altered
    /// (0: never).
    pub corrupt_every: u64,
    /// Traces are assembled as soon as their root arrives, from the spans that arrived before
    /// it (no settle window for late ones).
    pub assemble_at_root: bool,
    /// Assembled traces keep at most this many spans, the first by start time (0: no limit).
    pub max_trace_spans: usize,
    /// A span that arrived twice is kept once but counted twice in the trace's `span_count`.
    pub count_duplicate_spans: bool,
    /// Assembled spans lose their links.
    pub drop_links: bool,
    /// Assembled span events lose their first attribute.
    pub drop_event_attribute: bool,
    /// Firing transitions are made this much after the ratio crossed the threshold (a slow
    /// detector); resolving ones are on time.
    pub fire_delay: Duration,
    /// The alert history shows a firing transition only this long after it was made (a slow
    /// alert view); webhook notifications are on time.
    pub firing_shown_after: Duration,
    /// Fraction (0..1) of acknowledged batches that are counted in the histograms but not kept
    /// for assembly (spans lost to trace assembly after the ack).
    pub unstored_fraction: f64,
    /// Resolving transitions are made this much after the hysteresis ended.
    pub clear_delay: Duration,
    /// Webhook notifications are posted this long after their transition.
    pub webhook_delay: Duration,
    /// Traces are assembled this much after their settle window ends.
    pub assembly_delay: Duration,
    /// Latency histograms record durations rounded to one significant digit.
    pub coarse_histograms: bool,
    /// Every rule fires once (and resolves at the next evaluation) when the faults switch on.
    pub stray_firing: bool,
    /// Error spans are not counted in the alert windows, so bursts go unnoticed.
    pub ignore_errors: bool,
    /// The trace search answers 503 (a query the target does not answer); not switched by
    /// `while_tenant`, as the search runs after the load.
    pub search_unavailable: bool,
    /// Faults apply only while this tenant's spans arrive (e.g. the load's tenant, so the
    /// faults hit the load phase only); `None`: all the time.
    pub while_tenant: Option<String>,
}

/// Everything the reference pipeline needs to start.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Address of the OTLP/gRPC listener (`127.0.0.1:0` picks a free port).
    pub grpc_addr: SocketAddr,
    /// Address of the HTTP listener: OTLP/HTTP, the query API and `/metrics`.
    pub http_addr: SocketAddr,
    /// Header that names the tenant.
    pub tenant_header: HeaderName,
    /// A resource attribute that names the tenant of requests without the tenant header; the
    /// spans of one such request are split by tenant. `None`: those requests are refused.
    pub tenant_attribute: Option<String>,
    /// How the admission queue is shared between tenants.
    pub isolation: Isolation,
    /// Capacity of the admission queue in spans (per tenant with `Isolation::Fair`).
    pub queue_spans: usize,
    /// Worker threads that process admitted batches.
    pub workers: usize,
    /// Significant digits of the latency histograms (1..=5).
    pub histogram_digits: u8,
    /// Upper bounds of the classic span-duration buckets `/metrics` exports (inclusive, as
    /// Prometheus' `le`; `+Inf` is implied). Default: the spanmetrics connector's, 2 ms to 15 s.
    pub duration_buckets: Vec<Duration>,
    /// Per-tenant rate quotas in spans per second (burst: one second's worth).
    pub tenant_quotas: HashMap<String, f64>,
    /// Trace assembly.
    pub assembly: AssemblyConfig,
    /// Interval at which alert rules are evaluated.
    pub alert_interval: Duration,
    /// Store limits.
    pub limits: StoreLimits,
    /// Largest request body accepted on the wire (compressed), in bytes.
    pub max_body_bytes: usize,
    /// Largest request accepted after decompression, in bytes.
    pub max_message_bytes: usize,
    /// Ingest requests whose bodies are read and decoded at the same time; more wait. Bounds
    /// the memory of requests in flight to this times `max_message_bytes`.
    pub max_inflight_requests: usize,
    /// Spans per second the workers process at most, together (`None`: as fast as they go).
    /// A cap well below what one load thread offers makes saturation certain on any machine.
    pub process_spans_per_sec: Option<f64>,
    /// Injected faults.
    pub faults: Faults,
    /// Connection limits and timeouts of both listeners.
    pub connections: ConnectionLimits,
    /// Address blocks webhooks may be sent to besides loopback (`--webhook-allow`).
    pub webhook_allow: Vec<Cidr>,
    /// Bearer token the query and rule API (`/api/v1/...`) require (`--api-token`); `None`:
    /// open to whoever reaches the listener. Ingest and `/metrics` never require it.
    pub api_token: Option<String>,
    /// TLS on both listeners (`serve --tls-cert/--tls-key`); `None`: plaintext.
    pub tls: Option<super::tls::ServerTls>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            grpc_addr: loopback,
            http_addr: loopback,
            tenant_header: HeaderName::from_static("x-scope-orgid"),
            tenant_attribute: None,
            isolation: Isolation::Shared,
            queue_spans: 1_000_000,
            workers: 2,
            histogram_digits: 3,
            duration_buckets: super::store::buckets::spanmetrics_default(),
            tenant_quotas: HashMap::new(),
            assembly: AssemblyConfig::default(),
            alert_interval: Duration::from_secs(1),
            limits: StoreLimits::default(),
            max_body_bytes: 8 << 20,
            max_message_bytes: 32 << 20,
            max_inflight_requests: 64,
            process_spans_per_sec: None,
            faults: Faults::default(),
            connections: ConnectionLimits::default(),
            webhook_allow: Vec::new(),
            api_token: None,
            tls: None,
        }
    }
}

impl PipelineConfig {
    /// Checks the values that would make the pipeline misbehave rather than merely be slow.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=5).contains(&self.histogram_digits) {
            return Err(format!(
                "histogram digits must be 1..=5, got {}",
                self.histogram_digits
            ));
        }
        if self.workers == 0 || self.queue_spans == 0 || self.max_inflight_requests == 0 {
            return Err("workers, queue spans and in-flight requests must be at least 1".into());
        }
        if self.limits.max_tenants == 0 || self.limits.max_tenants > usize::from(u16::MAX) {
            return Err(format!(
                "max tenants must be 1..=65535, got {}",
                self.limits.max_tenants
            ));
        }
        if self.tenant_attribute.as_deref() == Some("") {
            return Err("tenant attribute must not be empty".into());
        }
        if let Some((t, q)) = self
            .tenant_quotas
            .iter()
            .find(|(_, q)| q.is_nan() || **q <= 0.0)
        {
            return Err(format!("quota of tenant {t} must be positive, got {q}"));
        }
        if self
            .process_spans_per_sec
            .is_some_and(|r| r.is_nan() || r <= 0.0)
        {
            return Err("process_spans_per_sec (the processing cap) must be positive".into());
        }
        if !(0.0..=1.0).contains(&self.faults.drop_fraction)
            || !(0.0..=1.0).contains(&self.faults.unstored_fraction)
        {
            return Err("fault drop fractions must be within 0..=1".into());
        }
        if self.connections.max_connections == 0 {
            return Err("max connections must be at least 1".into());
        }
        if self.api_token.as_deref() == Some("") {
            return Err("the API token must not be empty".into());
        }
        Ok(())
    }

    /// Warnings to print at start: a listener reachable from other hosts while the query and
    /// rule API are open to anyone who reaches it.
    pub fn exposure_warnings(&self) -> Vec<String> {
        if self.api_token.is_some() {
            return Vec::new();
        }
        [("OTLP/gRPC", self.grpc_addr), ("HTTP", self.http_addr)]
            .into_iter()
            .filter(|(_, addr)| !addr.ip().is_loopback())
            .map(|(name, addr)| {
                format!(
                    "warning: the {name} listener binds {addr}, which other hosts may reach, and \
                     no --api-token is set: anyone who reaches it can read every tenant's data \
                     and create alert rules; set --api-token or bind 127.0.0.1"
                )
            })
            .collect()
    }
}
