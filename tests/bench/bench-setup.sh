#!/bin/bash
# tests/bench/bench-setup.sh [MARKDOWN_FILE]
# The shared setup layer (--setup, issue #7) in one run on this machine. A project without bytecode, as a fresh
# CI checkout is: a copy of Debian's networkx package source (no __pycache__) whose classes/ and generators/
# tests run under nsrun -j W. Without --setup every job compiles the modules it imports into its own overlay,
# which is thrown away (and pytest rewrites every test module's assertions again); with --setup 'python3 -m
# compileall -q networkx && python3 -m pytest --collect-only ...' both are written once and every job reads them
# from the shared read-only layer. hyperfine, BENCH_RUNS runs each (default 3), after one run that
# fills the history. Then the bundled example the same two ways (5 runs each). Writes a markdown table to MARKDOWN_FILE (default stdout). Env: NSRUN, BENCH_WORKERS.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
NSRUN=${NSRUN:-$SRC/build/nsrun}
W=${BENCH_WORKERS:-$(nproc)}
RUNS=${BENCH_RUNS:-3}
out=${1:-/dev/stdout}
PY=/usr/bin/python3
PKG=$($PY -c 'import networkx, os; print(os.path.dirname(networkx.__file__))' 2>/dev/null) ||
        { echo "bench-setup.sh: needs Debian's python3-networkx (apt-get install python3-networkx)" >&2; exit 1; }
command -v hyperfine > /dev/null || { echo "bench-setup.sh: needs hyperfine" >&2; exit 1; }
T=$(mktemp -d /tmp/nsrun-bench-setup.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/proj"
cp -r "$PKG" "$T/proj/networkx"
find "$T/proj" -name __pycache__ -prune -exec rm -rf {} +
cd "$T/proj"
unset PYTHONDONTWRITEBYTECODE
tests="networkx/classes networkx/generators"
plain="$NSRUN -j $W --json $T/plain.json -- $PY -m pytest -q -p no:cacheprovider $tests"
# the setup byte-compiles the package, and lets pytest write its assertion-rewritten test modules once
prepare="$PY -m compileall -q networkx && $PY -m pytest -q --collect-only -p no:cacheprovider $tests > /dev/null"
setup="$NSRUN -j $W --json $T/setup.json --setup '$prepare' -- $PY -m pytest -q -p no:cacheprovider $tests"
eval "$plain" > /dev/null 2>&1 || true       # history for both: the same jobs
hyperfine --runs "$RUNS" --export-json "$T/h.json" --export-markdown "$T/h.md" \
        -n "nsrun -j $W -- pytest (every job compiles what it imports)" "$plain" \
        -n "nsrun -j $W --setup 'compileall; pytest --collect-only' -- pytest" "$setup" >&2
one_run() {      # one more run: "passed failed jobs setup-seconds summed-command-seconds"
        eval "$1" > /dev/null 2>&1 || true
        $PY - "$T/$2.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"{d['totals']['tests_passed']} {d['totals']['tests_failed']} {len(d['jobs'])} {d['setup_s'] or 0:.2f} "
      f"{sum(j['command_s'] for j in d['jobs']):.1f}")
PYEOF
}
read -r p_pass p_fail p_jobs _ p_cmd <<< "$(one_run "$plain" plain)"
read -r s_pass s_fail _ s_setup s_cmd <<< "$(one_run "$setup" setup)"
# the bundled example too (small: a few modules), the same two ways, models kept small (MODEL_MB=50)
cp -r "$SRC/examples/webapp" "$T/webapp"
rm -rf "$T/webapp/.nsrun" "$T/webapp/.pytest_cache"
find "$T/webapp" -name __pycache__ -prune -exec rm -rf {} +
cd "$T/webapp"
export MODEL_MB=50
ex_plain="$NSRUN -j $W -- $PY -m pytest -q -p no:cacheprovider"
ex_setup="$NSRUN -j $W --setup '$PY -m compileall -q webapp tests' -- $PY -m pytest -q -p no:cacheprovider"
eval "$ex_plain" > /dev/null 2>&1 || true
hyperfine --runs 5 --prepare 'rm -rf /tmp/webapp-costs.json data/sessions/test-*' --export-json "$T/ex.json" \
        --export-markdown "$T/ex.md" -n "nsrun -j $W -- pytest (the example)" "$ex_plain" \
        -n "nsrun -j $W --setup 'python3 -m compileall -q webapp tests' -- pytest (the example)" "$ex_setup" >&2
cd "$T/proj"
saved() {       # saved HYPERFINE_JSON: the medians of its two commands, and what the second saved
        $PY - "$1" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
a, b = r[0]["median"], r[1]["median"]
print(f"Median wall: {a:.2f} s without, {b:.2f} s with the setup layer: {a - b:.2f} s saved ({(a - b) / a * 100:.0f}%).")
PYEOF
}
{
        echo "A copy of networkx $($PY -c 'import networkx; print(networkx.__version__)') without bytecode, \`pytest $tests\` ($p_jobs jobs, $W workers):"
        echo
        cat "$T/h.md"
        echo
        echo "| | tests passed / failed | jobs' command time, summed | setup step |"
        echo "|---|---|---|---|"
        echo "| without --setup | $p_pass / $p_fail | $p_cmd s | - |"
        echo "| with --setup | $s_pass / $s_fail | $s_cmd s | $s_setup s |"
        echo
        saved "$T/h.json"
        echo
        echo "The bundled example (examples/webapp, MODEL_MB=50, 5 runs each):"
        echo
        cat "$T/ex.md"
        echo
        saved "$T/ex.json"
} > "$out"
