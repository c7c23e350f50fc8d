#!/bin/bash
# tests/bench/bench-suites.sh [NSRUN [MARKDOWN_FILE]]
# Suites nobody here wrote (issue #17), each run four ways, once each, in this order, on this machine:
#   serial pytest, pytest-xdist -n W, nsrun -j W from an empty history (its first run), then nsrun again (second
#   run, with the history and the collection the first kept).
# The suites (BENCH_SUITES picks some, by these names):
#   networkx        pytest --pyargs networkx                        (Debian's python3-networkx)
#   scipy.optimize  pytest --pyargs scipy.optimize                  (python3-scipy)
#   sympy.matrices  pytest --pyargs sympy.matrices, less its three tests of 20 s or more (62, 25 and 22 s on this
#                   machine; one of them alone is longer than the rest of the suite on one CPU), to keep a full
#                   run of this script near 15 minutes on 2 CPUs; BENCH_SYMPY_FULL=1 runs them too
#   one-test        40 generated files of one test each, each importing what a real suite's test file imports
#                   (numpy and scipy.linalg, networkx, sympy, or email/json/xml/decimal from the standard library)
# Per run: wall seconds, tests passed/failed/skipped (from each run's JUnit XML: pytest's --junitxml, nsrun's
# --junit; xfailed counts as skipped there), whether the passed test ids are the serial run's, parallel efficiency
# (serial wall / (W x wall)), wall against pytest -n W's, and for nsrun, from its --json: the jobs, their start-up
# share (the runner's startup.share: sandbox set-up and teardown plus each pytest's own start-up, over the jobs'
# time), the median start-up per job (setup_s + teardown_s + wall_s less the job's file_seconds), and the time
# outside its run of the jobs (the measured wall less --json's wall_s: the collection pass, set-up, reports). The
# 1-minute load average before and after each run, since a shared machine skews these. Times are measured, never
# asserted; but an nsrun run that does not pass every test serial pytest passed makes this exit 1, after the
# table. Test ids are compared without the --pyargs package's prefix, which nsrun's JUnit report had before
# 614b7ef (pytest's ids are relative to the package's directory, and nsrun's jobs' now too), so that older builds
# compare.
# Every command is printed (stderr and the table's notes) with the directory it runs in, so it can be rerun.
# NSRUN: the nsrun binary (default: $NSRUN, else build/nsrun of this checkout). MARKDOWN_FILE: default stdout.
# Env: BENCH_SUITES (default all four), BENCH_EXTRA (words: "off" adds nsrun --fork off's first and second run,
# every job a fresh interpreter after a collection pass, the "before" of issue 17's prepared interpreters; "dist"
# adds nsrun --batch off, a job per file, and --dist test, a sandbox per test, both with the history), BENCH_WORKERS (2), BENCH_DIR (work here and keep it; default a temporary
# directory, removed), BENCH_TIMEOUT (seconds per run, 900). Needs python3-pytest-xdist, python3-networkx,
# python3-scipy, python3-sympy (installed with apt-get when missing, as root).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
NSRUN=${1:-${NSRUN:-$SRC/build/nsrun}}
out=${2:-/dev/stdout}
W=${BENCH_WORKERS:-2}
SUITES=${BENCH_SUITES:-networkx scipy.optimize sympy.matrices one-test}
EXTRA=${BENCH_EXTRA:-}
LIMIT=${BENCH_TIMEOUT:-900}
PY=/usr/bin/python3
export PATH=/usr/sbin:/usr/bin:/sbin:/bin       # Debian's python3 and pytest

. "$HERE/bench-lib.sh"
bench_need bench-suites.sh python3-pytest python3-pytest-xdist python3-networkx python3-scipy python3-sympy
[ -x "$NSRUN" ] || { echo "bench-suites.sh: no nsrun at $NSRUN; build it (meson compile -C build) or pass its path" >&2; exit 1; }
NSRUN=$(realpath "$NSRUN")
bench_workdir nsrun-bench-suites

# The 40 one-test files: four kinds of imports, each file's test doing a little real work with them.
make_one_test() {
        local d=$1 i n
        mkdir -p "$d/tests"
        for i in $(seq -w 1 40); do
                n=$((10#$i))
                case $((n % 4)) in
                0) cat <<EOF ;;
import numpy as np
import scipy.linalg


def test_solve_$i():
    rng = np.random.default_rng($n)
    a = rng.random((60, 60)) + 60 * np.eye(60)
    x = scipy.linalg.solve(a, np.ones(60))
    assert np.allclose(a @ x, 1)
EOF
                1) cat <<EOF ;;
import networkx as nx


def test_shortest_paths_$i():
    g = nx.grid_2d_graph(12, 12)
    assert nx.shortest_path_length(g, (0, 0), (11, 11)) == 22
    assert nx.is_connected(g)
EOF
                2) cat <<EOF ;;
import sympy


def test_expand_$i():
    x, y = sympy.symbols("x y")
    e = sympy.expand((x + y) ** 6)
    assert e.coeff(x, 3) == 20 * y ** 3
    assert sympy.factor(e) == (x + y) ** 6
