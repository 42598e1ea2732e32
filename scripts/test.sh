#!/usr/bin/env bash
# The project's whole test command (the README's second command; .ci/run calls it).
# It sets up what the tests need by itself, so it passes on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# The real peers of tests/peers.rs (Python opentelemetry-proto and rotel under target/peers,
# Debian's prometheus); the script is idempotent and prints the environment the tests read.
peers_env="$(bash scripts/setup-peers.sh)"  # a failed setup stops here (set -e)
eval "$peers_env"

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
# Release: the tests measure real servers and timing (freshness, alert delays, isolation
# latency); a debug build is 10-30x slower and would measure the build, not the code.
cargo test --locked --release --all-targets
