#!/bin/bash
# tests/bench/bench-blas.sh [NSRUN [MARKDOWN_FILE]]
# BLAS/OpenMP oversubscription (issue #16): a generated numpy suite (BENCH_BLAS_FILES files of two tests, each
# test BENCH_BLAS_REPS products of two BENCH_BLAS_N x BENCH_BLAS_N matrices and a solve) on OpenBLAS, whose pthread
# build starts one thread per CPU it sees unless OPENBLAS_NUM_THREADS or OMP_NUM_THREADS says otherwise; W workers
# (BENCH_WORKERS, 2) on this machine's CPUs. Each command once, in this order:
#   serial pytest                          one process, OpenBLAS's threads as it likes (one per CPU)
#   pytest -n W                            pytest-xdist: W processes, each with one OpenBLAS thread per CPU
#   OMP_NUM_THREADS=1 ... pytest -n W      the same with the thread variables set to 1 by hand
#   nsrun -j W, CPU share on               nsrun's default: each job told its share of the CPUs
#                                          (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, ... = CPUs / workers)
#   nsrun -j W, CPU share off              the same with OMP_NUM_THREADS=... set to the CPU count by the user:
#                                          nsrun keeps a value the user set (setenv_cpu_share(), runner-machine.c)
# Every nsrun run starts from an empty history (rm -rf .nsrun), so both are first runs.
# Per run: wall seconds, CPU seconds (user + system of the command and every process it waited for, from
# getrusage(RUSAGE_CHILDREN); for nsrun also the jobs' cpu_s from --json, read from their cgroups), tests passed
# and failed, and what each test process saw: OMP_NUM_THREADS, OpenBLAS's thread count (threadpoolctl) and the
# threads of the process after the products (/proc/self/task); each test writes one line of these into a
# directory shared with the host (nsrun --rw). The 1-minute load average before and after each run.
# OpenBLAS: numpy's BLAS when it is OpenBLAS already, else Debian's libopenblas0-pthread through LD_LIBRARY_PATH;
# the system's libblas.so.3 alternative is left as it was, also when this script installs OpenBLAS. Needs
# python3-numpy, python3-threadpoolctl, libopenblas0-pthread, python3-pytest-xdist (apt-get installs what is
# missing, as root).
# NSRUN: the nsrun binary (default: $NSRUN, else build/nsrun). MARKDOWN_FILE: default stdout.
# Env: BENCH_WORKERS (2), BENCH_BLAS_FILES (8), BENCH_BLAS_N (1500), BENCH_BLAS_REPS (8), BENCH_DIR (work here and
# keep it; default a temporary directory, removed).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
NSRUN=${1:-${NSRUN:-$SRC/build/nsrun}}
out=${2:-/dev/stdout}
W=${BENCH_WORKERS:-2}
FILES=${BENCH_BLAS_FILES:-8}
N=${BENCH_BLAS_N:-1500}
REPS=${BENCH_BLAS_REPS:-8}
PY=/usr/bin/python3
CPUS=$(nproc)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin       # Debian's python3 and pytest
THREAD_VARS=(OMP_NUM_THREADS OPENBLAS_NUM_THREADS MKL_NUM_THREADS NUMEXPR_NUM_THREADS VECLIB_MAXIMUM_THREADS RAYON_NUM_THREADS)
for v in "${THREAD_VARS[@]}"; do unset "$v"; done       # what the machine gives, not the caller's settings

. "$HERE/bench-lib.sh"
MULTIARCH=$($PY -c 'import sysconfig; print(sysconfig.get_config_var("MULTIARCH"))')
OPENBLAS_DIR=/usr/lib/$MULTIARCH/openblas-pthread
# installing OpenBLAS makes it the system's libblas.so.3 and liblapack.so.3: the other benchmarks and whatever
# else runs here keep the BLAS they had
alternative() { update-alternatives --query "$1" 2> /dev/null | awk '$1 == "Value:" { print $2 }'; }
alts=()
for a in libblas.so.3-$MULTIARCH liblapack.so.3-$MULTIARCH; do
        alts+=("$a" "$(alternative "$a")")
