#!/bin/bash
# tests/bench/bench-runner.sh [MARKDOWN_FILE]
# The runner beside its peers, in one run on this machine:
#   1. the bundled example (examples/webapp): serial pytest, pytest-xdist -n W, and nsrun (first run, then with
#      history), timed by hyperfine;
#   2. a fake suite of jobs with known durations (sleeps, skewed: a few long, many short, in shuffled order):
#      the makespan of nsrun -j W cold and with history, against the lower bound max(sum/W, longest) of the
#      jobs' own measured times, and against serial and pytest-xdist on the same sleeps as pytest tests.
# Writes markdown tables to MARKDOWN_FILE (default stdout). Env: NSRUN (default build/nsrun), BENCH_WORKERS
# (default: CPUs), BENCH_RUNS (hyperfine runs for the example, default 3), MODEL_MB (default 1500).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
NSRUN=${NSRUN:-$SRC/build/nsrun}
W=${BENCH_WORKERS:-$(nproc)}
RUNS=${BENCH_RUNS:-3}
export MODEL_MB=${MODEL_MB:-1500}
out=${1:-/dev/stdout}
command -v hyperfine >/dev/null || { echo "bench-runner.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
T=$(mktemp -d /tmp/nsrun-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3

# ---- 1. the example ----
cp -r "$SRC/examples/webapp" "$T/webapp"
rm -rf "$T/webapp/.nsrun" "$T/webapp/.pytest_cache"
cd "$T/webapp"
reset='rm -rf /tmp/webapp-costs.json data/sessions/test-* .pytest_cache'
# nsrun cold: no history; warm: history from the run before (the prepare step keeps .nsrun/)
hyperfine --runs "$RUNS" --warmup 0 --ignore-failure --export-json "$T/example.json" --export-markdown "$T/example.md" \
        --prepare "$reset" --prepare "$reset" --prepare "$reset; rm -rf .nsrun" --prepare "$reset" \
        -n "serial: pytest" "pytest -q -p no:cacheprovider" \
        -n "pytest-xdist: pytest -n $W" "pytest -q -p no:cacheprovider -n $W" \
        -n "nsrun -j $W, first run" "$NSRUN -j $W -- pytest" \
        -n "nsrun -j $W, with history" "$NSRUN -j $W -- pytest" >&2
# did each pass? (xdist is expected to fail: that is the point of the example)
xdist_rc=0; pytest -q -p no:cacheprovider -n "$W" > /dev/null 2>&1 || xdist_rc=$?
eval "$reset"
nsrun_rc=0; "$NSRUN" -j "$W" -- pytest > /dev/null 2>&1 || nsrun_rc=$?

# ---- 2. the fake suite ----
cd "$T"
# 40 jobs, about 24 s of work in all: 4 long (2-3.5 s) and 36 short (0.1-0.6 s), shuffled with a fixed seed
$PY - > durations.txt <<'PYEOF'
import random
r = random.Random(7)
d = [2.0, 2.5, 3.0, 3.5] + [round(r.uniform(0.1, 0.6), 2) for _ in range(36)]
r.shuffle(d)
print("\n".join(str(x) for x in d))
PYEOF
mkdir -p fake/tests
i=0
while read -r d; do
        i=$((i + 1))
        printf 'import time\n\ndef test_job():\n    time.sleep(%s)\n' "$d" > "fake/tests/test_job_$(printf %02d $i).py"
done < durations.txt
sum=$(paste -sd+ durations.txt | bc)
longest=$(sort -n durations.txt | tail -n 1)
mkdir -p sleeps && cd sleeps
run_fake() {    # run_fake NAME: one nsrun run of the sleep jobs; prints makespan and the measured-jobs bound
        local t0 t1
        t0=$(date +%s.%N)
        "$NSRUN" -j "$W" --json "$T/$1.json" -- sleep {} ::: $(cat "$T/durations.txt") > /dev/null 2>&1
        t1=$(date +%s.%N)
        $PY - "$T/$1.json" "$W" "$t0" "$t1" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1])); w = int(sys.argv[2])
