#!/bin/bash
# tests/bench/bench-floor.sh [NSRUN [MARKDOWN_FILE]]
# The least a sandbox per test (--dist test) can cost here, against a job per file: what every per-test sandbox
# needs whatever nsrun does, measured on this machine, then the floor it sets on networkx.classes.
#   fork    one fork() of an interpreter holding pytest and networkx.classes' test modules, its exit and the
#           wait for it (the least a job forked from a prepared interpreter takes; median of 300)
#   unshare unshare(1) making user, mount, PID, network, IPC and UTS namespaces and forking into them, less a bare
#           `true` (hyperfine, 200 runs each, no shell)
# and nsrun -j 2 --dist file on networkx.classes (its tests, and the jobs' wall from --json). The floor is that
# wall plus each test's fork and namespaces spread over the workers: what --dist test would take with nothing else
# (no mounts, /proc, cgroup, pytest session per test). Writes a markdown table to MARKDOWN_FILE (default stdout).
# Env: BENCH_DIR (work directory, kept).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/bench-lib.sh"
NSRUN=$(realpath "${1:-$HERE/../../build/nsrun}")
out=${2:-/dev/stdout}
PY=/usr/bin/python3
bench_need bench-floor.sh python3-pytest python3-networkx hyperfine util-linux
bench_workdir nsrun-bench-floor
fork_ms=$($PY - <<'PYEOF'
import gc, os, statistics, time
import pytest
import networkx.classes.tests.test_graph, networkx.classes.tests.test_digraph, networkx.classes.tests.test_multigraph
gc.freeze()
def one():
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return (time.perf_counter() - t) * 1000
print("%.2f" % statistics.median(one() for _ in range(300)))
PYEOF
)
hyperfine -N --runs 200 --warmup 10 --export-json "$T/floor-unshare.json" \
        'unshare --user --map-root-user --mount --pid --net --ipc --uts --fork true' 'true' > /dev/null 2>&1
read -r ns_ms true_ms <<< "$($PY -c "import json, statistics as s
r = json.load(open('$T/floor-unshare.json'))['results']
print(' '.join('%.2f' % (s.median(x['times']) * 1000) for x in r))")"
mkdir -p "$T/classes"
cd "$T/classes"
rm -rf .nsrun
"$NSRUN" -j 2 --json "$T/floor-file.json" -- $PY -m pytest -q -p no:cacheprovider --pyargs networkx.classes \
        > "$T/floor-file.out" 2>&1 || true
read -r tests wall workers <<< "$($PY -c "import json; d = json.load(open('$T/floor-file.json'))
print(d['totals']['tests_passed'] + d['totals']['tests_failed'] + d['totals']['tests_skipped'], '%.2f' % d['wall_s'], d['workers'])")"
$PY - "$fork_ms" "$ns_ms" "$true_ms" "$tests" "$wall" "$workers" > "$out" <<'PYEOF'
import sys
fork, ns, true, tests, wall, workers = (float(x) for x in sys.argv[1:])
per_test = fork + (ns - true)
floor = wall + tests * per_test / 1000 / workers
print("| measured | value |")
print("|---|---|")
print("| fork, exit and wait of an interpreter holding pytest and networkx.classes' tests (median) | %.2f ms |" % fork)
print("| `unshare --user --map-root-user --mount --pid --net --ipc --uts --fork true`, less `true` (medians) | %.2f ms (%.2f - %.2f) |" % (ns - true, ns, true))
print("| networkx.classes under `nsrun -j 2`, a job per file: tests, the jobs' wall | %d tests, %.2f s |" % (tests, wall))
print("| a sandbox per test at least: that wall + tests x (fork + namespaces) / %d workers | %.2f s, %.2fx a job per file |" % (workers, floor, floor / wall))
PYEOF
