//! The reference pipeline: the embedded, multi-tenant tracing backend that
//! `span-sentinel serve` runs and `span-sentinel run` starts in-process when no target is given.
//!
//! The tree follows the data flow: `ingest` (gRPC, HTTP, the scanning decoder) → `admission`
//! (bounded queue, shared or fair) → `process` (worker pool, trace assembler) → `store`
//! (histograms, spans, assembled traces) and `alerts` (rules, evaluator, webhooks) → `api` (query
//! JSON and `/metrics`). `config` holds every knob, `tenants` the per-tenant state, `state` the
//! state every part shares, `server` the listeners and `response` the response helpers every
//! handler uses.
//!
//! Imports flow one way: `server` → the handlers (`ingest`, `api`) and the loops (`process`) →
//! `state` → the parts it holds → `config`; the pipeline imports nothing of the crate but
//! `crate::wire`. See `docs/architecture.md`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), span_sentinel::pipeline::PipelineError> {
//! use span_sentinel::pipeline::{Pipeline, PipelineConfig};
//! let pipeline = Pipeline::start(PipelineConfig::default()).await?; // 127.0.0.1:0 ports
//! println!("gRPC on {}, HTTP on {}", pipeline.grpc_addr(), pipeline.http_addr());
//! pipeline.shutdown().await;
//! # Ok(()) }
//! ```

pub mod admission;
pub mod alerts;
pub mod api;
pub mod config;
pub mod connections;
pub mod faults;
pub mod ingest;
pub mod process;
pub mod refused;
pub mod response;
pub mod server;
pub mod span_ref;
pub mod state;
pub mod store;
pub mod tenants;
pub mod tls;

pub use api::stats::{PipelineStats, TenantStats};
pub use config::{
    AssemblyConfig, ConnectionLimits, Faults, Isolation, PipelineConfig, StoreLimits,
};

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::state::Shared;

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A configuration value is out of range.
    #[error("invalid pipeline configuration: {0}")]
    Config(String),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A worker thread could not be started.
    #[error("cannot start worker threads: {0}")]
    Workers(std::io::Error),
}

/// A running pipeline. Dropping it without [`Pipeline::shutdown`] stops the listeners but does
/// not wait for the queue to drain.
#[derive(Debug)]
pub struct Pipeline {
    shared: Arc<Shared>,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    shutdown: CancellationToken,
    connections: TaskTracker,
    workers: Vec<JoinHandle<()>>,
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, PipelineError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| PipelineError::Bind { addr, source })
}

impl Pipeline {
    /// Binds both listeners, starts the workers and background tasks, and serves until
    /// [`Pipeline::shutdown`]. Must be called inside a tokio runtime.
    pub async fn start(config: PipelineConfig) -> Result<Self, PipelineError> {
        config.validate().map_err(PipelineError::Config)?;
        let grpc = bind(config.grpc_addr).await?;
        let http = bind(config.http_addr).await?;
        let addr = |l: &TcpListener| {
            l.local_addr().map_err(|source| PipelineError::Bind {
                addr: config.grpc_addr,
                source,
            })
        };
        let (grpc_addr, http_addr) = (addr(&grpc)?, addr(&http)?);
        let shared = Arc::new(Shared::new(config));
        let workers = process::start_workers(&shared).map_err(PipelineError::Workers)?;
        let shutdown = CancellationToken::new();
        let connections = TaskTracker::new();
        for listener in [grpc, http] {
            let task = server::serve(
                listener,
                shared.clone(),
                shutdown.clone(),
                connections.clone(),
            );
            tokio::spawn(task);
        }
        tokio::spawn(background(shared.clone(), shutdown.clone()));
        Ok(Self {
            shared,
            grpc_addr,
            http_addr,
            shutdown,
            connections,
            workers,
        })
    }

    /// Address of the OTLP/gRPC listener.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// Address of the HTTP listener (OTLP/HTTP, query API, `/metrics`).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// `http://{grpc_addr}`, as a gRPC client wants it.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// `http://{http_addr}`.
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The counters of a tenant, if it has been seen.
    pub fn tenant_stats(&self, tenant: &str) -> Option<TenantStats> {
        let tenant = self.shared.tenants.get(tenant)?;
        Some(api::stats::tenant_stats(&self.shared, &tenant))
    }

    /// Pipeline-wide figures.
    pub fn stats(&self) -> PipelineStats {
        api::stats::pipeline_stats(&self.shared)
    }

    /// The shared state, for embedding and for tests.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops accepting, lets in-flight requests finish (at most 10 s), then lets the workers
    /// drain every acknowledged batch before returning.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        self.connections.close();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.connections.wait()).await;
        self.shared.queue.close();
        let workers = std::mem::take(&mut self.workers);
        let _ =
            tokio::task::spawn_blocking(move || workers.into_iter().for_each(|w| drop(w.join())))
                .await;
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.shared.queue.close();
    }
}

/// Assembly every 50 ms, store expiry every second, alert evaluation every `alert_interval`.
async fn background(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut assembly = tokio::time::interval(Duration::from_millis(50));
    let mut alerts = tokio::time::interval(shared.config.alert_interval);
    let mut expiry = tokio::time::interval(Duration::from_secs(1));
    for timer in [&mut assembly, &mut alerts, &mut expiry] {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = assembly.tick() => shared.assembler.run_due(&shared.workers, &shared.traces, Instant::now()),
            _ = alerts.tick() => evaluate_alerts(&shared),
            _ = expiry.tick() => {
                let now = Instant::now();
                for state in &shared.workers {
                    process::worker::lock(state).spans.expire(now);
                }
            }
        }
    }
}

fn evaluate_alerts(shared: &Shared) {
    let now = Instant::now();
    let (faults, on) = (&shared.config.faults, shared.faults_on());
    // The lagging-evaluator fault: judge the window as it was `alert_delay` ago.
    let lag = if on {
        faults.alert_delay
    } else {
        Duration::ZERO
    };
    let now = now.checked_sub(lag).unwrap_or(now);
    let eval = if on {
        alerts::evaluator::EvalFaults {
            fire_delay: faults.fire_delay,
            clear_delay: faults.clear_delay,
            force_firing: faults.stray_firing
                && !shared.fault_gate.stray_made.swap(true, Ordering::Relaxed),
        }
    } else {
        alerts::evaluator::EvalFaults::default()
    };
    let webhook_delay = if on {
        faults.webhook_delay
    } else {
        Duration::ZERO
    };
    for tenant in shared.tenants.all() {
        for (transition, url) in
            shared
                .alerts
                .evaluate(tenant.index, &tenant.name, &tenant.errors, now, eval)
        {
            if let Some(url) = url {
                shared.webhooks.notify_after(url, transition, webhook_delay);
            }
        }
    }
}
