//! The plan of `span-sentinel run`: profile (`[sentinel]`, `[[phases]]`, `[checks]`,
//! `[pipeline]`, `[load]`) + flags → one validated, immutable `RunPlan`.

use crate::sentinel::origin::Origin;
pub use crate::sentinel::plan::AlertSource;
use crate::sentinel::plan::{PhaseWindow, SentinelPlan, SentinelSection};
use crate::sentinel::webhook::ReceiverPlan;
pub use crate::verify::alertmanager::AlertmanagerPlan;
use crate::verify::alertmanager::RunSide;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use super::peer::PeerSection;
use super::{Overrides, Profile, ProfileSource};
use crate::config::load::{checked_cpus, field_error, parse_headers, validate_load};
use crate::config::otlp_env::OtlpEnv;
use crate::engine::SegmentPlace;
use crate::engine::{LoadPlan, RateProfile};
use crate::error::UsageError;
use crate::model::FieldError;
use crate::pipeline::{Isolation, PipelineConfig};
use crate::placement::{CpuList, Placement};
use crate::sentinel::ambient::Ambient;
use crate::sentinel::errors::ErrorStream;
use crate::transport::{ClientTls, Target};
use crate::units::duration as dur;
use crate::verify::backend::{BackendPlan, MetricsPlan, TracesPlan};
use crate::verify::checks::CheckTolerances;
use crate::verify::status::PhaseKind;

/// One phase as a profile declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    /// Name used in reports and in the sentinel's span names.
    pub name: String,
    /// `warmup` (not verified), `baseline` (sentinel alone, the reference), `load` (sentinel plus
    /// the `[load]` section) or `recovery` (sentinel alone again).
    pub kind: PhaseKind,
    /// How long the phase lasts.
    #[serde(with = "dur")]
    pub duration: Duration,
}

/// The default phases: warmup 5 s, baseline 30 s, load 30 s, recovery 30 s.
pub fn default_phases() -> Vec<PhaseSpec> {
    let p = |name: &str, kind, secs| PhaseSpec {
        name: name.into(),
        kind,
        duration: Duration::from_secs(secs),
    };
    vec![
        p("warmup", PhaseKind::Warmup, 5),
        p("baseline", PhaseKind::Baseline, 30),
        p("load", PhaseKind::Load, 30),
        p("recovery", PhaseKind::Recovery, 30),
    ]
}

/// The `[pipeline]` section: how the embedded reference pipeline is started (ignored with
/// `--target`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddedSection {
    /// `shared` or `fair`.
    pub isolation: Isolation,
    /// Admission queue capacity in spans (per tenant with `fair`).
    pub queue_spans: usize,
    /// Worker threads that process admitted batches.
    pub workers: usize,
    /// Significant digits of the latency histograms (1 to 5).
    pub histogram_digits: u8,
    /// How often alert rules are evaluated.
    #[serde(with = "dur")]
    pub alert_interval: Duration,
    /// How long a trace waits for late children after its root arrives.
    #[serde(with = "dur")]
    pub settle: Duration,
    /// Per-tenant rate quotas, spans per second.
    pub tenant_quotas: BTreeMap<String, f64>,
    /// Where its OTLP/gRPC receiver listens; port 0 picks a free one. Fix it when a peer
    /// must know it in advance.
    pub grpc_listen: SocketAddr,
    /// Where its HTTP receiver, query API and `/metrics` listen; port 0 picks a free one. Fix
    /// it for a Prometheus to scrape (profiles/prometheus.toml).
    pub http_listen: SocketAddr,
    /// A resource attribute (e.g. `tenant.id`) that names the tenant of requests that carry
    /// no tenant header, as when a collector that forwards no headers sits in the path. Unset:
    /// such requests are refused.
    pub tenant_attribute: Option<String>,
    /// Spans per second its workers process at most, together (unset: as fast as they go). A
    /// cap well below what one load thread offers makes saturation certain on any machine.
    pub process_spans_per_sec: Option<f64>,
}

