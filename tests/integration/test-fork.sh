#!/bin/bash
# --fork: pytest jobs forked from a worker's prepared interpreter keep the isolation of a fresh sandbox (the
# project's and /tmp's writes private and thrown away, their own port 8080, hostname, IPC namespace, cgroup and
# memory cap), and where forking is not safe (a conftest left a thread running) every job starts a fresh
# interpreter, said once, with the same results; --fork off forces that.
. "$(dirname "$0")/../lib.sh"

setup_scratch
require_sandbox
[ "$(id -u)" = 0 ] || skip_all "needs root to make the limited cgroups it tests in"
PY=/usr/bin/python3
$PY -c 'import pytest' 2>/dev/null || skip_all "pytest is not installed (python3-pytest)"

SUITE=$SCRATCH/suite
mkdir -p "$SUITE"
# Two jobs alike: each writes the same project file and /tmp file (and finds neither there first), listens on
# port 8080, sets the hostname where it may, makes a SysV shared memory segment under one key (and finds none),
# and leaves what it saw in its log (-s).
for n in 1 2; do
        cat > "$SUITE/test_iso$n.py" <<PYEOF
import ctypes, os, socket

libc = ctypes.CDLL(None, use_errno=True)

def _started():  # this process's start time (/proc/PID/stat field 22): the same in every PID namespace
    return open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19]

IMPORTED_IN = _started()  # in the process that imported this module: a forked job's prepared interpreter

def test_isolated():
    assert not os.path.exists("shared.txt"), "another job's write to the project is visible"
    open("shared.txt", "w").write("$n")
    assert not os.path.exists("/tmp/shared.txt"), "another job's write to /tmp is visible"
    open("/tmp/shared.txt", "w").write("$n")
    s = socket.socket()
    s.bind(("127.0.0.1", 8080))
    s.listen()
    if not os.environ.get("NSRUN_SANDBOX"):  # run bare (below): change nothing of the host's
        return
    seg = libc.shmget(0x6e737275, 4096, 0)  # IPC_PRIVATE would always be new: a fixed key
    assert seg < 0, "another job's SysV segment is visible"
    assert libc.shmget(0x6e737275, 4096, 0o1000 | 0o600) >= 0  # IPC_CREAT
    host = socket.gethostname()
    assert not host.startswith("nsrun-job-"), "another job's hostname is visible: " + host
    try:
        socket.sethostname("nsrun-job-$n")
    except PermissionError:
        pass
    print("PID", os.getpid())
    print("IMPORTED BEFORE THE TEST'S PROCESS", _started() != IMPORTED_IN)
    print("CGROUP", [l for l in open("/proc/self/cgroup").read().split("\n") if "memory" in l or l.startswith("0::")])
PYEOF
done
cat > "$SUITE/test_hog.py" <<'PYEOF'
def test_hog():
    b = bytearray(400 * 1024 * 1024)
    b[::4096] = b"\x01" * len(range(0, len(b), 4096))
PYEOF
# What a forked job could try against the prepared interpreter it came from: unmount its /tmp or project
# overlay to see the interpreter's beneath (its writable directory, its hidden writable /proc), find the
# interpreter's processes in its /proc, or write the kernel's knobs through its own writable /proc.
cat > "$SUITE/test_escape.py" <<'PYEOF'
import ctypes, errno, os

libc = ctypes.CDLL(None, use_errno=True)

def test_cannot_unmount():
    for path in (b"/tmp", b"/tmp", os.getcwd().encode(), b"/proc"):
        assert libc.umount2(path, 2) < 0, "unmounted " + path.decode()  # MNT_DETACH
    assert not os.path.exists("/tmp/.nsrun-fork"), "the prepared interpreter's directory is visible"

