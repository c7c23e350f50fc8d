#!/bin/bash
# Each job sees a machine the size of its share (issue 16): /proc/meminfo reads as a machine of its memory cap,
# /proc/swaps lists no swap, a root command can neither change nor uncover that file, and OpenMP/BLAS/rayon are
# told the job's CPU share unless the user set them. As root and as an unprivileged user.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
GIB_KB=1048576

setup_scratch
require_sandbox
P=$(make_project)
cd "$P" || exit 1
# kb FIELD TEXT: a /proc/meminfo field's kB
kb() { printf '%s\n' "$2" | awk -v f="$1:" '$1 == f { print $2 }'; }
host_total=$(kb MemTotal "$(cat /proc/meminfo)")

# --- nsrun exec --mem 1G ---
info=$(nsrun exec --mem 1G -- cat /proc/meminfo 2>&1)
diag <<< "$info"
is "exec --mem 1G: MemTotal is 1 GiB" "$(kb MemTotal "$info")" "$GIB_KB"
check "... MemAvailable and MemFree at most 1 GiB" \
        test "$(kb MemAvailable "$info")" -le "$GIB_KB" -a "$(kb MemFree "$info")" -le "$GIB_KB"
is "... no field above MemTotal" \
        "$(printf '%s\n' "$info" | awk -v t="$GIB_KB" '$3 == "kB" && $2 > t { print $1 }' | tr '\n' ' ')" ""
is "... no swap (SwapTotal, SwapFree, SwapCached 0)" \
        "$(kb SwapTotal "$info") $(kb SwapFree "$info") $(kb SwapCached "$info")" "0 0 0"
is "... /proc/swaps lists no swap (its header only)" \
        "$(nsrun exec --mem 1G -- cat /proc/swaps 2>&1 | grep -vc '^Filename')" 0
like "... and free(1), which reads /proc/meminfo, says 1 GiB" \
        "$(nsrun exec --mem 1G -- free -m 2>&1)" 'Mem: +1024 '
like "... psutil-style readers too: Python sees MemAvailable of at most 1 GiB" \
        "$(nsrun exec --mem 1G -- "$PY" -c "
m = dict(l.split(':') for l in open('/proc/meminfo'))
print('avail-ok' if int(m['MemAvailable'].split()[0]) <= $GIB_KB else m['MemAvailable'])" 2>&1)" '^avail-ok$'
is "without a cap the host's MemTotal shows" "$(kb MemTotal "$(nsrun exec -- cat /proc/meminfo 2>&1)")" "$host_total"

