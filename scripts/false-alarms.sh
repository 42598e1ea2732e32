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
# A run counts as a pass only when its report says `pass` AND it exits 0; a run that ends before
# writing its report (the file is removed before each run) or exits with another code counts
# against the tool, with what it said.
not_pass=0
for i in $(seq 1 "$n"); do
  code=0
  rm -f "$out/run.json"
  "$bin" run profiles/false-alarms.toml --quiet --seed "$i" --json "$out/run.json" >"$out/run.txt" 2>"$out/run.err" || code=$?
  verdict="no-report"
  if [[ -s "$out/run.json" ]]; then
    verdict="$(grep -o '"verdict": *"[a-z]*"' "$out/run.json" | head -1 | grep -o '[a-z]*"$' | tr -d '"')"
  fi
  if [[ "$verdict" != pass || "$code" != 0 ]]; then
    not_pass=$((not_pass + 1))
    echo "run $i (seed $i): $verdict (exit $code): $(grep '^why:' "$out/run.txt" || tail -1 "$out/run.err")" >&2
  fi
done
echo "false alarms: $not_pass of $n runs were not pass (a pass is verdict pass and exit 0)"
