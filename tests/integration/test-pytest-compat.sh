#!/bin/bash
# nsrun -- pytest as a drop-in for pytest and pytest -n 2: the same suite (passes, two failures, an xfail, an
# xpass, a skip) run under each, and what the user keeps compared: pytest's cache (.pytest_cache's lastfailed,
# so that --lf runs the same tests), exit statuses, counts and --junitxml.
. "$(dirname "$0")/../lib.sh"

setup_scratch
require_sandbox
/usr/bin/python3 -c 'import xdist' 2>/dev/null || skip_all "pytest-xdist is not installed (python3-pytest-xdist)"
command -v xmllint > /dev/null || skip_all "xmllint is not installed (libxml2-utils)"

SUITE=$SCRATCH/suite
mkdir -p "$SUITE"
cat > "$SUITE/test_a.py" <<'PYEOF'
import pytest

def test_pass():
    pass

def test_fail1():
    assert [1, 2, 3] == [1, 2, 4]

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert 0

@pytest.mark.xfail(reason="fixed meanwhile")
def test_xpass():
    pass
PYEOF
cat > "$SUITE/test_b.py" <<'PYEOF'
import os
import pytest

def test_pass2():
    pass

def test_fail2():
    assert os.environ.get("FIX") == "1", "set FIX=1 to fix it"

def test_skip():
    pytest.skip("skipped on purpose")
PYEOF
cat > "$SUITE/test_c.py" <<'PYEOF'
def test_plugin_value(request):
    request.config.cache.set("myplugin/state", {"runs": 1, "name": "c"})
PYEOF

# project NAME: a fresh copy of the suite, owned by the test user
project() { copy_project "$SUITE" "$1"; }
lastfailed() { json "$1/.pytest_cache/v/cache/lastfailed" "sorted(d)"; }
# the tests a JUnit document holds, "classname::name outcome", sorted
testcases() {
        /usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E
out = []
for c in E.parse(sys.argv[1]).iter("testcase"):
    kinds = [k.tag for k in c if k.tag in ("failure", "error", "skipped")]
    out.append("%s::%s %s" % (c.get("classname"), c.get("name"), kinds[0] if kinds else "passed"))
print(" ".join(sorted(out)))' "$1"
}

S=$(project p-serial)
X=$(project p-xdist)
N=$(project p-nsrun)
run_in "$S" pytest
run_in "$X" pytest -n 2
run_in "$N" "$NSRUN_BIN" -j 2 -- pytest

# --- .pytest_cache ---
want="['test_a.py::test_fail1', 'test_b.py::test_fail2']"
is "pytest: lastfailed holds the two failures" "$(lastfailed "$S")" "$want"
is "pytest -n 2: the same" "$(lastfailed "$X")" "$want"
is "nsrun -- pytest: the jobs' caches merged into the project's, the same lastfailed" "$(lastfailed "$N")" "$want"
is "... the cache directory made as pytest makes it (kept out of git)" \
        "$(cat "$N/.pytest_cache/.gitignore" | tail -n 1) $(test -f "$N/.pytest_cache/CACHEDIR.TAG" && echo tagged)" "* tagged"
is "... cache/nodeids is every test, as pytest's" "$(json "$N/.pytest_cache/v/cache/nodeids" "d")" \
        "$(json "$S/.pytest_cache/v/cache/nodeids" "d")"
is "... a plugin's cache.set() value comes back too" "$(json "$N/.pytest_cache/v/myplugin/state" "d")" \
        "$(json "$S/.pytest_cache/v/myplugin/state" "d")"

# --lf: the same tests run under each, with the cache each left
run_in "$S" pytest --lf --junitxml="$S.lf.xml"
run_in "$X" pytest -n 2 --lf --junitxml="$X.lf.xml"
run_in "$N" "$NSRUN_BIN" -j 2 --junit "$N.lf.xml" -- pytest --lf
want="test_a::test_fail1 failure test_b::test_fail2 failure"
is "pytest --lf: last run's two failures run, nothing else" "$(testcases "$S.lf.xml")" "$want"
is "pytest -n 2 --lf: the same" "$(testcases "$X.lf.xml")" "$want"
is "nsrun -- pytest --lf: the same" "$(testcases "$N.lf.xml")" "$want"

# one failure fixed: it leaves lastfailed, under each; the next --lf runs only the other
run_in "$S" env FIX=1 pytest --lf
run_in "$X" env FIX=1 pytest -n 2 --lf
run_in "$N" env FIX=1 "$NSRUN_BIN" -j 2 -- pytest --lf
want="['test_a.py::test_fail1']"
is "pytest --lf with test_fail2 fixed: it leaves lastfailed" "$(lastfailed "$S")" "$want"
is "pytest -n 2: the same" "$(lastfailed "$X")" "$want"
is "nsrun -- pytest --lf (its collection, reused, keyed by the cache it read): the same" "$(lastfailed "$N")" "$want"
run_in "$S" pytest --lf --junitxml="$S.lf2.xml"
run_in "$N" "$NSRUN_BIN" -j 2 --junit "$N.lf2.xml" -- pytest --lf
is "nsrun -- pytest --lf now runs the one failure left, as pytest --lf" "$(testcases "$N.lf2.xml")" \
        "$(testcases "$S.lf2.xml")"
run_in "$N" env FIX=1 "$NSRUN_BIN" -j 2 --junit "$N.ff.xml" -- pytest --ff
is "... --ff: every test runs again" "$(testcases "$N.ff.xml" | wc -w)" 16

# -p no:cacheprovider: nothing written
P=$(project p-nocache)
run_in "$P" "$NSRUN_BIN" -j 2 -- pytest -p no:cacheprovider
check "nsrun -- pytest -p no:cacheprovider writes no .pytest_cache" test ! -e "$P/.pytest_cache"

# --cache-clear: only this run's failures are left
run_in "$N" "$NSRUN_BIN" -j 2 -- pytest --cache-clear test_b.py
is "nsrun -- pytest --cache-clear test_b.py: lastfailed is this run's alone" "$(lastfailed "$N")" \
        "['test_b.py::test_fail2']"

# a job's record is hostile input: a key that climbs out of the cache directory is refused (pytest itself would
# write it there), and a record replaced by a symbolic link is not followed; the other jobs' values still merge
H=$(project p-hostile)
cat > "$H/test_climb.py" <<'PYEOF'
def test_climb(request):
    request.config.cache.set("../../climbed", 1)
    request.config.cache.set("myplugin/../../../climbed2", 1)
