#!/usr/bin/env bash
# Does the interference demo reproduce? Runs profiles/interference.toml N times with
# --isolation shared (expected: degraded, exit 1) and N times with --isolation fair (expected:
# pass, exit 0), and prints the 2×N table of verdicts and how many runs gave the expected one.
#
#   bash scripts/interference-matrix.sh 20
#
# The binary is target/release/span-sentinel (built if missing), or $SPAN_SENTINEL. Exits 1
# when any run gave another verdict than expected.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:?usage: scripts/interference-matrix.sh N}"
bin="${SPAN_SENTINEL:-target/release/span-sentinel}"
[[ -x "$bin" ]] || cargo build --release --locked --quiet
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
status=0
for isolation in shared fair; do
  expected=degraded expected_code=1
  [[ "$isolation" == fair ]] && expected=pass expected_code=0
  row="" hits=0
  for i in $(seq 1 "$n"); do
    code=0
    rm -f "$out/run.json"
    "$bin" run profiles/interference.toml --isolation "$isolation" --quiet --seed "$i" \
      --json "$out/run.json" >"$out/run.txt" || code=$?
    # No report (a run that could not start) is no verdict, never the previous run's.
    verdict="$(grep -o '"verdict": *"[a-z]*"' "$out/run.json" 2>/dev/null | head -1 | grep -o '[a-z]*"$' | tr -d '"')" || verdict=none
    row="$row $verdict"
    if [[ "$verdict" == "$expected" && "$code" == "$expected_code" ]]; then
      hits=$((hits + 1))
    else
      status=1
      echo "$isolation run $i (seed $i): $verdict (exit $code): $(grep '^why:' "$out/run.txt")" >&2
    fi
  done
  printf '%-7s expected %-9s %3d of %d |%s\n' "$isolation" "$expected" "$hits" "$n" "$row"
done
exit "$status"
