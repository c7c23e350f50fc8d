#!/bin/bash
# nsrun -- COMMAND: the runner on the bundled example and on plain jobs, as root and as an unprivileged user
# (in cgroups root delegated to it).
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

setup_scratch
require_sandbox
W=$(copy_example webapp)
cd "$W" || exit 1

# --- the example: broken under pytest-xdist, green under nsrun, three times in a row (first run, then with history) ---
as_test_user env MODEL_MB=200 pytest -q -p no:cacheprovider -n 4 > "$SCRATCH/xdist.out" 2>&1
rc=$?
check "the example fails under pytest -n 4 (it reproduces the blockers)" test "$rc" != 0
before=$(tree_digest "$W")
green=0
for i in 1 2 3; do
        as_test_user env MODEL_MB=200 "$NSRUN_BIN" --json "$SCRATCH/run$i.json" -- pytest > "$SCRATCH/run$i.out" 2>&1 &&
                green=$((green + 1))
done
is "the example passes under nsrun three runs in a row" "$green" 3
tail -n 3 "$SCRATCH/run1.out" | diag
is "... all 23 tests passed each time" \
        "$(for i in 1 2 3; do json "$SCRATCH/run$i.json" "d['totals']['tests_passed']"; done | sort -u)" 23
is "the host copy of the project is unchanged afterwards" "$(tree_digest "$W")" "$before"
like "each finished job gets one line (no terminal: no control characters)" "$(cat "$SCRATCH/run1.out")" \
        '^\[1/7\] PASS tests/'
check "... and the output holds no escape sequence" sh -c "! grep -q \$'\\033' '$SCRATCH/run1.out'"
is "one job per test file (--dist loadfile)" "$(json "$SCRATCH/run1.json" "len(d['jobs'])")" 7
is "the report's fields" "$(json "$SCRATCH/run1.json" "set(d['jobs'][0]) >= {'name','status','exit_code','attempts','wall_s','peak_mem_bytes','tests_passed','tests_failed','tests_skipped'} and set(d) >= {'workers','mem_per_worker_bytes','cpu_budget','mem_budget_bytes','jobs','totals'} and set(d['totals']) >= {'tests_passed','tests_failed','tests_skipped'}")" True
check "each job's output is in .nsrun/logs" test -s "$W/.nsrun/logs/tests_test_ledger.py.log"
check "the history is kept in .nsrun/history.json" test -s "$W/.nsrun/history.json"
is "the second run orders by history: every job has an expected time, longest first" \
        "$(json "$SCRATCH/run2.json" "(lambda e: all(x is not None for x in e) and e == sorted(e, reverse=True))([j['expected_s'] for j in d['jobs']])")" True

# --- JUnit: one testcase per test, accepted by CI servers ---
as_test_user env MODEL_MB=200 "$NSRUN_BIN" --junit "$SCRATCH/r.xml" -- pytest > /dev/null 2>&1
is "--junit writes one merged report with a testcase per test" \
        "$($PY -c "import xml.etree.ElementTree as E; r=E.parse('$SCRATCH/r.xml').getroot(); print(r.tag, r.get('tests'), len(r.findall('.//testcase')))")" \
        "testsuites 23 23"

# --- pytest options kept, selections, subdirectory, ids with spaces and brackets ---
out=$(as_test_user env MODEL_MB=200 "$NSRUN_BIN" --json "$SCRATCH/k.json" -- pytest -k "ledger and not refund" 2>&1)
selected=$(as_test_user pytest --collect-only -q -p no:cacheprovider -k 'ledger and not refund' 2>&1 | grep -c '::')
is "-k selects as pytest does" "$(json "$SCRATCH/k.json" "(len(d['jobs']), d['totals']['tests_passed'])")" "(1, $selected)"
mkdir -p "$W/tests/sub" && cat > "$W/tests/sub/test_ids.py" <<'PYEOF'
import pytest