PYEOF
cat > "$H/test_link.py" <<'PYEOF'
import atexit, os

def test_link():
    out = os.environ.get("NSRUN_CACHE_OUT")
    def swap():
        os.unlink(out)
        os.symlink("/dev/zero", out)
    if out:
        atexit.register(swap)
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$H"
run_in "$H" "$NSRUN_BIN" -j 2 --batch off -- pytest
check "a job's cache key with '..' writes nothing outside the cache directory" \
        sh -c "! ls -A '$H' '$H/.pytest_cache' | grep -q climbed"
like "... a record replaced by a symbolic link is refused, named" "$(cat "$H.out")" \
        "test_link.py's pytest cache .*symbolic link"
is "... and the other jobs' failures are merged" "$(lastfailed "$H")" \
        "['test_a.py::test_fail1', 'test_b.py::test_fail2']"

# --- hypothesis's example database ---
# a failure hypothesis found is saved in .hypothesis/examples and replayed first by the next run: under nsrun the
# jobs' new examples are added to the project's. The "replay" profile runs only the saved examples (no new ones):
# it fails where the failing example was kept, passes where it was not.
if /usr/bin/python3 -c 'import hypothesis' 2> /dev/null; then
        for d in "$SCRATCH/h-serial" "$SCRATCH/h-nsrun"; do
                rm -rf "$d"
                mkdir -p "$d"
                cat > "$d/conftest.py" <<'PYEOF'
from hypothesis import Phase, settings

settings.register_profile("replay", phases=[Phase.explicit, Phase.reuse])
PYEOF
                cat > "$d/test_h.py" <<'PYEOF'
from hypothesis import given, strategies as st

@given(st.integers())
def test_found(n):
    assert n < 1000
