//! A collector in the path: the `[peer]` section names a command (rotel-agent, an OpenTelemetry
//! Collector, ...) that `run` starts once the embedded pipeline is up and stops at the end. The
//! sentinel and the load send to the peer's receiver; the peer exports to the pipeline; the
//! verifier still queries the pipeline. So every check measures the whole path.
//!
//! The command's arguments may use placeholders, filled in by `run`:
//! `{pipeline_grpc}` and `{pipeline_http}` (the pipeline's `HOST:PORT`), `{peer_grpc}` and
//! `{peer_http}` (free loopback `HOST:PORT`s for the peer's receivers) and `{run_dir}` (a
//! scratch directory for pid and log files). `target` names where spans go, with the same
//! placeholders.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::config::peer::PeerSection;
use crate::transport::Target;
use anyhow::Context;

/// A running peer; killed (by its own process id) and reaped when dropped.
#[derive(Debug)]
pub struct PeerProcess {
    child: tokio::process::Child,
    /// Where spans go.
    pub target: Target,
    /// The scratch directory (`{run_dir}`), holding the peer's log when it writes one there.
    pub run_dir: PathBuf,
}

fn free_addr() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// Starts the peer for a pipeline listening on `pipeline_grpc` and `pipeline_http`, and waits
/// until its receiver accepts connections.
pub async fn start(
    peer: &PeerSection,
    pipeline_grpc: SocketAddr,
    pipeline_http: SocketAddr,
) -> anyhow::Result<PeerProcess> {
    let run_dir = std::env::temp_dir().join(format!(
        "span-sentinel-peer-{}-{}",
        std::process::id(),
        pipeline_grpc.port()
    ));
    std::fs::create_dir_all(&run_dir).context("creating the peer's run directory")?;
    let (peer_grpc, peer_http) = (free_addr()?, free_addr()?);
    let fill = |s: &str| {
        s.replace("{pipeline_grpc}", &pipeline_grpc.to_string())
            .replace("{pipeline_http}", &pipeline_http.to_string())
            .replace("{peer_grpc}", &peer_grpc.to_string())
            .replace("{peer_http}", &peer_http.to_string())
            .replace("{run_dir}", &run_dir.to_string_lossy())
    };
    let target: Target = fill(&peer.target).parse().context("[peer] target")?;
    let (program, args) = peer
        .command
        .split_first()
        .context("[peer] command is empty")?;
    let log = std::fs::File::create(run_dir.join("peer.log")).context("the peer's log")?;
    let child = tokio::process::Command::new(fill(program))
        .args(args.iter().map(|a| fill(a)))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting the peer {program:?} (is it on PATH?)"))?;
    let mut process = PeerProcess {
        child,
        target,
        run_dir,
    };
    let receiver = match &process.target {
        Target::Grpc { endpoint } => endpoint.authority().map(|a| a.to_string()),
        Target::Http { url } => url.authority().map(|a| a.to_string()),
        Target::Discard => None,
    }
    .context("[peer] target must be grpc://HOST:PORT or http://HOST:PORT/v1/traces")?;
    let deadline = Instant::now() + peer.startup_timeout;
    loop {
        if let Some(status) = process.child.try_wait()? {
            anyhow::bail!(
                "the peer exited with {status} before opening {receiver}; see {}",
                process.run_dir.join("peer.log").display()
            );
        }
        if tokio::net::TcpStream::connect(&receiver).await.is_ok() {
            return Ok(process);
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "the peer did not open {receiver} within {:?}",
                peer.startup_timeout
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl PeerProcess {
    /// Stops the peer and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