def test_proc_as_a_fresh_sandbox():
    for path in ("/proc/sysrq-trigger", "/proc/sys/vm/drop_caches", "/proc/sys/kernel/hostname"):
        if not os.path.exists(path):  # a kernel without magic SysRq
            continue
        try:
            with open(path, "w") as f:
                f.write("1")
        except OSError as e:
            assert e.errno in (errno.EROFS, errno.EACCES, errno.EPERM), (path, e)
        else:
            raise AssertionError("a job wrote " + path)
    with open("/proc/self/oom_score_adj", "w") as f:  # a test may write its own process's files
        f.write("100")
    total_kb = int(open("/proc/meminfo").read().split()[1])
    assert total_kb <= 200 * 1024, "/proc/meminfo shows the host (%d kB), not the job's 150 MiB" % total_kb

def test_cannot_reach_pid1():
    # P1, the job's PID 1, holds what the job's tests do not (as root the sandbox's capabilities and /proc, to
    # write the job's user namespace's maps): as a fresh sandbox's init, not traceable nor readable
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    child = os.fork()
    if child == 0:
        os.pause()
        os._exit(0)
    try:  # the same means reach a process of the job's own: the checks below can fail
        os.readlink("/proc/%d/fd/0" % child)
        assert libc.ptrace(16, child, None, None) == 0, "PTRACE_ATTACH to the job's own child failed"
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)
    assert libc.ptrace(16, 1, None, None) < 0, "PTRACE_ATTACH to the job's pid 1 worked"  # PTRACE_ATTACH
    try:  # the numbers alone may be listed (the directory's mode and owner), not what they are
        fds = os.listdir("/proc/1/fd")
    except OSError:
        fds = []
    for path in ["/proc/1/environ", "/proc/1/mem", "/proc/1/root/."] + ["/proc/1/fd/" + n for n in fds]:
        try:
            os.readlink(path) if "/fd/" in path else None
            os.listdir(path) if path.endswith("/.") else open(path, "rb").read(1)
        except OSError as e:
            assert e.errno in (errno.EACCES, errno.EPERM), (path, e)
        else:
            raise AssertionError("a job reached " + path)

def test_own_proc():
    assert os.readlink("/proc/self") == str(os.getpid()), "/proc is not the job's PID namespace's"
    names = {open("/proc/%s/cmdline" % p, "rb").read().split(b"\0")[0] for p in os.listdir("/proc") if p.isdigit()}
    assert all(b"python" in n for n in names if n), names
PYEOF
cat > "$SUITE/test_small.py" <<'PYEOF'
def test_small():
    assert sum(range(10)) == 45
PYEOF

# project NAME: a fresh copy of the suite, owned by the test user
project() { copy_project "$SUITE" "$1"; }

# --- isolation of forked jobs ---
P=$(project iso)
before=$(tree_digest "$P")
run_in "$P" "$NSRUN_BIN" -j 2 --fork on --mem-per-worker 150M --json "$SCRATCH/iso.json" -- $PY -m pytest -s
rc=$?
is "forked jobs: one job over its cap fails the run (exit 1)" "$rc" 1
out=$(cat "$P.out")
like "... it is the one named out of memory" "$out" '\[[0-9]/5\] OOM test_hog\.py'
is "... the isolation jobs pass, each in its own sandbox; a job can unmount neither its /tmp nor its project to reach the prepared interpreter's; its /proc is its own, writable where a fresh sandbox's is, its knobs read-only, its meminfo the job's cap; its pid 1 can be neither traced nor read" \
        "$(json "$SCRATCH/iso.json" "sorted((j['name'], j['status']) for j in d['jobs'])")" \
        "[('test_escape.py', 'passed'), ('test_hog.py', 'oom'), ('test_iso1.py', 'passed'), ('test_iso2.py', 'passed'), ('test_small.py', 'passed')]"
