//! Alerts from a real Prometheus: Debian's `prometheus` scrapes the embedded pipeline's
//! `/metrics` and evaluates `prometheus/rules.yml`; `run --alerts prometheus://...` reads the
//! alert's state from Prometheus, and every sentinel burst must fire and clear it there.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use span_sentinel::config::Overrides as RunOverrides;
use span_sentinel::config::run::{AlertSource, TargetPlan, run_plan};
use span_sentinel::run::execute::execute;
use span_sentinel::verify::status::Status;

use crate::support::peers::{free_port, start_prometheus};

#[test]
fn prometheus_fires_and_clears_the_alert_for_every_burst() {
    // Runs alone (.config/nextest.toml): a collector or Prometheus is one more busy process.
    let dir = tempfile::tempdir().unwrap();
    let (pipeline_port, prometheus_port) = (free_port(), free_port());
    let pipeline_http = SocketAddr::from(([127, 0, 0, 1], pipeline_port));
    let _prometheus = start_prometheus(dir.path(), prometheus_port, pipeline_http, None);

    let profile = crate::support::profile("prometheus.toml");
    let alerts: AlertSource = format!("prometheus://127.0.0.1:{prometheus_port}")
        .parse()
        .unwrap();
    let mut plan = run_plan(&RunOverrides {
        profile: Some(profile),
        seed: Some(7),
        alerts: Some(alerts),
        ..RunOverrides::default()
    })
    .unwrap();
    let TargetPlan::Embedded(config) = &mut plan.target else {
        unreachable!("no --target given")
    };
    config.http_addr = pipeline_http;

    let outcome = execute(plan, Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    for (phase, p) in outcome.plan.phases.iter().zip(&outcome.phases).skip(1) {
        let e = &p.sentinel.evidence;
        eprintln!(
            "prometheus alerts, phase {}: {} bursts, {} detected after {:?}, {} cleared after {:?}",
            phase.name, e.bursts, e.detected, e.detect_delays, e.cleared, e.clear_delays
        );
        assert_eq!((e.bursts, e.detected, e.cleared), (1, 1, 1), "{e:#?}");
        assert_eq!(e.spurious, 0, "{e:#?}");
        assert!(e.notifications_not_expected);
        // Prometheus cannot fire before `for: 1s` has passed with the ratio above threshold.
        assert!(e.detect_delays[0] >= Duration::from_secs(1), "{e:#?}");
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
