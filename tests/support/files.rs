//! The repository's files as the tests read them (profiles, schemas) and the small readers of
//! JSON reports and ids that many test modules need.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `profiles/NAME` in the repository.
pub fn profile(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("profiles")
        .join(name)
}

/// A short-horizon `watch` profile: 40 traces/s, traces decided within 5 s, a 2 s error burst
/// every 6 s (2-4 s, 8-10 s, ...), alerts evaluated every 250 ms.
pub const BURSTY_WATCH_PROFILE: &str = r#"
[sentinel]
traces_per_sec = 40.0
settle = "1s"
freshness_timeout = "5s"
retry_max_elapsed = "2s"

[sentinel.bursts]
offset = "2s"
period = "6s"
burst = "2s"

[checks]
min_traces = 10

[pipeline]
settle = "1s"
alert_interval = "250ms"
"#;

/// The JSON document in the file at `path`.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The unsigned integer at `key` of `v`; panics naming the key and showing `v`.
pub fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// Lower-case hex of `bytes`, as OTLP/JSON writes ids.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Validates `value` against the JSON Schema `schemas/NAME`; panics listing every violation.
pub fn assert_matches_schema(name: &str, value: &serde_json::Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{value}");
}
