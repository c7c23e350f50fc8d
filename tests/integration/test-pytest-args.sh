#!/bin/bash
# nsrun -- pytest with the arguments that change where tests come from and how pytest reads them: --pyargs (an
# installed package's tests, outside the rootdir), -p PLUGIN and -o key=value. Every count is checked against
# plain serial pytest on the same package, run the same way.
. "$(dirname "$0")/../lib.sh"

setup_scratch
require_sandbox

# --- a package on a PYTHONPATH directory, with its tests inside, and a plugin package ---
SITE=$SCRATCH/site
mkdir -p "$SITE/pkg/tests/sub" "$SITE/plug/tests"
cat > "$SITE/pkg/__init__.py" <<'PYEOF'
def double(x):
    return 2 * x
PYEOF
touch "$SITE/pkg/tests/__init__.py" "$SITE/pkg/tests/sub/__init__.py" "$SITE/plug/tests/__init__.py"
cat > "$SITE/pkg/tests/test_a.py" <<'PYEOF'
import pytest
from pkg import double

@pytest.mark.parametrize("x", [1, 2, 3])
def test_double(x):
    assert double(x) == 2 * x

def test_skipped():
    pytest.skip("skipped on purpose")
PYEOF
# the same test name as test_a.py's: pytest names both '::test_double...' when they run as files outside the
# rootdir, so a time keyed by nodeid would go to the wrong file. One test: a file nsrun cannot split.
cat > "$SITE/pkg/tests/sub/test_b.py" <<'PYEOF'
import time

def test_double():
    time.sleep(0.3)
PYEOF
cat > "$SITE/pkg/tests/test_c.py" <<'PYEOF'
def test_c1():
    pass

def test_c2():
    pass

class TestC:
    def test_method(self):
        assert True
PYEOF
# a plugin (loaded with -p) that declares a marker and gives a fixture; its tests are named check_*
cat > "$SITE/plug/__init__.py" <<'PYEOF'
import pytest

def pytest_configure(config):
    config.addinivalue_line("markers", "slowish: declared by the plugin")

@pytest.fixture
def answer():
    return 42
PYEOF
cat > "$SITE/plug/tests/test_p.py" <<'PYEOF'
import pytest

def check_answer(answer):
    assert answer == 42

@pytest.mark.slowish
def check_marked(answer):
    assert answer == 42

def test_left_out():
    assert False, "-o python_functions=check_* leaves this out"
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$SITE"
E=$(make_project empty)
DEEP=$(make_project other/deeper/dir)

# serial_counts DIR ARGS...: "passed failed skipped" of plain pytest run in DIR
serial_counts() {
        local dir=$1
        shift
        (cd "$dir" && as_test_user env PYTHONPATH="$SITE" PYTHONDONTWRITEBYTECODE=1 \
                pytest -q -p no:cacheprovider "$@" 2>&1) | tail -n 1 | /usr/bin/python3 -c 'import re, sys; t = sys.stdin.read()
print(*(int((re.search(r"(\d+) " + w, t) or [0, 0])[1]) for w in ("passed", "failed", "skipped")))'
}
# nsrun_json DIR REPORT NSRUN_ARGS... -- PYTEST...: nsrun run in DIR with the package's directory on
# PYTHONPATH and visible in the sandbox
nsrun_json() {
        local dir=$1 report=$2
        shift 2
        (cd "$dir" && as_test_user env PYTHONPATH="$SITE" "$NSRUN_BIN" --overlay "$SITE" --json "$report" "$@") \
                > "$report.out" 2>&1
}
counts() { json "$1" "d['totals']['tests_passed'], d['totals']['tests_failed'], d['totals']['tests_skipped']" | tr -d '(),'; }
names() { json "$1" "sorted(j['name'] for j in d['jobs'])"; }

# --- --pyargs from an empty directory ---
want=$(serial_counts "$E" --pyargs pkg)
is "serial pytest --pyargs pkg: the package's tests run (passed failed skipped)" "$want" "7 0 1"
nsrun_json "$E" "$SCRATCH/py.json" -j 2 --junit "$SCRATCH/py.xml" -- pytest --pyargs pkg
rc=$?
is "nsrun -j 2 -- pytest --pyargs pkg passes from an empty directory" "$rc" 0
tail -n 1 "$SCRATCH/py.json.out" | diag
is "... with the counts of serial pytest" "$(counts "$SCRATCH/py.json")" "$want"
is "... one job per file, named by the package's path (not ../../ from wherever nsrun ran)" \
        "$(names "$SCRATCH/py.json")" "['pkg/tests/sub/test_b.py', 'pkg/tests/test_a.py', 'pkg/tests/test_c.py']"
