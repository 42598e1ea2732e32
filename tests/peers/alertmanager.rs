//! Notifications from a real Alertmanager: Debian's `prometheus` scrapes the embedded
//! pipeline's `/metrics`, evaluates `prometheus/rules.yml` and sends the alert to Debian's
//! `prometheus-alertmanager`, which posts to the sentinel's webhook (`run --alerts
//! prometheus://... --alertmanager URL`). Every burst must bring a firing and a resolved
//! notification; Alertmanager stopped mid-run fails `alert_notification` naming it; a route
//! that does not reach the sentinel, or an Alertmanager that does not answer, stops the run
//! before it starts.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use span_sentinel::config::Overrides as RunOverrides;
use span_sentinel::config::run::{RunPlan, TargetPlan, run_plan, with_alertmanager};
use span_sentinel::error::exit_code_for;
use span_sentinel::report::run::RunReport;
use span_sentinel::run::execute::{RunOutcome, execute};
use span_sentinel::verify::checks::Check;
use span_sentinel::verify::status::Status;

use crate::support::peers::{
    Reaped, await_ready, free_port, loopback, peer_path, start_prometheus,
};

/// Starts Alertmanager on `port` with `prometheus/alertmanager.yml`, its webhook moved to
/// `webhook`; with `route: false`, every alert goes to a receiver that notifies no one.
fn start_alertmanager(dir: &Path, port: u16, webhook: SocketAddr, route: bool) -> Reaped {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("prometheus/alertmanager.yml");
    let mut config = std::fs::read_to_string(shipped)
        .unwrap()
        .replace("127.0.0.1:9097", &webhook.to_string());
    if !route {
        config = "route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n".into();
    }
    let file = dir.join("alertmanager.yml");
    std::fs::write(&file, config).unwrap();
    let log = dir.join("alertmanager.log");
    let child = Command::new(peer_path("SPAN_SENTINEL_ALERTMANAGER"))
        .arg(format!("--config.file={}", file.display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("prometheus-alertmanager starts");
    let child = Reaped(child);
    await_ready(port, "alertmanager", &log);
    child
}

/// The peers of one test and the plan of a run of `profiles/alertmanager.toml` through them.
struct Setup {
    dir: tempfile::TempDir,
    prometheus: u16,
    alertmanager: u16,
    webhook: SocketAddr,
    pipeline: SocketAddr,
}

impl Setup {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            prometheus: free_port(),
            alertmanager: free_port(),
            webhook: loopback(free_port()),
            pipeline: loopback(free_port()),
        }
    }

    fn plan(&self) -> RunPlan {
        let profile = crate::support::profile("alertmanager.toml");
        let alerts = format!("prometheus://127.0.0.1:{}", self.prometheus);
        let mut plan = run_plan(&RunOverrides {
            profile: Some(profile),
            seed: Some(7),
            alerts: Some(alerts.parse().unwrap()),
            ..RunOverrides::default()
        })
        .unwrap();
        let TargetPlan::Embedded(config) = &mut plan.target else {
            unreachable!("no --target given")
        };
        config.http_addr = self.pipeline;
        let url = format!("http://127.0.0.1:{}", self.alertmanager);
        with_alertmanager(&mut plan, &url, Some(self.webhook)).unwrap();
        plan
    }

    fn start_peers(&self, route: bool) -> (Reaped, Reaped) {
        let am = start_alertmanager(self.dir.path(), self.alertmanager, self.webhook, route);
        let prom = start_prometheus(
            self.dir.path(),
            self.prometheus,
            self.pipeline,
            Some(self.alertmanager),
        );
        (am, prom)
    }
}

fn notification_check<'a>(outcome: &'a RunOutcome, phase: &str) -> &'a Check {
    outcome
        .checks
        .iter()
        .find(|c| c.name == "alert_notification" && c.phase == phase)
        .unwrap_or_else(|| panic!("no alert_notification in {phase}: {:#?}", outcome.checks))
}

