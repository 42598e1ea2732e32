//! Configuration of the reference pipeline: every knob of the reference pipeline in one plain struct.
//!
//! `PipelineConfig::default()` is a working single-machine setup on ephemeral loopback ports, so
//! tests and `span-sentinel run` can start the pipeline without thinking about it; `serve` fills
//! it from flags. Every field bounds something: there is no unbounded store in the pipeline.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use http::HeaderName;

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
            trace_age: Duration::from_secs(3600),
            alert_history: 1_000,
            rules_per_tenant: 100,
            max_tenants: 1_000,
            series_per_tenant: 10_000,
            pending_assemblies: 100_000,
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
    /// Injected faults.
    pub faults: Faults,
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
            faults: Faults::default(),
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
        if !(0.0..=1.0).contains(&self.faults.drop_fraction) {
            return Err("fault drop fraction must be within 0..=1".into());
        }
        Ok(())
    }
}