PYEOF
                printf 'def test_other():\n    pass\n' > "$d/test_other.py"
                [ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$d"
        done
        HS=$SCRATCH/h-serial HN=$SCRATCH/h-nsrun
        run_in "$HS" pytest
        run_in "$HN" "$NSRUN_BIN" -j 2 -- pytest
        like "hypothesis finds the failing example under pytest" "$(cat "$HS.out")" "Falsifying example: test_found"
        like "... and under nsrun -- pytest" "$(cat "$HN.out")" "Falsifying example: test_found"
        check "... pytest saves it in .hypothesis/examples" test -n "$(find "$HS/.hypothesis/examples" -type f)"
        check "... and so does nsrun -- pytest, from its job into the project" \
                test -n "$(find "$HN/.hypothesis/examples" -type f 2> /dev/null)"
        run_in "$HS" pytest --hypothesis-profile=replay
        s=$?
        run_in "$HN" "$NSRUN_BIN" -j 2 -- pytest --hypothesis-profile=replay
        n=$?
        is "the next run replays it first: only saved examples run, and test_found fails under both" "$s $n" "1 1"
        like "... with the same falsifying example" "$(cat "$HN.out")" "^E? +n=1000,?$|test_found\\(n=1000\\)"
        before=$(find "$HN/.hypothesis/examples" -type f | sort)
        run_in "$HN" "$NSRUN_BIN" -j 2 -- pytest
        is "... a second run keeps the project's examples" \
                "$(comm -23 <(echo "$before") <(find "$HN/.hypothesis/examples" -type f | sort))" ""
else
        for t in 1 2 3 4 5 6 7; do ok "hypothesis's example database # SKIP python3-hypothesis is not installed"; done
fi

# --- counts in pytest's words ---
E=$(project p-counts)
cat > "$E/test_e.py" <<'PYEOF'
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("setup fails")

def test_error(broken):
    pass
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$E"
run_in "$E" pytest
want=$(tail -n 1 "$E.out" | sed -E 's/^=+ //; s/ in [0-9.]+s.*//')
is "pytest's own final line" "$want" "2 failed, 3 passed, 1 skipped, 1 xfailed, 1 xpassed, 1 error"
run_in "$E" "$NSRUN_BIN" -j 2 --json "$SCRATCH/counts.json" -- pytest
is "nsrun's summary counts the tests as pytest's final line does: xfailed, xpassed, errors apart" \
        "$(tail -n 1 "$E.out" | sed -E 's/.*; tests: //; s/; [0-9]+ workers.*//')" "$want"
is "... and so do --json's totals" \
        "$(json "$SCRATCH/counts.json" "', '.join('%d %s' % (d['totals']['tests_' + k], w) for k, w in (('failed', 'failed'), ('passed', 'passed'), ('skipped', 'skipped'), ('xfailed', 'xfailed'), ('xpassed', 'xpassed'), ('errors', 'error')))")" \
        "$want"

# --- pytest's own --junitxml=PATH ---
run_in "$E" pytest --junitxml="$SCRATCH/serial.xml"
run_in "$E" pytest -n 2 --junitxml="$SCRATCH/xdist.xml"
run_in "$E" "$NSRUN_BIN" -j 2 -- pytest --junitxml=nsrun.xml
check "nsrun -- pytest --junitxml=PATH writes PATH (relative to where it ran, as pytest)" test -s "$E/nsrun.xml"
is "... with the testcases and outcomes pytest's has" "$(testcases "$E/nsrun.xml")" "$(testcases "$SCRATCH/serial.xml")"
is "... as pytest -n 2's has" "$(testcases "$SCRATCH/xdist.xml")" "$(testcases "$SCRATCH/serial.xml")"
# the root's totals: the three the JUnit schema Jenkins uses declares there, each the sum of the suites'
totals='import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
k = ("tests", "failures", "errors")
print(*(r.get(a) for a in k), r.get("skipped"), *(sum(int(s.get(a, 0)) for s in r.iter("testsuite")) for a in k + ("skipped",)))'
is "... its root's tests, failures and errors are the sums of its suites' (skipped is the suites' alone)" \
        "$(/usr/bin/python3 -c "$totals" "$E/nsrun.xml")" "9 2 1 None 9 2 1 2"
# the JUnit schema Jenkins validates against (the xunit plugin's junit-10.xsd, in tests/fixtures)
XSD=$(dirname "$0")/../fixtures/junit-10.xsd
valid() { xmllint --noout --schema "$XSD" "$@" 2>&1 | grep -v ' validates$'; }
is "... and it is valid JUnit, as Jenkins' xunit plugin reads it (junit-10.xsd)" "$(valid "$E/nsrun.xml")" ""
is "... as are --junit's documents" "$(valid "$N.lf.xml" "$N.lf2.xml" "$N.ff.xml")" ""

# --retries: a test that passed on its retry gets a flakyFailure (its first failure, traceback and all), one that
# failed again a rerunFailure, as Maven Surefire and nextest write them and Jenkins reads them
R=$(project p-retry)
cat > "$R/test_retry.py" <<'PYEOF'
import os

def test_flaky():
    # COVERAGE_FILE ends in the attempt's number: this fails in the first attempt only
    assert not os.environ["COVERAGE_FILE"].endswith("-1"), "fails on the first attempt"

def test_always():
    assert 0, "fails every time"

def test_fine():
    pass
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$R"
run_in "$R" "$NSRUN_BIN" -j 1 --retries 1 -- pytest test_retry.py --junitxml=retry.xml
reruns='import sys, xml.etree.ElementTree as E
for c in E.parse(sys.argv[1]).iter("testcase"):
    print(c.get("name"), *sorted("%s:%s" % (k.tag, (k.get("message") or "").splitlines()[0] if k.get("message") else "") for k in c))'
is "--retries 1: test_flaky passed with its first failure as a flakyFailure, test_always a failure and a rerunFailure" \
        "$(/usr/bin/python3 -c "$reruns" "$R/retry.xml")" "test_flaky flakyFailure:AssertionError: fails on the first attempt
test_always failure:AssertionError: fails every time rerunFailure:AssertionError: fails every time
test_fine"
is "... the earlier attempt's traceback kept" "$(/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E
print(any("E   " in (t.text or "") and "fails on the first attempt" in (t.text or "") for t in E.parse(sys.argv[1]).iter("stackTrace")))' "$R/retry.xml")" True
is "... valid JUnit (junit-10.xsd)" "$(valid "$R/retry.xml")" ""

# --- a job killed in the middle of its file ---
# finished tests keep their results, the test it was running is an error naming the reason, and the tests it had
# not reached run once in a new job (as xdist replaces a crashed worker); if that one dies too, they are not run
K=$(project p-killed)
cat > "$K/test_kill.py" <<'PYEOF'
import os, signal, time

def die(test):
    how = os.environ.get("KILL", "")
    if test in os.environ.get("KILL_IN", "test_3").split(","):
        if how == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif how == "hang":
            time.sleep(600)
        elif how == "oom":
            hog = []
            while True:
                hog.append(b"x" * (16 << 20))

def test_1(): pass
def test_2(): assert 1 == 2
def test_3(): die("test_3")
def test_4(): pass
def test_5(): assert 0, "five"
def test_6(): die("test_6")
def test_7(): pass
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$K"
killed_run() { # NAME KILL NSRUN-OPTIONS...: the file's tests as one job
        local name=$1 how=$2
        shift 2
        run_in "$K" env KILL="$how" KILL_IN="${KILL_IN:-test_3}" "$NSRUN_BIN" -j 1 --batch off --json "$K.$name.json" \
                "$@" -- pytest test_kill.py --junitxml="$name.xml"
}
outcomes='import sys, xml.etree.ElementTree as E
out = []
for c in E.parse(sys.argv[1]).iter("testcase"):
    kinds = [k for k in c if k.tag in ("failure", "error", "skipped")]
    out.append("%s:%s" % (c.get("name"), kinds[0].tag if kinds else "passed"))
    if kinds and kinds[0].tag != "failure":
        out[-1] += "(%s)" % kinds[0].get("message")
print(" ".join(out))'
killed_run segv segv
is "segfault in test_3: the finished tests keep their outcomes, test_3 is an error naming the signal, 4-7 ran anew" \
        "$(/usr/bin/python3 -c "$outcomes" "$K/segv.xml")" \
        "test_1:passed test_2:failure test_3:error(crashed: signal 11 (SIGSEGV) while running test_kill.py::test_3) test_4:passed test_5:failure test_6:passed test_7:passed"
is "... --json and the summary count them" "$(json "$K.segv.json" "[d['totals'][k] for k in ('tests_passed', 'tests_failed', 'tests_errors')]") $(json "$K.segv.json" "d['jobs'][0]['status']")" "[4, 2, 1] error"
like "... the summary says the rest ran in a new job" "$(cat "$K.out")" "ERROR test_kill.py: crashed: signal 11 .* the 4 tests it had not reached ran in a new job"
like "... and counts every test" "$(tail -n 1 "$K.out")" "tests: 2 failed, 4 passed, 1 error"
KILL_IN=test_3,test_6 killed_run segv2 segv
is "... the new job crashing too (in test_6): test_6 an error, test_7 not run" \
        "$(/usr/bin/python3 -c "$outcomes" "$K/segv2.xml")" \
        "test_1:passed test_2:failure test_3:error(crashed: signal 11 (SIGSEGV) while running test_kill.py::test_3) test_4:passed test_5:failure test_6:error(the new job running the tests test_kill.py had not reached ended too: crashed: signal 11 (SIGSEGV)) test_7:skipped(not run: new job running the tests test_kill.py had not reached ended too: crashed: signal 11 (SIGSEGV))"
killed_run hang hang --timeout 5s --timeout-grace 1s
like "a timeout in test_3: test_3 an error naming the timeout, the rest ran anew" \
        "$(/usr/bin/python3 -c "$outcomes" "$K/hang.xml")" \
        "^test_1:passed test_2:failure test_3:error\\(killed, timeout after .* while running test_kill.py::test_3\\) test_4:passed test_5:failure test_6:passed test_7:passed$"
like "... the hung test's traceback in the log" "$(cat "$K/.nsrun/logs/test_kill.py.log" 2> /dev/null)" "in die"
killed_run oom oom --mem-per-worker 256M
like "out of memory in test_3: test_3 an error naming it, the rest ran anew" \
        "$(/usr/bin/python3 -c "$outcomes" "$K/oom.xml")" \
        "^test_1:passed test_2:failure test_3:error\\(killed, out of memory .* while running test_kill.py::test_3\\) test_4:passed test_5:failure test_6:passed test_7:passed$"
is "... these reports are valid JUnit (junit-10.xsd)" "$(valid "$K/segv.xml" "$K/segv2.xml" "$K/hang.xml" "$K/oom.xml")" ""

# --- handing over: on a first run, one file's tests are slow where two others' are quick; the worker that ran the
# quick ones takes over about half of what the slow file had not reached, in a new job. Side by side with pytest:
# the same failure, counts, lastfailed and JUnit test ids, each test once ---
HO=$SCRATCH/p-handover
mkdir -p "$HO"
for n in a b; do
        printf 'import pytest\n\n@pytest.mark.parametrize("i", range(8))\ndef test_q(i):\n    pass\n' > "$HO/test_${n}_quick.py"
done
cat > "$HO/test_c_slow.py" <<'PYEOF'
import time
import pytest

@pytest.mark.parametrize("i", range(8))
def test_slow(i):
    time.sleep(0.4)
    assert i != 6, "the seventh fails"
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$HO"
run_in "$HO" pytest -q --junitxml=pytest.xml
want=$(tail -n 1 "$HO.out" | sed -E 's/ in [0-9.]+s.*$//')
is "pytest itself: 1 failed, 23 passed" "$want" "1 failed, 23 passed"
want_lf=$(lastfailed "$HO")
want_cases=$(testcases "$HO/pytest.xml")
rm -rf "$HO/.pytest_cache"
run_in "$HO" pytest -q -n 2 --junitxml=xdist.xml
is "pytest -n 2: the same counts, lastfailed and JUnit test ids" \
        "$(tail -n 1 "$HO.out" | sed -E 's/ in [0-9.]+s.*$//') $(lastfailed "$HO") $(testcases "$HO/xdist.xml")" \
        "$want $want_lf $want_cases"
for mode in on off; do
        rm -rf "$HO/.nsrun" "$HO/.pytest_cache"
        run_in "$HO" "$NSRUN_BIN" -j 2 --fork $mode --json "$HO.$mode.json" --junit "$HO/nsrun.xml" -- pytest -q
        rc=$?
        is "nsrun --fork $mode, first run: exit 1, the tests counted as pytest counts them" \
                "$rc $(tail -n 1 "$HO.out" | sed -E 's/.*tests: ([^;]*);.*/\1/')" "1 $want"
        is "... the slow file handed some of its tests over to a new job, which ran them: 8 between them" \
                "$(json "$HO.$mode.json" "sorted((j['name'], j['handed_over'] > 0) for j in d['jobs'] if 'slow' in j['name'])") $(json "$HO.$mode.json" "sum(j['tests'] for j in d['jobs'] if 'slow' in j['name'])")" \
                "[('test_c_slow.py', True), ('test_c_slow.py [handed over]', False)] 8"
        is "... pytest's lastfailed" "$(lastfailed "$HO")" "$want_lf"
        is "... the JUnit report holds pytest's test ids and outcomes, each once" "$(testcases "$HO/nsrun.xml")" "$want_cases"
        is "... and one FAILED line, for the failed test" "$(grep -c '^FAILED test_c_slow.py::test_slow\[6\] - AssertionError: the seventh fails' "$HO.out")" 1
        like "... the job that gave them says so on its line" "$(cat "$HO.out")" \
                "(PASS|FAIL) test_c_slow.py: handed its last [0-9]+ tests? to a new job"
done
# ... and an installed package's suite (--pyargs, its files outside the project: a directory shared with --rw
# here), the slow file first in a job of quick files: it hands two quick files over, by test ids, which pytest 7
# took for one file's (325ec75: the second file's tests taken for the first's, of the same names: 32 of 40 ran,
# exit 0; networkx's second run: "not found", none of 553 ran, exit 1)
SITE=$SCRATCH/p-site
HP=$SCRATCH/p-handover-pyargs
mkdir -p "$SITE/hopkg/tests" "$HP"
touch "$SITE/hopkg/__init__.py" "$SITE/hopkg/tests/__init__.py"
for n in b c d e; do cp "$HO/test_a_quick.py" "$SITE/hopkg/tests/test_${n}_quick.py"; done
sed 's/    assert i != 6.*//' "$HO/test_c_slow.py" > "$SITE/hopkg/tests/test_a_slow.py"
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$SITE" "$HP"
run_in "$HP" env PYTHONPATH="$SITE" pytest -q -p no:cacheprovider --pyargs hopkg --junitxml=pytest.xml
is "pytest --pyargs hopkg itself: 40 passed" "$(tail -n 1 "$HP.out" | sed -E 's/ in [0-9.]+s.*$//')" "40 passed"
want_cases=$(testcases "$HP/pytest.xml")
run_in "$HP" env PYTHONPATH="$SITE" pytest -q -p no:cacheprovider --pyargs hopkg -n 2 --junitxml=xdist.xml
is "pytest -n 2 --pyargs hopkg: the same counts and JUnit test ids" \
        "$(tail -n 1 "$HP.out" | sed -E 's/ in [0-9.]+s.*$//') $(testcases "$HP/xdist.xml")" "40 passed $want_cases"
run_in "$HP" env PYTHONPATH="$SITE" "$NSRUN_BIN" -j 2 --fork off --batch 2 --rw "$SITE" --json "$HP.json" \
        --junit "$HP/nsrun.xml" -- pytest -q -p no:cacheprovider --pyargs hopkg
rc=$?
is "nsrun --fork off --batch 2 -- pytest --pyargs hopkg: exit 0, 40 passed, as pytest's" \
        "$rc $(tail -n 1 "$HP.out" | sed -E 's/.*tests: ([^;]*);.*/\1/')" "0 40 passed"
is "... a job handed tests of several files over, and the new job ran them" \
        "$(json "$HP.json" "[(len({t.split('::')[0] for t in j['argv'] if '::' in t}) > 1, j['status']) for j in d['jobs'] if j['name'].endswith('[handed over]')][:1]")" \
        "[(True, 'passed')]"
is "... the JUnit report holds pytest's test ids and outcomes, each once" "$(testcases "$HP/nsrun.xml")" "$want_cases"

# --- a conftest that selects over the whole collection (drops its last 3 tests, as plugins that split a suite
# into groups select): pytest runs 13 of 16. Jobs forked from the run's collection run its 13; a job that collects
# its own file selects over that file alone, and where it runs fewer tests than the run's collection gave it, it is
# an error that says so (325ec75: 4 of 13 ran, exit 0) ---
WS=$SCRATCH/p-whole-select
mkdir -p "$WS"
for n in a b c d; do
        printf 'import pytest\n\n@pytest.mark.parametrize("i", range(4))\ndef test_w(i):\n    pass\n' > "$WS/test_$n.py"
done
printf 'def pytest_collection_modifyitems(config, items):\n    config.hook.pytest_deselected(items=items[-3:])\n    del items[-3:]\n' \
        > "$WS/conftest.py"
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$WS"
run_in "$WS" pytest -q -p no:cacheprovider
is "pytest itself: 13 passed, 3 deselected" "$(tail -n 1 "$WS.out" | sed -E 's/ in [0-9.]+s.*$//')" "13 passed, 3 deselected"
run_in "$WS" pytest -q -p no:cacheprovider -n 2
is "pytest -n 2 (each worker collects the whole suite): 13 passed" \
        "$(tail -n 1 "$WS.out" | sed -E 's/ in [0-9.]+s.*$//')" "13 passed"
run_in "$WS" "$NSRUN_BIN" -j 2 --batch off --fork on -- pytest -q -p no:cacheprovider
is "nsrun --fork on, first run (its jobs take their tests from the run's collection): exit 0, 13 passed" \
        "$? $(tail -n 1 "$WS.out" | sed -E 's/.*tests: ([^;]*);.*/\1/')" "0 13 passed"
rm -rf "$WS/.nsrun"
run_in "$WS" "$NSRUN_BIN" -j 2 --batch off --fork off --json "$WS.json" -- pytest -q -p no:cacheprovider
is "nsrun --fork off (each job collects its own file): exit 1, each job that ran fewer than it was given an error" \
        "$? $(json "$WS.json" "sorted((j['name'], j['status'], j['tests'], j['tests_passed']) for j in d['jobs'])")" \
        "1 [('test_a.py', 'error', 4, 1), ('test_b.py', 'error', 4, 1), ('test_c.py', 'error', 4, 1), ('test_d.py', 'passed', 1, 1)]"
like "... which says so" "$(cat "$WS.out")" \
        "ERROR test_a.py: its pytest ran 1 of the 4 tests the run's collection gave it: its own collection found fewer"
run_in "$WS" "$NSRUN_BIN" xdist -j 2 -- pytest -q -p no:cacheprovider
is "... and nsrun xdist, whose workers each collect the whole suite (the fix troubleshooting.md gives): 13 passed" \
        "$? $(tail -n 1 "$WS.out" | sed -E 's/ in [0-9.]+s.*$//')" "0 13 passed"

# the cut itself (nsrun_pytest.py's _handover_cut()), on the times a job measured: inside the slow file it is in,
# not at the end of that file, which would give away only quick tests; at a file's end between files alike
cut=$(cd "$SCRATCH" && PYTHONPATH="$SCRATCH/runner" /usr/bin/python3 - <<'PYEOF'
import nsrun_pytest as n

class Item:
    def __init__(self, path, nodeid):
        self.path, self.nodeid = path, nodeid

def items(f, k, start=0):
    return [Item("/r/" + f, "%s::t[%d]" % (f, i)) for i in range(start, start + k)]

n._times.update({"q0.py::t[0]": 0.01, "q0.py::t[1]": 0.01, "slow.py::t[0]": 1.0, "slow.py::t[1]": 1.0})
done = items("q0.py", 2) + items("slow.py", 2)
print(n._handover_cut(done, items("slow.py", 8, 2) + items("q1.py", 10), "/r"),
      n._handover_cut(done, items("q1.py", 10) + items("q2.py", 10), "/r"),
      n._handover_cut(done, items("slow.py", 1, 2), "/r"))
PYEOF
)
is "the cut: half of a slow file's 8 tests left kept (not all 8, then 10 quick ones given), 10 quick files' end, 1 test kept" \
        "$cut" "4 10 1"

rm -rf "$HO/.nsrun"
run_in "$HO" "$NSRUN_BIN" -j 2 --batch off --json "$HO.off.json" -- pytest -q -p no:cacheprovider
is "--batch off: no file is split, nor handed over" \
        "$(json "$HO.off.json" "sorted((j['name'], j['tests'], j['handed_over']) for j in d['jobs'])")" \
        "[('test_a_quick.py', 8, 0), ('test_b_quick.py', 8, 0), ('test_c_slow.py', 8, 0)]"

# --- a test that closes descriptors it does not own and takes their numbers (os.closerange(), then open()): nsrun's
# plugin, which keeps its files open through the job, never writes into the test's files, and its results are
# whole, forked or not ---
FD=$SCRATCH/p-fds
mkdir -p "$FD"
cat > "$FD/test_fds.py" <<'PYEOF'
import os

MINE = []

def test_1():
    pass

def test_2_takes_their_numbers(tmp_path):
    # the descriptors open on files of the directory nsrun's plugin writes to (none under plain pytest)
    where = os.path.dirname(os.environ.get("NSRUN_TIMES_OUT", "/nonexistent/x"))
    theirs = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.path.dirname(os.readlink("/proc/self/fd/" + fd)) == where:
                theirs.append(int(fd))
        except OSError:
            pass
    assert theirs or not os.environ.get("NSRUN_TIMES_OUT")
    for fd in theirs:
        os.close(fd)
    MINE.extend(os.open(tmp_path / ("mine%d" % i), os.O_RDWR | os.O_CREAT) for i in range(len(theirs) + 4))
    assert not theirs or set(theirs) <= set(MINE)

def test_3():
    pass

def test_4_mine_untouched():
    assert [os.fstat(fd).st_size for fd in MINE] == [0] * len(MINE)
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$FD"
run_in "$FD" pytest -p no:cacheprovider test_fds.py
like "pytest: a test closing descriptors it does not own and reusing their numbers passes" "$(tail -n 1 "$FD.out")" \
        "= 4 passed in "
run_in "$FD" pytest -p no:cacheprovider -n 2 test_fds.py
like "... and under pytest -n 2" "$(tail -n 1 "$FD.out")" "= 4 passed in "
for mode in on off; do
        run_in "$FD" "$NSRUN_BIN" -j 1 --fork $mode --json "$FD.$mode.json" -- pytest -p no:cacheprovider test_fds.py
        is "... nsrun --fork $mode: the same 4 passed, its plugin writing none of the test's files" \
                "$(json "$FD.$mode.json" "[(j['status'], j['tests_passed']) for j in d['jobs']]")" "[('passed', 4)]"
done

# --- -x and --maxfail, side by side with pytest -x and pytest -n 2 -x ---
# What the user notices: the run stops (not every test runs), the failure is shown, the exit status. Tests in
# flight when the first failure comes still end, under xdist (its other worker's current test) and nsrun (the
# jobs running then, each stopping at its own first failure), so the counts may differ; pytest-xdist exits 2
# (its "Interrupted: stopping after 1 failures"), nsrun 1, as plain pytest -x: tests failed.
XP=$SCRATCH/p-exitfirst
mkdir -p "$XP"
for i in 1 2 3 4; do
        printf 'def test_a():\n    pass\n\ndef test_b():\n    assert 0, "fails in %s"\n\ndef test_c():\n    pass\n' "$i" > "$XP/test_x$i.py"
done
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$XP"
ran() { # the number of tests pytest's last line, or nsrun's summary, counts
        tail -n 1 "$1" | sed -E 's/.*tests: //' | grep -Eo '[0-9]+ (passed|failed|skipped|xfailed|xpassed|errors?)' |
                awk '{ n += $1 } END { print n + 0 }'
}
for opt in -x --maxfail=2; do
        run_in "$XP" pytest -p no:cacheprovider $opt test_x1.py test_x2.py test_x3.py test_x4.py
        s=$?
        cp "$XP.out" "$XP.serial.out"
        run_in "$XP" pytest -n 2 -p no:cacheprovider $opt
        x=$?
        cp "$XP.out" "$XP.xdist.out"
        run_in "$XP" "$NSRUN_BIN" -j 2 -- pytest -p no:cacheprovider $opt
        n=$?
        diag < "$XP.out"
        check "$opt: the run stops under pytest ($(ran "$XP.serial.out") of 12 tests ran), pytest -n 2 ($(ran "$XP.xdist.out")) and nsrun ($(ran "$XP.out"))" \
                test "$(ran "$XP.serial.out")" -lt 12 -a "$(ran "$XP.xdist.out")" -lt 12 -a "$(ran "$XP.out")" -lt 12
        like "... nsrun shows the failure, pytest's E line of it" "$(cat "$XP.out")" "^E +AssertionError: fails in [1-4]"
        like "... as pytest -n 2 does" "$(cat "$XP.xdist.out")" "AssertionError: fails in [1-4]"
        like "... nsrun's summary says which jobs it did not start" "$(tail -n 1 "$XP.out")" "[0-9]+ not run"
        is "... exit status: pytest $s, nsrun $n (pytest -n 2: $x)" "$s $n" "1 1"
done

# --- exit statuses ---
run_in "$S" pytest -k nomatch
s=$?
run_in "$X" pytest -n 2 -k nomatch
x=$?
run_in "$N" "$NSRUN_BIN" -j 2 -- pytest -k nomatch
is "no tests collected: pytest, pytest -n 2 and nsrun -- pytest all exit 5" "$s $x $?" "5 5 5"
like "... nsrun says why" "$(cat "$N.out")" "pytest collected no tests"
# pytest-reportlog's --report-log: not packaged in Debian 12, not supported; without it, pytest's own error line
if ! /usr/bin/python3 -c 'import pytest_reportlog' 2> /dev/null; then
        run_in "$N" "$NSRUN_BIN" -j 2 -- pytest --report-log=log.jsonl
        is "--report-log without pytest-reportlog: exit 4, as pytest's usage error" "$?" 4
        like "... with pytest's own line" "$(cat "$N.out")" "pytest: error: unrecognized arguments: --report-log=log.jsonl"
else
        ok "--report-log without pytest-reportlog # SKIP pytest-reportlog is installed"
        ok "... with pytest's own line # SKIP pytest-reportlog is installed"
fi
run_in "$N" "$NSRUN_BIN" --no-such-option -- pytest
is "nsrun's own usage error stays 2" "$?" 2
run_in "$S" pytest
s=$?
run_in "$N" "$NSRUN_BIN" -j 2 -- pytest
is "failures: 1 under both" "$s $?" "1 1"

# --- failures per test: pytest's ERRORS and FAILURES sections and its short test summary ---
F=$(project p-failures)
cat > "$F/test_noisy.py" <<'PYEOF'
import sys
import pytest

def test_noisy():
    for i in range(300):
        print("noise line", i)
    print("to stderr", file=sys.stderr)
    assert [1, 2, 3] == [1, 2, 4]

@pytest.fixture
def broken():
    raise RuntimeError("setup fails")

def test_setup_error(broken):
    pass

@pytest.fixture
def bad_teardown():
    yield
    print("tearing down")
    raise RuntimeError("teardown fails")

def test_fails_and_teardown_fails(bad_teardown):
    assert 0, "and the test fails too"
PYEOF
# the environment is not the same under each: not in the assertion's explanation
sed -i 's/assert os.environ.get("FIX") == "1"/fix = os.environ.get("FIX")\n    assert fix == "1"/' "$F/test_b.py"
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$F"
# sections FILE: the ERRORS and FAILURES blocks in the output, each "____ name ____" and what follows it, in their
# order, as one JSON list; without pytest -n's "[gw0] linux -- Python ..." line and nsrun's own lines after them
sections() {
        /usr/bin/python3 - "$1" <<'PYEOF'
import json, re, sys
lines = open(sys.argv[1], errors="replace").read().split("\n")
blocks, cur, inside = [], None, False
for line in lines:
    if re.match(r"^=+ (ERRORS|FAILURES) =+$", line):
        inside = True
        continue
    if re.match(r"^=+ .* =+$", line) or line.startswith("nsrun: "):
        inside = False
    if not inside:
        continue
    if re.match(r"^_+ .* _+$", line):
        cur = [line]
        blocks.append(cur)
    elif cur is not None and not re.match(r"^\[gw\d+\] ", line):
        cur.append(line)
out = []
for b in blocks:
    while b and (b[-1] == "" or re.match(r"^(slowest|most memory|start-up): ", b[-1])):
        b.pop()
    out.append("\n".join(b))
print(json.dumps(out))
PYEOF
}
# short FILE: the lines of its "short test summary info", one a line
short() { sed -n '/^=* short test summary info =*$/,$p' "$1" | sed '1d' | grep -Ev '^(=+ .* =+|nsrun: .*)$'; }
run_in "$F" pytest -n 2
mv "$F.out" "$F.xdist.out"
run_in "$F" pytest
mv "$F.out" "$F.serial.out"
run_in "$F" "$NSRUN_BIN" -j 2 -- pytest
S_SECT=$(sections "$F.serial.out")
N_SECT=$(sections "$F.out")
X_SECT=$(sections "$F.xdist.out")
is "pytest's own ERRORS and FAILURES hold 6 blocks (a setup and a teardown error, 4 failures)" \
        "$(json <(echo "$S_SECT") "len(d)")" 6
is "nsrun -- pytest: the same blocks as pytest's, each its E lines, diff, traceback and captured output, in pytest's order" \
        "$N_SECT" "$S_SECT"
is "pytest -n 2: the same blocks (in the order its workers ended)" \
        "$(json <(echo "$X_SECT") "sorted(d)")" "$(json <(echo "$S_SECT") "sorted(d)")"
noisy=$(json <(echo "$N_SECT") "[b for b in d if ' test_noisy ' in b.split(chr(10))[0]][0]" | tr '\n' '|')
like "... the 300-lines test's block has its assertion and diff" "$noisy" \
        "E       assert \[1, 2, 3\] == \[1, 2, 4\]\|E         At index 2 diff: 3 != 4"
like "... then its captured output under pytest's header, all 300 lines" "$noisy" \
        "-+ Captured stdout call -+\|noise line 0\|.*\|noise line 299\|-+ Captured stderr call -+\|to stderr"
like "... a teardown's captured output too, in the ERRORS block of the teardown" \
        "$(json <(echo "$N_SECT") "chr(10).join(d)" | tr '\n' '|')" \
        "ERROR at teardown of test_fails_and_teardown_fails.*Captured stdout teardown -+\|tearing down"
check "... and the job's log tail is not shown in their place" sh -c "! grep -q '^==== FAIL' '$F.out'"
is "nsrun's short test summary is pytest's: each failed and errored id with its message" \
        "$(short "$F.out")" "$(short "$F.serial.out")"
is "... pytest -n 2's lists the same (in its order)" "$(short "$F.xdist.out" | sort)" "$(short "$F.serial.out" | sort)"
# (a message of several lines is whole where pytest sees CI in the environment, one line cut to the width elsewhere)
like "... FAILED lines, then ERROR lines, as pytest -rfE prints them" "$(short "$F.out" | tr '\n' '|')" \
        "^FAILED test_a.py::test_fail1 - assert \[1, 2, 3\] == \[1, 2, 4\]\|(.*\|)?FAILED test_b.py::test_fail2 - AssertionError: set FIX=1 to fix it\|.*ERROR test_noisy.py::test_setup_error - RuntimeError: setup fails"
is "... last on screen before nsrun's own line" "$(tail -n 2 "$F.out" | head -n 1)" "$(short "$F.serial.out" | tail -n 1)"
# -r in the pytest arguments: its sections, skips folded over the jobs as pytest folds them
cat > "$F/test_skips.py" <<'PYEOF'
import pytest

@pytest.mark.parametrize("x", [1, 2, 3])
def test_s(x):
    pytest.skip("one place, one reason")
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$F"
run_in "$F" pytest -rA
mv "$F.out" "$F.serial.out"
run_in "$F" "$NSRUN_BIN" -j 2 --dist test -- pytest -rA
is "-rA (one job per test): the same short summary as pytest's, passes, skips folded, xfails, xpasses" \
        "$(short "$F.out")" "$(short "$F.serial.out")"
like "... the three skips of one place in one line, from three jobs" "$(short "$F.out")" \
        "SKIPPED \[3\] test_skips.py:5: one place, one reason"
run_in "$F" "$NSRUN_BIN" -j 2 -- pytest --tb=line -rN
mv "$F.out" "$F.line.out"
run_in "$F" pytest --tb=line -rN
is "--tb=line -rN: pytest's one line a failure, no short summary" \
        "$(sed -n '/^=* FAILURES =*$/,/^$/p' "$F.line.out")" "$(sed -n '/^=* FAILURES =*$/,/^=/p' "$F.out" | sed '$d')"
rm "$F/test_skips.py"

# -v: pytest -v's line for each test, streamed as the tests end
run_in "$F" pytest -v
mv "$F.out" "$F.serial.out"
run_in "$F" "$NSRUN_BIN" -j 2 -- pytest -v
vlines() { grep -E '^test_[a-z]+\.py::[^ ]+ (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)' "$1" | sed -E 's/ +\[ *[0-9]+%\]$//' | sort; }
is "-v: nsrun lists every test id with its outcome as pytest -v does" "$(vlines "$F.out")" "$(vlines "$F.serial.out")"
is "... 12 lines (a test whose teardown fails has two, as in pytest)" "$(vlines "$F.out" | wc -l)" 12
like "... with pytest's progress at the right, for a job that passed too (its log is not shown)" \
        "$(grep -E '^test_c.py::test_plugin_value ' "$F.out")" "^test_c.py::test_plugin_value PASSED +\[ *[0-9]+%\]$"

# a test that prints 100 MB and fails: its block is cut, with the log's path, and nsrun's memory stays small (its
# peak, VmHWM, read while its output goes through a one-page pipe, so read until its last lines)
B=$SCRATCH/p-big
mkdir -p "$B"
cat > "$B/test_big.py" <<'PYEOF'
import sys

def test_big():
    line = "x" * 99 + "\n"
    for _ in range(1024 * 1024):
        sys.stdout.write(line)
    assert [1, 2, 3] == [1, 2, 4]
PYEOF
cat > "$SCRATCH/hwm.py" <<'PYEOF'
import fcntl, os, subprocess, sys
r, w = os.pipe()
fcntl.fcntl(r, 1031, 4096)  # F_SETPIPE_SZ: one page
p = subprocess.Popen(sys.argv[1:], stdout=w, stderr=subprocess.STDOUT)
os.close(w)
hwm, out = 0, []
while True:
    try:
        hwm = max([hwm] + [int(l.split()[1]) for l in open("/proc/%d/status" % p.pid) if l.startswith("VmHWM:")])
    except OSError:
        pass
    b = os.read(r, 4096)
    if not b:
        break
    out.append(b)
p.wait()
sys.stdout.buffer.write(b"".join(out))
print("VmHWM", hwm)
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$B"
run_in "$B" /usr/bin/python3 "$SCRATCH/hwm.py" "$NSRUN_BIN" -- pytest -p no:cacheprovider
like "100 MB of output: the block keeps its E lines" "$(cat "$B.out")" "E       assert \[1, 2, 3\] == \[1, 2, 4\]"
log=$(sed -nE 's/^\.\.\. \([0-9]+ lines cut; all of it is in (.*)\)$/\1/p' "$B.out")
like "... its captured output cut, with the log's path" "$log" "\.nsrun/logs/test_big\.py\.log$"
check "... where all of it is" test "$(stat -c %s "$log" 2>/dev/null || echo 0)" -gt 100000000
size=$(sed -n '/^=* FAILURES =*$/,/^=* short test/p' "$B.out" | wc -c)
check "... the FAILURES section is under 64 KiB ($size bytes)" test "$size" -gt 1000 -a "$size" -lt 70000
hwm=$(sed -n 's/^VmHWM //p' "$B.out")
check "... nsrun's own peak memory stays under 32 MiB (VmHWM ${hwm:-?} kB)" test "${hwm:-999999}" -lt 32768

# --- pytest's assertion rewriting, kept in .nsrun/pytest-rewrite/ between runs (each job's __pycache__ is its
# overlay's, thrown away): written in the background while the jobs run, each entry pytest's own rewriting of the
# file, used while the file's content is the entry's ---
RW=$SCRATCH/rewrite
mkdir -p "$RW"
printf 'def test_eq():\n    assert [1, 2] == [1, 3]\n' > "$RW/test_r.py"
printf 'import time\n\ndef test_slow():\n    time.sleep(3)\n' > "$RW/test_slow.py"
R=$(copy_project "$RW" p-rewrite)
run_in "$R" "$NSRUN_BIN" -j 2 -- pytest -p no:cacheprovider
entry=$(find "$R/.nsrun/pytest-rewrite" -name 'test_r.*-pytest-*.pyc' 2>/dev/null)
check "a run keeps each test file's rewriting: one entry each, at the file's path under .nsrun/pytest-rewrite/" \
        test -n "$entry" -a "$(find "$R/.nsrun/pytest-rewrite" -name '*.pyc' | wc -l)" = 2 -a \
        "${entry#"$R/.nsrun/pytest-rewrite"}" = "$R/$(basename "$entry")"
check "... and its writer is gone with the run" sh -c "! pgrep -f '[n]srun_rewrite.py $R/'"
# entry ENTRY: its code (after nsrun's header: a line, the bytecode's magic number, the source's SHA-256)
code_of() { echo "marshal.loads(open('$1', 'rb').read()[${2:-52}:])"; }
# pytest's own entry for the file, as it writes one where it may write bytecode
P=$(copy_project "$RW" p-rewrite-pytest)
(cd "$P" && as_test_user env -u PYTHONDONTWRITEBYTECODE pytest -p no:cacheprovider test_r.py) > /dev/null 2>&1
pyc=$P/__pycache__/$(basename "$entry")
is "... what pytest writes into __pycache__ for the file, the same code" \
        "$(/usr/bin/python3 -c "import marshal; a, b = $(code_of "$entry"), $(code_of "$pyc" 16); print(a == b, a.co_filename)")" \
        "True $R/test_r.py"
run_in "$R" "$NSRUN_BIN" -j 2 -- pytest -p no:cacheprovider
run_in "$P" pytest -p no:cacheprovider
is "... a run from it fails as pytest does, its assertion explained" \
        "$(grep -E '^E ' "$R.out")" "$(grep -E '^E ' "$P.out")"
PX=$(copy_project "$RW" p-rewrite-xdist)
run_in "$PX" pytest -p no:cacheprovider -n 2
is "... and as pytest -n 2 does" "$(grep -E '^E ' "$R.out")" "$(grep -E '^E ' "$PX.out")"
# the entry's code replaced by other code, its header kept: the jobs take it while the file's content is the same
/usr/bin/python3 - "$entry" <<'PYEOF'
import marshal, sys
head = open(sys.argv[1], "rb").read()[:52]
code = compile("def test_eq():\n    raise AssertionError('taken from the cache')\n", "test_r.py", "exec")
open(sys.argv[1], "wb").write(head + marshal.dumps(code))
PYEOF
touch -d '1 hour ago' "$R/test_r.py"
run_in "$R" "$NSRUN_BIN" -j 2 -- pytest -p no:cacheprovider
like "... the jobs' pytest reads the file's entry, whatever the file's mtime (a fresh checkout's)" "$(cat "$R.out")" \
        "taken from the cache"
printf '[pytest]\nenable_assertion_pass_hook = true\n' > "$R/pytest.ini"
run_in "$R" "$NSRUN_BIN" -j 2 -- pytest -p no:cacheprovider
rm "$R/pytest.ini"
check "... not with enable_assertion_pass_hook, which rewrites differently" \
        sh -c "grep -q '^E  *assert \[1, 2\] == \[1, 3\]' '$R.out' && ! grep -q 'taken from the cache' '$R.out'"
echo '# changed' >> "$R/test_r.py"
run_in "$R" "$NSRUN_BIN" -j 2 -- pytest -p no:cacheprovider
check "... nor once the file's content is not the entry's" \
        sh -c "grep -q '^E  *assert \[1, 2\] == \[1, 3\]' '$R.out' && ! grep -q 'taken from the cache' '$R.out'"
is "... which that run wrote again" \
        "$(/usr/bin/python3 -c "import marshal; print($(code_of "$entry") == $(code_of "$pyc" 16))")" "True"

# --- jobs forked from prepared interpreters (--fork auto forks the 3 jobs on 2 workers above) and fresh ones ---
agree() { # DIR: what a user reads of a run: its tests' outcomes, lastfailed, the FAILURES blocks, the summary
        testcases "$1.xml"
        lastfailed "$1"
        sed -n '/^=* FAILURES =*$/,/^=* short test summary/p' "$1.out" | grep -E '^(_+ .* _+|E .*)$'
        short "$1.out"
}
for fork in on off; do
        K=$(project p-fork-$fork)
        run_in "$K" "$NSRUN_BIN" -j 2 --fork $fork --junit "$K.xml" -- pytest -rA
done
is "--fork on and --fork off: the same outcomes, lastfailed, FAILURES and short summary" \
        "$(agree "$SCRATCH/p-fork-on")" "$(agree "$SCRATCH/p-fork-off")"
check "... one run forked, the other not" sh -c "ls '$SCRATCH/p-fork-on/.nsrun/logs' | grep -q nsrun-prepared &&
        ! ls '$SCRATCH/p-fork-off/.nsrun/logs' | grep -q nsrun-prepared"

done_testing
