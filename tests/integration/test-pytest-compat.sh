#!/bin/bash
# nsrun -- pytest as a drop-in for pytest and pytest -n 2: the same suite (passes, two failures, an xfail, an
# xpass, a skip) run under each, and what the user keeps compared: pytest's cache (.pytest_cache's lastfailed,
# so that --lf runs the same tests), exit statuses, counts and --junitxml.
. "$(dirname "$0")/../lib.sh"

setup_scratch
require_sandbox
/usr/bin/python3 -c 'import xdist' 2>/dev/null || skip_all "pytest-xdist is not installed (python3-pytest-xdist)"

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
totals='import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
k = ("tests", "failures", "errors", "skipped")
print(*(r.get(a) for a in k), *(sum(int(s.get(a, 0)) for s in r.iter("testsuite")) for a in k))'
is "... its root's tests, failures, errors and skipped are the sums of its suites'" \
        "$(/usr/bin/python3 -c "$totals" "$E/nsrun.xml")" "9 2 1 2 9 2 1 2"

# --- exit statuses ---
run_in "$S" pytest -k nomatch
s=$?
run_in "$X" pytest -n 2 -k nomatch
x=$?
run_in "$N" "$NSRUN_BIN" -j 2 -- pytest -k nomatch
is "no tests collected: pytest, pytest -n 2 and nsrun -- pytest all exit 5" "$s $x $?" "5 5 5"
like "... nsrun says why" "$(cat "$N.out")" "pytest collected no tests"
run_in "$N" "$NSRUN_BIN" --no-such-option -- pytest
is "nsrun's own usage error stays 2" "$?" 2
run_in "$S" pytest
s=$?
run_in "$N" "$NSRUN_BIN" -j 2 -- pytest
is "failures: 1 under both" "$s $?" "1 1"

done_testing
