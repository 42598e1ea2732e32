#!/usr/bin/env bash
# Interference through the real pipeline of scripts/real-pipeline.sh (OpenTelemetry Collector →
# Jaeger v2 → Prometheus → Alertmanager): runs profiles/jaeger.toml N times as it is (its load
# phase sends a harmless 2,000 spans/s of another tenant) and N times with that load raised to
# RATE spans/s, each run with its own seed, against one pipeline started for the measurement.
# Prints one line per run (verdict, exit code, the load phase's acked/refused/failed spans, what
# the Collector's own counters moved by over the run, the checks that gave way) and a summary per
# arm; the reports stay in the state dir.
#
#   eval "$(bash scripts/setup-peers.sh)"
#   bash scripts/real-interference.sh 5              # RATE=100000 by default
#   RATE=400000 ARMS=unruly bash scripts/real-interference.sh 5   # one arm only
#
# The binary is target/release/span-sentinel (built if missing), or $SPAN_SENTINEL.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:?usage: scripts/real-interference.sh N}"
rate="${RATE:-100000}"
arms="${ARMS:-idle unruly}"
bin="${SPAN_SENTINEL:-target/release/span-sentinel}"
[[ -x "$bin" ]] || cargo build --release --locked --quiet
out="${REAL_INTERFERENCE_DIR:-target/real-interference}"
rm -rf "$out"
mkdir -p "$out"
export REAL_PIPELINE_DIR="$out/pipeline"

# The unruly arm: the same profile, its load raised to RATE spans/s.
sed "s/^spans_per_sec = 2000.0$/spans_per_sec = ${rate}.0/" profiles/jaeger.toml >"$out/unruly.toml"
grep -q "spans_per_sec = ${rate}.0" "$out/unruly.toml" || {
    echo "real-interference: profiles/jaeger.toml no longer sets spans_per_sec = 2000.0" >&2
    exit 2
}

eval "$(bash scripts/real-pipeline.sh start)"
trap 'bash scripts/real-pipeline.sh stop >/dev/null 2>&1 || true' EXIT

# The Collector's own span counters (its telemetry on $REAL_PIPELINE_OTELCOL_METRICS), summed
# over their labels, as NAME=VALUE words.
collector_counters() {
    curl -sf "$REAL_PIPELINE_OTELCOL_METRICS" | python3 -c '
import re, sys
names = {
    "otelcol_receiver_accepted_spans": "accepted",
    "otelcol_receiver_refused_spans": "refused",
    "otelcol_exporter_sent_spans": "exported",
    "otelcol_exporter_send_failed_spans": "export_failed",
    "otelcol_exporter_enqueue_failed_spans": "enqueue_failed",
}
sums = {short: 0.0 for short in names.values()}
for line in sys.stdin:
    m = re.match(r"([a-z_]+?)(?:_total)?(?:\{([^}]*)\})? ([0-9.e+-]+)$", line.strip())
    to_jaeger = "otlp_grpc" in (m.group(2) or "") if m else False
    if m and m.group(1) in names and (to_jaeger or "exporter" not in m.group(1)):
        sums[names[m.group(1)]] += float(m.group(3))
print(" ".join(f"{k}={int(v)}" for k, v in sums.items()))
'
}

# What the counters moved by between two collector_counters lines.
counter_delta() {
    python3 -c '
import sys
a = dict(w.split("=") for w in sys.argv[1].split())
b = dict(w.split("=") for w in sys.argv[2].split())
print(" ".join(f"{k} {int(b[k]) - int(a.get(k, 0))}" for k in b))
' "$1" "$2"
}

# One line for a run's report: verdict, exit, load phase's spans, the checks that gave way.
describe() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
path, code = sys.argv[1], sys.argv[2]
try:
    r = json.load(open(path))
except (OSError, ValueError):
    print(f"no report (exit {code})")
    sys.exit(0)
load = next((p.get("load") or {} for p in r["phases"] if p["name"] == "load"), {})
spans = "acked {} rejected {} failed {}".format(
    load.get("acked_spans"), load.get("rejected_spans"), load.get("failed_spans"))
bad = [f'{c["name"]} in {c["phase"]}: {c["status"]} ({c["evidence"]})'
       for c in r["checks"] if c["status"] not in ("pass",)]
print(f'{r["verdict"]} (exit {code}); load phase {spans}')
for b in bad:
    print(f"    {b}")
EOF
}

for arm in $arms; do
    profile=profiles/jaeger.toml
    [[ $arm == unruly ]] && profile="$out/unruly.toml"
    for i in $(seq 1 "$n"); do
        code=0
        json="$out/$arm-$i.json"
        before="$(collector_counters)"
        "$bin" run "$profile" --quiet --seed "$i" --json "$json" >"$out/$arm-$i.txt" 2>"$out/$arm-$i.err" || code=$?
        echo "$arm run $i (seed $i): $(describe "$json" "$code")"
        echo "    the Collector over the run: $(counter_delta "$before" "$(collector_counters)")"
    done
done | tee "$out/runs.txt"

echo "summary (verdicts per arm, rate of the unruly load ${rate} spans/s):"
for arm in $arms; do
    verdicts=$(grep -o "^$arm run [0-9]* (seed [0-9]*): [a-z-]*" "$out/runs.txt" | awk '{print $NF}' | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')
    echo "  $arm: ${verdicts%, }"
done
echo "reports: $out"
