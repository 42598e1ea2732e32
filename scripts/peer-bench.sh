#!/usr/bin/env bash
# span-sentinel's generator beside the OpenTelemetry Collector's telemetrygen, on this machine, in
# one run (issue 30 §1–§2). Prints two Markdown tables:
#
# 1. Side by side, into the same acking sink (peers/acksink: acknowledges every OTLP/gRPC Export
#    and counts its spans from the wire format, building no messages): each tool's ceiling with
#    1 and 2 workers (spans/s the sink counted over the tool's wall time), and at a fixed rate
#    both hold (RATE, default 200k spans/s, 2 workers each) the CPU seconds per million spans and
#    the peak RSS (getrusage of the child, through GNU time), with the ratios.
# 2. The Collector (peers/otelcol: otlp receiver → batch → nop exporter) driven to its ceiling
#    by each tool (the accepted rate at an unthrottled drive, from its own
#    otelcol_receiver_accepted_spans and otelcol_receiver_refused_spans), and what each driver's
#    CPU was at that rate, as a share of one core.
#
# Both send the same shape: traces of 2 spans (a root and one child), 2 string attributes per
# span, 512 spans a request, over OTLP/gRPC without compression. Not comparable: telemetrygen
# builds every span through the OpenTelemetry Go SDK (a rate limiter per span, a batch span
# processor shared by its workers, one export in flight) while span-sentinel patches pre-encoded
# requests (8 in flight per worker); telemetrygen's SDK drops spans when its queue is full, so
# every rate here is the one the receiving end counted, never the one a tool claims.
#
# Usage: scripts/peer-bench.sh [SECONDS] [RATE]   (default 10 s per measurement, RATE 200000)
# Needs: cargo build --release --bin span-sentinel; eval "$(bash scripts/setup-peers.sh)".
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
rate=${2:-200000}
bin=target/release/span-sentinel
[ -x "$bin" ] || { echo "build first: cargo build --release --bin span-sentinel" >&2; exit 2; }
peers=$PWD/target/peers/bin
otelcol=${SPAN_SENTINEL_OTELCOL:-$peers/otelcol}
telemetrygen=${SPAN_SENTINEL_TELEMETRYGEN:-$peers/telemetrygen}
for b in "$otelcol" "$telemetrygen"; do
  [ -x "$b" ] || { echo "missing $b: run eval \"\$(bash scripts/setup-peers.sh)\"" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 2; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

# acksink: built here from peers/acksink (cached by the hash of its sources).
build_acksink() {
  local go stamp
  go=$(command -v go || echo /usr/local/go/bin/go)
  stamp="$peers/.acksink-$(cat peers/acksink/go.mod peers/acksink/go.sum peers/acksink/main.go | sha256sum | cut -c1-16)"
  [ -x "$peers/acksink" ] && [ -f "$stamp" ] && return 0
  mkdir -p "$peers"
  (cd peers/acksink && GOTOOLCHAIN=local "$go" build -trimpath "-ldflags=-s -w" -o "$peers/acksink" .) >&2
  rm -f "$peers/.acksink-"*
  touch "$stamp"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_http URL: until URL answers.
wait_http() {
  for _ in $(seq 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2
  exit 1
}

# A load profile with telemetrygen's trace shape.
cat >"$tmp/shape.toml" <<'EOF'
[[load.streams]]
name = "bench"
tenant = "bench"
weight = 1.0
error_ratio = 0.0
[load.streams.shape]
services = 1
operations = 2
depth = 2
fan_out = 1
attributes = 2
attribute_cardinality = 100
payload_bytes = 0
EOF

# drive TOOL WORKERS RATE TARGET: runs TOOL (sentinel | telemetrygen) for $seconds at RATE spans/s
# in all (0 = unthrottled) with WORKERS workers against TARGET (HOST:PORT); leaves
# "elapsed user sys maxrss_kib" in $tmp/time.
drive() {
  local tool=$1 workers=$2 r=$3 target=$4
  local timing=(/usr/bin/time -o "$tmp/time" -f "%e %U %S %M")
  if [ "$tool" = sentinel ]; then
    local rr=max
    [ "$r" = 0 ] || rr=$r
    "${timing[@]}" "$bin" load --quiet --profile "$tmp/shape.toml" --target "grpc://$target" \
      --rate "$rr" --threads "$workers" --batch 512 --duration "${seconds}s" >/dev/null 2>"$tmp/drive.log"
  else
    # telemetrygen's --rate is per worker and paces every span (root and child alike).
    "${timing[@]}" "$telemetrygen" traces --otlp-endpoint "$target" --otlp-insecure \
      --workers "$workers" --rate "$(echo "$r / $workers" | bc -l)" --duration "${seconds}s" \
      --child-spans 1 --batch-size 512 >/dev/null 2>"$tmp/drive.log"
  fi
}

# sink_spans: spans the acking sink has counted.
sink_spans() { curl -sf "http://$sink_http/count" | cut -d' ' -f1; }

# otelcol_metric NAME: the Collector's own counter NAME, summed over its labels.
otelcol_metric() {
  curl -sf "http://127.0.0.1:$otel_metrics/metrics" |
    awk -v n="$1" 'index($0, n "{") == 1 || index($0, n " ") == 1 { s += $NF } END { printf "%d", s }'
}

# side_by_side: the first table.
side_by_side() {
  local tool w before after t cpu
  build_acksink
  sink_grpc=127.0.0.1:$(free_port)
  sink_http=127.0.0.1:$(free_port)
  "$peers/acksink" --grpc "$sink_grpc" --http "$sink_http" 2>"$tmp/acksink.log" &
  pids+=($!)
  wait_http "http://$sink_http/count"
  for tool in sentinel telemetrygen; do
    for w in 1 2; do
      before=$(sink_spans); drive "$tool" "$w" 0 "$sink_grpc"; after=$(sink_spans)
      read -r t _ _ _ <"$tmp/time"
      echo "$tool ceiling_$w $(echo "($after - $before) / $t" | bc -l)" >>"$tmp/results"
    done
    before=$(sink_spans); drive "$tool" 2 "$rate" "$sink_grpc"; after=$(sink_spans)
    read -r t u s m <"$tmp/time"
    cpu=$(echo "($u + $s) / (($after - $before) / 1000000)" | bc -l)
    echo "$tool cpu_per_m $cpu" >>"$tmp/results"
    echo "$tool held $(echo "($after - $before) / $t" | bc -l)" >>"$tmp/results"
    echo "$tool rss_mib $(echo "$m / 1024" | bc -l)" >>"$tmp/results"
  done
  python3 - "$tmp/results" "$rate" <<'EOF'
import sys
r = {}
for line in open(sys.argv[1]):
    tool, key, value = line.split()
    r[(tool, key)] = float(value)
rate = float(sys.argv[2])
rows = [
    ("ceiling, 1 worker (spans/s at the sink)", "ceiling_1", "{:,.0f}", "x"),
    ("ceiling, 2 workers (spans/s at the sink)", "ceiling_2", "{:,.0f}", "x"),
    (f"rate held at {rate:,.0f}/s offered, 2 workers", "held", "{:,.0f}", "x"),
    ("CPU s per million spans at that rate", "cpu_per_m", "{:.3f}", "inv"),
    ("peak RSS at that rate (MiB)", "rss_mib", "{:.1f}", "inv"),
]
print("| | span-sentinel | telemetrygen | span-sentinel advantage |")
print("|---|---:|---:|---:|")
for label, key, fmt, kind in rows:
    s, t = r[("sentinel", key)], r[("telemetrygen", key)]
    ratio = s / t if kind == "x" else t / s
    print(f"| {label} | {fmt.format(s)} | {fmt.format(t)} | {ratio:.1f}× |")
EOF
}

# collector_ceiling: the second table.
collector_ceiling() {
  local otlp tool a0 r0 a1 r1 t u s accepted refused cpu
  otlp=$(free_port)
  otel_metrics=$(free_port)
  cat >"$tmp/otelcol.yaml" <<EOF
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$otlp
processors:
  batch: {}
exporters:
  nop: {}
service:
  telemetry:
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus: {host: 127.0.0.1, port: $otel_metrics}
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [nop]}
EOF
  "$otelcol" --config "file:$tmp/otelcol.yaml" >"$tmp/otelcol.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$otel_metrics/metrics"
  echo "| driver (1 worker) | Collector ceiling (accepted spans/s) | refused | driver CPU at that rate (% of one core) |"
  echo "|---|---:|---:|---:|"
  for tool in sentinel telemetrygen; do
    a0=$(otelcol_metric otelcol_receiver_accepted_spans); r0=$(otelcol_metric otelcol_receiver_refused_spans)
    drive "$tool" 1 0 "127.0.0.1:$otlp"
    a1=$(otelcol_metric otelcol_receiver_accepted_spans); r1=$(otelcol_metric otelcol_receiver_refused_spans)
    read -r t _ _ _ <"$tmp/time"
    accepted=$(echo "($a1 - $a0) / $t" | bc -l)
    refused=$((r1 - r0))
    # The driver's cost at the ceiling it found: the same tool, paced at that rate.
    drive "$tool" 1 "$(printf '%.0f' "$accepted")" "127.0.0.1:$otlp"
    read -r t u s _ <"$tmp/time"
    cpu=$(echo "100 * ($u + $s) / $t" | bc -l)
    printf '| %s | %.0f | %d | %.1f |\n' "$tool" "$accepted" "$refused" "$cpu"
  done
}

echo "peer-bench: $seconds s per measurement, fixed rate $rate spans/s, on $(nproc) cores, $(git rev-parse --short HEAD)" >&2
side_by_side
echo
collector_ceiling
