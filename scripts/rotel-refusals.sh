#!/usr/bin/env bash
# What rotel delivers to the pipeline, and what the pipeline refuses of it, by reason:
# `span-sentinel serve --tenant-attribute tenant.id` behind rotel (its defaults: batches of at
# most 8,192 spans, 200 ms timeout), `span-sentinel load` into rotel at RATE spans/s for DURATION
# (default 50000 and 10s, default batch size). Prints what rotel acknowledged to the load, what
# reached the pipeline (spans in decoded requests: those of a tenant plus those refused for want
# of one) and the pipeline's refusals by reason (`refused_spans` of /api/v1/stats).
#
#   bash scripts/setup-peers.sh >/dev/null   # installs rotel under target/peers/py
#   bash scripts/rotel-refusals.sh 50000 10s
#
# Loopback only, free ports. The binary is target/release/span-sentinel (built if missing), or
# $SPAN_SENTINEL; rotel is $SPAN_SENTINEL_ROTEL_AGENT or the one setup-peers.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${1:-50000}"
duration="${2:-10s}"
bin="${SPAN_SENTINEL:-target/release/span-sentinel}"
rotel="${SPAN_SENTINEL_ROTEL_AGENT:-$(find target/peers/py -type f -name rotel-agent 2>/dev/null | head -n 1)}"
[[ -x "$bin" ]] || cargo build --release --locked --quiet
[[ -n "$rotel" && -x "$rotel" ]] || { echo "rotel-agent not found: run scripts/setup-peers.sh" >&2; exit 2; }

out="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$out"
}
trap cleanup EXIT

# The pipeline on port 0; its ready line names the ports it bound.
"$bin" serve --grpc 127.0.0.1:0 --http 127.0.0.1:0 --tenant-attribute tenant.id 2>"$out/serve.log" &
pids+=("$!")
for _ in $(seq 1 100); do
  grep -q 'OTLP/gRPC on' "$out/serve.log" && break
  sleep 0.1
done
pipeline_grpc="$(sed -n 's/.*OTLP\/gRPC on \([^,]*\),.*/\1/p' "$out/serve.log")"
pipeline_http="$(sed -n 's/.*OTLP\/HTTP + API on \([^ ]*\).*/\1/p' "$out/serve.log")"
[[ -n "$pipeline_grpc" ]] || { cat "$out/serve.log" >&2; exit 4; }

# rotel's receivers on two free loopback ports.
read -r rotel_grpc rotel_http < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*("127.0.0.1:%d" % x.getsockname()[1] for x in s))')
"$rotel" start --otlp-grpc-endpoint "$rotel_grpc" --otlp-http-endpoint "$rotel_http" \
  --exporter otlp --otlp-exporter-endpoint "http://$pipeline_grpc" \
  --otlp-exporter-protocol grpc --pid-file "$out/rotel.pid" --log-file "$out/rotel.log" \
  >"$out/rotel.out" 2>&1 &
pids+=("$!")
for _ in $(seq 1 300); do
  (echo >"/dev/tcp/${rotel_grpc%:*}/${rotel_grpc#*:}") 2>/dev/null && break
  sleep 0.1
done

"$bin" load --target "grpc://$rotel_grpc" --rate "$rate" --duration "$duration" \
  --tenant unruly --quiet --json "$out/load.json" >/dev/null

# rotel flushes within its 200 ms batch timeout; wait until what the pipeline received and
# refused stops moving (other figures, such as expiring stored spans, keep changing).
stats() { curl -sf -H 'x-scope-orgid: unruly' "http://$pipeline_http/api/v1/stats"; }
counts() {
  python3 -c 'import json, sys; s = json.load(sys.stdin)
print(s["tenant"]["received_spans"], sorted(s["pipeline"]["refused_spans"].items()))'
}
last="" last_counts=""
for _ in $(seq 1 30); do
  sleep 1
  last="$(stats)"
  now_counts="$(counts <<<"$last")"
  [[ "$now_counts" == "$last_counts" ]] && break
  last_counts="$now_counts"
done

python3 - "$out/load.json" <(echo "$last") "$rate" "$duration" <<'EOF'
import json, sys
load = json.load(open(sys.argv[1]))
stats = json.load(open(sys.argv[2]))
tenant, refused = stats["tenant"], stats["pipeline"]["refused_spans"]
tenantless = refused["no_tenant"] + refused["invalid_tenant"] + refused["too_many_tenants"]
print(f"load into rotel: {sys.argv[3]} spans/s for {sys.argv[4]}")
print(f"sent by the load:            {load['sent_spans']:>10,}")
print(f"acknowledged by rotel:       {load['acked_spans']:>10,}")
print(f"delivered by rotel:          {tenant['received_spans'] + tenantless:>10,}")
print(f"  in tenant {tenant['tenant']!r}:        {tenant['received_spans']:>10,}")
print(f"  refused for want of a tenant: {tenantless:>7,}")
print(f"accepted by the pipeline:    {tenant['accepted_spans']:>10,}")
print("refused by the pipeline, by reason (/api/v1/stats refused_spans):")
for reason, n in refused.items():
    print(f"  {reason + ':':<18} {n:>10,}")
EOF