EOF
                3) cat <<EOF ;;
import decimal
import email.message
import json
import xml.etree.ElementTree as ET


def test_round_trip_$i():
    m = email.message.EmailMessage()
    m["Subject"] = "test $i"
    m.set_content(json.dumps({"n": $n, "d": str(decimal.Decimal(1) / 7)}))
    doc = ET.fromstring("<r><n>$n</n></r>")
    assert json.loads(m.get_content())["n"] == int(doc.find("n").text)
EOF
                esac > "$d/tests/test_one_$i.py"
        done
}

# The pytest arguments of each suite, as one string of words.
suite_args() {
        case $1 in
        networkx|scipy.optimize) echo "--pyargs $1" ;;
        sympy.matrices)
                if [ "${BENCH_SYMPY_FULL:-0}" = 1 ]; then
                        echo "--pyargs sympy.matrices"
                else
                        echo "--pyargs sympy.matrices -k 'not test_pinv_rank_deficient_when_diagonalization_fails and not test_upper_hessenberg_decomposition and not test_bidiagonalize'"
                fi ;;
        one-test) echo "tests" ;;
        *) echo "bench-suites.sh: unknown suite '$1' (networkx, scipy.optimize, sympy.matrices, one-test)" >&2; return 1 ;;
        esac
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# timed DIR TAG CMD: runs the shell command CMD in DIR (output to TAG.out), records wall seconds, exit status and
# the load before and after in TAG.run ("wall rc load_before load_after") and the command line in TAG.cmd.
timed() {
        local dir=$1 tag=$2 cmd=$3 t0 t1 l0 l1 rc=0
        echo "$cmd" > "$tag.cmd"
        echo "bench-suites.sh: (cd $dir && $cmd)" >&2
        l0=$(load1)
        t0=$(date +%s.%N)
        (cd "$dir" && timeout "$LIMIT" bash -c "$cmd") > "$tag.out" 2>&1 || rc=$?
        t1=$(date +%s.%N)
        l1=$(load1)
        echo "$t0 $t1 $rc $l0 $l1" | awk '{ printf "%.1f %s %s %s\n", $2 - $1, $3, $4, $5 }' > "$tag.run"
}

for s in $SUITES; do
        args=$(suite_args "$s")
        d=$T/$s
        rm -rf "$d"
        mkdir -p "$d"
        [ "$s" != one-test ] || make_one_test "$d"
        r=$T/$s-run
        pyt="$PY -m pytest -q -p no:cacheprovider $args"
        timed "$d" "$r-serial" "$pyt --junitxml=$r-serial.xml"
        timed "$d" "$r-xdist" "$pyt -n $W --junitxml=$r-xdist.xml"
        rm -rf "$d/.nsrun"      # the first run: an empty history
        timed "$d" "$r-nsrun1" "$NSRUN -j $W --json $r-nsrun1.json --junit $r-nsrun1.xml -- $pyt"
        timed "$d" "$r-nsrun2" "$NSRUN -j $W --json $r-nsrun2.json --junit $r-nsrun2.xml -- $pyt"
        case " $EXTRA " in *" off "*)     # every job a fresh interpreter, after a collection pass: the "before"
                rm -rf "$d/.nsrun"
                timed "$d" "$r-off1" "$NSRUN -j $W --fork off --json $r-off1.json --junit $r-off1.xml -- $pyt"
                timed "$d" "$r-off2" "$NSRUN -j $W --fork off --json $r-off2.json --junit $r-off2.xml -- $pyt" ;;
        esac
        case " $EXTRA " in *" dist "*)    # a job per file, and a sandbox per test
                timed "$d" "$r-file" "$NSRUN -j $W --batch off --json $r-file.json --junit $r-file.xml -- $pyt"
                timed "$d" "$r-test" "$NSRUN -j $W --dist test --json $r-test.json --junit $r-test.xml -- $pyt" ;;
        esac
done

# ---- the table ----
$PY - "$T" "$W" "$NSRUN" "$SUITES" > "$T/table.md" <<'PYEOF'
import json, os, statistics, sys
import xml.etree.ElementTree as ET

T, W, NSRUN, SUITES = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split()
ALL_RUNS = [("serial", "serial `pytest`"), ("xdist", f"`pytest -n {W}`"),
            ("nsrun1", f"`nsrun -j {W}`, first run"), ("nsrun2", f"`nsrun -j {W}`, second run"),
            ("off1", f"`nsrun -j {W} --fork off`, first run"), ("off2", f"`nsrun -j {W} --fork off`, second run"),
            ("file", f"`nsrun -j {W} --batch off` (a job per file)"),
            ("test", f"`nsrun -j {W} --dist test` (a job per test)")]