classnames='import sys, xml.etree.ElementTree as E
print(sorted({c.get("classname") for c in E.parse(sys.argv[1]).iter("testcase")}))'
# pytest names the files of a --pyargs package relative to the package's directory, and so do nsrun's jobs
(cd "$E" && as_test_user env PYTHONPATH="$SITE" PYTHONDONTWRITEBYTECODE=1 pytest -q -p no:cacheprovider \
        --junitxml="$SCRATCH/py-serial.xml" --pyargs pkg > /dev/null 2>&1)
is "... and its JUnit report names each test as pytest does (relative to the package)" \
        "$(/usr/bin/python3 -c "$classnames" "$SCRATCH/py.xml")" \
        "['tests.sub.test_b', 'tests.test_a', 'tests.test_c', 'tests.test_c.TestC']"
testcases='import sys, xml.etree.ElementTree as E
print(sorted((c.get("classname"), c.get("name")) for c in E.parse(sys.argv[1]).iter("testcase")))'
is "... the same testcases as serial pytest --junitxml" "$(/usr/bin/python3 -c "$testcases" "$SCRATCH/py.xml")" \
        "$(/usr/bin/python3 -c "$testcases" "$SCRATCH/py-serial.xml")"
nsrun_json "$DEEP" "$SCRATCH/deep.json" -j 2 -- pytest --pyargs pkg
is "... the same names run from another directory" "$(names "$SCRATCH/deep.json")" "$(names "$SCRATCH/py.json")"
rm -rf "$E/.nsrun"
nsrun_json "$E" "$SCRATCH/pym.json" -j 2 -- /usr/bin/python3 -m pytest --pyargs pkg
is "python3 -m pytest --pyargs pkg: the same jobs and counts" \
        "$(names "$SCRATCH/pym.json") $(counts "$SCRATCH/pym.json")" "$(names "$SCRATCH/py.json") $want"
rm -rf "$E/.nsrun"
nsrun_json "$E" "$SCRATCH/dd.json" -j 2 -- pytest --pyargs -- pkg
is "pytest --pyargs -- pkg (a '--' before the package): the same jobs and counts" \
        "$(names "$SCRATCH/dd.json") $(counts "$SCRATCH/dd.json")" "$(names "$SCRATCH/py.json") $want"
check "the installed package is unchanged (no .pytest_cache or __pycache__ written into it)" \
        sh -c "! find '$SITE' -name .pytest_cache -o -name 'test_*.pyc' | grep -q ."

# --- per-file times and history of files outside the rootdir, batched into one job ---
rm -rf "$E/.nsrun"
nsrun_json "$E" "$SCRATCH/b.json" -j 2 --batch 1 -- pytest --pyargs pkg
is "--batch 1: the three files in one job, every test run once" \
        "$(json "$SCRATCH/b.json" "(len(d['jobs']), sorted(d['jobs'][0]['files']))") $(counts "$SCRATCH/b.json")" \
        "(1, ['pkg/tests/sub/test_b.py', 'pkg/tests/test_a.py', 'pkg/tests/test_c.py']) $want"
is "... the history has each file under its name, with the time its own tests took" \
        "$(json "$E/.nsrun/history.json" "sorted(d['jobs']), d['jobs']['pkg/tests/sub/test_b.py']['wall_s'] >= 0.3, all(0 < d['jobs'][f]['wall_s'] < 0.3 for f in ('pkg/tests/test_a.py', 'pkg/tests/test_c.py'))")" \
        "['pkg/tests/sub/test_b.py', 'pkg/tests/test_a.py', 'pkg/tests/test_c.py'] True True"
nsrun_json "$E" "$SCRATCH/b2.json" -j 2 --batch off -- pytest --pyargs pkg
is "... and the next run finds it: the file that sleeps is expected to take longest and goes first" \
        "$(json "$SCRATCH/b2.json" "d['jobs'][0]['name'], d['jobs'][0]['expected_s'] >= 0.3")" \
        "pkg/tests/sub/test_b.py True"

