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
