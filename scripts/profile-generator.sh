#!/usr/bin/env bash
# Where the generator's time per span goes: runs `load --sink discard --rate max --threads 1`
# under `perf record`, then prints the source lines that took at least 1% of the samples, each
# with its share and its cost in ns per span (share × 1 s / achieved spans per second).
# Needs `perf` (Debian: linux-perf) and a release build (`cargo build --release`; the release
# profile keeps line tables). Usage: scripts/profile-generator.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-2}
bin=target/release/span-sentinel
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
command -v perf >/dev/null || { echo "perf is missing (apt-get install linux-perf)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
perf record -q -F 999 -o "$tmp/perf.data" -- \
  "$bin" load --sink discard --rate max --threads 1 --duration "${seconds}s" \
  --json "$tmp/load.json" >/dev/null 2>&1
perf report -i "$tmp/perf.data" --no-children --sort srcline -g none --stdio \
  --percent-limit 1 2>/dev/null >"$tmp/lines.txt"
python3 - "$tmp/load.json" "$tmp/lines.txt" <<'PY'
import json, re, sys, pathlib
rate = json.load(open(sys.argv[1]))["achieved_spans_per_sec"]
ns_per_span = 1e9 / rate
print(f"achieved {rate / 1e6:.1f} M spans/s = {ns_per_span:.2f} ns per span")
print(f"| share | ns/span | line | source |")
print(f"|---:|---:|---|---|")
sources = {p.name: p for p in pathlib.Path("src").rglob("*.rs")}
for line in open(sys.argv[2]):
    m = re.match(r"\s+([\d.]+)%\s+(\S+?):(\d+)\s*$", line)
    if not m:
        continue
    share, name, no = float(m[1]), m[2], int(m[3])
    text = ""
    if name in sources and no > 0:
        text = sources[name].read_text().splitlines()[no - 1].strip().replace("|", "\\|")
    elif no == 0:
        text = "(no line: loop control and spills)"
    else:
        text = "(standard library, inlined)"
    print(f"| {share:.1f}% | {share / 100 * ns_per_span:.2f} | {name}:{no} | `{text}` |")
PY