is "... the project is untouched afterwards" "$(tree_digest "$P")" "$before"
check "... /tmp of the host has no file a job wrote" test ! -e /tmp/shared.txt
log1=$(cat "$P/.nsrun/logs/test_iso1.py.log")
log2=$(cat "$P/.nsrun/logs/test_iso2.py.log")
like "... a job is not PID 1 but the first child of its own PID namespace's init" "$log1" 'PID 2$'
cg1=$(printf '%s\n' "$log1" | grep '^CGROUP')
cg2=$(printf '%s\n' "$log2" | grep '^CGROUP')
like "... each job is in a job cgroup of its own" "$cg1" "job-[0-9]+-1"
check "... not the other's ($cg1 / $cg2)" test "$cg1" != "$cg2"
like "... they were forked from prepared interpreters (one per worker)" "$(ls "$P/.nsrun/logs")" 'nsrun-prepared-1\.log'
check "... and no notice of falling back" sh -c "! grep -q 'fresh interpreter' '$P.out'"
like "... each ran its test in the session its prepared interpreter collected: the module was imported before the test's process existed" \
        "$log1" "IMPORTED BEFORE THE TEST'S PROCESS True"
check "... and the first worker's collection was the run's: no collection pass ran" test ! -e "$P/.nsrun/logs/collect.log"
is "... which planned the jobs as a collection pass plans them" "$(json "$SCRATCH/iso.json" "sum(j['tests_passed'] + j['tests_failed'] for j in d['jobs'])")" 7

P=$(project fresh)
run_in "$P" "$NSRUN_BIN" -j 2 --fork off -- $PY -m pytest -s test_iso1.py test_iso2.py test_small.py
like "--fork off: the check above can fail: a fresh job's test runs in the process that imported its module" \
        "$(cat "$P/.nsrun/logs/test_iso1.py.log")" "IMPORTED BEFORE THE TEST'S PROCESS False"
check "... after a collection pass of its own" test -s "$P/.nsrun/logs/collect.log"

# --- a broken sandbox would be seen: the same suite in one process, no sandbox per test file ---
P=$(project shared)
run_in "$P" $PY -m pytest -p no:cacheprovider -q test_iso1.py test_iso2.py
like "without a sandbox per job the same two tests fail (the checks above can fail)" "$(cat "$P.out")" \
        "another job's write to the project is visible"
rm -f /tmp/shared.txt

# --- fallback: a conftest that leaves a thread running ---
T=$SCRATCH/threads
mkdir -p "$T"
for n in a b c d e f g h i j; do cp "$SUITE/test_small.py" "$T/test_$n.py"; done # more jobs than workers: auto forks
cat > "$T/conftest.py" <<'PYEOF'
import threading, time
threading.Thread(target=time.sleep, args=(3600,), daemon=True, name="conftest-sleeper").start()
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$T"
run_in "$T" "$NSRUN_BIN" -j 2 --batch off --json "$SCRATCH/threads.json" -- $PY -m pytest
rc=$?
is "a conftest's thread: the run still passes (exit 0)" "$rc" 0
is "... the fallback is said once on stderr" \
        "$(grep -c 'Each pytest job starts a fresh interpreter: forking the prepared one is not safe, .*conftest-sleeper' "$T.out")" 1
auto=$(json "$SCRATCH/threads.json" "sorted((j['name'], j['status'], j['tests_passed']) for j in d['jobs'])")
rm -f "$T"/.nsrun/logs/nsrun-prepared-*
run_in "$T" "$NSRUN_BIN" -j 2 --batch off --fork off --json "$SCRATCH/off.json" -- $PY -m pytest
rc=$?
is "--fork off: the same suite passes" "$rc" 0
is "... with the same results" "$(json "$SCRATCH/off.json" "sorted((j['name'], j['status'], j['tests_passed']) for j in d['jobs'])")" "$auto"
check "... without preparing an interpreter, or a notice" sh -c \
        "! grep -q 'fresh interpreter' '$T.out' && ! ls '$T/.nsrun/logs' | grep -q nsrun-prepared"