impl Default for EmbeddedSection {
    fn default() -> Self {
        Self {
            isolation: Isolation::Shared,
            queue_spans: 1_000_000,
            workers: 2,
            histogram_digits: 3,
            alert_interval: Duration::from_millis(250),
            settle: Duration::from_secs(1),
            tenant_quotas: BTreeMap::new(),
            grpc_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tenant_attribute: None,
            process_spans_per_sec: None,
        }
    }
}

/// Where the run sends and queries.
#[derive(Debug, Clone)]
pub enum TargetPlan {
    /// The reference pipeline, started in-process on loopback with this configuration.
    Embedded(Box<PipelineConfig>),
    /// Any OTLP endpoint plus the query API of the backend behind it.
    External {
        /// Where spans go.
        target: Target,
        /// Base URL of the reference query API (`--query-url`), if the backend has one.
        query_url: Option<String>,
    },
}

/// Where the sentinel's webhook receiver listens for Alertmanager when
/// `--alertmanager-webhook` is not given (prometheus/alertmanager.yml posts there).
pub const DEFAULT_ALERTMANAGER_WEBHOOK: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9097);

/// Adds `--alertmanager URL` (and where the sentinel receives its notifications) to `plan`:
/// only with `--alerts prometheus://...`, the Prometheus that sends it the alert.
pub fn with_alertmanager(
    plan: &mut RunPlan,
    url: &str,
    webhook: Option<SocketAddr>,
) -> Result<(), UsageError> {
    if !matches!(plan.alerts, AlertSource::Prometheus { .. }) {
        return Err(UsageError::new(
            "--alertmanager needs --alerts prometheus://HOST:PORT (the Prometheus that sends \
             the sentinel's alert to it)",
        ));
    }
    let bad = |why: &str| UsageError::new(format!("--alertmanager {url:?}: {why}"));
    let uri: http::Uri = url
        .parse()
        .map_err(|_| bad("use http://HOST:PORT or https://HOST:PORT"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        return Err(bad("use http://HOST:PORT or https://HOST:PORT"));
    }
    if uri.query().is_some() {
        return Err(bad(
            "no query string: its API is found under the URL's path",
        ));
    }
    plan.alertmanager = Some(AlertmanagerPlan {
        base_url: url.trim_end_matches('/').to_owned(),
        webhook: webhook.unwrap_or(DEFAULT_ALERTMANAGER_WEBHOOK),
    });
    Ok(())
}

/// A phase of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Name.
    pub name: String,
    /// What it is for.
    pub kind: PhaseKind,
    /// Length.
    pub duration: Duration,
    /// The load's rate in this phase when it differs from `[load].rate` (capacity steps).
    pub load_rate: Option<RateProfile>,
}

impl Phase {
    /// A profile's phase, at the load's own rate.
    fn from_spec(p: &PhaseSpec) -> Self {
        Phase {
            name: p.name.clone(),
            kind: p.kind,
            duration: p.duration,
            load_rate: None,
        }
    }
}