# --- --dist test: one job per test id, outside the rootdir ---
rm -rf "$E/.nsrun"
nsrun_json "$E" "$SCRATCH/t.json" -j 2 --dist test -- pytest --pyargs pkg
is "--dist test --pyargs pkg: one job per test, named file::id, the counts of serial pytest" \
        "$(json "$SCRATCH/t.json" "len(d['jobs']), 'pkg/tests/test_c.py::TestC::test_method' in [j['name'] for j in d['jobs']]") $(counts "$SCRATCH/t.json")" \
        "8 True $want"
is "... each test's time in the history under its job's name" \
        "$(json "$E/.nsrun/history.json" "d['jobs']['pkg/tests/sub/test_b.py::test_double']['wall_s'] >= 0.3")" True

# --- -p PLUGIN and -o key=value ---
pargs=(-p plug -o 'python_functions=check_*' --strict-markers --pyargs plug)
want=$(serial_counts "$E" "${pargs[@]}")
is "serial pytest -p plug -o python_functions=check_* --pyargs plug: the plugin's fixture, only check_*" "$want" "2 0 0"
nsrun_json "$E" "$SCRATCH/p.json" -j 2 -- pytest "${pargs[@]}"
rc=$?
is "nsrun with -p and -o: passes with the counts of serial pytest" "$rc $(counts "$SCRATCH/p.json")" "0 $want"
tail -n 1 "$SCRATCH/p.json.out" | diag
is "... '-p plug' kept as an option although 'plug' is also the positional argument" \
        "$(json "$SCRATCH/p.json" "sorted({j['name'].split(' [')[0] for j in d['jobs']})")" "['plug/tests/test_p.py']"
want=$(serial_counts "$E" "${pargs[@]}" -m slowish)
nsrun_json "$E" "$SCRATCH/m.json" -j 2 -- pytest "${pargs[@]}" -m slowish
rc=$?
is "... the plugin's marker selects with -m under --strict-markers, in every job as in serial pytest" \
        "$rc $(counts "$SCRATCH/m.json") $want" "0 1 0 0 1 0 0"
want=$(serial_counts "$E" -p plug -o 'python_functions=check_* test_*' --pyargs plug pkg)
nsrun_json "$E" "$SCRATCH/p2.json" -j 2 -- pytest -p plug -o 'python_functions=check_* test_*' --pyargs plug pkg
is "two packages, -o with a space in its value: the counts of serial pytest, failures included" \
        "$(counts "$SCRATCH/p2.json")" "$want"
is "... which are the package's tests plus the plugin's three (one fails)" "$want" "9 1 1"