@pytest.mark.parametrize("text", ["two words", "[brackets]", "a::b"])
def test_ids(text):
    assert text
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$W/tests/sub"
out=$(cd "$W/tests/sub" && as_test_user "$NSRUN_BIN" --dist test --json "$SCRATCH/ids.json" -- pytest test_ids.py 2>&1)
is "from a subdirectory, --dist test runs parametrised ids with spaces and brackets one by one" \
        "$(json "$SCRATCH/ids.json" "(len(d['jobs']), d['totals']['tests_passed'], sorted(j['status'] for j in d['jobs']))")" \
        "(3, 3, ['passed', 'passed', 'passed'])"
printf '[pytest]\naddopts = -v -n auto --dist=loadfile\ntestpaths = tests\npythonpath = .\n' > "$W/pytest.ini"
out=$(as_test_user env MODEL_MB=200 "$NSRUN_BIN" --json "$SCRATCH/xd.json" -- pytest 2>&1)
is "addopts with -v and -n auto --dist=loadfile: no nested xdist, all pass" \
        "$(json "$SCRATCH/xd.json" "d['totals']['tests_passed']")" 26
check "... and no xdist worker started inside a job" sh -c "! grep -q 'gw0' '$W/.nsrun/logs/tests_test_ledger.py.log'"
rm -rf "$W/tests/sub" && cp "$NSRUN_SRC/examples/webapp/pytest.ini" "$W/pytest.ini"
echo 'def test_broken(:' > "$W/tests/test_broken.py"
out=$(as_test_user "$NSRUN_BIN" -- pytest 2>&1); rc=$?
is "a collection error gives exit status 2" "$rc" 2
like "... and names the broken file" "$out" 'pytest could not collect the tests.*'
like "... with pytest's own error" "$out" 'test_broken.py'
rm -f "$W/tests/test_broken.py"

# --- batching: many small files share jobs, balanced by per-file history ---
B=$(make_project many)
as_test_user mkdir -p "$B/tests"
for i in $(seq -w 1 20); do
        as_test_user sh -c "printf 'def test_%s():\n    assert True\n' $i > '$B/tests/test_f$i.py'"
done
(cd "$B" && as_test_user "$NSRUN_BIN" -j 2 --json "$SCRATCH/b1.json" -- pytest > /dev/null 2>&1)
is "20 files on 2 workers: batched into 4 jobs per worker, every test run once" \
        "$(json "$SCRATCH/b1.json" "(len(d['jobs']), d['totals']['tests_passed'], sorted(f for j in d['jobs'] for f in j.get('files', [j['name']])) == ['tests/test_f%02d.py' % i for i in range(1, 21)])")" \
        "(8, 20, True)"
is "... and the history keeps each file on its own" \
        "$(json "$B/.nsrun/history.json" "sorted(k for k in d['jobs'])[:2] + [len(d['jobs'])]")" \
        "['tests/test_f01.py', 'tests/test_f02.py', 20]"
(cd "$B" && as_test_user "$NSRUN_BIN" -j 2 --batch off --json "$SCRATCH/b2.json" -- pytest > /dev/null 2>&1)
(cd "$B" && as_test_user "$NSRUN_BIN" -j 2 --batch 3 --json "$SCRATCH/b3.json" -- pytest > /dev/null 2>&1)
is "--batch off: one job per file; --batch 3: three jobs" \
        "$(json "$SCRATCH/b2.json" "len(d['jobs'])") $(json "$SCRATCH/b3.json" "(len(d['jobs']), d['totals']['tests_passed'])")" \
        "20 (3, 20)"

# --- a file much longer than the rest is split by test id: by test count on a first run (it holds most of the
# tests), by time once its history says so ---
S=$(make_project split)
as_test_user mkdir -p "$S/tests"
as_test_user sh -c "printf 'import time, pytest\n@pytest.mark.parametrize(\"i\", range(12))\ndef test_slow(i):\n    time.sleep(0.8)\n' > '$S/tests/test_big.py'"
for f in a b c; do as_test_user sh -c "printf 'def test_1():\n    pass\n' > '$S/tests/test_$f.py'"; done
(cd "$S" && as_test_user "$NSRUN_BIN" -j 2 --json "$SCRATCH/s1.json" -- pytest > /dev/null 2>&1)
(cd "$S" && as_test_user "$NSRUN_BIN" -j 2 --json "$SCRATCH/s2.json" -- pytest > /dev/null 2>&1)
is "first run: the file holding most of the tests is split by test count, every test run once" \
        "$(json "$SCRATCH/s1.json" "(lambda b: (len(b) >= 2, sum(j['tests'] for j in b), d['totals']['tests_passed']))([j for j in d['jobs'] if 'big' in j['name']])")" \
        "(True, 12, 15)"
