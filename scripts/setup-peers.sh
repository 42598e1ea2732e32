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
#   `chromium` binary is on PATH.
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

ROTEL_AGENT="$(find "$PY_DIR" -type f -name rotel-agent | head -n 1)"
echo "export SPAN_SENTINEL_PY_PATH=$PY_DIR"
echo "export SPAN_SENTINEL_ROTEL_AGENT=$ROTEL_AGENT"
# A console script: it runs with PYTHONPATH=$SPAN_SENTINEL_PY_PATH.
echo "export SPAN_SENTINEL_KUBERNETES_VALIDATE=$PY_DIR/bin/kubernetes-validate"
echo "export SPAN_SENTINEL_PROMETHEUS=$(command -v prometheus)"
echo "export SPAN_SENTINEL_PROMTOOL=$(command -v promtool)"
echo "export SPAN_SENTINEL_ALERTMANAGER=$(command -v prometheus-alertmanager)"
echo "export SPAN_SENTINEL_CHROMIUM=$(command -v chromium)"