#[test]
fn alertmanager_notifies_every_burst_firing_then_resolved() {
    let setup = Setup::new();
    let _peers = setup.start_peers(true);

    let outcome = execute(setup.plan(), Arc::new(AtomicBool::new(false)), |_| {}).unwrap();
    for (phase, p) in outcome.plan.phases.iter().zip(&outcome.phases).skip(1) {
        let e = &p.sentinel.evidence;
        eprintln!(
            "alertmanager, phase {}: {} bursts, {} detected after {:?}, {} notified after {:?}",
            phase.name, e.bursts, e.detected, e.detect_delays, e.notified, p.sentinel.notify_delays
        );
        assert_eq!((e.bursts, e.detected, e.notified), (1, 1, 1), "{e:#?}");
        assert!(!e.notifications_not_expected);
        // Prometheus fires after `for: 1s` at the earliest; Alertmanager adds its group_wait.
        assert!(
            p.sentinel.notify_delays[0] >= Duration::from_secs(2),
            "{p:#?}"
        );
        let c = notification_check(&outcome, &phase.name);
        eprintln!("alertmanager, phase {}: {}", phase.name, c.evidence);
        assert_eq!(c.status, Status::Pass, "{c:#?}");
        assert!(c.evidence.contains("1 firing and 1 resolved"), "{c:#?}");
    }
    // Prometheus lists the Alertmanager it sends to: no warning says otherwise.
    let unlisted = outcome
        .warnings
        .iter()
        .find(|w| w.contains("does not list"));
    assert!(unlisted.is_none(), "{unlisted:?}");
    let report = serde_json::to_value(RunReport::new(&outcome)).unwrap();
    crate::support::assert_matches_schema("run.schema.json", &report);
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

#[test]
fn alertmanager_stopped_mid_run_fails_alert_notification_naming_it() {
    let setup = Setup::new();
    let (am, _prom) = setup.start_peers(true);

    // Killed a second into the load phase, before its burst starts.
    let mut am = Some(am);
    let outcome = execute(setup.plan(), Arc::new(AtomicBool::new(false)), |p| {
        if p.phase == "load" && p.elapsed >= Duration::from_secs(1) {
            am.take();
        }
    })
    .unwrap();
    let c = notification_check(&outcome, "load");
    assert_eq!(c.status, Status::Fail, "{c:#?}");
    let who = format!("Alertmanager at http://127.0.0.1:{}", setup.alertmanager);
    assert!(c.evidence.starts_with(&who), "{c:#?}");
    assert!(c.evidence.contains("no firing notification"), "{c:#?}");
    assert!(c.evidence.contains("did not answer"), "{c:#?}");
    assert_eq!(outcome.verdict, Status::Fail);
}

#[test]
fn a_route_that_misses_the_sentinel_stops_the_run_with_the_receiver_to_add() {
    let setup = Setup::new();
    let _am = start_alertmanager(setup.dir.path(), setup.alertmanager, setup.webhook, false);
    let started = Instant::now();
    let err = execute(setup.plan(), Arc::new(AtomicBool::new(false)), |_| {}).unwrap_err();
    let message = format!("{err:#}");
    assert_eq!(exit_code_for(&err), 2, "{message}");
    assert!(message.contains("does not route"), "{message}");
    let url = format!("url: http://{}/alertmanager", setup.webhook);
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("tenant=\"sentinel\""), "{message}");
    // Stopped before the phases: long before the profile's 31 s.
    assert!(started.elapsed() < Duration::from_secs(20), "{message}");
}

#[test]
fn an_alertmanager_that_does_not_answer_is_unreachable() {
    let setup = Setup::new();
    let err = execute(setup.plan(), Arc::new(AtomicBool::new(false)), |_| {}).unwrap_err();
    let message = format!("{err:#}");
    assert_eq!(exit_code_for(&err), 3, "{message}");
    assert!(message.contains("Alertmanager"), "{message}");
}