walls = [j["wall_s"] for j in d["jobs"]]
bound = max(sum(walls) / w, max(walls))
print(f"{d['wall_s']:.2f} {bound:.2f} {d['wall_s'] / bound:.3f} {float(sys.argv[4]) - float(sys.argv[3]):.2f}")
PYEOF
}
read -r cold_make cold_bound cold_ratio cold_total <<< "$(run_fake cold)"
read -r warm_make warm_bound warm_ratio warm_total <<< "$(run_fake warm)"
cd "$T/fake"
hyperfine --runs 1 --export-json "$T/fake.json" \
        --prepare true --prepare true --prepare true --prepare 'rm -rf .nsrun' --prepare true \
        -n "serial: pytest" "pytest -q -p no:cacheprovider" \
        -n "pytest-xdist: pytest -n $W" "pytest -q -p no:cacheprovider -n $W" \
        -n "pytest-xdist: pytest -n $W --dist loadfile" "pytest -q -p no:cacheprovider -n $W --dist loadfile" \
        -n "nsrun -j $W -- pytest, first run" "$NSRUN -j $W -- pytest" \
        -n "nsrun -j $W -- pytest, with history" "$NSRUN -j $W -- pytest" >&2

# ---- 3. throughput: 1,000 tiny jobs ----
command -v parallel > /dev/null || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq parallel > /dev/null; }
cd "$T/sleeps"
hyperfine --runs 3 --export-json "$T/tiny.json" --export-markdown "$T/tiny.md" \
        -n "nsrun -j $W -- true ::: 1..1000 (full isolation)" "$NSRUN -j $W -- true ::: $(seq -s ' ' 1000)" \
        -n "GNU parallel -j $W true ::: 1..1000 (no isolation)" "parallel -j $W true ::: $(seq -s ' ' 1000)" >&2

{
        echo "### Throughput: 1,000 tiny jobs on $W workers"
        echo
        cat "$T/tiny.md"
        echo
        $PY - "$T/tiny.json" <<'PYEOF'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"- {r['command'].split(' (')[0]}: {1000 / r['median']:.0f} jobs/s (median of 3)")
PYEOF
        echo
        echo "### The bundled example (examples/webapp, MODEL_MB=$MODEL_MB, $W workers)"
        echo
        cat "$T/example.md"
        echo
        echo "pytest-xdist exit status: $xdist_rc (the example is built to fail under xdist); nsrun exit status: $nsrun_rc."
        $PY - "$T/example.json" <<'PYEOF'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
serial = next(v for k, v in r.items() if k.startswith("serial"))
for k, v in r.items():
    if k.startswith("nsrun"):
        print(f"{k}: {v / serial:.2f}x serial.")
PYEOF
        echo
        echo "### Fake suite: 40 sleep jobs, $sum s of work, longest $longest s, $W workers"
        echo
        echo "| nsrun -j $W -- sleep {} ::: ... | makespan | bound max(sum/W, longest) of the measured jobs | ratio | nsrun wall, end to end |"
        echo "|---|---|---|---|---|"
        echo "| first run (no history: source order) | ${cold_make} s | ${cold_bound} s | ${cold_ratio} | ${cold_total} s |"
        echo "| with history (longest first) | ${warm_make} s | ${warm_bound} s | ${warm_ratio} | ${warm_total} s |"
        echo
        echo "The same sleeps as 40 pytest test files (each job pays a pytest start-up):"
        echo
        $PY - "$T/fake.json" "$sum" "$W" <<'PYEOF'
import json, sys
s, w = float(sys.argv[2]), int(sys.argv[3])
print("| command | wall | vs serial |")
print("|---|---|---|")
res = json.load(open(sys.argv[1]))["results"]
serial = res[0]["mean"]
for x in res:
    print(f"| `{x['command']}` | {x['mean']:.2f} s | {x['mean'] / serial:.2f}x |")
PYEOF
} > "$out"
