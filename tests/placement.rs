//! `--load-cpus` and `--sentinel-cpus`: the threads of a real `run` are on the CPUs asked for
//! (read from the kernel's own `/proc/PID/task/*/status` while it runs), the report says where
//! they were, and bad lists exit 2 naming the flag.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use span_sentinel::placement::allowed_cpus;

use crate::support::{Ran, assert_matches_schema, bin, run_bin};

#[test]
fn bad_cpu_lists_exit_2_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--load-cpus", "x"], "--load-cpus"),
        (&["run", "--sentinel-cpus", ""], "--sentinel-cpus"),
        (&["run", "--sentinel-cpus", "1-0"], "--sentinel-cpus"),
        (
            &["run", "--load-cpus", "1023"],
            "--load-cpus 1023: this machine has no CPU 1023",
        ),
        (
            &["run", "--sentinel-cpus", "0,1023"],
            "--sentinel-cpus 0,1023: this machine has no CPU 1023",
        ),
        (
            &["run", "--load-cpus", "0", "--sentinel-cpus", "0"],
            "--load-cpus 0 and --sentinel-cpus 0 share a CPU",
        ),
        (
            &["load", "--sink", "discard", "--load-cpus", "1023"],
            "--load-cpus 1023: this machine has no CPU 1023",
        ),
        (
            &["load", "--sink", "discard", "--load-cpus", "a-b"],
            "--load-cpus",
        ),
    ];
    for (args, needle) in cases {
        let Ran { code, stderr, .. } = run_bin(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

/// A short run with a load phase: two load workers beside the sentinel.
const PROFILE: &str = r#"
[[phases]]
name = "warmup"
kind = "warmup"
duration = "1s"

[[phases]]
name = "baseline"
kind = "baseline"
duration = "2s"

[[phases]]
name = "load"
kind = "load"
duration = "4s"

[sentinel]
traces_per_sec = 20.0
large_trace_spans = 100
settle = "1s"
freshness_timeout = "3s"

[load]
threads = 2
batch = 100

[load.rate]
profile = "constant"
spans_per_sec = 2000.0

[[load.streams]]
name = "neighbour"
tenant = "neighbour"

[pipeline]
settle = "1s"
"#;

/// Each thread's name and `Cpus_allowed_list`, as the kernel has them now.
fn threads_of(pid: u32) -> Vec<(u32, String, String)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue; // the thread ended meanwhile
        };
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_owned())
        };
        if let (Some(name), Some(cpus)) = (field("Name:"), field("Cpus_allowed_list:")) {
            let tid = task.file_name().to_string_lossy().parse().unwrap_or(0);
            out.push((tid, name, cpus));
        }
    }
    out
}

#[test]
fn load_and_sentinel_threads_run_on_the_cpus_asked_for() {
    let allowed = allowed_cpus().unwrap();
    assert!(
        allowed.cpus().len() >= 2,
        "placement needs two CPUs to put the load and the sentinel apart; this process may use {allowed}"
    );
    let (sentinel, load) = (allowed.cpus()[0].to_string(), allowed.cpus()[1].to_string());
    let dir = tempfile::tempdir().unwrap();
    let (profile, json) = (dir.path().join("p.toml"), dir.path().join("run.json"));
    std::fs::write(&profile, PROFILE).unwrap();
    let mut child = bin()
        .arg("run")
        .arg(&profile)
        .args(["--quiet", "--seed", "7", "--load-cpus", &load])
        .args(["--sentinel-cpus", &sentinel, "--json"])
        .arg(&json)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Each thread's kind and the CPU list it was last seen with: a load worker is born with its
    // parent's CPUs and pins itself as its first step, so a poll may catch it just before.
    let mut last: BTreeMap<u32, (&str, String)> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        let threads = threads_of(pid);
        let loaded = threads.iter().any(|(_, n, _)| n.starts_with("load-"));
        for (tid, name, cpus) in threads {
            let kind = match name.as_str() {
                n if n.starts_with("load-") => "load",
                n if n.starts_with("sentinel") => "sentinel",
                n if n.starts_with("pipeline-worke") => "pipeline",
                // The main thread runs the sentinel's phases while the load runs.
                _ if tid == pid && loaded => "main",
                _ => continue,
            };
            last.insert(tid, (kind, cpus));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = child.wait().unwrap();
    let mut seen: BTreeMap<&str, std::collections::BTreeSet<String>> = BTreeMap::new();
    for (kind, cpus) in last.into_values() {
        seen.entry(kind).or_default().insert(cpus);
    }
    let one = |cpu: &str| std::collections::BTreeSet::from([cpu.to_owned()]);
    assert_eq!(seen.get("load"), Some(&one(&load)), "{seen:?}");
    for kind in ["sentinel", "pipeline", "main"] {
        assert_eq!(seen.get(kind), Some(&one(&sentinel)), "{kind}: {seen:?}");
    }
    assert!(status.code().is_some(), "{status}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_matches_schema("run.schema.json", &report);
    let as_list = |cpu: &str| serde_json::json!([cpu.parse::<u64>().unwrap()]);
    assert_eq!(report["placement"]["load_cpus"], as_list(&load));
    assert_eq!(report["placement"]["sentinel_cpus"], as_list(&sentinel));
}
