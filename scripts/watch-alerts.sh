#!/usr/bin/env bash
# A real `watch`'s metrics feeding prometheus/sentinel-alerts.yml: two `span-sentinel serve`
# pipelines, a healthy one and a faulty one (it keeps 2 assembled traces per tenant, so most
# sentinel traces are evicted before they are found: they go missing), a `watch` against each,
# and a real Prometheus that scrapes both watches as job "span-sentinel-watch" every 5 s and
# evaluates the rules every 5 s. After DURATION it prints, as a Markdown table, each rule's state
# per watch as Prometheus's GET /api/v1/rules shows it, and the watches' counters.
#
#   bash scripts/watch-alerts.sh 6m        # the run shown in docs/watch.md
#
# Needs prometheus (`eval "$(bash scripts/setup-peers.sh)"` sets SPAN_SENTINEL_PROMETHEUS).
# Environment: SPAN_SENTINEL_BIN (default target/release/span-sentinel, built if missing),
# WATCH_ALERTS_DIR (logs, default a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/watch-alerts.sh DURATION (e.g. 6m, 300s)" >&2; exit 2; }
[ $# -eq 1 ] || usage
case "$1" in
    *m) seconds=$(( ${1%m} * 60 )) ;;
    *s) seconds=${1%s} ;;
    *[!0-9]*|'') usage ;;
    *) seconds=$1 ;;
esac
[ "$seconds" -ge 60 ] || { echo "watch-alerts.sh: DURATION must be at least 60s" >&2; exit 2; }
PROMETHEUS=${SPAN_SENTINEL_PROMETHEUS:-$(command -v prometheus || true)}
[ -x "$PROMETHEUS" ] || { echo "watch-alerts.sh: no prometheus: run eval \"\$(bash scripts/setup-peers.sh)\"" >&2; exit 2; }
BIN=${SPAN_SENTINEL_BIN:-target/release/span-sentinel}
[ -x "$BIN" ] || cargo build --release --quiet --bin span-sentinel >&2
DIR=${WATCH_ALERTS_DIR:-$(mktemp -d)}
mkdir -p "$DIR"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# serve NAME [FLAGS...]: starts a pipeline; sets grpc and http.
serve() {
    local name=$1; shift
    "$BIN" serve --grpc 127.0.0.1:0 --http 127.0.0.1:0 "$@" 2>"$DIR/serve-$name.log" &
    pids+=("$!")
    for _ in $(seq 100); do grep -q "API on" "$DIR/serve-$name.log" && break; sleep 0.1; done
    local line
    line=$(grep "API on" "$DIR/serve-$name.log") || { echo "serve $name did not start" >&2; exit 1; }
    grpc=$(sed -E 's/.*OTLP\/gRPC on ([^,]+),.*/\1/' <<<"$line")
    http=$(sed -E 's/.*API on ([^ ]+) .*/\1/' <<<"$line")
}
# watch NAME PORT: a watch against the last pipeline started, its metrics on PORT.
watch() {
    "$BIN" watch profiles/continuous.toml --target "grpc://$grpc" --query-url "http://$http" \
        --window 20s --duration "$(( seconds + 60 ))s" --metrics-addr "127.0.0.1:$2" --quiet \
        >"$DIR/watch-$1.out" 2>"$DIR/watch-$1.log" &
    pids+=("$!")
}
healthy=$(free_port); faulty=$(free_port); prom=$(free_port)
serve healthy; watch healthy "$healthy"
serve faulty --traces-per-tenant 2; watch faulty "$faulty"

cat >"$DIR/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $PWD/prometheus/sentinel-alerts.yml
scrape_configs:
  - job_name: span-sentinel-watch
    static_configs:
      - targets: ["127.0.0.1:$healthy"]
        labels: {pipeline: healthy}
      - targets: ["127.0.0.1:$faulty"]
        labels: {pipeline: faulty}
YAML
"$PROMETHEUS" --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/tsdb" \
    --web.listen-address="127.0.0.1:$prom" >"$DIR/prometheus.log" 2>&1 &
pids+=("$!")
echo "watches on :$healthy (healthy) and :$faulty (faulty), Prometheus on :$prom; waiting ${seconds}s" >&2
sleep "$seconds"

python3 - "http://127.0.0.1:$prom" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
get = lambda path: json.load(urllib.request.urlopen(base + path))["data"]
print("| rule | severity | healthy pipeline | faulty pipeline |")
print("| --- | --- | --- | --- |")
for group in get("/api/v1/rules")["groups"]:
    for rule in group["rules"]:
        state = {"healthy": "inactive", "faulty": "inactive"}
        for alert in rule.get("alerts", []):
            who = alert["labels"].get("pipeline", "both (no pipeline label)")
            state[who] = alert["state"]
        print(f"| {rule['name']} | {rule['labels']['severity']} | {state['healthy']} | {state['faulty']} |")
print()
print("| series | healthy pipeline | faulty pipeline |")
print("| --- | --- | --- |")
for name in ["windows_total", "traces_sent_total", "traces_verified_total", "traces_missing_total",
             "traces_incorrect_total", "error_bursts_detected_total", "error_bursts_missed_total",
             "spurious_alerts_total"]:
    values = {r["metric"]["pipeline"]: r["value"][1]
              for r in get("/api/v1/query?query=span_sentinel_" + name)["result"]}
    print(f"| span_sentinel_{name} | {values.get('healthy', '-')} | {values.get('faulty', '-')} |")
status = {r["metric"]["pipeline"] + "/" + r["metric"]["check"]: r["value"][1]
          for r in get("/api/v1/query?query=span_sentinel_check_status%3E%3D2")["result"]}
print()
print("checks at degraded (2) or fail (3) now:", ", ".join(f"{k}={v}" for k, v in sorted(status.items())) or "none")
PY
echo "logs: $DIR" >&2