is "second run: the long file is split by test id into parts, every test run once" \
        "$(json "$SCRATCH/s2.json" "(lambda b: (len(b) >= 2, sorted(j['name'] for j in b) == ['tests/test_big.py [%d/%d]' % (k + 1, len(b)) for k in range(len(b))], sum(j['tests_passed'] for j in b), d['totals']['tests_passed']))([j for j in d['jobs'] if 'big' in j['name']])")" \
        "(True, True, 12, 15)"
like "... and its history is the whole file's time, the parts' sum" \
        "$(json "$S/.nsrun/history.json" "round(d['jobs']['tests/test_big.py']['wall_s'], 1)")" '^9\.[6-9]|^1[0-9]\.'
is "pytest's collection is reused when nothing it reads changed (first run, second run)" \
        "$(json "$SCRATCH/s1.json" "d['collection_reused']") $(json "$SCRATCH/s2.json" "d['collection_reused']")" "False True"
as_test_user sh -c "printf 'def test_new():\n    pass\n' > '$S/tests/test_new.py'"
(cd "$S" && as_test_user "$NSRUN_BIN" -j 2 --json "$SCRATCH/s3.json" -- pytest > /dev/null 2>&1)
is "... and collected again when a file changed: the new test runs" \
        "$(json "$SCRATCH/s3.json" "d['collection_reused'], d['totals']['tests_passed']")" "False 16"
# a CI pipeline's fresh checkout: the same files written anew at the same path, .nsrun/ restored from a cache
# holding history.json and collect.json only (docs/guide.md, "Keeping .nsrun/ between pipelines")
K=$(make_project checkout)
checkout() {
        as_test_user sh -c "rm -rf '$K/tests' '$K/.nsrun' && mkdir -p '$K/tests' &&
                for f in a b c d e; do printf 'def test_1():\n    pass\n' > \"$K/tests/test_\$f.py\"; done"
}
checkout
(cd "$K" && as_test_user "$NSRUN_BIN" -j 2 -- pytest > /dev/null 2>&1)
as_test_user sh -c "mkdir '$SCRATCH/ci-cache' && cp '$K/.nsrun/history.json' '$K/.nsrun/collect.json' '$SCRATCH/ci-cache/'"
checkout
as_test_user sh -c "mkdir '$K/.nsrun' && cp '$SCRATCH/ci-cache/'* '$K/.nsrun/'"
(cd "$K" && as_test_user "$NSRUN_BIN" -j 2 --json "$SCRATCH/k.json" -- pytest > /dev/null 2>&1)
is "a fresh checkout with history.json and collect.json restored: the collection is reused, every test runs" \
        "$(json "$SCRATCH/k.json" "d['collection_reused'], d['totals']['tests_passed']")" "True 5"
like "--json: each job's setup, command and teardown time" \
        "$(json "$SCRATCH/s2.json" "all(j['setup_s'] > 0 and j['command_s'] > 0 and j['teardown_s'] > 0 for j in d['jobs'])")" True

# --- a single file spread over the workers on the first run (by test count) and with history (by time) ---
M=$(make_project onefile)
as_test_user mkdir -p "$M/tests"
as_test_user sh -c "printf 'import time, pytest\n@pytest.mark.parametrize(\"i\", range(4))\ndef test_model(i):\n    time.sleep(1)\n' > '$M/tests/test_models.py'"
serial=$(cd "$M" && as_test_user pytest -q -p no:cacheprovider 2>&1 | grep -o '[0-9]* passed')
for k in 1 2; do
        (cd "$M" && as_test_user "$NSRUN_BIN" -j 2 --json "$SCRATCH/m$k.json" --junit "$SCRATCH/m$k.xml" -- pytest > /dev/null 2>&1)
