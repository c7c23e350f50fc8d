#!/bin/bash
# nsrun xdist: pytest-xdist's own scheduling with every worker in an 'nsrun exec' sandbox with a memory cap, as
# root and rootless (in cgroups root delegated to the test user). The bundled example, which fails under plain
# 'pytest -n 4', passes; a worker past its cap is named as out of memory with the test it was running;
# pytest-rerunfailures' --reruns gives what 'pytest -n 2 --reruns 1' gives; bad input gets one line and exit 2;
# nothing is left behind.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/leftovers.sh"

setup_scratch
require_sandbox
[ -x /usr/bin/pytest ] && /usr/bin/python3 -c 'import xdist' 2>/dev/null ||
        skip_all "needs Debian's pytest and pytest-xdist (apt-get install python3-pytest python3-pytest-xdist)"
W=$(copy_example webapp)
cd "$W" || exit 1
export PATH=/usr/sbin:/usr/bin:/sbin:/bin # Debian's pytest, not a pyenv's

cgroups0=$(dead_cgroups)
mounts0=$(mount_count)
digest0=$(tree_digest "$W/data")
ledger0=$(stat -c %Y /tmp/webapp-costs.json 2>/dev/null)

# --- bad input: one line, exit 2 ---
bad() {
        local desc=$1 want=$2 out rc
        shift 2
        out=$(nsrun xdist "$@" 2>&1 >/dev/null); rc=$?
        is "$desc: exit 2" "$rc" 2
        like "... one line naming it" "$out" "^nsrun: .*$want"
        is "... only one" "$(printf '%s\n' "$out" | wc -l)" 1
}
bad "no '--'" "missing '--' before the command" pytest -q
bad "pytest's own -n" "pytest's -n chooses the workers.*nsrun xdist -j N" -- pytest -n 4
bad "pytest's own --tx" "pytest's --tx chooses the workers" -- pytest --tx=popen -q
bad "pytest's own -d" "pytest's -d chooses the workers" -- pytest -d
bad "not pytest" "'ls' is not pytest" -- ls
bad "a cap larger than the machine" "--mem-per-worker 100 TiB: .* use at most [0-9]+G" --mem-per-worker 100T -- pytest

# --- --dry-run: the sizing and the command ---
out=$(nsrun xdist -j 2 --mem-per-worker 2G --dry-run -- pytest -q 2>&1); rc=$?
is "--dry-run exits 0" "$rc" 0
like "... shows the CPU and memory budgets with their sources" "$out" \
        'CPU budget: +[0-9.]+ CPUs \(.+\)'
like "... and 2 workers" "$out" '^workers: +2 \(set by the CPU budget\)$'
like "... capped at 2 GiB each" "$out" '^each worker: +capped at 2 GiB \(--mem-per-worker\), at most 4096 processes$'
like "... and the pytest command, one sandboxed popen worker each" "$out" \
        "command: .* pytest -n 0 --tx '2\*popen//python=[^']*/nsrun exec --mem 2G --pids-max 4096 .*-- /usr/bin/python3' -q$"
is "... and runs nothing" "$(runs_left "$W")" ""

# --- the example passes ---
marked "$SCRATCH/pid" xdist-pass "$NSRUN_BIN" xdist -j 2 --mem-per-worker 2G -- pytest -q > "$SCRATCH/pass.out" 2>&1
rc=$?
out=$(cat "$SCRATCH/pass.out")
is "the example passes with nsrun xdist -j 2 --mem-per-worker 2G -- pytest (exit 0)" "$rc" 0
like "... all 23 tests, on 2 sandboxed workers capped at 2 GiB" "$out" '23 passed'
like "... as nsrun says" "$out" 'nsrun: 2 workers, each in a sandbox capped at 2 GiB'
printf '%s\n' "$out" | tail -n 2 | diag
# (pytest itself runs on the host and writes its .pytest_cache and __pycache__ as usual)
is "... the workers' writes stayed in their sandboxes: data/sessions untouched" "$(tree_digest "$W/data")" "$digest0"
is "... nor /tmp/webapp-costs.json on the host" "$(stat -c %Y /tmp/webapp-costs.json 2>/dev/null)" "$ledger0"
is "... and nothing is left behind" "$(leftovers_of "$SCRATCH/pid" xdist-pass "$W" "$mounts0")" ""

# --- a worker past its cap ---
marked "$SCRATCH/pid" xdist-oom env MODEL_MB=600 "$NSRUN_BIN" xdist -j 2 --mem-per-worker 300M -- pytest -q \
        > "$SCRATCH/oom.out" 2>&1
rc=$?
out=$(cat "$SCRATCH/oom.out")
is "MODEL_MB=600 under --mem-per-worker 300M: exit 1 (pytest's: the model tests failed)" "$rc" 1
like "... each killed worker is named as out of memory, with its limit, its peak and its test" "$out" \
        'nsrun: worker gw[0-9]+ killed: out of memory \(limit 300 MiB, peak 30[0-9](\.[0-9])? MiB\), while running tests/test_model_[a-z]+\.py::test_[a-z]+_model'