def junit(path, package):
    """passed ids, failed (failures and errors), skipped (xfailed too), or None when there is no report"""
    if not os.path.exists(path):
        return None
    passed, failed, skipped = set(), 0, 0
    for tc in ET.parse(path).iter("testcase"):
        kinds = {c.tag for c in tc}
        cls = tc.get("classname", "")
        tid = (cls[len(package) + 1:] if package and cls.startswith(package + ".") else cls, tc.get("name", ""))
        if kinds & {"failure", "error"}:
            failed += 1
        elif "skipped" in kinds:
            skipped += 1
        else:
            passed.add(tid)
    return passed, failed, skipped

def startup(path):
    """the jobs, the start-up share, the median start-up per job (s), nsrun's own wall (s)"""
    if not os.path.exists(path):
        return None
    d = json.load(open(path))
    jobs = [j for j in d["jobs"] if j["attempts"] > 0]
    per_job = [j["setup_s"] + j["teardown_s"] + max(j["wall_s"] - sum((j.get("file_seconds") or {}).values()), 0)
               for j in jobs if j.get("file_seconds")]
    share = (d.get("startup") or {}).get("share")
    return len(jobs), share, statistics.median(per_job) if per_job else None, d["wall_s"]

print(f"| suite | command | wall | passed | failed | skipped | serial's pass set | efficiency | vs `pytest -n {W}` "
      f"| jobs | start-up share | start-up per job (median) | before and after the jobs | exit | load 1 min before, after |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
missing = []
for s in SUITES:
    r = f"{T}/{s}-run"
    RUNS = [(k, label) for k, label in ALL_RUNS if os.path.exists(f"{r}-{k}.run")]
    run = {k: open(f"{r}-{k}.run").read().split() for k, _ in RUNS}
    wall = {k: float(v[0]) for k, v in run.items()}
    package = s if s != "one-test" else ""
    base = junit(f"{r}-serial.xml", package)
    for k, label in RUNS:
        w, rc, l0, l1 = run[k]
        j = junit(f"{r}-{k}.xml", package)
        if j is None:
            p = f = sk = "?"
            same = "no report"
        else:
            p, f, sk = len(j[0]), j[1], j[2]
            if k == "serial":
                same = "-"
            elif base is None:
                same = "?"
            elif j[0] == base[0]:
                same = "yes"
            else:
                same = f"no: {len(base[0] - j[0])} of serial's missing, {len(j[0] - base[0])} more"
                if k not in ("serial", "xdist") and base[0] - j[0]:
                    missing.append(f"{s}, {label}: {len(base[0] - j[0])} tests serial pytest passed did not pass, "
                                   f"e.g. {'::'.join(sorted(base[0] - j[0])[0])}")
        eff = f"{wall['serial'] / (W * wall[k]):.2f}" if k != "serial" else "-"
        ours = k not in ("serial", "xdist")
        vs = f"{wall[k] / wall['xdist']:.2f}x" if ours else "-"
        st = startup(f"{r}-{k}.json") if ours else None
        if st:
            n, share, med, own = st
            sj = [str(n), f"{100 * share:.0f}%" if share is not None else "?",
                  f"{1000 * med:.0f} ms" if med is not None else "?", f"{float(w) - own:.1f} s"]
        else:
            sj = ["-"] * 4
        print(f"| {s} | {label} | {float(w):.1f} s | {p} | {f} | {sk} | {same} | {eff} | {vs} | "
              + " | ".join(sj) + f" | {rc} | {l0}, {l1} |")
print()
print("Commands, each run in its suite's directory (an empty one for the `--pyargs` suites; for one-test, the")
print("directory of the generated files), in this order; each first nsrun run (and `--fork off`'s) after `rm -rf .nsrun`:")
print()
for s in SUITES:
    for k, _ in ALL_RUNS:
        if not os.path.exists(f"{T}/{s}-run-{k}.cmd"):
            continue
        cmd = open(f"{T}/{s}-run-{k}.cmd").read().strip().replace(T + "/", "$T/").replace(NSRUN, "nsrun")
        print(f"    # {s}, {k}\n    {cmd}")
open(f"{T}/missing.txt", "w").write("".join(m + "\n" for m in missing))
PYEOF
{
        echo "$W workers, $(nproc) CPUs, $PY $($PY -c 'import sys; print(sys.version.split()[0])'), pytest" \
             "$($PY -c 'import pytest; print(pytest.__version__)'), networkx $($PY -c 'import networkx; print(networkx.__version__)')," \
             "scipy $($PY -c 'import scipy; print(scipy.__version__)'), sympy $($PY -c 'import sympy; print(sympy.__version__)');" \
             "$("$NSRUN" --version | head -1); run $(date -u '+%Y-%m-%d %H:%M UTC')."
        echo
        cat "$T/table.md"
} > "$out"
# nsrun must pass what serial pytest passes (passing more, a test that fails only serially, is reported above)
if [ -s "$T/missing.txt" ]; then
        sed 's/^/bench-suites.sh: /' "$T/missing.txt" >&2
        echo "bench-suites.sh: see the runs' output and nsrun's logs in $T (kept)" >&2
        trap - EXIT
        exit 1
fi
