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
. scripts/bench-lib.sh

for run in $(seq "$repeat"); do
  start_serve
  "$bin" load --quiet --target "grpc://$grpc" --rate max --threads 1 --duration "${seconds}s" \
    --json "$tmp/load.json" >/dev/null
  acked=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["acked_spans"])' "$tmp/load.json")
  for _ in $(seq 100); do
    [ "$(metric processed_spans_total)" = "$(metric accepted_spans_total)" ] && break
    sleep 0.1
  done
  accepted=$(metric accepted_spans_total)
  processed=$(metric processed_spans_total)
  stop_serve
  rate=$(echo "$acked / $seconds" | bc -l)
  printf 'run %d: %.2f M spans/s (acked %d, accepted %d, processed %d)\n' \
    "$run" "$(echo "$rate / 1000000" | bc -l)" "$acked" "$accepted" "$processed"
  [ "$acked" = "$accepted" ] && [ "$accepted" = "$processed" ] || { echo "counts differ" >&2; exit 1; }
  echo "$rate" >>"$tmp/rates"
done
median=$(median "$tmp/rates")
printf 'median of %d runs of %ss: %.2f M spans/s\n' "$repeat" "$seconds" "$(echo "$median / 1000000" | bc -l)"