/// A validated run.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The sentinel's settings.
    pub sentinel: SentinelSection,
    /// The seed of the sentinel's traces.
    pub seed: u64,
    /// The phases, in order.
    pub phases: Vec<Phase>,
    /// The unruly load of `load` phases (its target and duration are set per phase).
    pub load: LoadPlan,
    /// Where spans go and where the verifier asks.
    pub target: TargetPlan,
    /// Where the sentinel reads its alert's state.
    pub alerts: AlertSource,
    /// `--traces`: where the verifier reads traces back when not from the reference API.
    pub traces: Option<TracesPlan>,
    /// The header Jaeger's multi-tenancy reads the tenant from.
    pub jaeger_tenant_header: HeaderName,
    /// `--metrics`: where the latency histograms are read when not from the reference API.
    pub metrics: Option<MetricsPlan>,
    /// A collector in the path to the embedded pipeline, if any.
    pub peer: Option<PeerSection>,
    /// How strict the checks are.
    pub checks: CheckTolerances,
    /// Header that carries the tenant.
    pub tenant_header: HeaderName,
    /// The sentinel's tenant as a header value.
    pub tenant: HeaderValue,
    /// The profile file, if any.
    pub profile: Option<PathBuf>,
    /// TLS of every connection to the target, its query API, Prometheus and Alertmanager.
    pub tls: ClientTls,
    /// `--alertmanager`: the Alertmanager that notifies the sentinel of Prometheus's alert.
    pub alertmanager: Option<AlertmanagerPlan>,
    /// `--webhook-listen` and `--webhook-url`: the receiver of the target's notifications.
    pub webhook: ReceiverPlan,
    /// The segment whose process runs the sentinel; the others send their share of the load
    /// through the same phases and judge nothing.
    pub sentinel_segment: usize,
    /// `--start-at`: the wall-clock instant the first phase starts.
    pub start_at: Option<std::time::SystemTime>,
    /// `--sentinel-cpus`: the CPUs of the sentinel's threads and of the embedded pipeline's
    /// (unset: any). The load's are `load.cpus`.
    pub sentinel_cpus: Option<CpuList>,
}

impl RunPlan {
    /// True when this process runs the sentinel (always, unless segmented).
    pub fn runs_sentinel(&self) -> bool {
        self.load.segment.index == self.sentinel_segment
    }

    /// Total length of all phases.
    pub fn total(&self) -> Duration {
        total(&self.phases)
    }

    /// Index of the phase at `offset` from the start (the last phase past the end).
    pub fn phase_at(&self, offset: Duration) -> usize {
        phase_at(&self.phases, offset)
    }

    /// Where the threads of the run go.
    pub fn placement(&self) -> Placement {
        Placement {
            load_cpus: self.load.cpus.clone(),
            sentinel_cpus: self.sentinel_cpus.clone(),
        }
    }

    /// The part of the plan the Alertmanager check uses.
    pub fn alertmanager_side(&self) -> RunSide<'_> {
        RunSide {
            tenant_header: &self.tenant_header,
            tenant: &self.tenant,
            tls: &self.tls,
            alert: &self.sentinel.alert.name,
            sentinel_tenant: &self.sentinel.tenant,
            alerts: &self.alerts,
        }
    }

    /// The part of the plan the sentinel's tasks use.
    pub fn sentinel_plan(&self) -> SentinelPlan {
        SentinelPlan {
            sentinel: self.sentinel.clone(),
            seed: self.seed,
            phases: self
                .phases
                .iter()
                .map(|p| PhaseWindow {
                    name: p.name.clone(),
                    duration: p.duration,
                })
                .collect(),
            alerts: self.alerts.clone(),
            tenant: self.tenant.clone(),
            origin: Origin::new(&self.sentinel.tenant, self.seed),
        }
    }

    /// Offset of the start of phase `i`.
    pub fn phase_start(&self, i: usize) -> Duration {
        self.phases[..i].iter().map(|p| p.duration).sum()
    }

    /// The ambient stream of this run.
    pub fn ambient(&self) -> Ambient {
        Ambient::new(
            self.seed,
            self.sentinel.probe.durations_ns(),
            self.sentinel.assembly_threshold.as_nanos() as u64,
        )
        .with_arrival(self.sentinel.arrival())
    }

    /// The error stream of this run.
    pub fn errors(&self) -> ErrorStream {
        ErrorStream::new(
            self.seed,
            self.sentinel.error_ratio_in_burst,
            self.sentinel.error_ratio_outside,
        )
    }
}

/// Total length of `phases`.
pub fn total(phases: &[Phase]) -> Duration {
    phases.iter().map(|p| p.duration).sum()
}

