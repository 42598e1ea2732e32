# Sourced by the scripts that measure a release build on loopback (scaling.sh, end-to-end.sh):
# checks the build, makes $tmp (removed on exit, with any `serve` still running), and starts,
# reads and stops a fresh `serve`.
bin=target/release/span-sentinel
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
tmp=$(mktemp -d)
serve_pid=
cleanup() { [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# start_serve [ARGS]: a fresh `serve` on free ports; sets serve_pid, grpc and http (HOST:PORT).
start_serve() {
  "$bin" serve --grpc 127.0.0.1:0 --http 127.0.0.1:0 "$@" >"$tmp/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 50); do grep -q "OTLP/gRPC on" "$tmp/serve.log" && break; sleep 0.1; done
  grpc=$(sed -n 's/.*OTLP\/gRPC on \([^,]*\),.*/\1/p' "$tmp/serve.log")
  http=$(sed -n 's/.*OTLP\/HTTP + API on \([^ ]*\) .*/\1/p' "$tmp/serve.log")
  [ -n "$grpc" ] && [ -n "$http" ] || { cat "$tmp/serve.log" >&2; exit 1; }
}

stop_serve() {
  kill "$serve_pid"
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=
}

# metric NAME: the pipeline's counter span_sentinel_pipeline_NAME, summed over tenants.
metric() {
  curl -sf "http://$http/metrics" |
    awk -v n="span_sentinel_pipeline_$1{" 'index($0, n) == 1 { s += $2 } END { printf "%d", s }'
}

# median FILE: the median of the numbers in FILE, one a line.
median() {
  sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