done
is "one file of 4 tests on 2 workers, first and second run: at least 2 jobs on 2 workers, as many passed as serial pytest" \
        "$(for k in 1 2; do json "$SCRATCH/m$k.json" "(len(d['jobs']) >= 2, d['workers'], '%d passed' % d['totals']['tests_passed'])"; done | sort -u)" \
        "(True, 2, '$serial')"
is "... every test run exactly once" \
        "$(for k in 1 2; do $PY -c "import xml.etree.ElementTree as E; print(sorted(t.get('name') for t in E.parse('$SCRATCH/m$k.xml').getroot().iter('testcase')))"; done | sort -u)" \
        "['test_model[0]', 'test_model[1]', 'test_model[2]', 'test_model[3]']"
is "... the history keeps the file's time once, the parts' sum" \
        "$(json "$M/.nsrun/history.json" "sorted(d['jobs'])")" "['tests/test_models.py']"

# --- --setup: run once; its writes are a read-only layer under every job ---
probe='touch /tmp/t0; sleep 0.05; env -u PYTHONDONTWRITEBYTECODE /usr/bin/python3 -c "import webapp.sessions, webapp.ledger" && find . -name "*.pyc" -newer /tmp/t0 | wc -l'
as_test_user "$NSRUN_BIN" --log-dir "$SCRATCH/l0" -- sh -c "$probe" > /dev/null 2>&1
as_test_user "$NSRUN_BIN" --log-dir "$SCRATCH/l1" --json "$SCRATCH/setup.json" \
        --setup 'env -u PYTHONDONTWRITEBYTECODE /usr/bin/python3 -m compileall -q webapp tests' -- sh -c "$probe" \
        > /dev/null 2>&1
is "--setup: bytecode written at setup is used by the jobs (new .pyc files per job: without, with)" \
        "$(cat "$SCRATCH"/l0/sh_*.log) $(cat "$SCRATCH"/l1/sh_*.log)" "3 0"
check "... the project on the host got no __pycache__" sh -c "! find '$W' -name __pycache__ | grep -q ."
check "... and the layer is gone after the run" sh -c "test -z \"\$(ls -A /var/tmp/nsrun-\$(id -u ${RUN_AS:+$TEST_USER}) 2>/dev/null)\""
out=$(as_test_user "$NSRUN_BIN" --setup 'echo broken >&2; exit 3' -- true 2>&1); rc=$?
is "a failing --setup stops the run with exit status 2" "$rc" 2
like "... saying so and where its output is" "$out" "setup 'echo broken >&2; exit 3' failed \(exit status 3\); its output is in .*setup.log"

# --- sharding across CI machines, and merging their reports and history ---
for k in 1 2 3; do
        (cd "$B" && as_test_user "$NSRUN_BIN" --shard "$k/3" --json "$SCRATCH/s$k.json" --junit "$SCRATCH/s$k.xml" \
                -- pytest > /dev/null 2>&1)
done
is "--shard K/N: every file runs in exactly one of the three shares" \
        "$($PY -c "
import json, sys
docs = [json.load(open(f)) for f in sys.argv[1:]]
files = [f for d in docs for j in d['jobs'] for f in j.get('files', [j['name']])]
print(len(files), len(set(files)), sorted(d['shard'] for d in docs))" "$SCRATCH"/s[123].json)" "20 20 ['1/3', '2/3', '3/3']"
rm -f "$B/.nsrun/history.json"
as_test_user "$NSRUN_BIN" merge --json "$SCRATCH/m.json" --junit "$SCRATCH/m.xml" --history "$B/.nsrun" \
        "$SCRATCH"/s[123].json "$SCRATCH"/s[123].xml
is "nsrun merge combines the shards' JSON and JUnit reports" \
        "$(json "$SCRATCH/m.json" "(d['merged_from'], d['totals']['tests_passed'])") $($PY -c "import xml.etree.ElementTree as E; r=E.parse('$SCRATCH/m.xml').getroot(); print(r.get('tests'), len(r.findall('.//testcase')))")" \
        "(3, 20) 20 20"