/// Index of the phase at `offset` from the start (the last phase past the end).
pub fn phase_at(phases: &[Phase], offset: Duration) -> usize {
    let mut end = Duration::ZERO;
    for (i, p) in phases.iter().enumerate() {
        end += p.duration;
        if offset < end {
            return i;
        }
    }
    phases.len() - 1
}

/// Reads the profile and applies the flags.
pub fn run_plan(o: &Overrides) -> Result<RunPlan, UsageError> {
    let (profile, source) = Profile::read(o.profile.as_deref())?;
    build(profile, source.as_ref(), o)
}

/// Builds a plan from a parsed profile (used by `capacity` and `fidelity`, which read the file
/// themselves for their own sections).
pub fn build(
    mut s: Profile,
    source: Option<&ProfileSource>,
    o: &Overrides,
) -> Result<RunPlan, UsageError> {
    let field = |path: &str, msg: &str| field_error(source, path, msg);
    let (tenant_header, tenant) = validate_sections(&s, source)?;
    let env = match &o.env {
        Some(env) => env.clone(),
        None => OtlpEnv::from_process()?,
    };
    let (traces, metrics, jaeger_tenant_header) = backends(&s, o, source)?;
    let target = target_plan(&s, o, &env, traces.is_some(), &tenant_header)?;
    let external = matches!(target, TargetPlan::External { .. });
    let (tls, headers) = tls_and_headers(&mut s, o, &env, external)?;
    if s.peer.is_some() && !matches!(target, TargetPlan::Embedded(_)) {
        return Err(field(
            "peer",
            "a peer sits in front of the embedded pipeline; drop --target or the [peer] section",
        ));
    }
    validate_fragments(&s, &target).map_err(|(path, msg)| field(path, &msg))?;
    let mut load = validate_load(s.load.clone(), source, Target::Discard, headers)?;
    load.transport.tls = tls.clone();
    load.segment = o.segment.resolve(|v| std::env::var(v).ok())?;
    let sentinel_segment = sentinel_segment(o, &load.segment, external)?;
    let placement = checked_placement(&o.placement)?;
    load.cpus = placement.load_cpus;
    Ok(RunPlan {
        seed: o.seed.or(s.sentinel.seed).unwrap_or_else(rand::random),
        phases: s.phases.iter().map(Phase::from_spec).collect(),
        sentinel: s.sentinel,
        load,
        target,
        alerts: o.alerts.clone().unwrap_or(AlertSource::Target),
        traces,
        metrics,
        jaeger_tenant_header,
        peer: s.peer,
        checks: s.checks,
        tenant_header,
        tenant,
        profile: o.profile.clone(),
        tls,
        alertmanager: None,
        webhook: receiver_plan(o)?,
        sentinel_segment,
        start_at: o.start_at,
        sentinel_cpus: placement.sentinel_cpus,
    })
}

/// `--webhook-listen` and `--webhook-url`. An address that binds every interface says nothing
/// about where the target reaches it, so it needs the URL; a URL must be plain http://, as the
/// reference pipeline posts.
fn receiver_plan(o: &Overrides) -> Result<ReceiverPlan, UsageError> {
    let mut plan = ReceiverPlan::default();
    if let Some(listen) = o.webhook_listen {
        plan.listen = listen;
    }
    if let Some(url) = &o.webhook_url {
        let uri: http::Uri = url.parse().map_err(|_| {
            UsageError::new(format!("--webhook-url {url:?}: use http://HOST:PORT/PATH"))
        })?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(UsageError::new(format!(
                "--webhook-url {url:?}: use http://HOST:PORT/PATH (the target posts plain HTTP)"
            )));
        }
        plan.url = Some(url.clone());
    } else if plan.listen.ip().is_unspecified() {
        return Err(UsageError::new(format!(
            "--webhook-listen {} binds every interface: give --webhook-url, the URL the target \
             reaches this receiver at (e.g. http://POD_IP:{}/hook)",
            plan.listen,
            plan.listen.port()
        )));
    }
    Ok(plan)
}