rm "$T/conftest.py"
run_in "$T" "$NSRUN_BIN" -j 2 --batch off --json "$SCRATCH/fork.json" -- $PY -m pytest
is "... and forked (the default, without the thread): the same results again" \
        "$(json "$SCRATCH/fork.json" "sorted((j['name'], j['status'], j['tests_passed']) for j in d['jobs'])")" "$auto"
check "... forked indeed" sh -c "ls '$T/.nsrun/logs' | grep -q nsrun-prepared && ! grep -q 'fresh interpreter' '$T.out'"

# --- a library's thread pool that it stops before each fork() and starts again when next needed, as OpenBLAS's
# pthreads pool does (numpy starts it at import wherever a worker's share is more than one CPU): no reason not to
# fork, and a job that uses the library has its pool; the same pool without its pthread_atfork() handler is ---
L=$SCRATCH/pool
mkdir -p "$L"
cat > "$L/pool.c" <<'CEOF'
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static pthread_t worker;
static volatile int stopping, running;

static void *spin(void *arg) {
        while (!stopping)
                usleep(1000);
        return arg;
}

int pool_start(void) {
        if (!running) {
                stopping = 0;
                if (pthread_create(&worker, NULL, spin, NULL) != 0)
                        return -1;
                running = 1;
        }
        return 0;
}

static void pool_stop(void) {
        if (running) {
                stopping = 1;
                pthread_join(worker, NULL);
                running = 0;
        }
}

int pool_stop_at_fork(void) {
        return pthread_atfork(pool_stop, NULL, NULL);
}

/* 1 when its thread runs in this process (a process forked without the handler has none, running or not) */
int pool_alive(void) {
        return running && pthread_kill(worker, 0) == 0;
}
CEOF
gcc -shared -fPIC -O2 -o "$L/libpool.so" "$L/pool.c" -lpthread
for n in a b c d e f; do cp "$SUITE/test_small.py" "$L/test_$n.py"; done
cat > "$L/conftest.py" <<'PYEOF'
import ctypes, os

POOL = ctypes.CDLL(os.path.join(os.path.dirname(os.path.abspath(__file__)), "libpool.so"))
if os.environ.get("POOL_AT_FORK") == "1":
    POOL.pool_stop_at_fork()
POOL.pool_start()
PYEOF
cat > "$L/test_pool.py" <<'PYEOF'
import ctypes, os


def test_the_pool_runs_in_the_job():
    pool = ctypes.CDLL(os.path.join(os.path.dirname(os.path.abspath(__file__)), "libpool.so"))
    assert pool.pool_start() == 0
    assert pool.pool_alive() == 1
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$L"
run_in "$L" env POOL_AT_FORK=1 "$NSRUN_BIN" -j 2 --batch off --json "$SCRATCH/pool.json" -- $PY -m pytest -p no:cacheprovider
is "a conftest's library pool that stops at fork(): the run passes (exit 0, 7 passed)" \
        "$? $(json "$SCRATCH/pool.json" "d['totals']['tests_passed']")" "0 7"
check "... forked, nothing said" sh -c "ls '$L/.nsrun/logs' | grep -q nsrun-prepared && ! grep -q 'fresh interpreter' '$L.out'"
rm -rf "$L/.nsrun"
run_in "$L" "$NSRUN_BIN" -j 2 --batch off --json "$SCRATCH/pool.json" -- $PY -m pytest -p no:cacheprovider
is "the same pool without its fork handler: the run passes too (exit 0, 7 passed)" \
        "$? $(json "$SCRATCH/pool.json" "d['totals']['tests_passed']")" "0 7"
is "... in fresh interpreters, said once: 2 threads run in the prepared interpreter" \
        "$(grep -c 'Each pytest job starts a fresh interpreter: forking the prepared one is not safe, 2 threads run in the prepared interpreter after its collection' "$L.out")" 1
for xdist in "" "-n 2"; do
        run_in "$L" env POOL_AT_FORK=1 $PY -m pytest -q -p no:cacheprovider $xdist
        like "... the same suite under plain pytest ${xdist:-(serial)}: 7 passed, as under nsrun" "$(tail -n 1 "$L.out")" '^7 passed'
