#!/usr/bin/env bash
# The mutation fuzzer of tests/fuzz.rs for longer than the tests' minute: ingest over loopback
# (gRPC framing, protobuf, OTLP JSON, gzip, headers) for 3/4 of SECONDS and the profile parser
# for 1/4. Prints the seed (FUZZ_SEED=N replays a run) and the answers seen.
#
#   bash scripts/fuzz.sh 600
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${1:-600} cargo test --release --test tests fuzz:: -- --nocapture --test-threads 2