/// Where the run sends and queries: `--target` (or the environment's endpoint, when a backend
/// flag says the run is external) with the reference API or a trace backend, else the embedded
/// pipeline.
fn target_plan(
    s: &Profile,
    o: &Overrides,
    env: &OtlpEnv,
    traces_given: bool,
    tenant_header: &HeaderName,
) -> Result<TargetPlan, UsageError> {
    let flag_target = o.target.as_deref().map(str::parse::<Target>).transpose()?;
    // The variables' endpoint stands in for --target only when --query-url or --traces says the
    // run is against an external backend: a set variable never turns the embedded run into
    // another.
    let backend_given = o.query_url.is_some() || traces_given;
    let env_target = env.target.clone().filter(|_| backend_given);
    let query_url = o
        .query_url
        .clone()
        .map(Some)
        .or(traces_given.then_some(None));
    Ok(match (flag_target.or(env_target), &query_url) {
        (Some(target), Some(query)) => {
            let target = if o.tls.force {
                target.with_tls()
            } else {
                target
            };
            if !target.is_network() {
                return Err(UsageError::new("--target: run needs a network target"));
            }
            TargetPlan::External {
                target,
                query_url: query.clone(),
            }
        }
        (Some(_), None) => {
            return Err(UsageError::new(
                "--target needs --traces (e.g. jaeger+http://HOST:16686) or --query-url (the \
                 reference pipeline's query API)",
            ));
        }
        (None, Some(_)) => {
            return Err(UsageError::new(
                "--query-url and --traces need --target (or SPAN_SENTINEL_TARGET, or \
                 OTEL_EXPORTER_OTLP_ENDPOINT)",
            ));
        }
        (None, None) => TargetPlan::Embedded(Box::new(embedded(s, o, tenant_header)?)),
    })
}

/// The trace and metrics backends and Jaeger's tenancy header: the flags (and their
/// environment defaults), else the profile's `[backends]`; Jaeger's header by default its own
/// `x-tenant`.
fn backends(
    s: &Profile,
    o: &Overrides,
    source: Option<&ProfileSource>,
) -> Result<(Option<TracesPlan>, Option<MetricsPlan>, HeaderName), UsageError> {
    let b = &s.backends;
    let field = |(path, msg): (&str, String)| field_error(source, path, &msg);
    let traces = b.traces(o.traces.as_ref()).map_err(field)?;
    let metrics = match b.metrics(o.metrics.as_ref()).map_err(field)? {
        Some(url) => Some(MetricsPlan {
            base_url: url.0,
            spanmetrics: b.spanmetrics.plan(&s.sentinel.tenant).map_err(field)?,
        }),
        None => None,
    };
    let name = (o.jaeger_tenant_header.as_deref())
        .or(b.jaeger_tenant_header.as_deref())
        .unwrap_or("x-tenant");
    let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        UsageError::new(format!(
            "--jaeger-tenant-header {name:?}: is not a valid header name"
        ))
    })?;
    Ok((traces, metrics, header))
}

impl RunPlan {
    /// Where the verifier asks: the reference API at `reference` (the embedded pipeline's or
    /// `--query-url`, if any) and the `--traces` backend.
    pub fn backend_plan(&self, reference: Option<String>) -> BackendPlan {
        let ambient = self.ambient();
        let mut root_services: Vec<String> = (0..256)
            .map(|seq| ambient.span(seq, 0, "", 0).1.to_owned())
            .collect();
        root_services.sort();
        root_services.dedup();
        BackendPlan {
            traces: self.traces.clone(),
            reference,
            metrics: self.metrics.clone(),
            tenant_header: self.tenant_header.clone(),
            jaeger_tenant_header: self.jaeger_tenant_header.clone(),
            tenant: self.tenant.clone(),
            tenant_id: self.sentinel.tenant.clone(),
            root_services,
        }
    }
}