done

# --- a second run, its collection reused, few jobs a worker: the prepared interpreters import the conftest
# files only, and each job collects its own file in its fork, with pytest's selection (-k) ---
C=$SCRATCH/conftests
mkdir -p "$C"
for n in 1 2 3 4 5; do
        printf 'import pytest\n\n@pytest.mark.parametrize("n", range(3))\ndef test_p(n):\n    assert n < 3\n\ndef test_other():\n    pass\n' \
                > "$C/test_c$n.py"
done
# and a module the collection imported (found where the prepared interpreters find it: the conftest puts the
# rootdir on sys.path), which they import once for all their jobs; a name the collection found elsewhere (a test
# directory it had put on sys.path) is left to the job, which must get the module the collection got
: > "$C/conftest.py"
cat > "$C/helper_dep.py" <<'PYEOF'
IMPORTED_IN = open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19]
PYEOF
cat > "$C/test_dep.py" <<'PYEOF'
import helper_dep

TEST_IMPORTED_IN = open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19]

def test_dep():
    started = open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19]
    print("HELPER IMPORTED BEFORE THE JOB", helper_dep.IMPORTED_IN != started,
          "TEST MODULE IMPORTED IN THE JOB", TEST_IMPORTED_IN == started)
PYEOF
echo 'WHERE = "top"' > "$C/shadow.py"
mkdir -p "$C/sub"
echo 'WHERE = "sub"' > "$C/sub/shadow.py"
printf 'import shadow

def test_shadow():
    assert shadow.WHERE == "sub"
' > "$C/sub/test_s.py"
# a test module that sets the environment before it imports a module reading it at import: that module (and any
# first imported after such a file) is left to the job, where the import sees the environment the test module set
echo 'import os; FLAVOUR = os.environ.get("NSRUN_T_FLAVOUR", "unset")' > "$C/flavour.py"
printf 'import os\nos.environ["NSRUN_T_FLAVOUR"] = "mint"\nimport flavour\n\ndef test_env():\n    assert flavour.FLAVOUR == "mint"\n' \
        > "$C/test_env.py"
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$C"
run_in "$C" "$NSRUN_BIN" -j 2 --batch off --json "$SCRATCH/c1.json" -- $PY -m pytest -rP -k "not other"
first=$(json "$SCRATCH/c1.json" "sorted((j['name'], j['status'], j['tests_passed']) for j in d['jobs'])")
run_in "$C" "$NSRUN_BIN" -j 2 --batch off --json "$SCRATCH/c2.json" -- $PY -m pytest -rP -k "not other"
is "a second run, its collection reused (8 jobs, 4 a worker): the same results as the first" \
        "$(json "$SCRATCH/c2.json" "d['collection_reused']") $(json "$SCRATCH/c2.json" "sorted((j['name'], j['status'], j['tests_passed']) for j in d['jobs'])")" \
        "True $first"
like "... forked from prepared interpreters that imported the conftest files only" \
        "$(cat "$C/.nsrun/logs/nsrun-prepared-1.log")" "collected 0 items"
like "... each job collecting its own file, -k deselecting there" "$(cat "$C/.nsrun/logs/test_c1.py.log")" \
        "collected 4 items / 1 deselected / 3 selected"
is "... 18 passed in all" "$(json "$SCRATCH/c2.json" "d['totals']['tests_passed']")" 18
is "... among them the test whose module set the environment for a module it imports" \
        "$(json "$SCRATCH/c2.json" "[j['status'] for j in d['jobs'] if j['name'] == 'test_env.py']")" "['passed']"
like "... a module the collection imported was imported once in the prepared interpreter, the test module in the job" \
        "$(cat "$C/.nsrun/logs/test_dep.py.log")" "HELPER IMPORTED BEFORE THE JOB True.*TEST MODULE IMPORTED IN THE JOB True"