is "... one line for each of the 4 model tests" \
        "$(printf '%s\n' "$out" | grep -c '^nsrun: worker gw[0-9]* killed: out of memory')" 4
like "... the same workers pytest-xdist says crashed" "$out" \
        "$(printf '%s\n' "$out" | sed -nE "s/^nsrun: worker (gw[0-9]+) killed.*while running (.*)$/worker '\1' crashed while running '\2'/p" | head -n 1)"
like "... the rest of the suite passed" "$out" '4 failed, 19 passed'
is "... and nothing is left behind" "$(leftovers_of "$SCRATCH/pid" xdist-oom "$W" "$mounts0")" ""
printf '%s\n' "$out" | grep '^nsrun:' | diag

# --- pytest-xdist's scheduling is the user's ---
out=$(MODEL_MB=50 PYTEST_ADDOPTS="--dist loadfile" nsrun xdist -j 2 -- pytest -v tests/test_ledger.py tests/test_sessions.py 2>&1)
like "a --dist from addopts is kept (loadfile)" "$out" 'scheduling tests via LoadFileScheduling'
like "... and the tests pass" "$out" '13 passed'
out=$(PYTEST_ADDOPTS="--tx popen" nsrun xdist -- pytest -q tests/test_ledger.py 2>&1); rc=$?
is "a --tx in addopts, which would start a worker outside the sandbox, stops pytest (exit 4)" "$rc" 4
like "... with nsrun's message naming it" "$out" "nsrun xdist: workers 'popen' .* would run outside the sandbox"

# --- a test that closes descriptors it does not own and takes their numbers (os.closerange(), then open()): the
# worker's plugin, which keeps its test slot open through the run, never writes into the test's files ---
FX=$(make_project fds)
cat > "$SCRATCH/test_fds.py" <<'PY'
import os

MINE = []

def test_1():
    pass

def test_2_takes_their_numbers(tmp_path):
    where = os.path.dirname(os.environ["NSRUN_XDIST_SLOT"])
    theirs = [int(fd) for fd in os.listdir("/proc/self/fd")
              if os.path.dirname(os.readlink("/proc/self/fd/" + fd) if os.path.exists("/proc/self/fd/" + fd) else "") == where]
    assert theirs
    for fd in theirs:
        os.close(fd)
    MINE.extend(os.open(tmp_path / ("mine%d" % i), os.O_RDWR | os.O_CREAT) for i in range(len(theirs) + 4))

def test_3():
    pass

def test_4_mine_untouched():
    assert [os.fstat(fd).st_size for fd in MINE] == [0] * len(MINE)
PY
as_test_user cp "$SCRATCH/test_fds.py" "$FX/"
out=$(cd "$FX" && nsrun xdist -j 1 -- pytest -q -p no:cacheprovider test_fds.py 2>&1)
like "a test closing the worker plugin's descriptors and reusing their numbers: its files untouched, 4 passed" \
        "$out" "^4 passed in "

# --- pytest's built-in fixtures that touch the filesystem, in the workers' sandboxes ---
# pytest-xdist gives each popen worker the controller's basetemp/popen-gwN as --basetemp; the controller made that
# base in the host's /tmp, which a worker's private /tmp does not have.
F=$(make_project fixtures)
as_test_user mkdir -p "$F/tests"
cat > "$SCRATCH/test_fixtures.py" <<'PY'
import os, sys, pytest

@pytest.mark.parametrize('n', range(4))
def test_tmp_path(tmp_path, n):
    assert tmp_path.is_dir() and not any(tmp_path.iterdir())
    assert tmp_path.parent.name.startswith('popen-gw'), tmp_path
    (tmp_path / 'f').write_text(str(n))
    assert (tmp_path / 'f').read_text() == str(n)

def test_tmpdir(tmpdir):
    tmpdir.join('f').write('x')
    assert tmpdir.join('f').read() == 'x'

def test_tmp_path_factory(tmp_path_factory):
    a, b = tmp_path_factory.mktemp('data'), tmp_path_factory.mktemp('data')
    assert a != b and a.is_dir() and b.is_dir()
    assert tmp_path_factory.getbasetemp() in a.parents

def test_cache(cache, request):
    assert request.config.cache is cache
    cache.set('fixtures/value', [1, 2])
    assert cache.get('fixtures/value', None) == [1, 2]
    assert cache.mkdir('fixtures').is_dir()

def test_capsys(capsys):
    print('to stdout'); print('to stderr', file=sys.stderr)
    assert capsys.readouterr() == ('to stdout\n', 'to stderr\n')

def test_capfd(capfd):
    os.write(1, b'fd 1\n'); os.write(2, b'fd 2\n')
    assert capfd.readouterr() == ('fd 1\n', 'fd 2\n')