/// Checks the sections `build` reads before the target: the sentinel, the phases, the
/// generator limit, and the tenant header and value; returns the last two.
fn validate_sections(
    s: &Profile,
    source: Option<&ProfileSource>,
) -> Result<(HeaderName, HeaderValue), UsageError> {
    let field = |path: &str, msg: &str| field_error(source, path, msg);
    s.sentinel.validate().map_err(|e| {
        let e = FieldError::from_message("sentinel.", e);
        field(&e.field, &e.message)
    })?;
    validate_phases(&s.phases).map_err(|(i, e)| field(&format!("phases.{i}"), &e))?;
    let limit = s.checks.generator_limit;
    if !(limit > 0.0 && limit <= 1.0) {
        return Err(field("checks.generator_limit", "must lie in (0, 1]"));
    }
    let tenant_header = HeaderName::from_bytes(s.load.tenant_header.as_bytes())
        .map_err(|_| field("load.tenant_header", "is not a valid header name"))?;
    let tenant = HeaderValue::from_str(&s.sentinel.tenant)
        .map_err(|_| field("sentinel.tenant", "is not a valid header value"))?;
    Ok((tenant_header, tenant))
}

/// The TLS and headers of every connection to the target: the flags', completed by the
/// `OTEL_EXPORTER_OTLP_*` variables (which also fill `[load]`) when the target is external.
fn tls_and_headers(
    s: &mut Profile,
    o: &Overrides,
    env: &OtlpEnv,
    external: bool,
) -> Result<(ClientTls, Vec<(HeaderName, HeaderValue)>), UsageError> {
    let flag_headers = super::headers::from_flags(&o.headers, o.header_file.as_deref())?;
    let (tls, headers) = if external {
        env.apply_to(&mut s.load);
        (env.fill_tls(&o.tls), env.merge_headers(&flag_headers))
    } else {
        (o.tls.clone(), flag_headers)
    };
    let tls = ClientTls::new(&tls).map_err(|e| UsageError::new(e.to_string()))?;
    Ok((tls, parse_headers(&headers)?))
}

/// `--load-cpus` and `--sentinel-cpus`, each of CPUs this process may use, and apart: sharing a
/// CPU would defeat the placement's purpose, a core the load cannot take from the sentinel.
fn checked_placement(p: &Placement) -> Result<Placement, UsageError> {
    let load_cpus = checked_cpus("--load-cpus", p.load_cpus.as_ref())?;
    let sentinel_cpus = checked_cpus("--sentinel-cpus", p.sentinel_cpus.as_ref())?;
    if let (Some(l), Some(s)) = (&load_cpus, &sentinel_cpus) {
        if l.overlaps(s) {
            return Err(UsageError::new(format!(
                "--load-cpus {l} and --sentinel-cpus {s} share a CPU: give each its own, or \
                 leave one unset"
            )));
        }
    }
    Ok(Placement {
        load_cpus,
        sentinel_cpus,
    })
}

/// The sentinel's fragments against the target: late ones within the embedded pipeline's
/// settle window, and a second protocol only where the target has both addresses.
fn validate_fragments(s: &Profile, target: &TargetPlan) -> Result<(), (&'static str, String)> {
    let late = s.sentinel.late_fragment_max;
    if matches!(target, TargetPlan::Embedded(_)) && late * 2 > s.pipeline.settle {
        return Err((
            "sentinel.late_fragment_max",
            format!(
                "{late:?} could miss the embedded pipeline's settle window: at most half of `pipeline.settle` ({:?})",
                s.pipeline.settle
            ),
        ));
    }
    let one_address = s.peer.is_some() || matches!(target, TargetPlan::External { .. });
    if !s.sentinel.fragment_protocols.is_empty() && one_address {
        return Err((
            "sentinel.fragment_protocols",
            "chooses between both addresses of the target, which only the embedded pipeline without a [peer] has; leave it empty to use the target's own protocol".into(),
        ));
    }
    Ok(())
}