# --- keyrings: each forked job joins a session keyring of its own, and (in a user namespace of its own) a user keyring
# of its own: a key one job adds is not found by the next job of the same worker, forked from the same
# interpreter (nor under --fork off) ---
K=$SCRATCH/keys
mkdir -p "$K"
cat > "$K/keys.py" <<'PYEOF'
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
NR_ADD_KEY, NR_KEYCTL = {"x86_64": (248, 250), "aarch64": (217, 219)}[os.uname().machine]
RINGS = {"session": -3, "user": -4}  # KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING

def found(ring, name):  # KEYCTL_SEARCH
    return libc.syscall(NR_KEYCTL, 10, RINGS[ring], b"user", name.encode(), 0) >= 0

def check(mine, other):
    """Neither keyring holds the other job's key (whichever job ran first added it); then this job adds its own."""
    for ring in RINGS:
        assert not found(ring, other), "another job's key in the %s keyring" % ring
        assert libc.syscall(NR_ADD_KEY, b"user", mine.encode(), b"secret", 6, RINGS[ring]) >= 0, ring
        assert found(ring, mine), ring
PYEOF
printf 'from keys import check\n\ndef test_k1():\n    check("nsrun-key-1", "nsrun-key-2")\n' > "$K/test_k1.py"
printf 'from keys import check\n\ndef test_k2():\n    check("nsrun-key-2", "nsrun-key-1")\n' > "$K/test_k2.py"
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$K"
for mode in on off; do
        rm -rf "$K/.nsrun"
        run_in "$K" "$NSRUN_BIN" -j 1 --fork $mode --json "$SCRATCH/keys-$mode.json" -- $PY -m pytest -p no:cacheprovider test_k1.py test_k2.py
        is "--fork $mode: a key one job adds to its session and user keyrings is not found by the next job of the worker" \
                "$(json "$SCRATCH/keys-$mode.json" "sorted((j['name'], j['status']) for j in d['jobs'])")" \
                "[('test_k1.py', 'passed'), ('test_k2.py', 'passed')]"
done

# --- pytest's capture files: the prepared interpreter made them (unlinked, in its /tmp); each job gets private
# copies, so output a job's process writes there after its last test's capture was read (here at its exit,
# through a copy of the descriptor) is not the next job's captured output, as it is not with --fork off ---
L=$SCRATCH/leftover
mkdir -p "$L"
for x in a b; do
        printf 'import atexit, os\n\ndef test_%s0():\n    print("first test of %s")\n    assert False\n\ndef test_%s1():\n    atexit.register(os.write, os.dup(1), b"LEFT-BY-JOB-%s\\n")\n' \
                $x $x $x $x > "$L/test_$x.py"
done
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$L"
run_in "$L" "$NSRUN_BIN" -j 1 --fork on -- $PY -m pytest -p no:cacheprovider test_a.py test_b.py
like "a forked job's captured output holds its own test's output" "$(cat "$L/.nsrun/logs/test_b.py.log")" "^first test of b"
check "... and nothing a job of the same worker wrote to its capture file after its last test" \
        sh -c "! grep -h LEFT-BY '$L/.nsrun/logs/test_a.py.log' '$L/.nsrun/logs/test_b.py.log'"

# --- a project inside $HOME: both are overlaid, the project's overlay inside $HOME's. A forked job remakes both
# over the host's directories, as a fresh sandbox has them; its writes to either stay its own ---
H=$SCRATCH/home
mkdir -p "$H/proj"
for n in a b c d; do
        printf 'import os\n\ndef test_%s():\n    home = os.environ["HOME"]\n    assert not os.path.exists(home + "/written")\n    open(home + "/written", "w").write("%s")\n    open("written", "w").write("%s")\n' \
                $n $n $n > "$H/proj/test_$n.py"
