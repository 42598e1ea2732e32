#!/usr/bin/env bash
# Soak: `serve`, a `watch` against it and an unruly `load` beside them for DURATION, the watch
# restarted twice (three equal legs). Every STEP seconds it samples the RSS of each process;
# at the end it prints, per process, RSS at start/end, peak and the slope of a least-squares
# line over the samples after the first quarter (warm-up: stores filling to their limits), and
# the watch's false failures (missing, incorrect, unexpected traces, spurious alerts, missed
# bursts) over all legs. The last line on stdout is the summary as JSON.
#
#   bash scripts/soak.sh 30m            # the figure in docs/reliability.md
#   bash scripts/soak.sh 2m             # what tests/soak.rs runs
#
# Environment: SPAN_SENTINEL_BIN (default target/release/span-sentinel, built if missing),
# SOAK_LOAD_RATE (spans/s of the load, default 20000), SOAK_STEP (seconds, default 2),
# SOAK_DIR (where logs and reports go, default a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/soak.sh DURATION (e.g. 2m, 30m, 90s)" >&2; exit 2; }
[ $# -eq 1 ] || usage
case "$1" in
    *h) seconds=$(( ${1%h} * 3600 )) ;;
    *m) seconds=$(( ${1%m} * 60 )) ;;
    *s) seconds=${1%s} ;;
    *[!0-9]*|'') usage ;;
    *) seconds=$1 ;;
esac
[ "$seconds" -ge 30 ] || { echo "soak.sh: DURATION must be at least 30s" >&2; exit 2; }

BIN=${SPAN_SENTINEL_BIN:-target/release/span-sentinel}
[ -x "$BIN" ] || cargo build --release --quiet >&2
STEP=${SOAK_STEP:-2}
RATE=${SOAK_LOAD_RATE:-20000}
DIR=${SOAK_DIR:-$(mktemp -d)}
mkdir -p "$DIR"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Stores small enough to reach their limits within the warm-up, so that a flat line means
# "bounded", not "not full yet".
"$BIN" serve --grpc 127.0.0.1:0 --http 127.0.0.1:0 --isolation fair \
    --traces-per-tenant 500 --traces-mib 8 --span-store-spans 200000 --span-store-mib 64 \
    --span-store-age 10s --queue-spans 20000 2>"$DIR/serve.log" &
serve=$!; pids+=("$serve")
for _ in $(seq 100); do grep -q "API on" "$DIR/serve.log" && break; sleep 0.1; done
line=$(grep "API on" "$DIR/serve.log") || { echo "soak.sh: serve did not start" >&2; cat "$DIR/serve.log" >&2; exit 1; }
grpc=$(sed -E 's/.*OTLP\/gRPC on ([^,]+),.*/\1/' <<<"$line")
http=$(sed -E 's/.*API on ([^ ]+) .*/\1/' <<<"$line")

# The unruly load: two tenants, errors, bursts of rate, on its own tenants.
cat >"$DIR/load.toml" <<TOML
[load]
threads = 1
batch = 200
duration = "$(( seconds * 2 ))s"
[load.rate]
profile = "bursts"
on_spans_per_sec = $(( RATE * 3 )).0
off_spans_per_sec = $(( RATE / 2 )).0
on = "2s"
off = "8s"
[[load.streams]]
name = "noisy"
tenant = "soak-load-a"
weight = 3.0
error_ratio = 0.2
[[load.streams]]
name = "other"
tenant = "soak-load-b"
weight = 1.0
TOML
"$BIN" load --profile "$DIR/load.toml" --target "grpc://$grpc" -q --json "$DIR/load.json" \
    >"$DIR/load.out" 2>"$DIR/load.log" &
load=$!; pids+=("$load")

leg=$(( seconds / 3 ))
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
start=$(date +%s)
: >"$DIR/rss.tsv"
echo "t_s	serve_kib	watch_kib	load_kib	watch_leg" | tee -a "$DIR/rss.tsv" >&2
codes=()
for n in 1 2 3; do
    "$BIN" watch profiles/continuous.toml --target "grpc://$grpc" --query-url "http://$http" \
        --window 20s --duration "${leg}s" --metrics-addr 127.0.0.1:0 --quiet \
        --json "$DIR/watch-$n.json" >"$DIR/watch-$n.out" 2>"$DIR/watch-$n.log" &
    watch=$!; pids+=("$watch")
    while kill -0 "$watch" 2>/dev/null; do
        t=$(( $(date +%s) - start ))
        row="$t	$(rss_kib "$serve")	$(rss_kib "$watch")	$(rss_kib "$load")	$n"
        echo "$row" >>"$DIR/rss.tsv"; echo "$row" >&2
        sleep "$STEP"
    done
    set +e; wait "$watch"; codes+=("$?"); set -e
done
kill "$load" 2>/dev/null || true
wait "$load" 2>/dev/null || true

# Least-squares slope (MiB per minute) of a column over the samples after the warm-up: the
# first quarter of the run for serve and load, the first half of its leg for a watch.
summary() {
    awk -v col="$1" -v warm="$(( seconds / 4 ))" -v legwarm="$(( leg / 2 ))" -v leg="${2:-0}" -F'\t' '
        NR > 1 && $(col) > 0 && (leg == 0 || $5 == leg) {
            if (first == "") { first = $(col); t0 = $1 }
            last = $(col); if ($(col) > peak) peak = $(col)
            if ((leg == 0 && $1 >= warm) || (leg > 0 && $1 >= t0 + legwarm)) {
                n++; sx += $1; sy += $(col); sxx += $1 * $1; sxy += $1 * $(col)
            }
        }
        END {
            slope = (n > 2 && n * sxx - sx * sx > 0) ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : 0
            printf "{\"start_mib\":%.1f,\"end_mib\":%.1f,\"peak_mib\":%.1f,\"slope_mib_per_min\":%.3f,\"samples\":%d}",
                first / 1024, last / 1024, peak / 1024, slope * 60 / 1024, n
        }' "$DIR/rss.tsv"
}
false_failures=0
verified=()
pending=()
for n in 1 2 3; do
    f=$(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
print(sum(t[k] for k in ("traces_missing", "traces_incorrect", "traces_unexpected", "spurious_alerts", "error_bursts_missed")))
' "$DIR/watch-$n.json")
    verified+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["traces_verified"])' "$DIR/watch-$n.json")")
    pending+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["traces_pending"])' "$DIR/watch-$n.json")")
    echo "watch leg $n: exit ${codes[$((n-1))]}, traces verified ${verified[$((n-1))]}, still pending ${pending[$((n-1))]}, false failures $f" >&2
    false_failures=$(( false_failures + f ))
done
serve_s=$(summary 2); load_s=$(summary 4)
watch_s="[$(summary 3 1),$(summary 3 2),$(summary 3 3)]"
echo "serve: $serve_s" >&2
echo "load:  $load_s" >&2
echo "watch: $watch_s" >&2
echo "logs and reports: $DIR" >&2
echo "{\"duration_s\":$seconds,\"step_s\":$STEP,\"load_rate\":$RATE,\"serve\":$serve_s,\"load\":$load_s,\"watch\":$watch_s,\"watch_exit_codes\":[${codes[0]},${codes[1]},${codes[2]}],\"traces_verified\":[${verified[0]},${verified[1]},${verified[2]}],\"traces_pending\":[${pending[0]},${pending[1]},${pending[2]}],\"false_failures\":$false_failures}"
