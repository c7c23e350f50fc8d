#!/bin/bash
# tests/bench/bench-compare.sh OLD_NSRUN [NEW_NSRUN]
# One build of nsrun against another, in one run on this machine, for what a change must not slow down:
#   exec      OLD/NEW exec -- true                      (a sandbox's start-up; BENCH_RUNS in all, 400)
#   1000      OLD/NEW -j 2 -- true ::: 1..1000           (the runner's throughput; BENCH_BIG_RUNS in all, 6)
# The two builds alternate in BENCH_ROUNDS rounds (5), so that a machine whose speed drifts (a shared host, other
# work) weighs on both alike; medians are over all runs of all rounds. NEW defaults to build/nsrun of this
# checkout. Build OLD from another commit first, e.g.:
#   git worktree add --detach /tmp/old 67d6522 && (cd /tmp/old && meson setup build && ninja -C build)
#   tests/bench/bench-compare.sh /tmp/old/build/nsrun
# Prints a markdown table and the NEW - OLD differences. Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
OLD=${1:?usage: bench-compare.sh OLD_NSRUN [NEW_NSRUN]}
NEW=${2:-$SRC/build/nsrun}
RUNS=${BENCH_RUNS:-400}
BIG_RUNS=${BENCH_BIG_RUNS:-6}
ROUNDS=${BENCH_ROUNDS:-5}
command -v hyperfine >/dev/null || { echo "bench-compare.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
for b in "$OLD" "$NEW"; do
        [ -x "$b" ] || { echo "bench-compare.sh: $b is not an executable nsrun" >&2; exit 1; }
done
OLD=$(realpath "$OLD") NEW=$(realpath "$NEW") # the runs are made from a scratch directory
T=$(mktemp -d /tmp/nsrun-bench-compare.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
jobs=$(seq -s ' ' 1000)

# round K NAME RUNS CMD_OLD CMD_NEW: one hyperfine call, old and new, its JSON kept as NAME-K.json
round() {
        hyperfine -N --runs "$3" --warmup 2 --export-json "$T/$2-$1.json" -n old "$4" -n new "$5" > /dev/null 2>&1
}
for k in $(seq "$ROUNDS"); do
        round "$k" exec $((RUNS / ROUNDS)) "$OLD exec -- true" "$NEW exec -- true"
done
for k in $(seq "$BIG_RUNS"); do
        round "$k" big 1 "$OLD -j 2 -- true ::: $jobs" "$NEW -j 2 -- true ::: $jobs"
done

/usr/bin/python3 - "$T" "$ROUNDS" "$BIG_RUNS" <<'PY'
import json, statistics, sys, glob
T = sys.argv[1]
def times(name):
    out = {"old": [], "new": []}
    for f in sorted(glob.glob(f"{T}/{name}-*.json")):
        for r in json.load(open(f))["results"]:
            out[r["command"]] += r["times"]
    return out
ex, big = times("exec"), times("big")
med = lambda v: statistics.median(v)
print("| what | old (median) | new (median) | new - old | runs each |")
print("|:---|---:|---:|---:|---:|")
print(f"| `nsrun exec -- true` | {med(ex['old'])*1e3:.3f} ms | {med(ex['new'])*1e3:.3f} ms | "
      f"{(med(ex['new'])-med(ex['old']))*1e3:+.3f} ms | {len(ex['new'])} |")
print(f"| `nsrun -j 2 -- true ::: 1..1000` | {1000/med(big['old']):.0f} jobs/s | {1000/med(big['new']):.0f} jobs/s | "
      f"{(med(big['new'])-med(big['old'])):+.2f} s | {len(big['new'])} |")
PY