done
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$H"
for run in first second; do
        run_in "$H/proj" env HOME="$H" "$NSRUN_BIN" -j 2 --batch off --json "$SCRATCH/home.json" -- $PY -m pytest -p no:cacheprovider
        rc=$?
        is "a project inside \$HOME, $run run: forked jobs pass (exit 0)" "$rc" 0
        is "... each its own writes to \$HOME and the project" \
                "$(json "$SCRATCH/home.json" "sorted((j['name'], j['status'], j['tests_passed']) for j in d['jobs'])")" \
                "[('test_a.py', 'passed', 1), ('test_b.py', 'passed', 1), ('test_c.py', 'passed', 1), ('test_d.py', 'passed', 1)]"
        check "... forked" sh -c "ls '$H/proj/.nsrun/logs' | grep -q nsrun-prepared && ! grep -q 'fresh interpreter' '$H/proj.out'"
done
check "... and none of them is on the host" sh -c "! ls '$H/written' '$H/proj/written' 2>/dev/null"

# --- a collection that writes files, a test module or conftest at import (a directory for its output, a
# temporary directory, a library's cache in $HOME): a forked job starts from the prepared interpreter's files
# (its overlays and /tmp over the prepared interpreter's), so it has them, as pytest's tests and a fresh job's
# do; each job's own writes stay its own. On a host whose directories are overlays themselves (a container's
# root) that cannot be stacked: every job starts a fresh interpreter instead, said once ---
W=$SCRATCH/writes
mkdir -p "$W/tmp" "$W/project" "$W/pytest-tmp"
for n in 1 2 3; do
        printf 'import ctypes, os, tempfile\n\nTMP = tempfile.mkdtemp()\nopen(os.path.join(TMP, "cfg"), "w").write("x")\n\ndef test_tmp():\n    if os.environ.get("NSRUN_SANDBOX"):  # nothing of the prepared interpreter\x27s beneath the job\x27s own mounts\n        libc = ctypes.CDLL(None, use_errno=True)\n        for path in (b"/tmp", b"/tmp", os.getcwd().encode()):\n            assert libc.umount2(path, 2) < 0, "unmounted " + path.decode()\n        os.mkdir("/tmp/.nsrun-fork")\n        assert os.listdir("/tmp/.nsrun-fork") == [], "the prepared interpreter\x27s directory shows through"\n        os.rmdir("/tmp/.nsrun-fork")\n    assert open(os.path.join(TMP, "cfg")).read() == "x"\n    assert not os.path.exists("/tmp/.nsrun-fork"), "the prepared interpreter\x27s directory is visible"\n    shared = os.path.join(tempfile.gettempdir(), "shared-cfg")\n    assert open(shared).read() == "x", "another job\x27s change to a file the collection wrote is visible"\n    open(shared, "a").write("y")\n    marker = os.path.join(tempfile.gettempdir(), "marker")\n    assert not os.path.exists(marker), "another job\x27s write to /tmp is visible"\n    open(marker, "w").write("x")\n' \
                > "$W/tmp/test_t$n.py"
        printf 'import ctypes, os\n\ndef test_out():\n    if os.environ.get("NSRUN_SANDBOX"):  # nothing of the prepared interpreter\x27s beneath the job\x27s own mounts\n        libc = ctypes.CDLL(None, use_errno=True)\n        for path in (b"/tmp", b"/tmp", os.getcwd().encode()):\n            assert libc.umount2(path, 2) < 0, "unmounted " + path.decode()\n    assert not os.path.exists("out/marker"), "another job\x27s write is visible"\n    open("out/marker", "w").write("y")\n' \
                > "$W/project/test_p$n.py"