done
bench_need bench-blas.sh python3-pytest python3-pytest-xdist python3-numpy python3-threadpoolctl libopenblas0-pthread
for ((i = 0; i < ${#alts[@]}; i += 2)); do
        [ -z "${alts[i + 1]}" ] || [ "$(alternative "${alts[i]}")" = "${alts[i + 1]}" ] ||
                update-alternatives --set "${alts[i]}" "${alts[i + 1]}" > /dev/null
done
[ -x "$NSRUN" ] || { echo "bench-blas.sh: no nsrun at $NSRUN; build it (meson compile -C build) or pass its path" >&2; exit 1; }
NSRUN=$(realpath "$NSRUN")
blas_of_numpy() {
        $PY -c 'import numpy, threadpoolctl
numpy.ones((2, 2)) @ numpy.ones((2, 2))
print(" ".join(i["internal_api"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas") or "reference")'
}
if [ "$(blas_of_numpy)" != openblas ]; then
        export LD_LIBRARY_PATH=$OPENBLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
        [ "$(blas_of_numpy)" = openblas ] ||
                { echo "bench-blas.sh: numpy does not load OpenBLAS, even from $LD_LIBRARY_PATH" >&2; exit 1; }
fi
bench_workdir nsrun-bench-blas
rm -rf "$T/suite" "$T/threads"

# ---- the suite ----
mkdir -p "$T/suite/tests"
cat > "$T/suite/tests/conftest.py" <<'EOF'
import os
import uuid

import pytest
import threadpoolctl


@pytest.fixture
def threads_seen():
    """After the test: one line into $BENCH_BLAS_OUT: OMP_NUM_THREADS, OpenBLAS's threads, the process's threads."""
    yield
    blas = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    line = "%s %s %d\n" % (os.environ.get("OMP_NUM_THREADS", "unset"), blas[0] if blas else "none",
                           len(os.listdir("/proc/self/task")))
    with open(os.path.join(os.environ["BENCH_BLAS_OUT"], uuid.uuid4().hex), "w") as f:
        f.write(line)
EOF
for i in $(seq -w 1 "$FILES"); do
        cat > "$T/suite/tests/test_blas_$i.py" <<EOF
import numpy as np


def work(seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(($N, $N))
    b = rng.standard_normal(($N, $N))
    for _ in range($REPS):
        c = a @ b
    x = np.linalg.solve(a, c[:, :64])
    assert np.allclose(a @ x, c[:, :64], atol=1e-6 * $N)


def test_products_$i(threads_seen):
    work($((10#$i)))


def test_products_again_$i(threads_seen):
    work($((10#$i)) + 1000)
EOF
done

# run TAG CMD: CMD in the suite's directory under a CPU-time meter; TAG.run: wall cpu rc load_before load_after
run() {
        local tag=$1 cmd=$2
        mkdir -p "$T/threads/$tag"
        echo "$cmd" > "$T/$tag.cmd"
        echo "bench-blas.sh: (cd $T/suite && $cmd)" >&2
        (cd "$T/suite" && BENCH_BLAS_OUT="$T/threads/$tag" $PY - "$cmd" > "$T/$tag.run" 2> "$T/$tag.out") <<'PYEOF'
import os, resource, subprocess, sys, time
load = lambda: open("/proc/loadavg").read().split()[0]
l0, t0 = load(), time.monotonic()
rc = subprocess.run(["bash", "-c", sys.argv[1]], stdout=sys.stderr).returncode
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.1f} {ru.ru_utime + ru.ru_stime:.1f} {rc} {l0} {load()}")
PYEOF
}
pyt="$PY -m pytest -q -p no:cacheprovider"
ones=$(printf '%s=1 ' "${THREAD_VARS[@]}")
alls=$(for v in "${THREAD_VARS[@]}"; do printf '%s=%s ' "$v" "$CPUS"; done)
run serial "$pyt --junitxml=$T/serial.xml"
run xdist "$pyt -n $W --junitxml=$T/xdist.xml"
run xdist1 "env $ones$pyt -n $W --junitxml=$T/xdist1.xml"
rm -rf "$T/suite/.nsrun"
run share "$NSRUN -j $W --rw $T/threads --json $T/share.json --junit $T/share.xml -- $pyt"
rm -rf "$T/suite/.nsrun"
run noshare "env $alls$NSRUN -j $W --rw $T/threads --json $T/noshare.json --junit $T/noshare.xml -- $pyt"

# ---- the table ----
$PY - "$T" "$W" "$NSRUN" <<'PYEOF' > "$T/table.md"
import collections, json, os, sys
import xml.etree.ElementTree as ET

T, W, NSRUN = sys.argv[1], int(sys.argv[2]), sys.argv[3]
RUNS = [("serial", "serial `pytest`"), ("xdist", f"`pytest -n {W}`"),
        ("xdist1", f"`OMP_NUM_THREADS=1 ... pytest -n {W}`"),
        ("share", f"`nsrun -j {W}`, CPU share on (default)"),
        ("noshare", f"`nsrun -j {W}`, CPU share off (`OMP_NUM_THREADS={os.cpu_count()} ...` set by the user)")]

def counts(path):
    if not os.path.exists(path):
        return "?", "?"
    passed = failed = 0
    for tc in ET.parse(path).iter("testcase"):
        kinds = {c.tag for c in tc}
        if kinds & {"failure", "error"}:
            failed += 1
        elif "skipped" not in kinds:
            passed += 1
    return passed, failed

def seen(tag):
    """OMP_NUM_THREADS values, OpenBLAS thread counts and task counts over the tests, as 'value (tests)'"""
    lines = [open(os.path.join(T, "threads", tag, f)).read().split() for f in os.listdir(os.path.join(T, "threads", tag))]
    fmt = lambda c: ", ".join(f"{v} ({n})" if len(c) > 1 else v for v, n in sorted(c.items()))
    return (fmt(collections.Counter(l[0] for l in lines)), fmt(collections.Counter(l[1] for l in lines)),
            fmt(collections.Counter(l[2] for l in lines)))

print("| command | wall | CPU time | jobs' CPU (`--json` cpu_s) | passed | failed | OMP_NUM_THREADS in the tests "
      "| OpenBLAS threads per process (tests) | threads per process (tests) | exit | load 1 min before, after |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for k, label in RUNS:
    wall, cpu, rc, l0, l1 = open(f"{T}/{k}.run").read().split()
    p, f = counts(f"{T}/{k}.xml")
    jcpu = "-"
    if os.path.exists(f"{T}/{k}.json"):
        jobs = json.load(open(f"{T}/{k}.json"))["jobs"]
        jcpu = f"{sum(j.get('cpu_s') or 0 for j in jobs):.1f} s ({len(jobs)} jobs)"
    omp, blas, tasks = seen(k)
    print(f"| {label} | {wall} s | {cpu} s | {jcpu} | {p} | {f} | {omp} | {blas} | {tasks} | {rc} | {l0}, {l1} |")
print()
print("Commands, in the suite's directory, in this order; each nsrun run after `rm -rf .nsrun`; `$T/threads` is")
print("where the tests write what they saw:")
print()
for k, _ in RUNS:
    print("    " + open(f"{T}/{k}.cmd").read().strip().replace(T + "/", "$T/").replace(NSRUN, "nsrun"))
PYEOF
{
        echo "The suite: $FILES files of 2 tests, each test $REPS products of two $N x $N matrices and a solve;"
        echo "numpy $($PY -c 'import numpy; print(numpy.__version__)') on OpenBLAS" \
             "$($PY -c 'import numpy, threadpoolctl; print(next(i["version"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"))') (pthreads${LD_LIBRARY_PATH:+, LD_LIBRARY_PATH=$LD_LIBRARY_PATH})," \
             "$W workers, $CPUS CPUs; $("$NSRUN" --version | head -1); run $(date -u '+%Y-%m-%d %H:%M UTC')."
        echo
        cat "$T/table.md"
} > "$out"
