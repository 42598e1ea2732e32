//! Alerts from a real Prometheus: Debian's `prometheus` scrapes the embedded pipeline's
//! `/metrics` and evaluates `prometheus/rules.yml`; `run --alerts prometheus://...` reads the
//! alert's state from Prometheus, and every sentinel burst must fire and clear it there.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use span_sentinel::config::Overrides as RunOverrides;
use span_sentinel::config::run::{AlertSource, TargetPlan, run_plan};
use span_sentinel::run::execute::execute;
use span_sentinel::verify::status::Status;

use super::peer_path;
use crate::support::HEAVY;

/// A child process killed (by its own id) and reaped when dropped.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The status code of `GET path` on `addr`, if it answers.
pub fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Starts Prometheus on `port`, scraping `target` every second with the repository's rules.
pub fn start_prometheus(dir: &Path, port: u16, target: SocketAddr) -> Reaped {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("prometheus/rules.yml");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: span-sentinel-pipeline\n    static_configs:\n      \
             - targets: [\"{target}\"]\n",
            rules.display()
        ),
    )
    .unwrap();
    let child = Command::new(peer_path("SPAN_SENTINEL_PROMETHEUS"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("prometheus starts");
    let child = Reaped(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_status(addr, "/-/ready") != Some(200) {
        assert!(
            Instant::now() < deadline,
            "prometheus not ready in 30 s: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    child
}

#[test]
fn prometheus_fires_and_clears_the_alert_for_every_burst() {
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    // A collector or Prometheus is one more busy process: keep the pipeline's timing-sensitive
    // tests from running meanwhile, and them from slowing this one.
    let _exclusive = crate::pipeline::support::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let (pipeline_port, prometheus_port) = (free_port(), free_port());
    let pipeline_http = SocketAddr::from(([127, 0, 0, 1], pipeline_port));
    let _prometheus = start_prometheus(dir.path(), prometheus_port, pipeline_http);

    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/prometheus.toml");
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