is "... and their times into one history, file by file" "$(json "$B/.nsrun/history.json" "len(d['jobs'])")" 20
CI_NODE_INDEX=2 CI_NODE_TOTAL=3 as_test_user env CI_NODE_INDEX=2 CI_NODE_TOTAL=3 "$NSRUN_BIN" --shard auto --dry-run \
        --json "$SCRATCH/auto.json" -- true > /dev/null 2>&1
is "--shard auto reads GitLab's CI_NODE_INDEX/CI_NODE_TOTAL" "$(json "$SCRATCH/auto.json" "d['shard']")" "2/3"

# --- any command: ::: arguments, --jobs-file, one plain command ---
out=$(as_test_user "$NSRUN_BIN" --json "$SCRATCH/p.json" -- sh -c 'echo "$NSRUN_JOB $NSRUN_WORKER/$NSRUN_WORKERS" > /tmp/me; test "$(cat /tmp/me)" = "$1 $NSRUN_WORKER/$NSRUN_WORKERS"' _ {} ::: alpha beta gamma 2>&1)
is "CMD {} ::: a b c runs one job per argument, each with a private /tmp" \
        "$(json "$SCRATCH/p.json" "[(j['name'], j['status']) for j in d['jobs']]")" \
        "[('alpha', 'passed'), ('beta', 'passed'), ('gamma', 'passed')]"
printf 'test "$NSRUN_WORKER" -lt "$NSRUN_WORKERS"\n# a comment\n\nexit 4\n' > "$SCRATCH/jobs.txt"
as_test_user "$NSRUN_BIN" --jobs-file "$SCRATCH/jobs.txt" --json "$SCRATCH/jf.json" > /dev/null 2>&1; rc=$?
is "--jobs-file runs one job per line; a failure gives exit status 1" \
        "$rc $(json "$SCRATCH/jf.json" "[(j['status'], j['exit_code']) for j in d['jobs']]")" \
        "1 [('passed', 0), ('failed', 4)]"
as_test_user "$NSRUN_BIN" -- sh -c 'test -n "$NSRUN_SANDBOX" && ! ip -o link | grep -v " lo:"' > /dev/null 2>&1
is "a plain command runs as one sandboxed job" "$?" 0

# --- failures, retries, flaky, repeat, -x, timeout ---
state=$(make_project state)
out=$(as_test_user "$NSRUN_BIN" --retries 2 --rw "$state" --json "$SCRATCH/f.json" -- sh -c "test -e $state/once && exit 0; touch $state/once; exit 1" 2>&1); rc=$?
is "a job that passes on retry is flaky, and flaky passes (exit 0)" \
        "$rc $(json "$SCRATCH/f.json" "(d['jobs'][0]['status'], d['jobs'][0]['attempts'])")" "0 ('flaky', 2)"
rm -f "$state/once"
as_test_user "$NSRUN_BIN" --retries 1 --flaky-fails --rw "$state" -- sh -c "test -e $state/once && exit 0; touch $state/once; exit 1" > /dev/null 2>&1
is "--flaky-fails makes it a failure" "$?" 1
as_test_user "$NSRUN_BIN" --repeat 3 --json "$SCRATCH/rep.json" -- true > /dev/null 2>&1
is "--repeat 3 runs the job three times" "$(json "$SCRATCH/rep.json" "[j['status'] for j in d['jobs']]")" \
        "['passed', 'passed', 'passed']"
as_test_user "$NSRUN_BIN" -j 1 -x --json "$SCRATCH/x.json" -- sh -c 'exit $1' _ {} ::: 1 0 0 > /dev/null 2>&1
is "-x starts no new job after the first failure" "$(json "$SCRATCH/x.json" "[j['status'] for j in d['jobs']]")" \
        "['failed', 'not-run', 'not-run']"
marker=$((RANDOM + 40000))
start=$(date +%s)
out=$(as_test_user "$NSRUN_BIN" --timeout 1s --json "$SCRATCH/t.json" -- sh -c "sleep $marker.5 & setsid sleep $marker.6 & wait" 2>&1); rc=$?
is "--timeout kills the job and reports a timeout (exit 1)" "$rc $(json "$SCRATCH/t.json" "d['jobs'][0]['status']")" "1 timeout"
like "... named as such" "$out" 'killed, timeout after 1'
check "... within seconds" test $(( $(date +%s) - start )) -lt 10
check "... and every process of the job is gone" sh -c "! pgrep -f '^sleep $marker'"
# SIGTERM first, with every thread's Python traceback in the log; SIGKILL after --timeout-grace
hang=$(make_project hang)
printf 'import threading, time\n\ndef test_a():\n    pass\n\ndef test_hangs_here():\n    threading.Thread(target=time.sleep, args=(300,), daemon=True).start()\n    time.sleep(300)\n' |
        as_test_user tee "$hang/test_hang.py" > /dev/null
