//! A collector in the path: `profiles/rotel.toml` puts the rotel collector (installed from PyPI
//! by `scripts/setup-peers.sh`) between the generator and the embedded pipeline. With the
//! sentinel and a light load every check must pass through it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use span_sentinel::run::execute::execute;
use span_sentinel::run::plan::{RunOverrides, TargetPlan, run_plan};
use span_sentinel::verify::checks::Status;

use super::peer_path;
use crate::support::HEAVY;

#[test]
fn rotel_profile_passes_with_rotel_in_the_path() {
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    // A collector or Prometheus is one more busy process: keep the pipeline's timing-sensitive
    // tests from running meanwhile, and them from slowing this one.
    let _exclusive = crate::pipeline::support::exclusive();
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/rotel.toml");
    let mut plan = run_plan(&RunOverrides {
        profile: Some(profile),
        seed: Some(7),
        ..RunOverrides::default()
    })
    .unwrap();
    let peer = plan.peer.as_mut().expect("the profile has a [peer]");
    assert_eq!(peer.command[0], "rotel-agent");
    peer.command[0] = peer_path("SPAN_SENTINEL_ROTEL_AGENT")
        .to_string_lossy()
        .into_owned();

    // The pipeline on a known port, to tell that spans went to rotel instead.
    let pipeline_grpc = super::prometheus::free_port();
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
