//! The real pipeline of `scripts/real-pipeline.sh` (OpenTelemetry Collector → Jaeger v2 →
//! Prometheus → Alertmanager) in a temporary state directory, stopped on drop. A missing binary
//! makes the script fail with how to build it, and the test with it: these tests never skip.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

/// A started pipeline and the `export` lines it printed.
pub struct RealPipeline {
    /// Each exported variable (`SPAN_SENTINEL_TARGET`, `SPAN_SENTINEL_TRACES`, ...).
    pub env: HashMap<String, String>,
    dir: tempfile::TempDir,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/real-pipeline.sh")
}

impl RealPipeline {
    /// Starts every component on free loopback ports; panics with the script's output when one
    /// is missing or does not become ready.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .env("REAL_PIPELINE_DIR", dir.path())
            .output()
            .expect("running scripts/real-pipeline.sh");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "scripts/real-pipeline.sh start failed (install the peers with \
             eval \"$(bash scripts/setup-peers.sh)\"):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = text
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.trim_matches(['"', '\'']).to_owned()))
            .collect();
        Self { env, dir }
    }

    /// The value the script exported for `name`.
    pub fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("scripts/real-pipeline.sh exported no {name}"))
    }

    /// `span-sentinel ARGS` with the pipeline's environment (and only the peers' variables of
    /// the caller's), to its end or `timeout`.
    pub fn span_sentinel(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_span-sentinel"));
        cmd.args(args).envs(&self.env);
        for var in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Kills Jaeger (its pid as the script exported it).
    pub fn kill_jaeger(&self) {
        let pid = self.var("REAL_PIPELINE_JAEGER_PID");
        let status = Command::new("kill").args(["-9", pid]).status().unwrap();
        assert!(status.success(), "kill -9 {pid}");
    }

    /// Waits (at most `limit`) until Jaeger lists a sentinel service: a run has set up and is
    /// sending. A fixed sleep before killing Jaeger raced the run's start on a busy machine.
    pub fn wait_for_sentinel_in_jaeger(&self, limit: Duration) {
        use std::io::{Read, Write};
        let traces = self.var("SPAN_SENTINEL_TRACES");
        let addr = traces
            .trim_start_matches("jaeger+http://")
            .trim_end_matches('/');
        let lists_sentinel = || -> Option<bool> {
            let mut stream = std::net::TcpStream::connect(addr).ok()?;
            write!(stream, "GET /api/services HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer).ok()?;
            Some(answer.contains("\"sentinel-"))
        };
        let start = std::time::Instant::now();
        while lists_sentinel() != Some(true) {
            assert!(
                start.elapsed() < limit,
                "no sentinel service in Jaeger after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Where the state (configs, logs) lives.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for RealPipeline {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .env("REAL_PIPELINE_DIR", self.dir.path())
            .output();
    }
}

/// Runs `cmd`, failing the test past `limit`.
pub fn finish(mut cmd: Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let guard = std::thread::spawn(move || {
        std::thread::sleep(limit);
        let _ = Command::new("kill").arg(id.to_string()).status();
    });
    let out = child.wait_with_output().unwrap();
    drop(guard);
    out
}

/// A short profile for the runs that must fail: warmup 2 s, baseline 8 s, the sentinel as in
/// profiles/jaeger.toml; written into `dir`.
pub fn short_profile(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("short.toml");
    std::fs::write(
        &path,
        "[[phases]]\nname = \"warmup\"\nkind = \"warmup\"\nduration = \"2s\"\n\
         [[phases]]\nname = \"baseline\"\nkind = \"baseline\"\nduration = \"8s\"\n\
         [sentinel]\ntraces_per_sec = 10.0\nlarge_trace_spans = 100\nsettle = \"2s\"\n\
         freshness_timeout = \"6s\"\nassembly_threshold = \"0s\"\nduplicate_ratio = 0.0\n\
         [sentinel.alert]\nname = \"SpanSentinelErrorRatio\"\nthreshold = 0.3\n\
         [checks]\nmin_traces = 5\n",
    )
    .unwrap();
    path
}
