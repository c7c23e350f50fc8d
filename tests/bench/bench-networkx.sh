#!/bin/bash
# tests/bench/bench-networkx.sh [MARKDOWN_FILE]
# A real installed package's suite, in one run on this machine: Debian's python3-networkx tested with
# 'pytest --pyargs networkx' from an empty directory, three ways, each once:
#   serial pytest, pytest-xdist -n W, and nsrun -j W: its first run (no history), then a second one (with the
#   history and the collection the first kept).
# Writes a markdown table (wall seconds; passed, failed, skipped) to MARKDOWN_FILE (default stdout). Times are
# measured, never asserted; but nsrun must pass exactly as many tests as serial pytest, else this exits 1.
# Installs nothing: needs python3-networkx and python3-pytest-xdist (apt-get install -y python3-networkx
# python3-pytest-xdist). Env: NSRUN (default build/nsrun), BENCH_WORKERS (default 2).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
NSRUN=${NSRUN:-$SRC/build/nsrun}
W=${BENCH_WORKERS:-2}
PY=/usr/bin/python3
out=${1:-/dev/stdout}

for pkg in python3-networkx python3-pytest-xdist; do
        dpkg-query -W -f='${Status}' "$pkg" 2> /dev/null | grep -q 'install ok installed' ||
                { echo "bench-networkx.sh: needs Debian's $pkg (apt-get install -y $pkg)" >&2; exit 1; }
done
[ -x "$NSRUN" ] || { echo "bench-networkx.sh: no nsrun at $NSRUN; build it (meson compile -C build) or set NSRUN" >&2; exit 1; }
T=$(mktemp -d /tmp/nsrun-bench-nx.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/empty"
cd "$T/empty"

# timed NAME COMMAND...: runs COMMAND here, output to $T/NAME.out; its wall seconds to $T/NAME.time
timed() {
        local name=$1 t0 t1 rc=0
        shift
        echo "bench-networkx.sh: $*" >&2
        t0=$(date +%s.%N)
        "$@" > "$T/$name.out" 2>&1 || rc=$?
        t1=$(date +%s.%N)
        echo "$t0 $t1" | awk '{ printf "%.1f\n", $2 - $1 }' > "$T/$name.time"
        echo "$rc" > "$T/$name.rc"
}
# pytest's summary line, as "passed failed skipped"
pytest_counts() {
        $PY - "$1" <<'PYEOF'
import re, sys
lines = [l for l in open(sys.argv[1], errors="replace") if re.search(r"\d+ (passed|failed)", l) and " in " in l]
t = lines[-1] if lines else ""
print(*(int((re.search(r"(\d+) " + w + r"\b", t) or [0, 0])[1]) for w in ("passed", "failed", "skipped")))
PYEOF
}

timed serial $PY -m pytest --pyargs networkx -q -p no:cacheprovider
timed xdist $PY -m pytest --pyargs networkx -n "$W"
rm -rf .nsrun .pytest_cache
timed nsrun "$NSRUN" -j "$W" --json "$T/nsrun.json" -- $PY -m pytest --pyargs networkx
timed nsrun2 "$NSRUN" -j "$W" --json "$T/nsrun2.json" -- $PY -m pytest --pyargs networkx

read -r s_pass s_fail s_skip <<< "$(pytest_counts "$T/serial.out")"
read -r x_pass x_fail x_skip <<< "$(pytest_counts "$T/xdist.out")"
nsrun_counts() {
        $PY - "$1" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
t, jobs, st = d["totals"], d["jobs"], d["startup"]
print(t["tests_passed"], t["tests_failed"], t["tests_skipped"], len(jobs),
      f"{sum(j['wall_s'] for j in jobs):.1f}", f"{sum(j.get('setup_s') or 0 for j in jobs):.1f}",
      f"{100 * (st['share'] or 0):.0f}")
PYEOF
}
read -r n_pass n_fail n_skip n_jobs n_job_s n_setup_s n_share <<< "$(nsrun_counts "$T/nsrun.json")"
read -r m_pass m_fail m_skip m_jobs m_job_s m_setup_s m_share <<< "$(nsrun_counts "$T/nsrun2.json")"
version=$($PY -c 'import networkx; print(networkx.__version__)')
serial_s=$(cat "$T/serial.time")
ratio() { echo "$1 $serial_s" | awk '{ printf "%.2fx", $1 / $2 }'; }

{
        echo "### An installed package: \`pytest --pyargs networkx\` (networkx $version, $W workers)"
        echo
        echo "| command | wall | passed | failed | skipped | vs serial | exit status |"
        echo "|---|---|---|---|---|---|---|"
        echo "| \`python3 -m pytest --pyargs networkx -q -p no:cacheprovider\` | ${serial_s} s | $s_pass | $s_fail | $s_skip | 1.00x | $(cat "$T/serial.rc") |"
        echo "| \`python3 -m pytest --pyargs networkx -n $W\` | $(cat "$T/xdist.time") s | $x_pass | $x_fail | $x_skip | $(ratio "$(cat "$T/xdist.time")") | $(cat "$T/xdist.rc") |"
        echo "| \`nsrun -j $W -- python3 -m pytest --pyargs networkx\`, first run | $(cat "$T/nsrun.time") s | $n_pass | $n_fail | $n_skip | $(ratio "$(cat "$T/nsrun.time")") | $(cat "$T/nsrun.rc") |"
        echo "| the same, second run (history, collection kept) | $(cat "$T/nsrun2.time") s | $m_pass | $m_fail | $m_skip | $(ratio "$(cat "$T/nsrun2.time")") | $(cat "$T/nsrun2.rc") |"
        echo
        echo "Run from an empty directory, each once, in this order. nsrun's first run had no history and ran $n_jobs"
        echo "jobs: ${n_job_s} s of job wall time in all, plus ${n_setup_s} s of sandbox and cgroup set-up; start-up"
        echo "(sandboxes and pytest's own) was ${n_share}% of the jobs' time. The second ran $m_jobs jobs sized by that"
        echo "start-up (${m_share}%), reusing the first run's collection. nsrun's skipped count is pytest's JUnit one:"
        echo "xfailed tests count as skipped, and modules skipped at collection are no test."
} > "$out"

if [ "$n_pass" != "$s_pass" ] || [ "$m_pass" != "$s_pass" ]; then
        echo "bench-networkx.sh: nsrun passed $n_pass tests, serial pytest $s_pass: they must be equal; see nsrun's" \
             "failing jobs in $T/empty/.nsrun/logs (kept)" >&2
        trap - EXIT
        exit 1
fi