def test_monkeypatch_chdir(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert os.getcwd() == str(tmp_path)
    open('here', 'w').close()
    assert (tmp_path / 'here').exists()
PY
install -m 644 "$SCRATCH/test_fixtures.py" "$F/tests/test_fixtures.py"
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$F"
out=$(cd "$F" && nsrun xdist -j 2 -- pytest -q 2>&1); rc=$?
is "tmp_path, tmpdir, tmp_path_factory, cache, capsys, capfd, monkeypatch.chdir in the workers (exit 0)" "$rc" 0
like "... all 10 tests pass" "$out" '(^|[^0-9])10 passed'
is "... no FileNotFoundError for the controller's basetemp" "$(printf '%s\n' "$out" | grep -c FileNotFoundError)" 0
[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -n 30 | diag
out=$(cd "$F" && nsrun xdist -j 2 -- pytest -q --basetemp="$F/bt" 2>&1); rc=$?
is "... and with the user's --basetemp (exit 0)" "$rc" 0
like "... all 10 tests pass" "$out" '(^|[^0-9])10 passed'

# --- pytest-rerunfailures: --reruns as under 'pytest -n 2 --reruns 1' ---
# It keeps each test's rerun and failure counts in the controller and serves them on the host's loopback, which a
# worker with a network of its own cannot reach (its workers failed with ConnectionRefusedError); nsrun relays them
# through its channel to the worker, so a test whose worker crashed is rerun too.
if /usr/bin/python3 -c 'import pytest_rerunfailures' 2>/dev/null; then
        R=$(make_project reruns)
        as_test_user mkdir -p "$R/tests" "$R/state"
        cat > "$SCRATCH/test_reruns.py" <<'PY'
import os, signal, time

_calls = {}

def test_fails_once():
    _calls['once'] = _calls.get('once', 0) + 1
    assert _calls['once'] > 1, 'fails the first time'

def test_always_fails():
    assert False, 'fails every time'

def test_passes():
    pass

def test_crashes_its_worker_once():
    mark = os.path.join(os.environ['RERUN_STATE'], 'crashed')
    if not os.path.exists(mark):
        open(mark, 'w').close()
        time.sleep(1)  # pytest -n's own worker sends its count over TCP, which its controller may read late
        os.kill(os.getpid(), signal.SIGKILL)
PY
        install -m 644 "$SCRATCH/test_reruns.py" "$R/tests/test_reruns.py"
        [ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$R"
        counts() { printf '%s\n' "$1" | sed -nE 's/^([0-9]+ [a-z]+(, [0-9]+ [a-z]+)*) in [0-9.]+s.*$/\1/p'; }
        reruns() { printf '%s\n' "$1" | grep '^RERUN ' | sort; }
        want=$(cd "$R" && as_test_user env RERUN_STATE="$R/state" \
                pytest -p no:cacheprovider -n 2 --reruns 1 -q -rR 2>&1)
        want_rc=$?
        as_test_user rm -f "$R/state/crashed"
        out=$(cd "$R" && RERUN_STATE="$R/state" nsrun xdist -j 2 --rw "$R/state" -- \
                pytest -p no:cacheprovider --reruns 1 -q -rR 2>&1); rc=$?
        is "pytest -n 2 --reruns 1 itself: 1 failed, 3 passed, 3 rerun (exit 1)" "$(counts "$want") $want_rc" \
                "1 failed, 3 passed, 3 rerun 1"
        is "nsrun xdist -- pytest --reruns 1: pytest's exit status (1: a test failed)" "$rc" "$want_rc"
        is "... the same outcomes as pytest -n 2 --reruns 1: 1 failed, 3 passed, 3 rerun" "$(counts "$out")" \
                "$(counts "$want")"
        is "... the same tests rerun, the one whose worker crashed among them" "$(reruns "$out")" "$(reruns "$want")"
        is "... no worker refused its connection" "$(printf '%s\n' "$out" | grep -c ConnectionRefused)" 0
        like "... nsrun names the worker the test crashed" "$out" \
                'nsrun: worker gw[0-9]+ killed by SIGKILL, while running tests/test_reruns.py::test_crashes_its_worker_once'
        [ "$(counts "$out")" = "$(counts "$want")" ] || printf '%s\n' "$out" | tail -n 30 | diag
else
        ok "# SKIP pytest-rerunfailures is not installed (apt-get install python3-pytest-rerunfailures)"
fi

# --- a path with spaces ---
S="$SCRATCH/my project"
cp -r "$W" "$S" && rm -rf "$S/.nsrun"
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$S"
out=$(cd "$S" && MODEL_MB=50 nsrun xdist -j 2 -- pytest -q tests/test_model_ranker.py tests/test_ledger.py 2>&1); rc=$?
is "a project path with a space: its workers start and pass (exit 0)" "$rc" 0
like "... all 8 tests" "$out" '8 passed'

is "no cgroup of a run that ended is left" "$(dead_cgroups)" "$cgroups0"
done_testing
