//! A collector in the path: `profiles/rotel.toml` puts the rotel collector (installed from PyPI
//! by `scripts/setup-peers.sh`) between the generator and the embedded pipeline. With the
//! sentinel alone every check must pass through it; a capacity search through it must find
//! where it gives way and say what degraded; the spans it delivers short are accounted for.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use span_sentinel::capacity::{End, Search};
use span_sentinel::config::Overrides as RunOverrides;
use span_sentinel::config::capacity::{CapacityOverrides, capacity_plan};
use span_sentinel::config::peer::PeerSection;
use span_sentinel::config::run::{TargetPlan, run_plan};
use span_sentinel::pipeline::{Pipeline, PipelineConfig};
use span_sentinel::run::execute::{execute, execute_with};
use span_sentinel::verify::status::Status;

use crate::support::peers::{free_port, peer_path};

#[test]
fn rotel_profile_passes_with_rotel_in_the_path() {
    // Runs alone (.config/nextest.toml): a collector or Prometheus is one more busy process.
    let profile = crate::support::profile("rotel.toml");
    let mut plan = run_plan(&RunOverrides {
        profile: Some(profile),
        seed: Some(7),
        ..RunOverrides::default()
    })
    .unwrap();
    use_installed_rotel(plan.peer.as_mut());

    // The pipeline on a known port, to tell that spans went to rotel instead.
    let pipeline_grpc = free_port();
    let TargetPlan::Embedded(config) = &mut plan.target else {
        unreachable!("no --target given")
    };
    config.grpc_addr = ([127, 0, 0, 1], pipeline_grpc).into();

    let outcome = execute(plan, Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    assert!(
        outcome.target.starts_with("grpc://127.0.0.1:"),
        "{}",
        outcome.target
    );
    for (phase, p) in outcome.plan.phases.iter().zip(&outcome.phases).skip(1) {
        let e = &p.sentinel.evidence;
        eprintln!(
            "rotel, phase {}: {} traces verified, {} missing; bursts {} detected {} after {:?}, cleared after {:?}; load acked {:?}",
            phase.name,
            e.verified,
            e.missing,
            e.bursts,
            e.detected,
            e.detect_delays,
            e.clear_delays,
            p.load.as_ref().map(|l| l.total.total().acked),
        );
    }
    let failed: Vec<_> = outcome
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .collect();
    assert_eq!(
        outcome.verdict,
        Status::Pass,
        "{failed:#?}\n{:?}",
        outcome.warnings
    );
}

/// Points the profile's `[peer]` at the rotel-agent that `scripts/setup-peers.sh` installed.
fn use_installed_rotel(peer: Option<&mut PeerSection>) {
    let peer = peer.expect("the profile has a [peer]");
    assert_eq!(peer.command[0], "rotel-agent");
    peer.command[0] = peer_path("SPAN_SENTINEL_ROTEL_AGENT")
        .to_string_lossy()
        .into_owned();
}

/// profiles/rotel.toml with a shorter `[capacity]` search: 50k, 300k, 1.8M spans/s offered.
fn short_rotel_capacity_profile(dir: &Path) -> std::path::PathBuf {
    let path = crate::support::profile("rotel.toml");
    let mut profile: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
    let capacity = profile["capacity"].as_table_mut().unwrap();
    for (key, value) in [
        ("start_spans_per_sec", toml::Value::Float(50_000.0)),
        ("growth", toml::Value::Float(6.0)),
        ("max_spans_per_sec", toml::Value::Float(1_800_000.0)),
        ("step", "4s".into()),
        ("settle", "6s".into()),
        ("baseline", "8s".into()),
        ("bisect", toml::Value::Integer(0)),
        ("time_limit", "2m".into()),
    ] {
        capacity.insert(key.into(), value);
    }
    let out = dir.join("rotel-capacity.toml");
    std::fs::write(&out, toml::to_string(&profile).unwrap()).unwrap();
    out
}

#[test]
fn a_capacity_search_through_rotel_finds_where_it_gives_way() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan = capacity_plan(&CapacityOverrides {
        run: RunOverrides {
            profile: Some(short_rotel_capacity_profile(dir.path())),
            seed: Some(11),
            ..RunOverrides::default()
        },
        ..CapacityOverrides::default()
    })
    .unwrap();
    use_installed_rotel(plan.run.peer.as_mut());
    let mut search = Search::new(plan.search.clone(), plan.run.checks.clone(), |_| {});
    execute_with(
        plan.run,
        Arc::new(AtomicBool::new(false)),
        |_| {},
        &mut search,
    )
    .unwrap();
    for st in &search.steps {
        let gave: Vec<_> = st
            .checks
            .iter()
            .filter(|c| c.status >= Status::Degraded)
            .collect();
        eprintln!(
            "rotel capacity {}: offered {:.0} achieved {:.0} spans/s, waiting for acks {:.0}%: {} {:?}",
            st.phase,
            st.offered_spans_per_sec,
            st.achieved_spans_per_sec,
            st.waiting_for_acks_share * 100.0,
            st.status.as_str(),
            gave.iter()
                .map(|c| (&c.name, &c.evidence))
                .collect::<Vec<_>>(),
        );
    }
    let r = search.result();
    eprintln!("rotel capacity: {r:?}");
    // 1.8M spans/s is far beyond what rotel takes on these machines: it must give way, and the
    // result must name a check (the target's backpressure counts), never blame the generator.
    assert_eq!(r.end, End::Degraded, "{r:?}");
    assert!(!r.generator_limited, "{r:?}");
    let first_bad = r.first_degraded_spans_per_sec.unwrap();
    assert!(r.first_degraded_check.is_some(), "{r:?}");
    if let Some(max) = r.max_sustainable_spans_per_sec {
        assert!(max < first_bad, "{r:?}");
    }
    for st in search.steps.iter().filter(|s| !s.held()) {
        assert!(
            st.checks.iter().any(|c| c.status >= Status::Degraded),
            "{st:?}"
        );
    }
}

