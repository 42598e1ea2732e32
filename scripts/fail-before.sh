#!/usr/bin/env bash
# Would the tests catch the defects they guard against? Puts the defects back into a copy of
# HEAD (scripts/mutations/NAME.patch: one line per defect, each marked `MUTATION`), builds it and
# runs the tests listed in scripts/mutations/NAME.tests ("lib FILTER" or "tests FILTER", exact
# test names). Every listed test must FAIL there; the script prints each test's result and the
# first line of its panic, and exits 1 when a listed test passed (a test that cannot fail).
#
#   bash scripts/fail-before.sh 16    # hostile input: bounds, connections, webhooks, stalls
#   bash scripts/fail-before.sh 12    # the verdict's false passes
#   bash scripts/fail-before.sh 28    # merge, capacity and the run pass nothing unobserved; series bound
#
# The copy is a git worktree under target/fail-before (removed at the end); it builds into
# target/fail-before-build (or $CARGO_TARGET_DIR), so a second run reuses the build. Run `eval "$(bash
# scripts/setup-peers.sh)"` first, as for cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: scripts/fail-before.sh NAME (a patch in scripts/mutations/)}"
patch="scripts/mutations/$name.patch"
list="scripts/mutations/$name.tests"
[[ -f "$patch" && -f "$list" ]] || { echo "fail-before.sh: no $patch or $list" >&2; exit 2; }
root="$(pwd)"
copy="$root/target/fail-before/$name"
rm -rf "$copy"
git worktree prune
git worktree add --detach --quiet "$copy" HEAD
trap 'git -C "$root" worktree remove --force "$copy"' EXIT
git -C "$copy" apply "$root/$patch"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/fail-before-build}"
lib_filters=() test_filters=()
while read -r kind filter; do
  [[ -z "$kind" ]] && continue
  case "$kind" in
    lib) lib_filters+=("$filter") ;;
    tests) test_filters+=("$filter") ;;
    *) echo "fail-before.sh: $list: unknown kind '$kind'" >&2; exit 2 ;;
  esac
done <"$list"
out="$copy.log"
: >"$out"
cd "$copy"
if ((${#lib_filters[@]})); then
  cargo test --release --locked --lib -- --exact "${lib_filters[@]}" >>"$out" 2>&1 || true
fi
if ((${#test_filters[@]})); then
  cargo test --release --locked --test tests -- --exact "${test_filters[@]}" >>"$out" 2>&1 || true
fi
status=0
while read -r kind filter; do
  [[ -z "$kind" ]] && continue
  result="$(grep -m1 "^test $filter \.\.\. " "$out" | sed 's/.* \.\.\. //')" || true
  why="$(grep -A3 "^---- $filter stdout" "$out" | grep -m1 -A1 'panicked at' | tail -1 | cut -c1-160)" || true
  [[ "$result" == FAILED ]] || status=1
  printf '%-7s %s\n        %s\n' "${result:-missing}" "$filter" "$why"
done <"$list"
cp "$out" "$root/target/fail-before-$name.log"
((status == 0)) && echo "every listed test failed with the defects put back" \
  || echo "a listed test did not fail: it cannot catch its defect (log: target/fail-before-$name.log)"
exit "$status"
