//! The binary under test as a child process: one way to run it to completion, one to start
//! `serve` and read the addresses it printed, and signals. Every test that runs
//! `span-sentinel` as a process goes through here.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

/// A `span-sentinel` command, not yet started.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_span-sentinel"))
}

/// How a finished `span-sentinel` process ended.
pub struct Ran {
    /// Its exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// What it wrote to stdout.
    pub stdout: String,
    /// What it wrote to stderr.
    pub stderr: String,
}

/// Runs `span-sentinel ARGS` to completion.
pub fn run_bin(args: &[&str]) -> Ran {
    let out = bin().args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ran {
        code: out.status.code(),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

/// Sends SIGTERM to `child` (by its own id).
pub fn sigterm(child: &Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

/// A `serve` child on loopback (ports 0) with `extra` flags, and its two addresses as it
/// printed them; killed on drop.
pub struct ServeChild {
    child: Child,
    /// The OTLP/gRPC address.
    pub grpc: String,
    /// The OTLP/HTTP and API address.
    pub http: String,
}

impl ServeChild {
    /// Starts `serve` and waits for the line that names its addresses.
    pub fn start(extra: &[&str]) -> Self {
        let mut child = bin()
            .args(["serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let line = wait_for_line(&mut child, "API on");
        let addr = |after: &str| {
            let rest = line.split(after).nth(1).unwrap();
            let addr = rest.split([',', ' ']).find(|s| !s.is_empty()).unwrap();
            addr.trim().to_owned()
        };
        let (grpc, http) = (addr("OTLP/gRPC on "), addr("API on "));
        Self { child, grpc, http }
    }

    /// Stops `serve` the way an operator does (SIGTERM) and waits for it to exit.
    pub fn terminate(mut self) {
        sigterm(&self.child);
        let _ = self.child.wait();
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a child's stderr lines until one contains `needle`; returns it, and keeps draining the
/// rest on a thread so the child never blocks on a full pipe.
pub fn wait_for_line(child: &mut Child, needle: &str) -> String {
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no {needle:?} line"
        );
        if line.contains(needle) {
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            return line;
        }
    }
}