# --- an inifile the invocation found is the jobs' too, though their files are elsewhere ---
printf '[pytest]\npython_functions = check_*\n' > "$E/pytest.ini"
[ ${#RUN_AS[@]} -gt 0 ] && chown "$TEST_USER:" "$E/pytest.ini"
want=$(serial_counts "$E" -p plug --pyargs plug)
nsrun_json "$E" "$SCRATCH/ini.json" -j 2 -- pytest -p plug --pyargs plug
rc=$?
is "pytest.ini in the invocation directory applies to the jobs of an installed package's files" \
        "$rc $(counts "$SCRATCH/ini.json") $want" "0 2 0 0 2 0 0"
rm -f "$E/pytest.ini"

# --- pytest's -x / --maxfail stop the whole run: no job starts once that many tests failed in all ---
X=$(make_project maxfail)
as_test_user mkdir -p "$X/tests"
for i in 1 2 3 4; do
        printf 'def test_ok():\n    pass\n\ndef test_bad():\n    assert %d == 0\n' "$i" | as_test_user sh -c "cat > '$X/tests/test_f$i.py'"
done
want=$(cd "$X" && /usr/bin/python3 -m pytest -x -q -p no:cacheprovider tests 2>&1 | tail -n 1 | grep -Eo '[0-9]+ failed')
out=$(cd "$X" && nsrun -j 1 -- pytest -x -p no:cacheprovider tests 2>&1); rc=$?
is "nsrun -j 1 -- pytest -x on 4 files with a failing test each: exit 1" "$rc" 1
like "... stops after the first failure, as pytest -x ($want): the other 3 files not run" "$out" \
        "^nsrun: 4 jobs: 1 failed, 3 not run; tests: $want, 1 passed;"
out=$(cd "$X" && nsrun -j 1 -- pytest --maxfail=2 -p no:cacheprovider tests 2>&1); rc=$?
is "nsrun -j 1 -- pytest --maxfail=2: exit 1" "$rc" 1
like "... stops after 2 failures in all, the other 2 files not run" "$out" \
        '^nsrun: 4 jobs: 2 failed, 2 not run; tests: 2 failed, 2 passed;'
out=$(cd "$X" && PYTEST_ADDOPTS=-x nsrun -j 1 -- pytest -p no:cacheprovider tests 2>&1)
like "... -x from PYTEST_ADDOPTS the same" "$out" '^nsrun: 4 jobs: 1 failed, 3 not run; tests: 1 failed, 1 passed;'
out=$(cd "$X" && nsrun -j 1 -- pytest -p no:cacheprovider tests 2>&1)
like "... without -x, every file runs" "$out" '^nsrun: 4 jobs: 4 failed; tests: 4 failed, 4 passed;'

# --- -p rerunfailures (pytest-rerunfailures' --reruns): outcomes counted as pytest counts them ---
# A test that fails once, a fixture of conftest.py that fails once for each test, a test that fails every time:
# each attempt before the last is a 'rerun', not a test of its own. (With pytest-xdist installed the plugin serves
# its counts on a loopback port in the job's own network: nothing to reach outside.)
if /usr/bin/python3 -c 'import pytest_rerunfailures' 2>/dev/null; then
        F=$(make_project reruns)
        as_test_user mkdir -p "$F/tests"
        as_test_user sh -c "cat > '$F/tests/conftest.py'" <<'PYEOF'
import pytest

_set_up = set()

@pytest.fixture
def fails_once(request):
    if request.node.nodeid not in _set_up:
        _set_up.add(request.node.nodeid)
        raise RuntimeError('this fixture fails the first time for each test')
PYEOF
        as_test_user sh -c "cat > '$F/tests/test_once.py'" <<'PYEOF'
_calls = []

def test_fails_once():
    _calls.append(1)
    assert len(_calls) > 1, 'fails the first time'

def test_setup_fails_once(fails_once):
    pass

def test_passes():
    pass
PYEOF
        as_test_user sh -c "cat > '$F/tests/test_always.py'" <<'PYEOF'
def test_always_fails():
    assert False, 'fails every time'

def test_setup_fails_once(fails_once):
    pass

def test_passes():
    pass
PYEOF
        want=$(cd "$F" && as_test_user /usr/bin/python3 -m pytest -q -p no:cacheprovider --reruns 1 tests 2>&1 |
                tail -n 1 | sed -E 's/ in [0-9.]+s.*$//')
        is "pytest --reruns 1 itself: 1 failed, 5 passed, 4 rerun" "$want" "1 failed, 5 passed, 4 rerun"
        out=$(cd "$F" && nsrun -j 2 --json "$F/run.json" -- pytest -p no:cacheprovider --reruns 1 tests 2>&1); rc=$?
        is "nsrun -- pytest --reruns 1: exit 1 (a test failed every time)" "$rc" 1
        like "... the tests counted as pytest counts them ($want)" "$out" \
                "^nsrun: 2 jobs: 1 passed, 1 failed; tests: $want;"
        is "... --json's totals: 4 rerun, 5 passed, 1 failed" \
                "$(json "$F/run.json" '" ".join(str(d["totals"]["tests_" + k]) for k in ("rerun", "passed", "failed"))')" \
                "4 5 1"
        is "... only the test that failed every time is reported" "$(printf '%s\n' "$out" | grep -c '^FAILED ')" 1
        like "... as pytest reports it" "$out" \
                '^FAILED tests/test_always.py::test_always_fails - AssertionError: fails every'
        # a terminal's status line counts tests done from the plugin's progress record: a test once, not each attempt
        as_test_user mkdir "$F/progress"
        (cd "$F" && as_test_user env NSRUN_TIMES_OUT="$F/progress/times.json" PYTHONPATH="$SCRATCH/runner" \
                /usr/bin/python3 -m pytest -p nsrun_pytest -p no:cacheprovider --reruns 1 -q tests >/dev/null 2>&1)
        is "... nsrun's plugin counts 6 tests done, not 10 attempts" "$(json "$F/progress/progress.json" 'd["done"]')" 6
else
        ok "# SKIP pytest-rerunfailures is not installed (apt-get install python3-pytest-rerunfailures)"
fi

done_testing
