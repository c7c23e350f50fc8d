#!/bin/bash
# tests/bench/bench-admission.sh [MARKDOWN_FILE]
# Learned memory admission (issue #7) in one run on this machine: a fake suite of 4 heavy jobs (each touches
# HEAVY_MB, default 2400 MiB, then sleeps) and 80 light ones (20 MiB, then a short sleep), run by nsrun inside a
# cgroup limited to 6 GiB. The first run knows nothing and uses fixed slots of the heavy jobs' size
# (--mem-per-worker 3G: one worker fits); the second run has the history and admits each job by its learned peak
# plus headroom. Each is run twice (first runs from an empty history each time). Needs root (it makes the cgroup).
# Writes a markdown table to MARKDOWN_FILE (default stdout). Env: NSRUN (default build/nsrun), HEAVY_MB.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
NSRUN=${NSRUN:-$SRC/build/nsrun}
HEAVY_MB=${HEAVY_MB:-2400}
out=${1:-/dev/stdout}
PY=/usr/bin/python3
[ "$(id -u)" = 0 ] || { echo "bench-admission.sh: needs root to make a 6 GiB cgroup" >&2; exit 1; }
T=$(mktemp -d /tmp/nsrun-bench-adm.XXXXXX)

# a 6 GiB memory cgroup below our own, v2 or v1
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        CG=/sys/fs/cgroup$(awk -F: '$1 == 0 {print $3}' /proc/self/cgroup)/nsrun-bench-adm.$$
        mkdir "$CG" && echo 6G > "$CG/memory.max"
else
        CG=/sys/fs/cgroup/memory$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
        CG=${CG%/}/nsrun-bench-adm.$$
        mkdir "$CG" && echo 6G > "$CG/memory.limit_in_bytes"
fi
trap 'rm -rf "$T"; rmdir "$CG" 2>/dev/null || true' EXIT
in_cg() { sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG" "$@"; }

job() { echo "$PY -c \"import time; b = bytearray($1 << 20); b[::4096] = b'\\\\x01' * len(range(0, len(b), 4096)); time.sleep($2)\" # $3"; }
cd "$T"
{
        for i in 1 2 3 4; do job "$HEAVY_MB" 2 "heavy$i"; done
        for i in $(seq 1 80); do job 20 0.25 "light$i"; done
} > jobs
run() {         # run NAME: one run; prints wall seconds, workers, oom count, and the largest concurrency seen
        in_cg "$NSRUN" --mem-per-worker 3G --jobs-file jobs --json "$T/$1.json" > "$T/$1.out" 2>&1 || true
        $PY - "$T/$1.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
jobs = d["jobs"]
edges = sorted([(j["start_s"], 1) for j in jobs] + [(j["start_s"] + j["wall_s"], -1) for j in jobs])
now = most = 0
for _, e in edges:
    now += e
    most = max(most, now)
heavy = [j for j in jobs if "heavy" in j["name"]]
light = [j for j in jobs if "light" in j["name"]]
print(f"{d['wall_s']:.2f} {d['workers']} {sum(j['status'] == 'oom' for j in jobs)} "
      f"{sum(j['status'] != 'passed' for j in jobs)} {most} "
      f"{max(j['mem_request_bytes'] for j in heavy) / 2**30:.2f} {max(j['mem_request_bytes'] for j in light) / 2**20:.0f} "
      f"{max(j['peak_mem_bytes'] for j in heavy) / 2**30:.2f}")
PYEOF
}
rows=()
for k in 1 2; do
        rm -rf .nsrun
        rows+=("fixed slots (first run, no history), run $k|$(run "fixed$k")")
        rows+=("learned admission (second run), run $k|$(run "learned$k")")
done
budget=$($PY -c "import json; d = json.load(open('$T/fixed1.json')); print(f\"{d['budget']['mem_bytes'] / 2**30:.1f} GiB ({d['budget']['mem_source']}), {d['mem_budget_bytes'] / 2**30:.1f} GiB for tests\")")
{
        echo "Fake suite: 4 heavy jobs (touch $HEAVY_MB MiB, sleep 2 s) and 80 light ones (touch 20 MiB, sleep 0.25 s),"
        echo "\`nsrun --mem-per-worker 3G --jobs-file jobs\` in a cgroup limited to 6 GiB: budget $budget, $(nproc) CPUs."
        echo
        echo "| run | wall | workers | out of memory | not passed | most jobs at once | heavy request | light request | heavy peak |"
        echo "|---|---|---|---|---|---|---|---|---|"
        for r in "${rows[@]}"; do
                read -r wall workers oom bad most hreq lreq hpeak <<< "${r#*|}"
                echo "| ${r%%|*} | $wall s | $workers | $oom | $bad | $most | $hreq GiB | $lreq MiB | $hpeak GiB |"
        done
        echo
        $PY - "$T" <<'PYEOF'
import json, sys
w = lambda n: json.load(open(f"{sys.argv[1]}/{n}.json"))["wall_s"]
f = sorted([w("fixed1"), w("fixed2")])[0]
l = sorted([w("learned1"), w("learned2")])[0]
print(f"Best of two: fixed slots {f:.2f} s, learned admission {l:.2f} s: {f / l:.2f}x faster.")
PYEOF
} > "$out"