/// Says what really happens behind rotel 0.0.1a15 (README, "What the sentinel caught"): at 50k
/// spans/s, more than its 8,192-span batches hold, it delivers every span it acknowledged; the
/// spans the tenant does not count are those the pipeline refused for want of a tenant, and
/// nothing is refused for another reason. `scripts/rotel-refusals.sh` measures the same for 10 s.
#[test]
fn every_span_rotel_acknowledged_reaches_the_pipeline_and_each_refusal_has_a_reason() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = PipelineConfig {
        tenant_attribute: Some("tenant.id".into()),
        ..PipelineConfig::default()
    };
    let pipeline = runtime.block_on(Pipeline::start(config)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rotel_grpc = format!("127.0.0.1:{}", free_port());
    let rotel_http = format!("127.0.0.1:{}", free_port());
    let file = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let mut rotel = Command::new(peer_path("SPAN_SENTINEL_ROTEL_AGENT"))
        .args(["start", "--otlp-grpc-endpoint", &rotel_grpc])
        .args(["--otlp-http-endpoint", &rotel_http, "--exporter", "otlp"])
        .args(["--otlp-exporter-endpoint", &pipeline.grpc_endpoint()])
        .args(["--otlp-exporter-protocol", "grpc"])
        .args([
            "--pid-file",
            &file("rotel.pid"),
            "--log-file",
            &file("rotel.log"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let up = Instant::now();
    while TcpStream::connect(&rotel_grpc).is_err() {
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "rotel did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let json = file("load.json");
    let target = format!("grpc://{rotel_grpc}");
    let code = span_sentinel::cli::main_with_args([
        "span-sentinel",
        "load",
        "--target",
        &target,
        "--rate",
        "50000",
        "--duration",
        "3s",
        "--tenant",
        "unruly",
        "--quiet",
        "--json",
        &json,
    ]);
    assert_eq!(code, ExitCode::SUCCESS);
    let load: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let acked = load["acked_spans"].as_u64().unwrap();
    // Spans in decoded requests: the tenant's, and those refused before they had one.
    let delivered = || {
        let r = pipeline.stats().refused_spans;
        let tenant = pipeline
            .tenant_stats("unruly")
            .map_or(0, |s| s.received_spans);
        tenant + r.no_tenant + r.invalid_tenant + r.too_many_tenants
    };
    let flushing = Instant::now();
    while delivered() < acked && flushing.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = rotel.kill();
    let _ = rotel.wait();
    let refused = pipeline.stats().refused_spans;
    let tenant = pipeline.tenant_stats("unruly").unwrap();
    eprintln!(
        "rotel: {acked} acknowledged, {} delivered, {} in the tenant, refused {refused:?}",
        delivered(),
        tenant.received_spans
    );
    assert_eq!(delivered(), acked, "{refused:?}");
    assert_eq!(tenant.accepted_spans, tenant.received_spans, "{tenant:?}");
    assert_eq!(refused.no_tenant, acked - tenant.received_spans);
    runtime.block_on(pipeline.shutdown());
}
