#!/usr/bin/env bash
# A/A: how often does `span-sentinel run` raise a false alarm? Runs profiles/false-alarms.toml
# (a load phase whose load is another tenant at a harmless rate; nothing is wrong) N times, each
# with its own seed, and prints how many verdicts were not `pass`.
#
#   bash scripts/false-alarms.sh 50
#
# The binary is target/release/span-sentinel (built if missing), or $SPAN_SENTINEL.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:?usage: scripts/false-alarms.sh N}"
bin="${SPAN_SENTINEL:-target/release/span-sentinel}"
[[ -x "$bin" ]] || cargo build --release --locked --quiet
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
not_pass=0
for i in $(seq 1 "$n"); do
  code=0
  "$bin" run profiles/false-alarms.toml --quiet --seed "$i" --json "$out/run.json" >"$out/run.txt" || code=$?
  verdict="$(grep -o '"verdict": *"[a-z]*"' "$out/run.json" | head -1 | grep -o '[a-z]*"$' | tr -d '"')"
  if [[ "$verdict" != pass ]]; then
    not_pass=$((not_pass + 1))
    echo "run $i (seed $i): $verdict (exit $code): $(grep '^why:' "$out/run.txt")" >&2
  fi
done
echo "false alarms: $not_pass of $n runs were not pass"
