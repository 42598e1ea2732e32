#!/usr/bin/env bash
# The figure behind the resource requests and limits of deploy/kubernetes/watch-deployment.yaml:
# a real `span-sentinel serve` and a `span-sentinel watch profiles/continuous.toml` against it
# (60 s windows, as deployed) for DURATION; once a minute (WATCH_RSS_STEP seconds) it prints the
# watch's VmRSS from /proc/<pid>/status, with its windows so far from /metrics. At the end it
# prints the peak, the last sample and the watch's exit code; the last line on stdout is the
# summary as JSON.
#
#   nice -n 10 bash scripts/watch-rss.sh 60m     # the figure in docs/watch.md
#   bash scripts/watch-rss.sh 3m                 # a quick look
#
# Environment: SPAN_SENTINEL_BIN (default target/release/span-sentinel, built if missing),
# WATCH_RSS_STEP (seconds between samples, default 60), WATCH_RSS_DIR (logs, default a
# temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/watch-rss.sh DURATION (e.g. 60m, 1h, 90s)" >&2; exit 2; }
[ $# -eq 1 ] || usage
case "$1" in
    *h) seconds=$(( ${1%h} * 3600 )) ;;
    *m) seconds=$(( ${1%m} * 60 )) ;;
    *s) seconds=${1%s} ;;
    *[!0-9]*|'') usage ;;
    *) seconds=$1 ;;
esac
[ "$seconds" -ge 30 ] || { echo "watch-rss.sh: DURATION must be at least 30s" >&2; exit 2; }

BIN=${SPAN_SENTINEL_BIN:-target/release/span-sentinel}
[ -x "$BIN" ] || cargo build --release --quiet --bin span-sentinel >&2
STEP=${WATCH_RSS_STEP:-60}
DIR=${WATCH_RSS_DIR:-$(mktemp -d)}
mkdir -p "$DIR"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$BIN" serve --grpc 127.0.0.1:0 --http 127.0.0.1:0 2>"$DIR/serve.log" &
pids+=("$!")
for _ in $(seq 100); do grep -q "API on" "$DIR/serve.log" && break; sleep 0.1; done
line=$(grep "API on" "$DIR/serve.log") || { echo "watch-rss.sh: serve did not start" >&2; cat "$DIR/serve.log" >&2; exit 1; }
grpc=$(sed -E 's/.*OTLP\/gRPC on ([^,]+),.*/\1/' <<<"$line")
http=$(sed -E 's/.*API on ([^ ]+) .*/\1/' <<<"$line")

"$BIN" watch profiles/continuous.toml --target "grpc://$grpc" --query-url "http://$http" \
    --duration "${seconds}s" --metrics-addr 127.0.0.1:0 --quiet \
    --json "$DIR/watch.json" >"$DIR/watch.out" 2>"$DIR/watch.log" &
watch=$!; pids+=("$watch")
metrics=""
for _ in $(seq 300); do
    metrics=$(grep -oE 'http://[0-9.]+:[0-9]+/metrics' "$DIR/watch.log" | head -1) && [ -n "$metrics" ] && break
    sleep 0.1
done

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
windows() {
    [ -n "$metrics" ] || { echo "?"; return; }
    curl -s --max-time 5 "$metrics" | awk '$1 == "span_sentinel_windows_total" {print $2}' || echo "?"
}
start=$(date +%s)
echo "t_min	watch_rss_kib	windows" | tee "$DIR/rss.tsv" >&2
while kill -0 "$watch" 2>/dev/null; do
    t=$(( $(date +%s) - start ))
    kib=$(rss_kib "$watch")
    [ "$kib" -gt 0 ] || break
    row="$(awk -v t="$t" 'BEGIN {printf "%.1f", t / 60}')	$kib	$(windows)"
    echo "$row" >>"$DIR/rss.tsv"; echo "$row" >&2
    for _ in $(seq "$STEP"); do kill -0 "$watch" 2>/dev/null || break; sleep 1; done
done
set +e; wait "$watch"; code=$?; set -e

summary=$(awk -F'\t' -v secs="$seconds" -v code="$code" '
    NR > 1 && $2 > 0 { n++; last = $2; if ($2 > peak) peak = $2; if (first == "") first = $2 }
    END {
        printf "{\"duration_s\":%d,\"samples\":%d,\"first_mib\":%.1f,\"last_mib\":%.1f,\"peak_mib\":%.1f,\"watch_exit\":%d}",
            secs, n, first / 1024, last / 1024, peak / 1024, code
    }' "$DIR/rss.tsv")
echo "watch exit $code; logs: $DIR" >&2
echo "$summary"
