#!/usr/bin/env bash
# The project's whole test command (the README's second command; .ci/run calls it).
# It sets up what the tests need by itself, so it passes on a fresh machine.
#
#   bash scripts/test.sh           every stage: peers, nextest, fmt, clippy, build, tests, benches
#   bash scripts/test.sh --quick   the edit loop: fmt, clippy, unit and light integration tests
#
# The tests run under cargo-nextest (installed here if missing, at the pinned version), which
# schedules them by the test groups in .config/nextest.toml. They build with the `ci` profile
# (Cargo.toml): optimised like release, because the tests measure real servers and timing
# (freshness, alert delays, isolation latency) and a debug build would measure the build, but
# without release's link-time optimisation. Every stage prints its time, and a total at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

NEXTEST_VERSION=0.9.148
# The Cargo profile the suite builds with; SUITE_PROFILE=release reuses a release build.
PROFILE="${SUITE_PROFILE:-ci}"

quick=false
case "${1:-}" in
    --quick) quick=true ;;
    "") ;;
    *)
        echo "usage: bash scripts/test.sh [--quick]" >&2
        exit 2
        ;;
esac

started=$SECONDS
times=()
current=""

# Runs "$@" as the stage named $1 and records how long it took.
stage() {
    local name=$1
    shift
    current=$name
    local t0=$SECONDS
    echo "=== stage ${name}" >&2
    "$@"
    local took=$((SECONDS - t0))
    times+=("$(printf '%-9s %3dm%02ds' "$name" $((took / 60)) $((took % 60)))")
    echo "=== stage ${name} took ${took}s" >&2
    current=""
}

# The stage times, printed however the script ends.
summary() {
    local status=$?
    local total=$((SECONDS - started))
    echo "=== stage times" >&2
    local line
    for line in "${times[@]}"; do
        echo "    $line" >&2
    done
    [ -n "$current" ] && echo "    ${current} FAILED" >&2
    printf '    %-9s %3dm%02ds\n' total $((total / 60)) $((total % 60)) >&2
    exit $status
}
trap summary EXIT

# The real peers of tests/peers.rs (Python opentelemetry-proto and rotel under target/peers,
# Debian's prometheus, alertmanager, chromium); idempotent, prints the environment the tests
# read. A failed setup stops here (set -e).
peers() {
    local env
    env="$(bash scripts/setup-peers.sh)"
    eval "$env"
}

# cargo-nextest at the pinned version, installed when missing or different.
nextest() {
    local have
    have="$(cargo nextest --version 2>/dev/null | head -1 | cut -d' ' -f2)"
    if [ "$have" != "$NEXTEST_VERSION" ]; then
        cargo install cargo-nextest --locked --version "$NEXTEST_VERSION"
    fi
}

fmt() { cargo fmt --all -- --check; }
clippy() { cargo clippy --locked --all-targets -- -D warnings; }

# Every target once: the library, the binary, the tests binary and the benches.
build() { cargo build --locked --profile "$PROFILE" --lib --bins --tests --benches; }

# The unit and integration tests; nextest's closing summary line is the last it prints.
tests() { cargo nextest run --locked --cargo-profile "$PROFILE" --lib --bins --tests "$@"; }

# Each criterion bench run once in test mode: they build and their setup holds, no timing.
benches() { cargo test --locked --profile "$PROFILE" --benches; }

if $quick; then
    stage fmt fmt
    stage clippy clippy
    stage peers peers
    stage nextest nextest
    stage tests tests -E 'group(@global)'
    exit 0
fi

stage peers peers
stage nextest nextest
stage fmt fmt
stage clippy clippy
stage build build
stage tests tests
stage benches benches
