#!/usr/bin/env bash
# How the cost of a span grows, measured on the machine at hand. Prints one Markdown table:
#   - the generator (`load --sink discard --rate max`): spans/s against threads (1, 2), spans per
#     trace (1, 7, 100), attributes per span (0, 8, 32), payload bytes (0, 256, 4096), batch size
#     (64, 512, 4096), and the default stream serialized as OTLP/JSON and compressed with gzip
#     and zstd (their default levels). No bytes/s for these rows: the discard sink reads nothing,
#     so batch size times batches per second (a patched template's constant payload bytes
#     included, which nobody writes or reads per batch) is no throughput of any memory or wire;
#     bytes/span is the encoded size of a span before compression;
#   - the pipeline (`load --rate max --threads 1` into `serve`, both on this machine): spans/s
#     accepted against the same span sizes, with accepted == acked == processed checked.
# Every row varies one thing from the default stream (7 spans per trace, 2 attributes of 8 hex
# digits, no payload, 512-span batches, protobuf, one thread). Each point is the median of
# REPEAT runs of SECONDS each (defaults 3 and 3).
# Usage: scripts/scaling.sh [SECONDS] [REPEAT]    (needs `cargo build --release`)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
repeat=${2:-3}
. scripts/bench-lib.sh

# profile DEPTH FAN_OUT ATTRIBUTES PAYLOAD: a one-stream profile of that shape.
profile() {
  cat >"$tmp/profile.toml" <<TOML
[[load.streams]]
name = "scaling"
tenant = "scaling"
[load.streams.shape]
depth = $1
fan_out = $2
attributes = $3
payload_bytes = $4
TOML
  echo "$tmp/profile.toml"
}

# median over REPEAT runs of `load ARGS`: prints "spans/s bytes/s"; the acked spans of all the
# runs are summed into $tmp/acked.
measure() {
  echo 0 >"$tmp/acked"
  for _ in $(seq "$repeat"); do
    "$bin" load --quiet --rate max --duration "${seconds}s" --json "$tmp/load.json" "$@" \
      >/dev/null 2>"$tmp/load.err" || { cat "$tmp/load.err" >&2; exit 1; }
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
d = r["duration_s"]
print(r["acked_spans"] / d, r["bytes"] / d)' "$tmp/load.json"
    python3 -c 'import json, sys; print(int(open(sys.argv[2]).read()) + json.load(open(sys.argv[1]))["acked_spans"])' \
      "$tmp/load.json" "$tmp/acked" >"$tmp/acked.next" && mv "$tmp/acked.next" "$tmp/acked"
  done >"$tmp/runs"
  sort -g -k1 "$tmp/runs" | awk '{ r[NR] = $0 } END { print r[int((NR + 1) / 2)] }'
}

row() { # LABEL then load ARGS (a generator row)
  local label=$1; shift
  read -r spans bytes < <(measure --sink discard "$@")
  printf '| generator | %s | %.1f M | — | %.0f |\n' "$label" \
    "$(echo "$spans / 1000000" | bc -l)" "$(echo "$bytes / $spans" | bc -l)"
}

pipeline_row() { # LABEL then load ARGS
  local label=$1; shift
  local before before_processed accepted processed
  before=$(metric accepted_spans_total)
  before_processed=$(metric processed_spans_total)
  measure --target "grpc://$grpc" --threads 1 "$@" >"$tmp/point"
  read -r spans bytes <"$tmp/point"
  sleep 1
  accepted=$(($(metric accepted_spans_total) - before))
  processed=$(($(metric processed_spans_total) - before_processed))
  printf '| pipeline | %s | %.1f M | %.0f MB/s | %.0f |\n' "$label" \
    "$(echo "$spans / 1000000" | bc -l)" "$(echo "$bytes / 1000000" | bc -l)" \
    "$(echo "$bytes / $spans" | bc -l)"
  # Every span the load saw acknowledged was accepted and processed.
  [ "$accepted" = "$(cat "$tmp/acked")" ] && [ "$processed" = "$accepted" ] || {
    echo "$label: acked $(cat "$tmp/acked"), accepted $accepted, processed $processed" >&2
    exit 1
  }
}

echo "| stage | varied | spans/s | bytes/s (loopback) | bytes/span |"
echo "|---|---|---:|---:|---:|"
row "default (1 thread)" --threads 1 --profile "$(profile 3 2 2 0)"
row "2 threads" --threads 2 --profile "$(profile 3 2 2 0)"
row "OTLP/JSON" --threads 1 --encoding json --profile "$(profile 3 2 2 0)"
row "gzip (level 1)" --threads 1 --compression gzip --profile "$(profile 3 2 2 0)"
row "zstd (level 1)" --threads 1 --compression zstd --profile "$(profile 3 2 2 0)"
row "1 span per trace" --threads 1 --profile "$(profile 1 0 2 0)"
row "100 spans per trace" --threads 1 --profile "$(profile 2 99 2 0)"
for a in 0 8 32; do row "$a attributes" --threads 1 --profile "$(profile 3 2 "$a" 0)"; done
for p in 256 4096; do row "$p payload bytes" --threads 1 --profile "$(profile 3 2 2 "$p")"; done
for b in 64 4096; do row "batch $b" --threads 1 --batch "$b" --profile "$(profile 3 2 2 0)"; done

start_serve
pipeline_row "default" --profile "$(profile 3 2 2 0)"
for a in 0 8 32; do pipeline_row "$a attributes" --profile "$(profile 3 2 "$a" 0)"; done
for p in 256 4096; do pipeline_row "$p payload bytes" --profile "$(profile 3 2 2 "$p")"; done
