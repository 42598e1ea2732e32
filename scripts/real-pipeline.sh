#!/usr/bin/env bash
# Starts (or stops) a real tracing pipeline on loopback, every listener on a free port:
#
#   sentinel + load ──OTLP──▶ otelcol (memory_limiter, batch)
#       ├─ traces ──▶ Jaeger v2 (OTLP gRPC in, bounded memory storage, query API)
#       └─ spanmetrics ──▶ prometheus exporter ◀── Prometheus (scrapes every 1 s, evaluates
#              SpanSentinelErrorRatio) ──▶ Alertmanager ──▶ the sentinel's webhook
#
#   eval "$(bash scripts/real-pipeline.sh start)"   # only `export` lines on stdout
#   span-sentinel run profiles/jaeger.toml
#   bash scripts/real-pipeline.sh stop              # idempotent
#
# Configs, logs and pids live in the state dir, ${REAL_PIPELINE_DIR:-target/real-pipeline}.
# The binaries come from scripts/setup-peers.sh: $SPAN_SENTINEL_OTELCOL, $SPAN_SENTINEL_JAEGER,
# $SPAN_SENTINEL_PROMETHEUS, $SPAN_SENTINEL_ALERTMANAGER, else target/peers/bin and PATH.
# A component that does not become ready within its deadline: its log tail goes to stderr, the
# others are stopped, and the script exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${REAL_PIPELINE_DIR:-target/real-pipeline}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
# The configs' templates: each @...@ placeholder stands for the value of the shell variable NAME.
TEMPLATES=$ROOT/peers/real-pipeline

die() { echo "real-pipeline: $*" >&2; exit 1; }

# peer VAR NAME...: the binary from $VAR, else target/peers/bin/NAME, else NAME on PATH.
peer() {
    local var=$1 path=${!1:-} name
    shift
    if [ -n "$path" ]; then
        [ -x "$path" ] || die "$var=$path is not an executable"
        echo "$path"
        return
    fi
    for name in "$@"; do
        [ -x "$ROOT/target/peers/bin/$name" ] && { echo "$ROOT/target/peers/bin/$name"; return; }
        command -v "$name" 2>/dev/null && return
    done
    die "$1 not found (\$$var, target/peers/bin, PATH): build it with eval \"\$(bash scripts/setup-peers.sh)\""
}

# free_ports N: N distinct free loopback ports, one a line (all bound at once, then released).
# They lie below the kernel's ephemeral range, from a random start: a port from bind(0) would be
# handed to the next process that binds port 0 once released here, before the peer binds it.
free_ports() {
    python3 -c '
import random, socket, sys
low = 10000
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    high = max(int(f.read().split()[0]), low + 1)
start = random.randrange(low, high)
socks = []
for port in list(range(start, high)) + list(range(low, start)):
    if len(socks) == int(sys.argv[1]):
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        socks.append(s)
    except OSError:
        s.close()
print("\n".join(str(s.getsockname()[1]) for s in socks))
' "$1"
}