out=$(cd "$hang" && as_test_user "$NSRUN_BIN" --batch off --timeout 2s --timeout-grace 2s --json "$SCRATCH/th.json" -- pytest test_hang.py 2>&1); rc=$?
is "a hung pytest test: the job is reported as a timeout" "$rc $(json "$SCRATCH/th.json" "d['jobs'][0]['status']")" "1 timeout"
like "... its log has each thread's traceback, naming the hung test (faulthandler on SIGTERM)" \
        "$(cat "$hang/.nsrun/logs/test_hang.py.log")" 'test_hang.py", line 8 in test_hangs_here'
# at least the test's thread and the one it started (a plugin, pytest-rerunfailures, may run one more)
check "... and the other thread's too" test "$(grep -o '[Tt]hread 0x' "$hang/.nsrun/logs/test_hang.py.log" | wc -l)" -ge 2
like "... which is where it sleeps" "$(cat "$hang/.nsrun/logs/test_hang.py.log")" 'threading.py", line [0-9]+ in run'
start=$(date +%s)
out=$(as_test_user "$NSRUN_BIN" --timeout 1s --timeout-grace 2s --json "$SCRATCH/tk.json" -- sh -c "trap '' TERM; sleep $marker.7; sleep $marker.8" 2>&1); rc=$?
is "a command that ignores SIGTERM is killed after --timeout-grace, a timeout" "$rc $(json "$SCRATCH/tk.json" "d['jobs'][0]['status']")" "1 timeout"
check "... within seconds" test $(( $(date +%s) - start )) -lt 10
check "... and every process of the job is gone" sh -c "! pgrep -f '^sleep $marker'"
# a job that crashes in its 3rd test of 5 keeps the 2 it finished, names the culprit, and runs the 2 it had not
# reached in a new job
printf 'import os, signal\n\ndef test_a():\n    pass\n\ndef test_b():\n    pass\n\ndef test_c():\n    os.kill(os.getpid(), signal.SIGSEGV)\n\ndef test_d():\n    pass\n\ndef test_e():\n    pass\n' |
        as_test_user tee "$hang/test_x.py" > /dev/null
out=$(cd "$hang" && as_test_user "$NSRUN_BIN" --batch off --json "$SCRATCH/sx.json" -- pytest test_x.py 2>&1); rc=$?
is "a segfault in the 3rd test of 5: an error, the 2 finished tests kept, the culprit named, the 2 left run (exit 1)" \
        "$rc $(json "$SCRATCH/sx.json" "(d['jobs'][0]['status'], d['jobs'][0]['tests_passed'], d['jobs'][0]['tests_errors'], d['jobs'][0]['killed_in'], d['totals']['tests_passed'])")" \
        "1 ('error', 4, 1, 'test_x.py::test_c', 4)"
like "... and the summary says why" "$out" 'crashed: signal 11 \(SIGSEGV\) while running test_x.py::test_c .*the 2 tests it had not reached ran in a new job'
like "... with its counts" "$out" 'tests: 4 passed, 1 error'
is "a timed-out job keeps its finished test and names the test it was in" \
        "$(json "$SCRATCH/th.json" "(d['jobs'][0]['killed_in'], d['jobs'][0]['tests_passed'])")" "('test_hang.py::test_hangs_here', 1)"
out=$(as_test_user "$NSRUN_BIN" --timeout-grace soon -- true 2>&1); rc=$?
is "--timeout-grace takes a duration (exit 2)" "$rc" 2
like "... and says so" "$out" "--timeout-grace.*give a duration"

