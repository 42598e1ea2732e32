//! The harness every sentinel command runs in: `run`, `watch`, `fidelity` and `capacity` (through
//! `run`). It owns the tokio runtime and the target — the embedded pipeline or an external
//! endpoint, the optional collector in front of it (`[peer]`), the sentinel's exporter and the
//! query client — and tears them down with one `close()`, in reverse order of setup, whatever
//! way the command's body ends: success, error, or a stop after Ctrl-C or SIGTERM (the command
//! sees the stop flag, ends its body early and returns here). See docs/configuration.md.

pub mod peer;

use std::future::Future;
use std::time::Duration;

use anyhow::Context;

use self::peer::PeerProcess;
use crate::config::run::{RunPlan, TargetPlan};
use crate::error::UnreachableError;
use crate::pipeline::Pipeline;
use crate::sentinel::plan::FragmentProtocol;
use crate::sentinel::webhook::WebhookReceiver;
use crate::transport::{Exporter, RetryPolicy, Target, TransportOptions};
use crate::verify::api::{QueryClient, QueryError, RuleBody};
use crate::verify::backend::Backend;

/// The target as set up for one command; closed with `close()`.
pub struct Harness {
    /// Where spans go: the embedded pipeline, the peer in front of it, or `--target`.
    pub target: Target,
    /// The sentinel's own connections: to `target`, or one per protocol of the sentinel's
    /// `fragment_protocols` (to both addresses of the embedded pipeline).
    pub exporters: Vec<Exporter>,
    /// The reference query API (the embedded pipeline's, or `--query-url`); with only a
    /// `--traces` backend, a client of its URL (which answers none of the reference routes).
    pub query: QueryClient,
    /// Everything the verifier asks: traces from the `--traces` backend or the reference API,
    /// histograms, alerts and rules from the reference API where there is one.
    pub backend: Backend,
    pipeline: Option<Pipeline>,
    peer: Option<PeerProcess>,
}

/// Builds the runtime (two worker threads named `thread_name`, on `--sentinel-cpus` when
/// given), sets the target of `plan` up, runs `body` on it and closes the harness on every path
/// before returning `body`'s result.
pub fn run<T>(
    plan: &RunPlan,
    thread_name: &str,
    body: impl AsyncFnOnce(&Harness) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    // Every thread of the runtime, and the pipeline's workers it starts, inherit the calling
    // thread's CPUs; the load engine's workers pin themselves to `--load-cpus`.
    let _pinned = match &plan.sentinel_cpus {
        Some(cpus) => Some(
            crate::placement::Pinned::new(cpus)
                .with_context(|| format!("pinning the sentinel to --sentinel-cpus {cpus}"))?,
        ),
        None => None,
    };
    block_on(thread_name, async {
        let harness = Harness::open(plan).await?;
        let out = body(&harness).await;
        harness.close().await;
        out
    })?
}

/// Runs `f` to its end on a fresh two-thread runtime, dropped (with every task left) after.
pub fn block_on<F: Future>(thread_name: &str, f: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(thread_name)
        .enable_all()
        .build()
        .with_context(|| format!("starting the {thread_name} runtime"))?;
    Ok(runtime.block_on(f))
}

impl Harness {
    /// Starts the embedded pipeline and the peer in front of it (or takes the external target
    /// as given), then connects the sentinel's exporter and the query client. What was started
    /// before a failing step is closed again.
    pub async fn open(plan: &RunPlan) -> anyhow::Result<Harness> {
        let (query_url, pipeline) = match &plan.target {
            TargetPlan::Embedded(config) => {
                let pipeline = Pipeline::start((**config).clone())
                    .await
                    .context("starting the embedded pipeline")?;
                (Some(pipeline.http_endpoint()), Some(pipeline))
            }
            TargetPlan::External { query_url, .. } => (query_url.clone(), None),
        };
        let backend = Backend::new(&plan.backend_plan(query_url.clone()), &plan.tls)
            .map_err(anyhow::Error::msg)?;
        let query_url = query_url.unwrap_or_else(|| backend.traces_url().to_owned());
        let mut harness = Harness {
            target: Target::Discard,
            exporters: Vec::new(),
            query: QueryClient::with_tls(
                &query_url,
                plan.tenant_header.clone(),
                plan.tenant.clone(),
                &plan.tls,
            ),
            backend,
            pipeline,
            peer: None,
        };
        match harness.connect(plan).await {
            Ok(()) => Ok(harness),
            Err(e) => {
                harness.close().await;
                Err(e)
            }
        }
    }

