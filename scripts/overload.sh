#!/usr/bin/env bash
# The overload test of tests/pipeline/overload.rs for SECONDS (default 60; the tests run 10):
# the pipeline offered twice what it can process, a sentinel tenant beside the flood under
# `fair` isolation. Prints what was offered, acknowledged, refused and processed, and RSS.
#
#   bash scripts/overload.sh 60
set -euo pipefail
cd "$(dirname "$0")/.."
OVERLOAD_SECONDS=${1:-60} cargo test --release --test tests pipeline::overload -- --nocapture
