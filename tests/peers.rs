//! Real peers: the tool against software nobody here wrote. The peers are
//! installed by `scripts/setup-peers.sh` (which `scripts/test.sh` runs first) and found through
//! the environment it prints; a missing peer fails the test with what to run, never skips it.

mod alertmanager;
mod capture;
mod decoder;
mod fidelity_prometheus;
mod json_ingest;
mod prometheus;
mod rotel;

use std::path::PathBuf;

/// The path in environment variable `name`, set by `scripts/setup-peers.sh`.
pub fn peer_path(name: &str) -> PathBuf {
    match std::env::var_os(name) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "{name} is not set: run the tests through `bash scripts/test.sh`, or \
             `eval \"$(bash scripts/setup-peers.sh)\"` before `cargo test`"
        ),
    }
}