# --- serial jobs run alone, after the rest ---
log=$(make_project serial-log)
as_test_user "$NSRUN_BIN" -j 2 --serial 'solo*' --rw "$log" -- sh -c "echo start \$1 >> $log/t; sleep 0.5; echo end \$1 >> $log/t" _ {} ::: a solo1 b c solo2 > /dev/null 2>&1
is "--serial GLOB: matching jobs run alone, after the others" "$(grep solo "$log/t" | tr '\n' ' ')" \
        "start solo1 end solo1 start solo2 end solo2 "
is "... after every other job ended" "$(tail -n 4 "$log/t" | grep -vc solo)" 0

# --- coverage data files come back to the project ---
as_test_user "$NSRUN_BIN" -- sh -c 'echo data > "$COVERAGE_FILE"' _ {} ::: 1 2 > /dev/null 2>&1
is "each job has its own COVERAGE_FILE, and the files come back for 'coverage combine'" \
        "$(ls -A "$W" | grep -c '^\.coverage\.')" 2
rm -f "$W"/.coverage.*

# --- --dry-run ---
out=$(as_test_user "$NSRUN_BIN" --dry-run -j 1 -- sh -c 'touch /nonexistent-dry' 2>&1)
like "--dry-run prints the budgets and where they came from" "$out" 'CPU budget: .*CPU'
like "... the worker count and what set it" "$out" 'workers: +1 \(set by the -j'
as_test_user env MODEL_MB=200 "$NSRUN_BIN" --dry-run --json "$SCRATCH/plan.json" -- pytest > /dev/null 2>&1
is "--dry-run --json writes the plan in the report's shape, running nothing" \
        "$(json "$SCRATCH/plan.json" "(d['dry_run'], len(d['jobs']), d['jobs'][0]['status'], d['workers'] >= 1)")" \
        "(True, 7, 'pending', True)"

# --- SIGTERM: running jobs stopped, partial summary, exit 143, nothing left ---
as_test_user "$NSRUN_BIN" -j 2 -- sh -c "sleep $marker.7" _ {} ::: 1 2 3 > "$SCRATCH/int.out" 2>&1 &
wait_for pgrep -f "^sleep $marker.7" > /dev/null
sleep 0.3
t0=$(date +%s%N)
kill -TERM "$(pgrep -f "^$NSRUN_BIN -j 2" | head -1)"
wait $!; rc=$?
is "SIGTERM stops the run with exit status 143" "$rc" 143
check "... within 2 s" test $(( ($(date +%s%N) - t0) / 1000000 )) -lt 2000
like "... with a partial summary" "$(cat "$SCRATCH/int.out")" 'nsrun: 3 jobs: .* not run'
check "... and no job process left" sh -c "! pgrep -f '^sleep $marker.7'"
check "... nor a run directory" sh -c "test -z \"\$(ls -A '$W/.nsrun/runs' 2>/dev/null)\""

# --- NSRUN_LOG_LEVEL ---
out=$(as_test_user env NSRUN_LOG_LEVEL=debug "$NSRUN_BIN" -j 1 -- true 2>&1)
like "NSRUN_LOG_LEVEL=debug prints each attempt's start" "$out" '^nsrun: true: attempt 1 started on worker 1'
out=$(as_test_user "$NSRUN_BIN" -j 1 -- true 2>&1)
is "... which the default level (info) leaves out" "$(printf '%s\n' "$out" | grep -c 'attempt 1 started')" 0
out=$(as_test_user env NSRUN_LOG_LEVEL=loud "$NSRUN_BIN" -j 1 -- true 2>&1)
like "a level that is not one is named, with the ones there are" "$out" \
        '^nsrun: NSRUN_LOG_LEVEL=loud is not a level; use error, warning, notice, info or debug$'

# --- usage errors ---
as_test_user "$NSRUN_BIN" --mem-per-worker 99999T -- true > /dev/null 2>&1
is "--mem-per-worker larger than the machine: exit status 2" "$?" 2
out=$(as_test_user "$NSRUN_BIN" --mem-per-worker 30T -- true 2>&1)
like "... and the message names what is available and what fits" "$out" \
        '^nsrun: --mem-per-worker 30 TiB: .* is available to tests here \(.*reserve\); use at most [0-9]+G$'

done_testing
