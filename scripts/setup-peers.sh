#!/usr/bin/env bash
# Installs the real peers the tests in tests/peers.rs talk to, idempotently:
# - Python packages under target/peers/py: opentelemetry-proto (the independent decoder) and
#   rotel (its wheel ships the rotel-agent collector binary); kubernetes-validate (validates
#   deploy/kubernetes/ against the Kubernetes OpenAPI schemas it bundles, offline, in
#   tests/kubernetes.rs);
# - Debian's prometheus (it ships `promtool`, which checks /metrics in tests/watch.rs), only
#   when `prometheus` or `promtool` is not on PATH;
# - Debian's prometheus-alertmanager (tests/peers/alertmanager.rs), only when
#   `prometheus-alertmanager` is not on PATH;
# - Debian's chromium (headless, renders the HTML report in tests/report.rs), only when no
#   `chromium` binary is on PATH;
# - Go peers under target/peers/bin, built with Go (on PATH or /usr/local/go/bin) from pinned
#   modules, each rebuilt only when its stamp (versions, Go version, peers/otelcol sources) changes:
#   - otelcol: an OpenTelemetry Collector from peers/otelcol (collector v0.165.0, contrib v0.165.1);
#   - jaeger: Jaeger v2 (cmd/jaeger at v1.75.0, built from its module source: see build_jaeger);
#   - telemetrygen: contrib's cmd/telemetrygen at v0.161.0. The proxy does not serve it at the
#     collector's release (v0.165.1, v0.165.0, v0.164.x and v0.163.x answer "not available");
#     it serves v0.162.0, but the checksum database has no entry for it (404), so go refuses it;
#     v0.161.0 is the nearest version that both serve.
#   Build time, measured on the 2-core development machine while about nine other jobs shared it
#   (load average 20 to 30), so wall times are several times a quiet machine's:
#   - first build, empty Go build cache, module cache holding only peers/otelcol's modules:
#     otelcol 772 s, jaeger 1863 s (its module downloads included), 44 min wall in all, with
#     11.6 CPU-minutes (user + sys); telemetrygen alone 234 s wall, 34 CPU-seconds. On a quiet
#     2-core machine expect roughly the CPU time halved, plus downloads: about 10 minutes.
#   - warm (binaries and stamps in place): 0.35 s; a rebuild with warm caches: 7 s (telemetrygen).
# Prints the environment the tests read, as `export` lines: eval "$(scripts/setup-peers.sh)".
set -euo pipefail
cd "$(dirname "$0")/.."

OTEL_PROTO_VERSION=1.45.2
PROTOBUF_VERSION=7.36.2
ROTEL_VERSION=0.0.1a15
KUBERNETES_VALIDATE_VERSION=1.37.0
PY_DIR="$PWD/target/peers/py"
STAMP="$PY_DIR/.installed-$OTEL_PROTO_VERSION-$PROTOBUF_VERSION-$ROTEL_VERSION-$KUBERNETES_VALIDATE_VERSION"

if [ ! -f "$STAMP" ]; then
    rm -rf "$PY_DIR"
    python3 -m pip install --quiet --disable-pip-version-check --target "$PY_DIR" \
        "opentelemetry-proto==$OTEL_PROTO_VERSION" "protobuf==$PROTOBUF_VERSION" \
        "rotel==$ROTEL_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
    touch "$STAMP"
fi

MISSING=""
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || MISSING="$MISSING prometheus"
command -v prometheus-alertmanager >/dev/null 2>&1 || MISSING="$MISSING prometheus-alertmanager"
command -v chromium >/dev/null 2>&1 || MISSING="$MISSING chromium"
if [ -n "$MISSING" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $MISSING >&2
fi

# The Go peers. GOTOOLCHAIN=local: build with the installed Go, never download another one.
JAEGER_VERSION=v1.75.0
TELEMETRYGEN_VERSION=v0.161.0
PEERS_BIN="$PWD/target/peers/bin"
GO="$(command -v go || echo /usr/local/go/bin/go)"
[ -x "$GO" ] || { echo "setup-peers: Go not found on PATH or at /usr/local/go/bin/go; install Go >= 1.25" >&2; exit 1; }
GO_VERSION="$(GOTOOLCHAIN=local "$GO" env GOVERSION)"
mkdir -p "$PEERS_BIN"

# go_peer NAME STAMP_INPUT COMMAND...: runs COMMAND (which writes $PEERS_BIN/NAME) unless the binary
# and the stamp for STAMP_INPUT are already there; logs how long the build took.
go_peer() {
    local name=$1 stamp
    stamp="$PEERS_BIN/.$name-$(printf '%s %s' "$GO_VERSION" "$2" | sha256sum | cut -c1-16)"
    shift 2
    [ -x "$PEERS_BIN/$name" ] && [ -f "$stamp" ] && return 0
    rm -f "$PEERS_BIN/.$name-"*
    local start=$SECONDS
    echo "setup-peers: building $name with $GO_VERSION" >&2
    (export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOBIN="$PEERS_BIN"; "$@") >&2
    echo "setup-peers: built $name in $((SECONDS - start)) s" >&2
    touch "$stamp"
}
GO_FLAGS=(-trimpath "-ldflags=-s -w")
build_otelcol() { cd peers/otelcol && "$GO" build "${GO_FLAGS[@]}" -o "$PEERS_BIN/otelcol" .; }
go_peer otelcol "$(cat peers/otelcol/go.mod peers/otelcol/go.sum peers/otelcol/main.go)" build_otelcol
# Jaeger's go.mod has a replace directive, so `go install .../cmd/jaeger@v1.75.0` refuses it; build
# the same package from the module's source as the proxy serves it (the module cache is read-only,
# which `go build` does not mind).
build_jaeger() {
    local dir
    dir="$("$GO" mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    cd "$dir" && "$GO" build "${GO_FLAGS[@]}" -o "$PEERS_BIN/jaeger" ./cmd/jaeger
}
go_peer jaeger "$JAEGER_VERSION" build_jaeger
go_peer telemetrygen "$TELEMETRYGEN_VERSION" "$GO" install "${GO_FLAGS[@]}" \
    "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$TELEMETRYGEN_VERSION"

ROTEL_AGENT="$(find "$PY_DIR" -type f -name rotel-agent | head -n 1)"
echo "export SPAN_SENTINEL_PY_PATH=$PY_DIR"
echo "export SPAN_SENTINEL_ROTEL_AGENT=$ROTEL_AGENT"
# A console script: it runs with PYTHONPATH=$SPAN_SENTINEL_PY_PATH.
echo "export SPAN_SENTINEL_KUBERNETES_VALIDATE=$PY_DIR/bin/kubernetes-validate"
echo "export SPAN_SENTINEL_PROMETHEUS=$(command -v prometheus)"
echo "export SPAN_SENTINEL_PROMTOOL=$(command -v promtool)"
echo "export SPAN_SENTINEL_ALERTMANAGER=$(command -v prometheus-alertmanager)"
echo "export SPAN_SENTINEL_CHROMIUM=$(command -v chromium)"
echo "export SPAN_SENTINEL_OTELCOL=$PEERS_BIN/otelcol"
echo "export SPAN_SENTINEL_JAEGER=$PEERS_BIN/jaeger"
echo "export SPAN_SENTINEL_TELEMETRYGEN=$PEERS_BIN/telemetrygen"
