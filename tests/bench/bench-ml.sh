#!/bin/bash
# tests/bench/bench-ml.sh [MARKDOWN_FILE]
# The ML example (examples/ml: PyTorch on the CPU, models up to MODEL_MB MiB) in a memory-capped cgroup (a
# container of CG_MEM, default 6G), for each size of BENCH_MODEL_MB (default "1500 3000 4400"), each command once:
#   serial pytest, pytest -n 2, pytest -n auto, pytest -n 4 (what -n auto starts on a 4-CPU runner), and nsrun --mem-per-worker SIZE (its first run from an empty
#   history, then a second one with it), SIZE = 1.2 x MODEL_MB + 128 MiB rounded up to 128 MiB: what the
#   largest model's MemAvailable guard asks for, and a little more.
# Per run: wall seconds, exit status, tests passed/failed/skipped (pytest's JUnit report; nsrun's --json),
# out-of-memory kills (the cgroup's memory.oom_control oom_kill, or memory.events on v2, for pytest, whose
# processes all live in it; the sum of the jobs' oom_kills in nsrun's --json for nsrun, whose jobs have cgroups
# of their own below it) and the cgroup's peak (memory.max_usage_in_bytes reset before each run; memory.peak on
# v2 is the cgroup's lifetime peak, so each run gets a fresh cgroup). Needs root (it makes the cgroups) and
# python3-torch. Writes a markdown table to MARKDOWN_FILE (default stdout). Env: NSRUN (default build/nsrun),
# BENCH_MODEL_MB, CG_MEM.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
NSRUN=${NSRUN:-$SRC/build/nsrun}
SIZES=${BENCH_MODEL_MB:-1500 3000 4400}
CG_MEM=${CG_MEM:-6G}
PY=/usr/bin/python3
out=${1:-/dev/stdout}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin       # Debian's pytest and python3, which have torch
[ "$(id -u)" = 0 ] || { echo "bench-ml.sh: needs root to make a $CG_MEM cgroup" >&2; exit 1; }
$PY -c 'import torch, xdist' 2> /dev/null ||
        { echo "bench-ml.sh: needs python3-torch and python3-pytest-xdist (apt-get install --no-install-recommends python3-torch python3-pytest-xdist)" >&2; exit 1; }
[ -x "$NSRUN" ] || { echo "bench-ml.sh: no nsrun at $NSRUN; build it (meson compile -C build) or set NSRUN" >&2; exit 1; }
T=$(mktemp -d /tmp/nsrun-bench-ml.XXXXXX)
CG=
trap 'rm -rf "$T"; [ -z "$CG" ] || rmdir "$CG" 2> /dev/null || true' EXIT

if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        V2=1
        PARENT=/sys/fs/cgroup$(awk -F: '$1 == 0 {print $3}' /proc/self/cgroup)
else
        V2=0
        PARENT=/sys/fs/cgroup/memory$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
fi
PARENT=${PARENT%/}
# new_cg: a fresh cgroup of CG_MEM below ours (the previous one removed), in $CG
new_cg() {
        [ -z "$CG" ] || rmdir "$CG"
        CG=$PARENT/nsrun-bench-ml.$$.$RANDOM
        mkdir "$CG"
        if [ "$V2" = 1 ]; then
                echo "$CG_MEM" > "$CG/memory.max"
                echo 0 > "$CG/memory.swap.max"
        else
                echo "$CG_MEM" > "$CG/memory.limit_in_bytes"
                echo "$CG_MEM" > "$CG/memory.memsw.limit_in_bytes" 2> /dev/null || true
        fi
}
oom_kills() {
        if [ "$V2" = 1 ]; then awk '$1 == "oom_kill" {print $2}' "$CG/memory.events"
        else awk '$1 == "oom_kill" {print $2}' "$CG/memory.oom_control"; fi
}
peak() {
        if [ "$V2" = 1 ]; then cat "$CG/memory.peak"; else cat "$CG/memory.max_usage_in_bytes"; fi
}

# run NAME COMMAND...: COMMAND in a fresh capped cgroup, from the project; writes $T/NAME.row:
# "wall rc cgroup-oom-kills peak-bytes"
run() {
        local name=$1 t0 t1 rc=0
        shift
        echo "bench-ml.sh: $*" >&2
        new_cg
        t0=$(date +%s.%N)
        sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG" "$@" > "$T/$name.out" 2>&1 || rc=$?
        t1=$(date +%s.%N)
        sleep 0.5       # the cgroup empties once the last process is reaped
        echo "$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }') $rc $(oom_kills) $(peak)" > "$T/$name.row"
}

