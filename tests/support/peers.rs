//! Third-party peer processes (Prometheus, Alertmanager, rotel, Python): where
//! `scripts/setup-peers.sh` installed them, loopback ports for them, and a child that is reaped
//! however the test ends. A missing peer fails the test with what to run, never skips it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The path in environment variable `name`, set by `scripts/setup-peers.sh`.
pub fn peer_path(name: &str) -> PathBuf {
    match std::env::var_os(name) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "{name} is not set: run the tests through `bash scripts/test.sh`, or \
             `eval \"$(bash scripts/setup-peers.sh)\"` before `cargo nextest run`"
        ),
    }
}

/// A child process killed (by its own id) and reaped when dropped.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port free right now, for a peer's configuration written before anything binds
/// it. It lies below the kernel's ephemeral range (`ip_local_port_range`, 32768 by default),
/// from a random start: a port from `bind(0)` would be handed to the next test that binds port 0
/// as soon as it is released here, and the suite runs tests side by side.
pub fn free_port() -> u16 {
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (low, high) = (10_000u16, ephemeral_start.max(10_001));
    let start = low + (rand::random::<u16>() % (high - low));
    (start..high)
        .chain(low..start)
        .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free loopback port below the ephemeral range")
}

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
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

/// Waits until `GET /-/ready` of the peer on `port` answers 200, or panics with its log.
pub fn await_ready(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_status(loopback(port), "/-/ready") != Some(200) {
        assert!(
            Instant::now() < deadline,
            "{what} not ready in 30 s: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Starts Prometheus on `port`, scraping `target` every second with the repository's rules,
/// and sending alerts to the Alertmanager on port `alertmanager` when one is given.
pub fn start_prometheus(
    dir: &Path,
    port: u16,
    target: SocketAddr,
    alertmanager: Option<u16>,
) -> Reaped {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("prometheus/rules.yml");
    let config = dir.join("prometheus.yml");
    let mut text = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
         scrape_configs:\n  - job_name: span-sentinel-pipeline\n    static_configs:\n      \
         - targets: [\"{target}\"]\n",
        rules.display()
    );
    if let Some(am) = alertmanager {
        text.push_str(&format!(
            "alerting:\n  alertmanagers:\n    - static_configs:\n        \
             - targets: [\"127.0.0.1:{am}\"]\n"
        ));
    }
    std::fs::write(&config, text).unwrap();
    let log = dir.join("prometheus.log");
    let child = Command::new(peer_path("SPAN_SENTINEL_PROMETHEUS"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("prom-data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("prometheus starts");
    let child = Reaped(child);
    await_ready(port, "prometheus", &log);
    child
}