    /// Starts the peer (if any) and connects the sentinel's exporter to where spans go.
    async fn connect(&mut self, plan: &RunPlan) -> anyhow::Result<()> {
        self.target = match (&plan.target, &self.pipeline) {
            (TargetPlan::External { target, .. }, _) => target.clone(),
            (TargetPlan::Embedded(_), Some(pipeline)) => match &plan.peer {
                Some(section) => {
                    let started = peer::start(section, pipeline.grpc_addr(), pipeline.http_addr())
                        .await
                        .context("starting the [peer]")?;
                    let target = started.target.clone();
                    self.peer = Some(started);
                    target
                }
                None => Target::Grpc {
                    endpoint: pipeline
                        .grpc_endpoint()
                        .parse()
                        .context("the pipeline's gRPC endpoint")?,
                },
            },
            (TargetPlan::Embedded(_), None) => unreachable!("open starts the embedded pipeline"),
        };
        let opts = sentinel_transport(plan);
        let targets = match (&self.pipeline, &plan.sentinel.fragment_protocols[..]) {
            (Some(pipeline), protocols) if !protocols.is_empty() => protocols
                .iter()
                .map(|p| pipeline_target(pipeline, *p))
                .collect::<anyhow::Result<Vec<_>>>()?,
            _ => vec![self.target.clone()],
        };
        for target in &targets {
            self.exporters.push(Exporter::connect(target, &opts).await?);
        }
        Ok(())
    }

    /// Tears everything down in reverse order of setup: the peer first (it may still be
    /// exporting into the pipeline), then the pipeline, which drains what it acknowledged.
    pub async fn close(self) {
        if let Some(peer) = self.peer {
            peer.stop().await;
        }
        if let Some(pipeline) = self.pipeline {
            pipeline.shutdown().await;
        }
    }

    /// Sets the sentinel up on the target: its assembly threshold (where the API allows; a
    /// refusal is a warning) and a fresh alert rule notifying `webhook` (a leftover one is
    /// deleted first). A backend without those APIs is asked once for a trace, so an
    /// unreachable one stops the run here (exit 3); what it cannot set up is a warning, and
    /// the checks that need it are judged `unsupported by` it.
    pub async fn set_up(
        &self,
        plan: &RunPlan,
        webhook: &WebhookReceiver,
        warnings: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        let backend = &self.backend;
        if plan.tls.is_insecure() {
            warnings.push(crate::transport::tls::INSECURE_WARNING.to_owned());
        }
        if !backend.has_reference() {
            reachable(backend.trace(PROBE_TRACE_ID).await.map(|_| ()))?;
            if !plan.sentinel.assembly_threshold.is_zero() {
                warnings.push(format!(
                    "{} keeps every trace: the sentinel's traces below its assembly threshold \
                     ({:?}) will count as unexpected; set [sentinel] assembly_threshold = \"0s\"",
                    backend.name(),
                    plan.sentinel.assembly_threshold
                ));
            }
            return Ok(());
        }
        if let Err(e) = backend
            .set_assembly_threshold(plan.sentinel.assembly_threshold)
            .await
        {
            warnings.push(format!("the target did not take the sentinel's assembly threshold ({e}); it must already be {:?}", plan.sentinel.assembly_threshold));
        }
        let a = &plan.sentinel.alert;
        // The first call that must succeed: a query API that cannot be reached at all (or
        // whose certificate is not trusted) is an unreachable target, exit 3.
        reachable(backend.delete_rule(&a.name).await)
            .context("deleting a leftover sentinel alert rule")?;
        let rule = RuleBody {
            name: a.name.clone(),
            threshold: a.threshold,
            window_ms: a.window.as_millis() as u64,
            min_spans: a.min_spans,
            clear_after_ms: a.clear_after.as_millis() as u64,
            webhook_url: Some(webhook.url()),
        };
        backend
            .create_rule(&rule)
            .await
            .context("creating the sentinel's alert rule")?;
        Ok(())
    }
}

/// A transport failure as an unreachable target (exit 3); any other error as it is.
fn reachable(answer: Result<(), QueryError>) -> anyhow::Result<()> {
    match answer {
        Ok(()) => Ok(()),
        Err(QueryError::Transport { url, reason }) => Err(UnreachableError {
            target: url,
            reason,
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// The trace asked for to see that a backend answers: an ID no sender generates.
const PROBE_TRACE_ID: &str = "00000000000000000000000000000001";

/// One address of the embedded pipeline.
fn pipeline_target(pipeline: &Pipeline, protocol: FragmentProtocol) -> anyhow::Result<Target> {
    let text = match protocol {
        FragmentProtocol::Grpc => format!("grpc://{}", pipeline.grpc_addr()),
        FragmentProtocol::Http => format!("{}/v1/traces", pipeline.http_endpoint()),
    };
    text.parse()
        .with_context(|| format!("the pipeline's address {text}"))
}

/// Connections the sentinel opens per exporter: its fragments take them in turn.
const SENTINEL_CONNECTIONS: usize = 4;

/// How the sentinel's own connections are set up.
pub fn sentinel_transport(plan: &RunPlan) -> TransportOptions {
    TransportOptions {
        tenant_header: plan.tenant_header.clone(),
        connections: SENTINEL_CONNECTIONS,
        concurrency: 1024,
        timeout: Duration::from_secs(5),
        encoding: plan.load.transport.encoding,
        retry: RetryPolicy {
            max_elapsed: plan.sentinel.retry_max_elapsed,
            ..RetryPolicy::default()
        },
        headers: plan.load.transport.headers.clone(),
        tls: plan.tls.clone(),
        ..TransportOptions::default()
    }
}
