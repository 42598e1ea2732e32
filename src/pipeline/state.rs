//! The state every part of a running pipeline shares, built once from the configuration.
//!
//! Imports flow one way: the parts held here (tenants, queue, stores, alerts, each worker's
//! state, the assembler) know nothing of `Shared`; only the handlers and loops that act on a
//! running pipeline (ingest, the worker loop, the API, the server) take it.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use super::admission::AdmissionQueue;
use super::alerts::AlertRegistry;
use super::alerts::webhook::Webhooks;
use super::config::{Isolation, PipelineConfig};
use super::connections::ConnectionCounters;
use super::faults::FaultGate;
use super::process::assembler::{Assembler, AssemblyFaults};
use super::process::cap::ProcessingCap;
use super::process::worker::WorkerState;
use super::store::buckets::bounds_ns;
use super::store::histograms::WorkerHistograms;
use super::store::series_budget::SeriesBudget;
use super::store::spans::SpanStores;
use super::store::traces::TraceStore;
use super::tenants::Tenants;

/// Shared state of one pipeline.
#[derive(Debug)]
pub struct Shared {
    /// The configuration it was started with.
    pub config: PipelineConfig,
    /// Known tenants.
    pub tenants: Tenants,
    /// The admission queue.
    pub queue: AdmissionQueue,
    /// Each worker's own state.
    pub workers: Vec<Mutex<WorkerState>>,
    /// Traces waiting to be assembled.
    pub assembler: Assembler,
    /// Assembled traces.
    pub traces: TraceStore,
    /// Alert rules and history.
    pub alerts: AlertRegistry,
    /// Webhook delivery.
    pub webhooks: Webhooks,
    /// Request counters.
    pub ingest: IngestCounters,
    /// Permits of ingest requests in flight (`max_inflight_requests`).
    pub inflight: tokio::sync::Semaphore,
    /// Connection counters of both listeners.
    pub connections: ConnectionCounters,
    /// Whether the injected faults apply now.
    pub fault_gate: FaultGate,
    /// The processing cap, if configured.
    pub cap: Option<ProcessingCap>,
}

impl Shared {
    /// Builds the state; must run inside a tokio runtime (the webhook task starts here).
    pub fn new(config: PipelineConfig) -> Self {
        let limits = &config.limits;
        let n = config.workers;
        let budget = Arc::new(SeriesBudget::new(limits.series_per_tenant));
        let workers = (0..n)
            .map(|i| {
                let histograms = WorkerHistograms::new(config.histogram_digits, budget.clone())
                    .with_buckets(bounds_ns(&config.duration_buckets));
                let shares = match config.isolation {
                    Isolation::Shared => 1,
                    Isolation::Fair => limits.span_store_shares,
                };
                let spans = SpanStores::new(
                    shares,
                    limits.span_store_spans / n,
                    limits.span_store_bytes / n,
                    limits.span_store_age,
                );
                Mutex::new(WorkerState::new(
                    histograms,
                    spans,
                    0x9e37_79b9_7f4a_7c15 ^ i as u64,
                ))
            })
            .collect();
        Self {
            tenants: Tenants::new(
                limits.max_tenants,
                config.assembly.threshold,
                config.assembly.tenant_thresholds.clone(),
                config.tenant_quotas.clone(),
            ),
            queue: AdmissionQueue::new(config.isolation, config.queue_spans),
            workers,
            assembler: Assembler::with_faults(
                config.assembly.settle,
                limits.pending_assemblies,
                AssemblyFaults::from_config(&config.faults),
            ),
            traces: TraceStore::new(
                limits.traces_per_tenant,
                limits.trace_store_bytes,
                limits.trace_age,
            ),
            alerts: AlertRegistry::new(limits.alert_history, limits.rules_per_tenant),
            webhooks: Webhooks::start(),
            ingest: IngestCounters::default(),
            inflight: tokio::sync::Semaphore::new(config.max_inflight_requests),
            connections: ConnectionCounters::default(),
            fault_gate: FaultGate::new(config.faults.while_tenant.clone()),
            cap: config.process_spans_per_sec.map(ProcessingCap::new),
            config,
        }
    }

    /// Whether the injected faults apply now.
    pub fn faults_on(&self) -> bool {
        self.fault_gate.on(std::time::Instant::now())
    }
}

/// Request counters over all tenants.
#[derive(Debug, Default)]
pub struct IngestCounters {
    /// Requests received on both protocols.
    pub requests: AtomicU64,
    /// Requests refused as invalid (400 / `INVALID_ARGUMENT`, 413, 415, 405).
    pub invalid_requests: AtomicU64,
    /// Spans refused after decoding, by reason.
    pub refused_spans: super::refused::RefusedSpans,
}