# write_configs: renders every template into the state dir.
write_configs() {
    local f
    for f in "$TEMPLATES"/*; do
        python3 -c '
import re, sys
text = open(sys.argv[1]).read()
values = dict(arg.split("=", 1) for arg in sys.argv[2:])
sys.stdout.write(re.sub(r"@([A-Z_]+)@", lambda m: values[m.group(1)], text))
' "$f" DIR="$DIR" OTLP_GRPC="$OTLP_GRPC" OTLP_HTTP="$OTLP_HTTP" \
            OTELCOL_METRICS="$OTELCOL_METRICS" SPANMETRICS="$SPANMETRICS" JAEGER_OTLP="$JAEGER_OTLP" \
            JAEGER_HTTP="$JAEGER_HTTP" JAEGER_GRPC="$JAEGER_GRPC" JAEGER_HEALTH="$JAEGER_HEALTH" \
            JAEGER_METRICS="$JAEGER_METRICS" PROM="$PROM" AM="$AM" WEBHOOK="$WEBHOOK" \
            >"$DIR/$(basename "$f")"
    done
}

# launch NAME COMMAND...: starts COMMAND in the background, its log in $DIR/NAME.log, its pid in
# $DIR/NAME.pid.
launch() {
    local name=$1
    shift
    "$@" >"$DIR/$name.log" 2>&1 &
    echo $! >"$DIR/$name.pid"
}

# ready NAME URL [SECONDS]: waits until URL answers 2xx; otherwise prints NAME's log tail, stops
# everything and fails.
ready() {
    local name=$1 url=$2 deadline=$((SECONDS + ${3:-60})) pid
    pid=$(cat "$DIR/$name.pid")
    while [ $SECONDS -lt $deadline ]; do
        curl -sf -o /dev/null --max-time 2 "$url" && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    echo "real-pipeline: $name did not become ready at $url; the end of $DIR/$name.log:" >&2
    tail -n 30 "$DIR/$name.log" >&2
    stop
    exit 1
}

stop() {
    local f pid
    for f in "$DIR"/*.pid; do
        [ -e "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$f"
    done
}

start() {
    local otelcol jaeger prometheus alertmanager
    otelcol=$(peer SPAN_SENTINEL_OTELCOL otelcol)
    jaeger=$(peer SPAN_SENTINEL_JAEGER jaeger)
    prometheus=$(peer SPAN_SENTINEL_PROMETHEUS prometheus)
    alertmanager=$(peer SPAN_SENTINEL_ALERTMANAGER prometheus-alertmanager alertmanager)
    stop
    # One port per listener; the names say whose.
    local p
    mapfile -t p < <(free_ports 13)
    OTLP_GRPC=${p[0]} OTLP_HTTP=${p[1]} OTELCOL_METRICS=${p[2]} SPANMETRICS=${p[3]}
    JAEGER_OTLP=${p[4]} JAEGER_HTTP=${p[5]} JAEGER_GRPC=${p[6]} JAEGER_HEALTH=${p[7]}
    JAEGER_METRICS=${p[8]} PROM=${p[9]} AM=${p[10]} WEBHOOK=${p[11]} AM_CLUSTER=${p[12]}
    : "$AM_CLUSTER" # reserved: Alertmanager's cluster listener is off (--cluster.listen-address=)
    write_configs

    launch jaeger "$jaeger" --config "file:$DIR/jaeger.yaml"
    ready jaeger "http://127.0.0.1:$JAEGER_HEALTH/status"
    ready jaeger "http://127.0.0.1:$JAEGER_HTTP/api/v3/services"
    launch otelcol "$otelcol" --config "file:$DIR/otelcol.yaml"
    ready otelcol "http://127.0.0.1:$OTELCOL_METRICS/metrics"
    ready otelcol "http://127.0.0.1:$SPANMETRICS/metrics"
    launch alertmanager "$alertmanager" --config.file="$DIR/alertmanager.yml" \
        --web.listen-address="127.0.0.1:$AM" --cluster.listen-address= \
        --storage.path="$DIR/alertmanager-data"
    ready alertmanager "http://127.0.0.1:$AM/-/ready"
    launch prometheus "$prometheus" --config.file="$DIR/prometheus.yml" \
        --web.listen-address="127.0.0.1:$PROM" --storage.tsdb.path="$DIR/prometheus-data" \
        --storage.tsdb.retention.time=1h
    ready prometheus "http://127.0.0.1:$PROM/-/ready"

    cat <<EOF
export SPAN_SENTINEL_TARGET=grpc://127.0.0.1:$OTLP_GRPC
export SPAN_SENTINEL_TARGET_HTTP=http://127.0.0.1:$OTLP_HTTP
export SPAN_SENTINEL_TRACES=jaeger+http://127.0.0.1:$JAEGER_HTTP
export SPAN_SENTINEL_METRICS=prometheus://127.0.0.1:$PROM
export SPAN_SENTINEL_ALERTS=prometheus://127.0.0.1:$PROM
export SPAN_SENTINEL_ALERTMANAGER_URL=http://127.0.0.1:$AM
export SPAN_SENTINEL_ALERTMANAGER_WEBHOOK=127.0.0.1:$WEBHOOK
export REAL_PIPELINE_DIR=$DIR
export REAL_PIPELINE_OTELCOL_METRICS=http://127.0.0.1:$OTELCOL_METRICS/metrics
export REAL_PIPELINE_JAEGER_PID=$(cat "$DIR/jaeger.pid")
EOF
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
