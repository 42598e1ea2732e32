//! The soak, short: `scripts/soak.sh 2m` runs `serve`, an unruly `load` and a `watch` restarted
//! twice, sampling each process's RSS. Memory must be flat once the stores are full and the
//! watch must report no false failures. The 30-minute figure in docs/reliability.md comes from the same
//! script (`bash scripts/soak.sh 30m`).

use std::process::Command;

use serde_json::Value;

/// Slope bounds of the long-lived processes' RSS after warm-up (the first 30 s), MiB per
/// minute. Two minutes is too short to see a slow leak (the 30-minute run in docs/reliability.md measured
/// -0.03 for serve, -0.09 for load); this catches a gross one: a serve that kept every span of
/// the 20,000 spans/s load would grow by about 100 MiB/min, one that kept a seventh of them by
/// more than 16. 2-minute runs on a busy 2-core machine measured 3.4 and 7.9 for serve (an
/// allocator step while the stores fill) and -0.03 and 1.2 for load.
const FLAT_MIB_PER_MIN: [(&str, f64); 2] = [("serve", 16.0), ("load", 4.0)];

#[test]
fn two_minutes_of_serve_load_and_a_restarted_watch_keep_memory_flat_and_report_no_false_failures() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .args(["scripts/soak.sh", "2m"])
        .env("SPAN_SENTINEL_BIN", env!("CARGO_BIN_EXE_span-sentinel"))
        .env("SOAK_DIR", dir.path())
        .output()
        .expect("bash runs scripts/soak.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "soak.sh failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no summary line ({e}):\n{stdout}\n{stderr}"));
    eprintln!("{summary}");
    assert_eq!(summary["false_failures"], 0, "{summary}\n{stderr}");
    for leg in summary["traces_verified"].as_array().unwrap() {
        assert!(
            leg.as_u64().unwrap() > 0,
            "a watch leg verified nothing: {summary}"
        );
    }
    // Each leg ends on its own (--duration): its verdict is its exit code, and every trace it
    // sent was decided in its drain, none left pending.
    for (key, want) in [("watch_exit_codes", 0), ("traces_pending", 0)] {
        for (leg, v) in summary[key].as_array().unwrap().iter().enumerate() {
            assert_eq!(v, want, "watch leg {}: {key}: {summary}\n{stderr}", leg + 1);
        }
    }
    for (process, bound) in FLAT_MIB_PER_MIN {
        let p = &summary[process];
        assert!(p["samples"].as_u64().unwrap() >= 20, "{process}: {p}");
        let slope = p["slope_mib_per_min"].as_f64().unwrap();
        assert!(
            slope.abs() <= bound,
            "{process} RSS moves {slope} MiB/min after warm-up: {p}\n{stderr}"
        );
    }
}