/// The segment that runs the sentinel; segments must share one external target.
fn sentinel_segment(
    o: &Overrides,
    place: &SegmentPlace,
    external: bool,
) -> Result<usize, UsageError> {
    if !place.segment.is_whole() && !external {
        return Err(UsageError::new(
            "--segment/--execution-segment/--segments: the segments of one test share one \
             external target; add --target and --query-url",
        ));
    }
    let k = o.sentinel_segment.unwrap_or(0);
    if k >= place.count {
        return Err(UsageError::new(format!(
            "--sentinel-segment {k}: must be below the number of segments ({})",
            place.count
        )));
    }
    Ok(k)
}

fn validate_phases(phases: &[PhaseSpec]) -> Result<(), (usize, String)> {
    if phases.is_empty() {
        return Err((0, "at least one phase is needed".into()));
    }
    if !phases.iter().any(|p| p.kind == PhaseKind::Baseline) {
        return Err((0, "one phase must be of kind `baseline`".into()));
    }
    for (i, p) in phases.iter().enumerate() {
        if p.duration.is_zero() {
            return Err((i, "`duration` must be positive".into()));
        }
        let bad_name = p.name.is_empty()
            || !p
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if bad_name || phases[..i].iter().any(|q| q.name == p.name) {
            return Err((
                i,
                "`name` must be unique and of letters, digits, - and _".into(),
            ));
        }
    }
    Ok(())
}

fn embedded(
    s: &Profile,
    o: &Overrides,
    tenant_header: &HeaderName,
) -> Result<PipelineConfig, UsageError> {
    let p = &s.pipeline;
    let mut config = PipelineConfig {
        tenant_header: tenant_header.clone(),
        isolation: o.isolation.unwrap_or(p.isolation),
        queue_spans: p.queue_spans,
        workers: p.workers,
        histogram_digits: p.histogram_digits,
        alert_interval: p.alert_interval,
        tenant_quotas: p.tenant_quotas.clone().into_iter().collect(),
        grpc_addr: p.grpc_listen,
        http_addr: p.http_listen,
        tenant_attribute: p.tenant_attribute.clone(),
        process_spans_per_sec: p.process_spans_per_sec,
        ..PipelineConfig::default()
    };
    config.assembly.settle = p.settle;
    config
        .assembly
        .tenant_thresholds
        .insert(s.sentinel.tenant.clone(), s.sentinel.assembly_threshold);
    config
        .validate()
        .map_err(|e| UsageError::new(format!("[pipeline]: {e}")))?;
    Ok(config)
}

#[cfg(test)]
mod alert_source_tests {
    use super::AlertSource;

