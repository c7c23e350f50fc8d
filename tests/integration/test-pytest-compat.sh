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
like "... FAILED lines, then ERROR lines, as pytest -rfE prints them" "$(short "$F.out" | tr '\n' '|')" \
        "^FAILED test_a.py::test_fail1 - assert \[1, 2, 3\] == \[1, 2, 4\]\|FAILED test_b.py::test_fail2 - AssertionError: set FIX=1 to fix it\|.*ERROR test_noisy.py::test_setup_error - RuntimeError: setup fails"
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

done_testing
