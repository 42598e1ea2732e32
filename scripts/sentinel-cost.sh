#!/usr/bin/env bash
# Does the tool's own load slow its sentinel down? Runs profiles/sentinel-cost.toml (the
# sentinel and the embedded pipeline at baseline, pinned to one CPU) N times with no load beside
# it and N times beside `span-sentinel load --sink discard --rate max --threads 1` (the
# generator at its ceiling, pinned to another CPU), and prints the medians over the N runs of
# the baseline's freshness p50/p99 and alert fire/clear delays (p50 of each run's bursts).
#
#   bash scripts/sentinel-cost.sh 3
#
# SENTINEL_CPUS and LOAD_CPUS choose the CPUs (default 0 and 1). With UNPINNED=1 a third row
# runs the load as it runs by default, a thread per core, with neither side pinned: what the
# placement saves the sentinel from. The binary is target/release/span-sentinel
# (built if missing), or $SPAN_SENTINEL.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:?usage: scripts/sentinel-cost.sh N}"
bin="${SPAN_SENTINEL:-target/release/span-sentinel}"
[[ -x "$bin" ]] || cargo build --release --locked --quiet
sentinel_cpus="${SENTINEL_CPUS:-0}" load_cpus="${LOAD_CPUS:-1}"
out="$(mktemp -d)"
load_pid=""
trap '[[ -n "$load_pid" ]] && kill "$load_pid" 2>/dev/null; rm -rf "$out"' EXIT

# run_one ROW I: one run of the profile; the load beside it unless ROW is `alone`, one thread
# and both sides pinned unless ROW is `unpinned`.
run_one() {
  local row="$1" i="$2"
  local pin=(--sentinel-cpus "$sentinel_cpus") load_flags=(--threads 1 --load-cpus "$load_cpus")
  if [[ "$row" == unpinned ]]; then
    pin=() load_flags=()
  fi
  if [[ "$row" != alone ]]; then
    "$bin" load --sink discard --rate max --duration 10m --quiet \
      --json "$out/$row-$i.load.json" "${load_flags[@]}" >/dev/null 2>&1 &
    load_pid=$!
    sleep 1
  fi
  "$bin" run profiles/sentinel-cost.toml --quiet --seed "$i" "${pin[@]}" \
    --json "$out/$row-$i.json" >"$out/$row-$i.txt" || true
  if [[ -n "$load_pid" ]]; then
    # Stopped like Ctrl-C: it writes its report (exit 4, the load did not run its 10 minutes).
    kill -INT "$load_pid"
    wait "$load_pid" || true
    load_pid=""
  fi
}

rows=(alone pinned)
[[ "${UNPINNED:-0}" == 1 ]] && rows+=(unpinned)
for i in $(seq 1 "$n"); do
  for row in "${rows[@]}"; do
    run_one "$row" "$i"
  done
done

python3 - "$out" "$n" "$sentinel_cpus" "$load_cpus" "${rows[@]}" <<'EOF'
import json, statistics, sys
out, n, s_cpus, l_cpus, rows = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
label = {
    "alone": f"no load (sentinel on CPU {s_cpus})",
    "pinned": f"load at max on CPU {l_cpus}, sentinel on CPU {s_cpus}",
    "unpinned": "load at max, a thread per core, nothing pinned",
}
def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
def fmt(v, digits=0):
    return "-" if v is None else f"{v:.{digits}f}"
print(f"baseline of profiles/sentinel-cost.toml, median of {n} runs (ms; alert delays: p50 of each run's bursts)")
print(f"{'':48} {'fresh p50':>9} {'fresh p99':>9} {'fire':>6} {'clear':>6} {'bursts':>7} {'verdict':>8} {'load spans/s':>13}")
for row in rows:
    cols = {k: [] for k in ("f50", "f99", "fire", "clear", "rate")}
    bursts = detected = 0
    verdicts = []
    for i in range(1, n + 1):
        try:
            r = json.load(open(f"{out}/{row}-{i}.json"))
        except (OSError, ValueError):
            verdicts.append("none")
            continue
        verdicts.append(r["verdict"])
        b = next(p for p in r["phases"] if p["kind"] == "baseline")["sentinel"]
        f = b["freshness_ms"] or {}
        cols["f50"].append(f.get("p50"))
        cols["f99"].append(f.get("p99"))
        cols["fire"].append(b["alerts"]["detect_delay_ms"]["p50"])
        cols["clear"].append(b["alerts"]["clear_delay_ms"]["p50"])
        bursts += b["alerts"]["bursts"]
        detected += b["alerts"]["detected"]
        try:
            cols["rate"].append(json.load(open(f"{out}/{row}-{i}.load.json"))["achieved_spans_per_sec"])
        except (OSError, ValueError):
            pass
    passed = f"{verdicts.count('pass')}/{len(verdicts)} pass"
    rate = med(cols["rate"])
    print(f"{label[row]:48} {fmt(med(cols['f50']), 1):>9} {fmt(med(cols['f99']), 1):>9} "
          f"{fmt(med(cols['fire'])):>6} {fmt(med(cols['clear'])):>6} {detected:>3}/{bursts:<3} "
          f"{passed:>8} {('-' if rate is None else f'{rate / 1e6:.1f} M'):>13}")
EOF
