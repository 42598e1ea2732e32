//! Validation of the load: profile `[load]` section + `load` flags (`LoadOverrides`) →
//! `LoadPlan`. `run` validates its `[load]` section here too (`validate_load`).

use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, HeaderValue};

use super::otlp_env::OtlpEnv;
use super::profile::{LoadSection, Profile, ProfileSource};
use crate::encode::Encoding;
use crate::engine::{LoadPlan, RateProfile, SegmentPlace};
use crate::error::UsageError;
use crate::model::{FieldError, StreamModel};
use crate::placement::CpuList;
use crate::transport::{
    ClientTls, Codec, Compression, RetryPolicy, Target, TlsOptions, TransportOptions,
};

/// `--rate`: spans per second, or `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateArg {
    /// Unthrottled.
    Max,
    /// A constant rate in spans per second.
    PerSec(f64),
}

/// What the flags of `span-sentinel load` override in the profile's `[load]` section.
#[derive(Debug, Clone, Default)]
pub struct LoadOverrides {
    /// `--target`: grpc://HOST:PORT or http://HOST:PORT/v1/traces.
    pub target: Option<String>,
    /// `--sink discard`: send nowhere.
    pub discard: bool,
    /// `--rate`.
    pub rate: Option<RateArg>,
    /// `--duration`.
    pub duration: Option<Duration>,
    /// `--threads`.
    pub threads: Option<u16>,
    /// `--batch`.
    pub batch: Option<u32>,
    /// `--tenant` of every stream.
    pub tenant: Option<String>,
    /// `--tenant-header`.
    pub tenant_header: Option<String>,
    /// `--header KEY=VALUE` pairs.
    pub headers: Vec<(String, String)>,
    /// `--header-file`: more headers, one `KEY=VALUE` a line (the pairs win).
    pub header_file: Option<PathBuf>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--connections`.
    pub connections: Option<u16>,
    /// `--concurrency`.
    pub concurrency: Option<u16>,
    /// `--gzip` (the same as `--compression gzip`).
    pub gzip: bool,
    /// `--compression`.
    pub compression: Option<Codec>,
    /// `--compression-level`.
    pub compression_level: Option<i32>,
    /// `--encoding`.
    pub encoding: Option<Encoding>,
    /// `--profile`.
    pub profile: Option<PathBuf>,
    /// The TLS flags.
    pub tls: TlsOptions,
    /// The segment flags: which share of the test this process sends.
    pub segment: super::segment::SegmentFlags,
    /// `--load-cpus`: the CPUs the worker threads are pinned to.
    pub cpus: Option<CpuList>,
}

/// Reads the profile (if any) and the `OTEL_EXPORTER_OTLP_*` variables, applies the flags
/// over them and validates the result.
pub fn load_plan(args: &LoadOverrides) -> Result<LoadPlan, UsageError> {
    load_plan_with_env(args, &OtlpEnv::from_process()?)
}

/// [`load_plan`] with the variables already read (tests pass their own).
pub fn load_plan_with_env(args: &LoadOverrides, env: &OtlpEnv) -> Result<LoadPlan, UsageError> {
    let (profile, source) = Profile::read(args.profile.as_deref())?;
    let mut section = profile.load;
    let target = match (&args.target, args.discard) {
        (Some(url), _) => url.parse::<Target>()?,
        (None, true) => Target::Discard,
        (None, false) => match &env.target {
            Some(target) => target.clone(),
            None => {
                return Err(UsageError::new(
                    "load needs --target URL, --sink discard or OTEL_EXPORTER_OTLP_ENDPOINT",
                ));
            }
        },
    };
    let target = if args.tls.force {
        target.with_tls()
    } else {
        target
    };
    if target.is_network() {
        env.apply_to(&mut section);
    }
    let flag_headers = super::headers::from_flags(&args.headers, args.header_file.as_deref())?;
    let headers = parse_headers(&env.merge_headers(&flag_headers))?;
    let tls =
        ClientTls::new(&env.fill_tls(&args.tls)).map_err(|e| UsageError::new(e.to_string()))?;
    if args.encoding == Some(Encoding::Json) && matches!(target, Target::Grpc { .. }) {
        // Named as the flag: the profile's field is not where it came from.
        return Err(UsageError::new(
            "--encoding json needs an OTLP/HTTP target (http://HOST:PORT/v1/traces); OTLP/gRPC \
             is protobuf only",
        ));
    }
    check_compression_flags(args, &section, &target)?;
    let mut plan = validate_load(apply_flags(section, args), source.as_ref(), target, headers)?;
    plan.transport.tls = tls;
    plan.segment = args.segment.resolve(|v| std::env::var(v).ok())?;
    plan.cpus = checked_cpus("--load-cpus", args.cpus.as_ref())?;
    Ok(plan)
}

/// Refuses a bad `--compression-level`, naming the flag (the profile's fields are checked in
/// [`validate_load`], naming the field).
fn check_compression_flags(
    args: &LoadOverrides,
    section: &LoadSection,
    target: &Target,
) -> Result<(), UsageError> {
    let Some(level) = args.compression_level else {
        return Ok(());
    };
    let codec = match (args.compression, args.gzip) {
        (Some(codec), _) => codec,
        (None, true) => Codec::Gzip,
        (None, false) => section_codec(section).unwrap_or_default(),
    };
    Compression::new(codec, Some(level))
        .map_err(|e| UsageError::new(format!("--compression-level {level}: {e}")))?;
    if matches!(target, Target::Grpc { .. }) {
        return Err(UsageError::new(format!(
            "--compression-level {level}: OTLP/gRPC is compressed by tonic at its own level; \
             drop the flag or use an OTLP/HTTP target"
        )));
    }
    Ok(())
}

/// The codec a section asks for, or `Err` when `gzip = true` contradicts `compression`.
fn section_codec(s: &LoadSection) -> Result<Codec, Codec> {
    match (s.compression, s.gzip) {
        (Some(codec), true) if codec != Codec::Gzip => Err(codec),
        (Some(codec), _) => Ok(codec),
        (None, true) => Ok(Codec::Gzip),
        (None, false) => Ok(Codec::None),
    }
}

/// The section's compression, validated for `target`; errors name the profile field.
fn section_compression(
    s: &LoadSection,
    target: &Target,
    field: impl Fn(&str, &str) -> UsageError,
) -> Result<Compression, UsageError> {
    let codec = section_codec(s).map_err(|codec| {
        field(
            "load.gzip",
            &format!("contradicts load.compression = {:?}", codec.name()),
        )
    })?;
    let compression = Compression::new(codec, s.compression_level)
        .map_err(|e| field("load.compression_level", &e))?;
    if s.compression_level.is_some() && matches!(target, Target::Grpc { .. }) {
        return Err(field(
            "load.compression_level",
            "OTLP/gRPC is compressed by tonic at its own level; remove the field or use an \
             OTLP/HTTP target",
        ));
    }
    Ok(compression)
}

/// `cpus` when every one of them is a CPU this process may use; the error names `flag`.
pub fn checked_cpus(flag: &str, cpus: Option<&CpuList>) -> Result<Option<CpuList>, UsageError> {
    let Some(cpus) = cpus else {
        return Ok(None);
    };
    cpus.check()
        .map_err(|e| UsageError::new(format!("{flag} {cpus}: {e}")))?;
    Ok(Some(cpus.clone()))
}

/// Turns a `[load]` section into a plan for `target`; errors point into `source` when given.
pub fn validate_load(
    section: LoadSection,
    source: Option<&ProfileSource>,
    target: Target,
    headers: Vec<(HeaderName, HeaderValue)>,
) -> Result<LoadPlan, UsageError> {
    let field = |path: &str, msg: &str| field_error(source, path, msg);
    section.rate.validate().map_err(|e| {
        let e = FieldError::from_message("load.rate.", e);
        field(&e.field, &e.message)
    })?;
    if section.batch == 0 {
        return Err(field("load.batch", "must be at least 1"));
    }
    if section.encoding == Encoding::Json && matches!(target, Target::Grpc { .. }) {
        return Err(field(
            "load.encoding",
            "json needs an OTLP/HTTP target (http://HOST:PORT/v1/traces); OTLP/gRPC is protobuf only",
        ));
    }
    if section.streams.is_empty() {
        return Err(field("load.streams", "needs at least one stream"));
    }
    let compression = section_compression(&section, &target, field)?;
    let mut streams = Vec::with_capacity(section.streams.len());
    for (i, spec) in section.streams.iter().enumerate() {
        HeaderValue::from_str(&spec.tenant).map_err(|_| {
            field(
                &format!("load.streams.{i}.tenant"),
                "is not a valid header value",
            )
        })?;
        let model = StreamModel::new(spec.clone(), section.seed, i as u32)
            .map_err(|e| field(&format!("load.streams.{i}.{}", e.field), &e.message))?;
        streams.push(model);
    }
    Ok(LoadPlan {
        threads: if section.threads == 0 {
            available_cores()
        } else {
            section.threads
        },
        batch_spans: section.batch,
        rate: section.rate.clone(),
        duration: section.duration,
        streams,
        target,
        transport: TransportOptions {
            compression,
            ..transport_options(&section, headers)?
        },
        segment: SegmentPlace::WHOLE,
        seed: section.seed,
        test_digest: test_digest(&section),
        cpus: None,
    })
}

/// `sha256:HEX` of the resolved `[load]` section (profile and flags applied) without what only
/// says how one process sends (threads, connections, concurrency, compression, timeouts) and without the
/// seed (reported beside it): the batch size, duration, rate profile, encoding, tenant header
/// and streams, which decide the spans of the whole test. Segments of one test share it whatever
/// each process's threads; `merge` refuses reports whose digests differ.
pub fn test_digest(section: &LoadSection) -> String {
    let test = serde_json::json!({
        "batch": section.batch,
        "duration_ns": section.duration.as_nanos() as u64,
        "rate": section.rate,
        "encoding": section.encoding,
        "tenant_header": section.tenant_header,
        "streams": section.streams,
    });
    let digest = ring::digest::digest(&ring::digest::SHA256, test.to_string().as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// An error about a dotted profile field: file:line when the profile is known.
pub fn field_error(source: Option<&ProfileSource>, path: &str, msg: &str) -> UsageError {
    match source {
        Some(src) => src.field_error(path, msg),
        None => UsageError::new(format!("{path}: {msg}")),
    }
}

/// Parses header pairs into header names and values. Errors name the header, never its
/// value: it may be a token.
pub fn parse_headers(
    pairs: &[(String, String)],
) -> Result<Vec<(HeaderName, HeaderValue)>, UsageError> {
    pairs
        .iter()
        .map(|(k, v)| {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| UsageError::new(format!("--header {k:?}: not a valid header name")))?;
            let mut value = HeaderValue::from_str(v).map_err(|_| {
                UsageError::new(format!(
                    "--header {k}: the value is not a valid header value"
                ))
            })?;
            // Kept out of HTTP/2 header compression tables and debug output.
            value.set_sensitive(true);
            Ok((name, value))
        })
        .collect()
}

fn apply_flags(mut s: LoadSection, args: &LoadOverrides) -> LoadSection {
    if let Some(rate) = args.rate {
        s.rate = match rate {
            RateArg::Max => RateProfile::Max,
            RateArg::PerSec(v) => RateProfile::Constant { spans_per_sec: v },
        };
    }
    if let Some(d) = args.duration {
        s.duration = d;
    }
    let numbers = [
        (args.threads.map(usize::from), &mut s.threads),
        (args.batch.map(|b| b as usize), &mut s.batch),
        (args.connections.map(usize::from), &mut s.connections),
        (args.concurrency.map(usize::from), &mut s.concurrency),
    ];
    for (flag, value) in numbers {
        if let Some(v) = flag {
            *value = v;
        }
    }
    if let Some(seed) = args.seed {
        s.seed = seed;
    }
    if let Some(tenant) = &args.tenant {
        s.streams
            .iter_mut()
            .for_each(|st| st.tenant = tenant.clone());
    }
    if let Some(h) = &args.tenant_header {
        s.tenant_header = h.clone();
    }
    if args.gzip {
        s.gzip = true;
        s.compression = Some(Codec::Gzip);
    }
    if let Some(codec) = args.compression {
        s.gzip = codec == Codec::Gzip;
        s.compression = Some(codec);
    }
    if let Some(level) = args.compression_level {
        s.compression_level = Some(level);
    }
    if let Some(encoding) = args.encoding {
        s.encoding = encoding;
    }
    s
}

fn transport_options(
    s: &LoadSection,
    headers: Vec<(HeaderName, HeaderValue)>,
) -> Result<TransportOptions, UsageError> {
    let tenant_header = HeaderName::from_bytes(s.tenant_header.as_bytes()).map_err(|_| {
        UsageError::new(format!(
            "--tenant-header {:?}: not a valid header name",
            s.tenant_header
        ))
    })?;
    if s.connections == 0 || s.concurrency == 0 {
        return Err(UsageError::new(
            "load.connections and load.concurrency must be at least 1",
        ));
    }
    Ok(TransportOptions {
        tenant_header,
        headers,
        connections: s.connections,
        concurrency: s.concurrency,
        compression: Compression::NONE,
        encoding: s.encoding,
        timeout: s.timeout,
        retry: RetryPolicy {
            max_elapsed: s.retry_max_elapsed,
            ..RetryPolicy::default()
        },
        tls: ClientTls::system(),
    })
}

/// Cores this process may use.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
