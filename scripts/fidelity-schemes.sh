#!/usr/bin/env bash
# The schemes table of docs/gates.md: starts Debian's prometheus on loopback (127.0.0.1:19090, scraping
# the embedded pipeline's /metrics on 127.0.0.1:14318 every second), runs
#   span-sentinel fidelity profiles/fidelity-schemes.toml --max-rel-error 0.01 [ARGS...]
# and stops Prometheus. Exit code: fidelity's.
set -euo pipefail
cd "$(dirname "$0")/.."

PROMETHEUS="${SPAN_SENTINEL_PROMETHEUS:-$(command -v prometheus || true)}"
if [ -z "$PROMETHEUS" ]; then
    echo "prometheus not found: run scripts/setup-peers.sh first" >&2
    exit 2
fi
DIR="$(mktemp -d)"
cat >"$DIR/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: span-sentinel-pipeline
    static_configs:
      - targets: ["127.0.0.1:14318"]
YAML
"$PROMETHEUS" --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/data" \
    --web.listen-address=127.0.0.1:19090 >"$DIR/prometheus.log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 150); do
    curl -sf http://127.0.0.1:19090/-/ready >/dev/null && break
    sleep 0.2
done
cargo build --release -q
target/release/span-sentinel fidelity profiles/fidelity-schemes.toml --max-rel-error 0.01 "$@"