# --- the fake cannot be changed or uncovered, even by a root command ---
out=$(nsrun exec --mem 1G -- sh -c '
        echo "MemTotal: 99999999 kB" > /proc/meminfo 2>/dev/null && echo WROTE
        umount /proc/meminfo 2>/dev/null && echo UNMOUNTED
        mount -o remount,rw /proc/meminfo 2>/dev/null && echo REMOUNTED
        unshare -Urm sh -c "umount /proc/meminfo 2>/dev/null && echo NESTED-UNMOUNTED
                            umount -l /proc 2>/dev/null && echo NESTED-PROC-UNMOUNTED
                            grep MemTotal /proc/meminfo"' 2>&1)
diag <<< "$out"
is "a command cannot write, unmount or remount /proc/meminfo, nor unmount it (or /proc) in a nested namespace" \
        "$(printf '%s\n' "$out" | grep -E 'WROTE|UNMOUNTED|REMOUNTED' | tr '\n' ' ')" ""
like "... which still shows the cap there" "$out" "MemTotal: +$GIB_KB kB"

# --- the runner: every job, under --mem-per-worker 1G ---
out_dir=$(make_project out)
nsrun -j 2 --mem-per-worker 1G --rw "$out_dir" -- \
        sh -c 'grep -E "^Mem(Total|Available):" /proc/meminfo > "$1/$2"' _ "$out_dir" {} ::: a b c d > /dev/null 2>&1
is "runner --mem-per-worker 1G: every job reads MemTotal and MemAvailable of at most 1 GiB" \
        "$(cat "$out_dir"/[abcd] 2>/dev/null | awk -v t="$GIB_KB" '$2 <= t { n++ } END { print n + 0 }')" 8

# --- CPUs: two workers on two CPUs, each job told it has one ---
show='printf "%s %s %s %s %s %s" "$OMP_NUM_THREADS" "$OPENBLAS_NUM_THREADS" "$MKL_NUM_THREADS" \
        "$NUMEXPR_NUM_THREADS" "$VECLIB_MAXIMUM_THREADS" "$RAYON_NUM_THREADS" > "$1/$2"'
cpus_run() { # cpus_run [ENV=VALUE] [OPTIONS]: the six variables as each of two jobs saw them, on CPUs 0 and 1
        local env=()
        [[ "${1:-}" == *=* ]] && { env=("$1"); shift; }
        rm -f "$out_dir"/[ab]
        as_test_user env -u OMP_NUM_THREADS "${env[@]}" taskset -c 0,1 "$NSRUN_BIN" -j 2 "$@" --rw "$out_dir" -- \
                sh -c "$show" _ "$out_dir" {} ::: a b > /dev/null 2>&1
        echo "$(cat "$out_dir/a" 2>&1)|$(cat "$out_dir/b" 2>&1)"
}
if [ "$(nproc --all)" -ge 2 ]; then
        is "two workers on two CPUs: each job gets 1 in OMP_NUM_THREADS, OPENBLAS, MKL, NUMEXPR, VECLIB, RAYON" \
                "$(cpus_run)" "1 1 1 1 1 1|1 1 1 1 1 1"
        is "... the user's own OMP_NUM_THREADS is kept" "$(cpus_run OMP_NUM_THREADS=3)" "3 1 1 1 1 1|3 1 1 1 1 1"
        is "... --cpus-per-job 2 sets the share by hand" "$(cpus_run --cpus-per-job 2)" "2 2 2 2 2 2|2 2 2 2 2 2"
        # A job the history knows is told the CPUs it learned to keep busy (its cpu_request), one it does not know
        # the share. Each run measures them again, so the history is set by hand before each: a busy 'a' and a
        # quiet 'b' (cpus: CPU time over wall time; absent: never measured).
        learn() {
                $PY - "$P/.nsrun/history.json" "$@" <<'PYEOF'
import json, sys
h = json.load(open(sys.argv[1]))
for arg in sys.argv[2:]:
        name, cpus = arg.split("=")
        if cpus:
                h["jobs"][name]["cpus"] = float(cpus)
        else:
                del h["jobs"][name]
json.dump(h, open(sys.argv[1], "w"))
PYEOF
        }
        learn a=1.95 b=0.01
        is "... a job learned to keep two CPUs busy is told 2 (its cpu_request), one learned at one CPU 1" \
                "$(cpus_run)" "2 2 2 2 2 2|1 1 1 1 1 1"
        learn a=1.95 b=0.01
        is "... the user's own OMP_NUM_THREADS is kept there too" "$(cpus_run OMP_NUM_THREADS=3)" "3 2 2 2 2 2|3 1 1 1 1 1"
        learn a=1.95 b=0.01
        is "... and --cpus-per-job 1 still sets every job's by hand" "$(cpus_run --cpus-per-job 1)" \
                "1 1 1 1 1 1|1 1 1 1 1 1"
        learn a=0.01 b=
        is "-j 1 (a share of 2): a job learned at one CPU is told 1, one never measured the share, 2" \
                "$(cpus_run -j 1)" "1 1 1 1 1 1|2 2 2 2 2 2"
else
        ok "# SKIP a machine with one CPU has no two workers on two CPUs"
fi

# --- a test that skips itself below 4 GiB available, as memory-hungry suites do ---
as_test_user mkdir -p "$P/tests"
as_test_user sh -c "cat > '$P/tests/test_big.py'" <<'PYEOF'
import pytest

def available_gib():
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / (1 << 20)

@pytest.mark.skipif(available_gib() < 4, reason="needs 4 GiB available")
def test_big_model():
    pass

def test_small():
    pass
PYEOF
rm -rf "$P/.nsrun"
nsrun --mem-per-worker 2G --json "$SCRATCH/2g.json" -- pytest tests > /dev/null 2>&1
is "--mem-per-worker 2G: the test that needs 4 GiB available skips itself, the other passes" \
        "$(json "$SCRATCH/2g.json" "(d['totals']['tests_skipped'], d['totals']['tests_passed'])" 2>&1)" "(1, 1)"
rm -rf "$P/.nsrun"
nsrun --mem-per-worker 8G --json "$SCRATCH/8g.json" -- pytest tests > /dev/null 2>&1
is "--mem-per-worker 8G: it runs (and passes)" \
        "$(json "$SCRATCH/8g.json" "(d['totals']['tests_skipped'], d['totals']['tests_passed'])" 2>&1)" "(0, 2)"
# The second run has the history: the job is capped at its learned request (a few tens of MiB), yet the machine
# it sees is still its 8G slot, or the test would skip itself from now on, and stay small in the history.
nsrun --mem-per-worker 8G --json "$SCRATCH/8g-again.json" -- pytest tests > /dev/null 2>&1
is "... and runs again on the next run, capped at its learned request below 4 GiB, seeing its 8G slot" \
        "$(json "$SCRATCH/8g-again.json" "(d['totals']['tests_skipped'], d['totals']['tests_passed'], d['jobs'][0]['mem_request_bytes'] < (4 << 30))" 2>&1)" \
        "(0, 2, True)"
done_testing