    #[test]
    fn alert_sources_parse() {
        assert_eq!("target".parse(), Ok(AlertSource::Target));
        assert_eq!(
            "prometheus://127.0.0.1:9090".parse(),
            Ok(AlertSource::Prometheus {
                base_url: "http://127.0.0.1:9090".into()
            })
        );
        for bad in [
            "prometheus://",
            "http://127.0.0.1:9090",
            "prometheus://h:1/api",
        ] {
            assert!(bad.parse::<AlertSource>().is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod alertmanager_tests {
    use super::*;

    fn plan(alerts: Option<AlertSource>) -> RunPlan {
        let o = Overrides {
            alerts,
            env: Some(OtlpEnv::default()),
            seed: Some(1),
            ..Overrides::default()
        };
        build(Profile::default(), None, &o).unwrap()
    }

    #[test]
    fn a_webhook_on_every_interface_needs_the_url_the_target_posts_to() {
        let with = |listen: &str, url: Option<&str>| {
            let o = Overrides {
                env: Some(OtlpEnv::default()),
                webhook_listen: Some(listen.parse().unwrap()),
                webhook_url: url.map(str::to_owned),
                ..Overrides::default()
            };
            build(Profile::default(), None, &o).map(|p| p.webhook)
        };
        let e = with("0.0.0.0:9466", None).unwrap_err().to_string();
        assert!(
            e.starts_with("--webhook-listen 0.0.0.0:9466") && e.contains("--webhook-url"),
            "{e}"
        );
        for bad in ["https://10.0.0.1:9466/hook", "10.0.0.1:9466", "http://"] {
            let e = with("0.0.0.0:9466", Some(bad)).unwrap_err().to_string();
            assert!(e.starts_with("--webhook-url"), "{bad}: {e}");
        }
        let p = with("0.0.0.0:9466", Some("http://10.0.0.1:9466/hook")).unwrap();
        assert_eq!(p.url.as_deref(), Some("http://10.0.0.1:9466/hook"));
        let p = with("127.0.0.2:0", None).unwrap();
        assert_eq!(
            (p.listen.to_string(), p.url),
            ("127.0.0.2:0".to_owned(), None)
        );
        assert_eq!(plan(None).webhook, ReceiverPlan::default());
    }

    #[test]
    fn alertmanager_needs_prometheus_alerts_and_an_http_url() {
        let mut p = plan(None);
        let e = with_alertmanager(&mut p, "http://127.0.0.1:9093", None).unwrap_err();
        assert!(e.to_string().contains("--alerts prometheus://"), "{e}");
        let prom = "prometheus://127.0.0.1:9090".parse().ok();
        for bad in ["127.0.0.1:9093", "ftp://h:1", "http://h:1/?x=1"] {
            let e = with_alertmanager(&mut plan(prom.clone()), bad, None).unwrap_err();
            assert!(e.to_string().starts_with("--alertmanager"), "{bad}: {e}");
        }
        let mut p = plan(prom);
        with_alertmanager(&mut p, "http://127.0.0.1:9093/", None).unwrap();
        let am = p.alertmanager.unwrap();
        assert_eq!(am.base_url, "http://127.0.0.1:9093");
        assert_eq!(am.webhook_url(), "http://127.0.0.1:9097/alertmanager");
    }
}

#[cfg(test)]
mod backend_tests {
    use super::*;

    fn jaeger_profile() -> Overrides {
        Overrides {
            profile: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/jaeger.toml").into()),
            target: Some("grpc://127.0.0.1:4317".into()),
            env: Some(OtlpEnv::default()),
            ..Overrides::default()
        }
    }

    #[test]
    fn profiles_jaeger_builds_a_plan_that_reads_jaeger_and_prometheus() {
        let o = Overrides {
            traces: "jaeger+http://127.0.0.1:16686".parse().ok(),
            metrics: "prometheus://127.0.0.1:9090".parse().ok(),
            alerts: "prometheus://127.0.0.1:9090".parse().ok(),
            ..jaeger_profile()
        };
        let plan = run_plan(&o).unwrap();
        assert!(plan.sentinel.assembly_threshold.is_zero());
        assert!(matches!(
            plan.target,
            TargetPlan::External {
                query_url: None,
                ..
            }
        ));
        let backend = plan.backend_plan(None);
        assert_eq!(backend.root_services, ["sentinel-frontend"]);
        assert_eq!(backend.jaeger_tenant_header, "x-tenant");
        let metrics = plan.metrics.unwrap();
        assert_eq!(metrics.base_url, "http://127.0.0.1:9090");
        assert_eq!(metrics.spanmetrics.service_label, "service_name");
    }

    #[test]
    fn a_target_needs_a_backend_to_read_back_from() {
        let e = run_plan(&jaeger_profile()).unwrap_err().to_string();
        assert!(e.contains("--traces") && e.contains("--query-url"), "{e}");
    }
}