{
        echo "examples/ml in a cgroup of $CG_MEM (\`memory.limit_in_bytes\`, swap off; v1 memory controller here), $(nproc) CPUs,"
        echo "each command once, in this order; \`pytest -n auto\` starts $($PY -c 'import os; print(len(os.sched_getaffinity(0)))') workers here."
        echo "Out-of-memory kills: the cgroup's \`oom_kill\` count for pytest, the jobs' \`oom_kills\` from \`--json\` for nsrun."
        echo
        echo "| MODEL_MB | command | workers | wall | passed | failed | skipped | out-of-memory kills | peak | exit status |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
} > "$T/table"

for mb in $SIZES; do
        mpw=$(( (mb * 6 / 5 + 128 + 127) / 128 * 128 ))M
        P=$T/ml-$mb
        cp -r "$SRC/examples/ml" "$P"
        rm -rf "$P/.nsrun" "$P/.pytest_cache"
        cd "$P"
        names=(serial xdist2 xdistauto xdist4 nsrun1 nsrun2)
        labels=("\`pytest\` (serial)" "\`pytest -n 2\`" "\`pytest -n auto\`" "\`pytest -n 4\` (-n auto on a 4-CPU runner)"
                "\`nsrun --mem-per-worker $mpw -- pytest\`, first run" "the same, second run (history)")
        run "$mb-serial" env MODEL_MB="$mb" pytest -p no:cacheprovider --junitxml "$T/$mb-serial.xml"
        run "$mb-xdist2" env MODEL_MB="$mb" pytest -p no:cacheprovider -n 2 --junitxml "$T/$mb-xdist2.xml"
        run "$mb-xdistauto" env MODEL_MB="$mb" pytest -p no:cacheprovider -n auto --junitxml "$T/$mb-xdistauto.xml"
        run "$mb-xdist4" env MODEL_MB="$mb" pytest -p no:cacheprovider -n 4 --junitxml "$T/$mb-xdist4.xml"
        run "$mb-nsrun1" env MODEL_MB="$mb" "$NSRUN" --mem-per-worker "$mpw" --json "$T/$mb-nsrun1.json" -- pytest
        run "$mb-nsrun2" env MODEL_MB="$mb" "$NSRUN" --mem-per-worker "$mpw" --json "$T/$mb-nsrun2.json" -- pytest
        cd "$T"
        for i in "${!names[@]}"; do
                n=$mb-${names[$i]}
                read -r wall rc cgoom peak < "$T/$n.row"
                $PY - "$T" "$n" "$mb" "${labels[$i]}" "$wall" "$rc" "$cgoom" "$peak" >> "$T/table" <<'PYEOF'
import json, os, sys
import xml.etree.ElementTree as E
t, n, mb, label, wall, rc, cgoom, peak = sys.argv[1:]
if os.path.exists(f"{t}/{n}.json"):
    d = json.load(open(f"{t}/{n}.json"))
    tot = d["totals"]
    counts = (tot["tests_passed"], tot["tests_failed"], tot["tests_skipped"])
    oom = sum(j.get("oom_kills", 0) for j in d["jobs"])
    oom = f"{oom} ({sum(j['status'] == 'oom' for j in d['jobs'])} jobs reported out of memory)"
    workers = f"{d['workers']} (budget {d['mem_budget_bytes'] / 2**30:.1f} GiB)"
elif os.path.exists(f"{t}/{n}.xml"):
    r = E.parse(f"{t}/{n}.xml").getroot()
    s = r if r.tag == "testsuite" else r.find("testsuite")
    tests, f, e, k = (int(s.get(a)) for a in ("tests", "failures", "errors", "skipped"))
    counts = (tests - f - e - k, f + e, k)
    oom = cgoom
    workers = {"serial": "1", "xdist2": "2", "xdist4": "4"}.get(n.split("-")[1], str(len(os.sched_getaffinity(0))))
else:
    counts, oom, workers = ("?", "?", "?"), cgoom, "?"
print(f"| {mb} | {label} | {workers} | {wall} s | {counts[0]} | {counts[1]} | {counts[2]} | {oom} | "
      f"{int(peak) / 2**30:.2f} GiB | {rc} |")
PYEOF
        done
done
cp "$T/table" "$out"
