#!/usr/bin/env bash
# The end-to-end ceiling on this machine: `load --rate max --threads 1` into a fresh `serve`, both
# on the same cores, for SECONDS (default 30), REPEAT times (default 3). Each run must end with
# the spans the load saw acknowledged == accepted == processed by the pipeline after it drained;
# prints each run and the median achieved rate.
# Usage: scripts/end-to-end.sh [SECONDS] [REPEAT]    (needs `cargo build --release`)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
repeat=${2:-3}
bin=target/release/span-sentinel
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
tmp=$(mktemp -d)
serve_pid=
cleanup() { [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

metric() { # NAME: the pipeline's counter summed over tenants
  curl -sf "http://$http/metrics" | awk -v n="span_sentinel_pipeline_$1{" 'index($0, n) == 1 { s += $2 } END { printf "%d", s }'
}

for run in $(seq "$repeat"); do
  "$bin" serve --grpc 127.0.0.1:0 --http 127.0.0.1:0 >"$tmp/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 50); do grep -q "OTLP/gRPC on" "$tmp/serve.log" && break; sleep 0.1; done
  grpc=$(sed -n 's/.*OTLP\/gRPC on \([^,]*\),.*/\1/p' "$tmp/serve.log")
  http=$(sed -n 's/.*OTLP\/HTTP + API on \([^ ]*\) .*/\1/p' "$tmp/serve.log")
  "$bin" load --quiet --target "grpc://$grpc" --rate max --threads 1 --duration "${seconds}s" \
    --json "$tmp/load.json" >/dev/null
  acked=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["acked_spans"])' "$tmp/load.json")
  for _ in $(seq 100); do
    [ "$(metric processed_spans_total)" = "$(metric accepted_spans_total)" ] && break
    sleep 0.1
  done
  accepted=$(metric accepted_spans_total)
  processed=$(metric processed_spans_total)
  kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=
  rate=$(echo "$acked / $seconds" | bc -l)
  printf 'run %d: %.2f M spans/s (acked %d, accepted %d, processed %d)\n' \
    "$run" "$(echo "$rate / 1000000" | bc -l)" "$acked" "$accepted" "$processed"
  [ "$acked" = "$accepted" ] && [ "$accepted" = "$processed" ] || { echo "counts differ" >&2; exit 1; }
  echo "$rate" >>"$tmp/rates"
done
median=$(sort -g "$tmp/rates" | awk -v m=$(((repeat + 1) / 2)) 'NR == m')
printf 'median of %d runs of %ss: %.2f M spans/s\n' "$repeat" "$seconds" "$(echo "$median / 1000000" | bc -l)"
