#!/usr/bin/env bash
# What compression costs the generator and what it saves on the wire, codec by codec and level
# by level, on the default stream (7 spans per trace, 2 attributes, 511-span batches). Prints one
# Markdown table:
#   - spans/s: `load --sink discard --rate max --threads 1 --compression C --compression-level L`
#     (the discard sink compresses every body and drops it), the median of REPEAT runs of
#     SECONDS each (defaults 3 and 3), and the same runs' spans per CPU-second of the whole
#     process (user + system time), which a machine shared with other work lowers less;
#   - ratio: encoded bytes over the bytes that reached a small OTLP/HTTP sink on loopback
#     (`Content-Length` of every request), from a 2 s run at 100,000 spans/s.
# Usage: scripts/compression.sh [SECONDS] [REPEAT]    (needs `cargo build --release`)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
repeat=${2:-3}
. scripts/bench-lib.sh

# A sink that answers every POST with an empty ExportTraceServiceResponse and adds up the bodies'
# sizes; prints its port, then the total on SIGTERM.
sink_py='
import http.server, signal, sys, threading
total = [0, 0]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        self.rfile.read(n)
        total[0] += n; total[1] += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
def stop(*_):
    print(total[0], total[1], flush=True); sys.exit(0)
signal.signal(signal.SIGTERM, stop)
s.serve_forever()
'

# ratio ARGS: encoded bytes / bytes on the wire, for load ARGS.
ratio() {
  python3 -c "$sink_py" >"$tmp/sink.out" &
  local sink=$!
  for _ in $(seq 50); do [ -s "$tmp/sink.out" ] && break; sleep 0.1; done
  "$bin" load --quiet --target "http://127.0.0.1:$(head -1 "$tmp/sink.out")/v1/traces" \
    --rate 100000 --duration 2s --threads 1 --json "$tmp/ratio.json" "$@" >/dev/null
  kill -TERM "$sink"; wait "$sink" || true
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
wire = int(open(sys.argv[2]).read().split()[1])
assert r["acked_spans"] == r["sent_spans"] > 0, r
print("%.2f" % (r["bytes"] / wire))' "$tmp/ratio.json" "$tmp/sink.out"
}

# rate ARGS: "spans/s spans-per-CPU-second", each the median of REPEAT discard runs.
rate() {
  : >"$tmp/rates"; : >"$tmp/cpu_rates"
  for _ in $(seq "$repeat"); do
    python3 - "$tmp/load.json" "$bin" load --quiet --sink discard --rate max --threads 1 \
      --duration "${seconds}s" --json "$tmp/load.json" "$@" >>"$tmp/both" <<'PY'
import json, resource, subprocess, sys
subprocess.run(sys.argv[2:], check=True, stdout=subprocess.DEVNULL)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
r = json.load(open(sys.argv[1]))
print(r["achieved_spans_per_sec"], r["sent_spans"] / (usage.ru_utime + usage.ru_stime))
PY
  done
  awk '{ print $1 }' "$tmp/both" >"$tmp/rates"
  awk '{ print $2 }' "$tmp/both" >"$tmp/cpu_rates"
  rm -f "$tmp/both"
  echo "$(median "$tmp/rates") $(median "$tmp/cpu_rates")"
}

row() { # CODEC LEVEL (LEVEL "-" for none)
  local args=(--compression "$1")
  [ "$2" != - ] && args+=(--compression-level "$2")
  local r c; read -r r c < <(rate "${args[@]}")
  printf '| %s | %s | %.1f M | %.1f M | %s |\n' "$1" "$2" "$(echo "$r / 1000000" | bc -l)" \
    "$(echo "$c / 1000000" | bc -l)" "$(ratio "${args[@]}")"
}

echo "| codec | level | spans/s (1 thread, discard) | spans per CPU-second | ratio |"
echo "|---|---:|---:|---:|---:|"
row none -
for level in 1 3 6 9; do row gzip "$level"; done
for level in -7 -5 -3 -1 1 3 6; do row zstd "$level"; done