done
printf 'import os\n\nos.makedirs("out", exist_ok=True)\n' > "$W/project/conftest.py"
printf 'import os, tempfile\n\nopen(os.path.join(tempfile.gettempdir(), "shared-cfg"), "w").write("x")\n' > "$W/tmp/conftest.py"
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$W"
for d in tmp project; do
        run_in "$W/$d" env TMPDIR="$W/pytest-tmp" $PY -m pytest -p no:cacheprovider "test_${d:0:1}1.py"
        is "a collection writing to $d: pytest passes a file of it" "$?" 0
        rm -rf "$W/project/out" "$W/pytest-tmp"/*
        for run in first second; do
                run_in "$W/$d" "$NSRUN_BIN" -j 2 --batch off --json "$SCRATCH/writes.json" -- $PY -m pytest -p no:cacheprovider
                rc=$?
                is "... nsrun, $run run: every test passed, each job finding the files the collection wrote, none another job's" \
                        "$rc $(json "$SCRATCH/writes.json" "sum(j['tests_passed'] for j in d['jobs'])")" "0 3"
                check "... forked" sh -c "ls '$W/$d/.nsrun/logs' | grep -q nsrun-prepared && ! grep -q 'fresh interpreter' '$W/$d.out'"
        done
        [ $d = tmp ] || check "... nothing the jobs wrote is left in the project" test ! -e "$W/project/out"
done
if [ ${#RUN_AS[@]} -eq 0 ] || [ "$(id -u)" = 0 ]; then
        # the project on an overlay of the host's own, as in a container whose root is one
        O=$SCRATCH/onoverlay
        mkdir -p "$O/lower" "$O/upper" "$O/work" "$O/project"
        cp "$W/project"/*.py "$O/lower/"
        [ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$O"
        mount -t overlay overlay -o "lowerdir=$O/lower,upperdir=$O/upper,workdir=$O/work" "$O/project"
        run_in "$O/project" "$NSRUN_BIN" -j 2 --batch off --json "$SCRATCH/writes.json" -- $PY -m pytest -p no:cacheprovider
        rc=$?
        is "a project on an overlay whose collection writes: every test passed" \
                "$rc $(json "$SCRATCH/writes.json" "sum(j['tests_passed'] for j in d['jobs'])")" "0 3"
        is "... in fresh interpreters, said once" "$(grep -c "Each pytest job starts a fresh interpreter: forking the prepared one is not safe, the collection wrote files (in the project or \$HOME), which a job forked after it would not have on a host whose directories are overlays themselves" "$O/project.out")" 1
        umount "$O/project"
fi

# --- whatever fails in a forked job before its tests (here nsrun's own step that makes the job's descriptors
# its own, broken on purpose by a conftest) is that job's error, with the reason in its log: it unwound into the
# prepared interpreter's own pytest session before, which ended as having run nothing, and the job passed ---
X=$SCRATCH/crash
mkdir -p "$X"
for n in 1 2 3; do cp "$SUITE/test_small.py" "$X/test_x$n.py"; done
cat > "$X/conftest.py" <<'PYEOF'
import sys

main = sys.modules.get("__main__")
if main is not None and hasattr(main, "_own_descriptors"):  # nsrun's prepared interpreter
    def _broken(*args):
        raise OSError(95, "simulated: the job's descriptors cannot be made its own")
    main._own_descriptors = _broken
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$X"
run_in "$X" "$NSRUN_BIN" -j 2 --batch off --fork on --json "$SCRATCH/crash.json" -- $PY -m pytest -p no:cacheprovider
rc=$?
is "a forked job failing before its tests: the run fails (exit 1)" "$rc" 1
is "... each job an error" "$(json "$SCRATCH/crash.json" "sorted(j['status'] for j in d['jobs'])")" "['error', 'error', 'error']"
like "... its log says why" "$(cat "$X/.nsrun/logs/test_x1.py.log")" "nsrun: the job could not start its tests:"

# --- bad input ---
out=$(as_test_user "$NSRUN_BIN" --fork maybe -- true 2>&1)
is "--fork maybe: exit status 2" "$?" 2
like "... one line naming the values" "$out" "^nsrun: --fork maybe: .*'auto', 'on' or 'off'"

done_testing
