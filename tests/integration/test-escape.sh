#!/bin/bash
# Nothing escapes a sandbox: each way out a test (or a compromised dependency of one) could try, as root and as
# an unprivileged user. test-sandbox.sh already shows that /etc is read-only (EROFS), that writing /proc/sys and
# /proc/sysrq-trigger fails, that remounting / or /etc writable fails, that unmounting the project overlay (also
# after 'unshare -m') uncovers nothing, that a server on the host's 127.0.0.1 is unreachable, that 'kill -0' of
# the test's own shell fails and that ps sees only the sandbox: those are not repeated here.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/leftovers.sh"
PY=/usr/bin/python3

setup_scratch
require_sandbox
P=$(make_project)
as_test_user sh -c "echo host > '$P/existing'"
cd "$P" || exit 1
digest0=$(tree_digest "$P")
tag=nsrun-escape-$$

# in_sandbox SCRIPT: runs a shell script in 'nsrun exec' as the test user; stdout and stderr together.
in_sandbox() { nsrun exec -- sh -c "$1" 2>&1; }

# --- writing outside the allowed paths ---
outside=$(make_project outside) # a host directory outside the project, under the host's /tmp
as_test_user ln -s "$outside" "$P/link-outside"
paths=$(for d in /usr /usr/local/bin /var/lib /var/cache /opt /srv /boot /home /root /mnt /sys/kernel /sys/fs/cgroup "$outside"; do
        [ "$d" != "$TEST_HOME" ] && echo "$d" # $HOME is overlaid: writable, and private
done)
out=$(in_sandbox "for d in $(echo $paths); do touch \$d/$tag 2>/dev/null && echo wrote \$d; mkdir \$d/$tag.d 2>/dev/null && echo made \$d; done
                  echo tried; echo via-link > link-outside/$tag; cat link-outside/$tag")
left=$(for d in $paths; do [ -e "$d/$tag" ] || [ -e "$d/$tag.d" ] && echo "$d"; done)
is "writes anywhere outside the project, \$HOME and the scratch paths reach nothing on the host" \
        "$(printf '%s\n' "$out" | grep -c '^tried$') $left" "1 "
diag <<< "$out"
check "a symlink in the project to a host directory outside it does not carry writes out" test ! -e "$outside/$tag"
out=$(in_sandbox "find /dev -type b | head -3; mknod /tmp/$tag b 8 0 && echo mknod-ok")
check "no block device (disk) node is inside /dev, and mknod is refused" \
        sh -c "! printf '%s' '$out' | grep -Eq '^/dev/|mknod-ok'"
diag <<< "$out"
out=$(in_sandbox 'echo 1 > /sys/kernel/mm/ksm/run; echo never > /sys/kernel/mm/transparent_hugepage/enabled')
like "writing /sys fails (read-only)" "$out" 'Read-only file system|Permission denied'

# the memory cap cannot be lifted from inside: neither by writing the job's own limit nor by moving to another
# cgroup; past the cap the command is still killed
memcg() { awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup; }
out=$(nsrun exec --mem 64M -- sh -c '
        p=$(awk -F: "\$2 ~ /(^|,)memory(,|\$)/ {print \$3}" /proc/self/cgroup); m=/sys/fs/cgroup/memory$p
        [ -e "$m/memory.limit_in_bytes" ] || { p=$(awk -F: "\$1 == 0 {print \$3}" /proc/self/cgroup); m=/sys/fs/cgroup$p; }
        for f in memory.limit_in_bytes memory.memsw.limit_in_bytes memory.max memory.swap.max; do
                [ -e "$m/$f" ] && { echo -1 > "$m/$f" || echo max > "$m/$f"; } 2>/dev/null && echo "raised $f"
        done
        for up in "$m/.." /sys/fs/cgroup/memory /sys/fs/cgroup; do
                [ -e "$up/cgroup.procs" ] && echo $$ > "$up/cgroup.procs" 2>/dev/null && echo "moved to $up"
        done
        exec '"$PY"' -c "b = bytearray(256 << 20); b[::4096] = b\"x\" * len(range(0, len(b), 4096)); print(\"allocated 256M\")"' 2>&1)
rc=$?
is "the command cannot raise its own memory cap or leave its cgroup, and is killed past it (137)" \
        "$rc $(printf '%s\n' "$out" | grep -E 'raised|moved|allocated' | tr '\n' ' ')" "137 "
diag <<< "$out"

# Loopback TCP buffers are kernel memory the job holds: a server and a client in one sandbox, the client sending
# and the server never reading, on many sockets with large buffers. cgroup v1 charges them only once the job's
# memory.kmem.tcp.limit_in_bytes is set (v2 always): without it a job under --mem 64M held 400 MiB that way.
# tcp-hoard.py counts what the job managed to queue.
tcp_hoard=$(cat "$(dirname "$0")/tcp-hoard.py")
tcp_queued() { printf '%s\n' "$1" | sed -n 's/^queued \([0-9]*\) MiB$/\1/p'; }
out=$(nsrun exec -- "$PY" -c "$tcp_hoard" 320 2>&1)
diag <<< "$out"
check "uncapped, the job queues far more than 64 MiB in loopback TCP buffers (the attack is real)" \
        test "$(tcp_queued "$out")" -ge 256
out=$(nsrun exec --mem 64M -- "$PY" -c "$tcp_hoard" 320 2>&1)
rc=$?
diag <<< "$out"
q=$(tcp_queued "$out")
if [ "$rc" = 137 ]; then
        ok "under --mem 64M, a job hoarding loopback TCP buffers is killed for memory"
else
        is "under --mem 64M, a job cannot hold more than its cap again in loopback TCP buffers (MiB queued <= 128)" \
                "$rc $([ -n "$q" ] && [ "$q" -le 128 ] && echo capped || echo "$q MiB")" "0 capped"
fi

# --- host processes: invisible, cannot be signalled or traced ---
as_test_user env NSRUN_TEST_MARK="$tag-host" sleep 300 2>/dev/null &
host_sleep_up() { [ -n "$(marked_pids "$tag-host")" ]; }
wait_for host_sleep_up
host_pid=$(marked_pids "$tag-host" | head -1)
CLEANUP_PIDS+=("$host_pid")
out=$(in_sandbox "test -e /proc/$host_pid && echo visible; kill -KILL $host_pid; echo kill=\$?; kill -KILL -1; echo done")
like "killing a host process of the same user by its pid fails (no such process)" "$out" 'No such process|kill=1'
check "... it is not even visible in /proc" sh -c "! printf '%s' '$out' | grep -q visible"
check "... and after 'kill -KILL $host_pid' and 'kill -KILL -1' inside, the host process still runs" kill -0 "$host_pid"
ptrace='
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
def attach(pid):
    r = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
    return "attached" if r == 0 else os.strerror(ctypes.get_errno())
child = os.fork()
if child == 0:
    time.sleep(30); os._exit(0)
print("own child:", attach(child))
print("host process:", attach(int(sys.argv[1])))
print("sandbox init (pid 1):", attach(1))
for f in ("/proc/1/environ", "/proc/1/mem"):
    try:
        open(f, "rb").read(1); print(f, "readable")
    except OSError as e:
        print(f, os.strerror(e.errno))
os.kill(child, 9)'
out=$(nsrun exec -- "$PY" -c "$ptrace" "$host_pid" 2>&1)
diag <<< "$out"
like "ptrace works inside at all (a child of the command can be traced)" "$out" 'own child: attached'
like "PTRACE_ATTACH to a host process fails" "$out" 'host process: (No such process|Operation not permitted)'
like "PTRACE_ATTACH to the sandbox's init (pid 1) fails" "$out" 'sandbox init \(pid 1\): Operation not permitted'
like "init's environment and memory are not readable" "$out" '/proc/1/environ (Permission denied|Operation not permitted).*'
check "... neither is its memory" sh -c "! printf '%s' '$out' | grep -q 'readable'"

# --- host services: loopback is covered by test-sandbox.sh; unix sockets here ---
# A listening unix socket at PATH (abstract if it starts with @), for 8 s, that says whether anyone connected.
unix_server() {
        "$PY" - "$1" > "$SCRATCH/server.$2" 2>&1 <<'EOF' &
import os, socket, sys
path = sys.argv[1].replace("@", "\0", 1)
s = socket.socket(socket.AF_UNIX)
s.bind(path)
if path[0] != "\0":
    os.chmod(path, 0o777)
s.listen()
s.settimeout(8)
print("listening", flush=True)
try:
    s.accept()
    print("CONNECTED")
except OSError:
    pass
EOF
        SERVERS+=($!)
        wait_for grep -q listening "$SCRATCH/server.$2"
}
connect='
import socket, sys
for a in sys.argv[1:]:
    try:
        socket.socket(socket.AF_UNIX).connect(a.replace("@", "\0", 1)); print("reached", a)
    except OSError as e:
        print("refused", a, e.strerror)'
SERVERS=()
unix_server "@$tag" abstract
unix_server "$P/$tag.sock" project
run_sock=/run/$tag.sock
unix_server "$run_sock" run
out=$(nsrun exec -- "$PY" -c "$connect" "@$tag" "$P/$tag.sock" "$run_sock" 2>&1)
diag <<< "$out"
like "a host service on an abstract unix socket is unreachable (private network namespace)" "$out" "refused @$tag"
like "a host service on a unix socket in the project directory is unreachable (the overlay's inode is not the socket)" \
        "$out" "refused $P/$tag.sock"
like "a host service on a unix socket in /run (where dbus, systemd and docker listen) is unreachable" \
        "$out" "refused $run_sock"
kill "${SERVERS[@]}" 2>/dev/null
wait "${SERVERS[@]}" 2>/dev/null
rm -f "$P/$tag.sock" "$run_sock"

# --- setuid binaries do not raise privileges ---
like "the command runs with no_new_privs" "$(in_sandbox 'grep NoNewPrivs /proc/self/status')" 'NoNewPrivs:[[:space:]]+1'
if command -v cc > /dev/null; then
        printf '#include <stdio.h>\n#include <unistd.h>\nint main(void) { printf("euid=%%d egid=%%d\\n", (int) geteuid(), (int) getegid()); return 0; }\n' \
                > "$SCRATCH/ids.c"
        cc -o "$P/setuid-ids" "$SCRATCH/ids.c"
        # as the unprivileged user: a setuid-root binary; as root: one setuid to nobody (any change shows)
        if [ ${#RUN_AS[@]} -gt 0 ]; then owner=root:root; else owner=nobody:nogroup; fi
        chown "$owner" "$P/setuid-ids" && chmod 6755 "$P/setuid-ids"
        want="euid=$(as_test_user id -u) egid=$(as_test_user id -g)"
        is "outside, the setuid helper does change the effective ids (the test is real)" \
                "$(as_test_user "$P/setuid-ids" | grep -c "^$want\$")" 0
        is "inside, a setuid/setgid binary keeps the caller's effective uid and gid" \
                "$(nsrun exec -- "$P/setuid-ids" 2>&1)" "$want"
        rm -f "$P/setuid-ids"
else
        not_ok "a setuid helper can be built (no C compiler: install gcc)"
fi
# --- /proc/sys through a new procfs, and locked mounts in nested namespaces ---
check "a nested user+mount namespace can be made inside (the checks below are real)" \
        nsrun exec -- unshare -Urm true
out=$(in_sandbox "unshare -Urm sh -c 'umount -l $P && echo UNMOUNTED; echo escaped > $P/$tag; cat $P/existing'")
diag <<< "$out"
check "in a nested user+mount namespace the project overlay cannot be unmounted (its mounts are locked)" \
        sh -c "! printf '%s' '$out' | grep -q UNMOUNTED"
check "... and nothing written there reaches the host" test ! -e "$P/$tag"
out=$(in_sandbox "unshare -Urm sh -c 'umount -l /proc/sys && echo UNMOUNTED; mount -o remount,rw /proc/sys && echo REMOUNTED'")
check "in a nested user+mount namespace /proc/sys can be neither unmounted nor remounted writable" \
        sh -c "! printf '%s' '$out' | grep -Eq 'UNMOUNTED|REMOUNTED'"
core=$(cat /proc/sys/kernel/core_pattern)
# the same value is written back, so that the host is unchanged even if the write went through
out=$(nsrun exec -- sh -c 'unshare -Urmpf --mount-proc sh -c "printf %s\\\\n \"$1\" > /proc/sys/kernel/core_pattern && echo WROTE" 2>&1;
                           mount -t proc proc /mnt 2>&1 && echo MOUNTED' _ "$core" 2>&1)
diag <<< "$out"
check "a fresh procfs cannot be mounted to get a writable /proc/sys (core_pattern runs as root on the host)" \
        sh -c "! printf '%s' '$out' | grep -Eq 'WROTE|MOUNTED'"

# --- the terminal: a job cannot type into the user's shell (TIOCSTI) ---
# The sandbox shares the caller's terminal (Ctrl-C, colours). On kernels that allow TIOCSTI
# (dev.tty.legacy_tiocsti = 1, or before 6.2) a process whose controlling terminal it is can push characters
# into its input queue, which the user's shell reads as typed once nsrun exits (CVE-2017-5226 in bubblewrap).
tiocsti='
import fcntl, os, pty, select, sys, time
inject = """import fcntl, os, termios
fd = os.open("/dev/tty", os.O_RDWR)
for c in b"echo INJECTED\\n":
    fcntl.ioctl(fd, termios.TIOCSTI, bytes([c]))
"""
shell = " ".join("\x27%s\x27" % a for a in sys.argv[1:] + ["python3", "-c", inject])
shell += " >/dev/null 2>&1; read -t 2 line; echo \"GOT:$line\""
pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/bash", ["bash", "-c", shell])
buf, end = b"", time.time() + 30
while time.time() < end:
    if select.select([fd], [], [], 0.2)[0]:
        try:
            d = os.read(fd, 1024)
        except OSError:
            break
        if not d:
            break
        buf += d
os.waitpid(pid, 0)
print([l for l in buf.decode(errors="replace").splitlines() if l.startswith("GOT:")])'
legacy=$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null || echo 1)
if [ "$legacy" = 1 ]; then
        is "TIOCSTI works on this machine outside a sandbox (the test is real)" \
                "$(as_test_user "$PY" -c "$tiocsti")" "['GOT:echo INJECTED']"
        is "nsrun exec: the command cannot push input into the user's terminal with TIOCSTI" \
                "$(as_test_user "$PY" -c "$tiocsti" "$NSRUN_BIN" exec --)" "['GOT:']"
        is "nsrun -- CMD: a job cannot push input into the user's terminal with TIOCSTI" \
                "$(as_test_user "$PY" -c "$tiocsti" "$NSRUN_BIN" --)" "['GOT:']"
else
        ok "TIOCSTI is disabled on this machine (dev.tty.legacy_tiocsti = 0) # SKIP nothing to show"
fi

# --- two jobs of one run cannot see each other's writes, sockets, IPC or processes ---
sync=$(make_project sync)
two_jobs='
S=$1 me=$2
if [ "$me" = A ]; then
        echo a > a-was-here; echo a > /tmp/a-was-here; echo a > /var/tmp/a-was-here; echo a > /dev/shm/a-was-here
        echo a > "$HOME/.a-was-here"
        python3 -c "import socket, time; s = socket.socket(); s.bind((\"127.0.0.1\", 8080)); s.listen(); \
                    u = socket.socket(socket.AF_UNIX); u.bind(\"\\0a-was-here\"); u.listen(); time.sleep(60)" "$me-listener" &
        ipcmk -Q > /dev/null
        sleep 0.5
        touch "$S/a-alive" "$S/a-ready"
        for i in $(seq 300); do [ -e "$S/b-done" ] && break; sleep 0.1; done
        rm -f "$S/a-alive"
        [ -e "$S/b-done" ]
else
        for i in $(seq 300); do [ -e "$S/a-ready" ] && break; sleep 0.1; done
        [ -e "$S/a-alive" ] || { echo "A is not running at the same time" > "$S/b-result"; exit 3; }
        seen=
        for f in a-was-here /tmp/a-was-here /var/tmp/a-was-here /dev/shm/a-was-here "$HOME/.a-was-here"; do
                [ -e "$f" ] && seen="$seen $f"
        done
        python3 -c "import socket; socket.create_connection((\"127.0.0.1\", 8080), 1)" 2>/dev/null && seen="$seen port-8080"
        python3 -c "import socket; socket.socket(socket.AF_UNIX).connect(\"\\0a-was-here\")" 2>/dev/null && seen="$seen abstract-socket"
        [ "$(ipcs -q | grep -c "^0x")" = 0 ] || seen="$seen sysv-queue"
        ps -e -o args= | grep -q "[A]-listener" && seen="$seen process"
        [ -e "$S/a-alive" ] || seen="$seen (A-ended-before-B-checked)"
        echo "seen:$seen" > "$S/b-result"
        touch "$S/b-done"
        [ -z "$seen" ]
fi'
as_test_user "$NSRUN_BIN" -j 2 --rw "$sync" --json "$SCRATCH/two.json" -- sh -c "$two_jobs" _ "$sync" {} ::: A B \
        > "$SCRATCH/two.out" 2>&1
is "two jobs of one run, both running: the second sees none of the first's files, sockets, IPC or processes" \
        "$(cat "$sync/b-result" 2>&1) $(json "$SCRATCH/two.json" "sorted(j['status'] for j in d['jobs'])" 2>&1)" \
        "seen: ['passed', 'passed']"
check "... and none of the first job's writes reached the host" \
        sh -c "test ! -e '$P/a-was-here' && test ! -e /tmp/a-was-here && test ! -e '$TEST_HOME/.a-was-here'"

# --- the host's device nodes ---
# chmod to the mode it has and touch: harmless on the host even if they got through, and its change time tells
# whether they did. As root the sandbox's nodes are its own (the chmod succeeds there, on them); rootless they
# are read-only binds of the host's.
mode=$(stat -c %a /dev/null)
ctime=$(stat -c %z /dev/null)
out=$(in_sandbox "chmod $mode /dev/null && echo chmod-ok; touch /dev/null && echo touch-ok
                  echo x > /dev/null && echo works")
diag <<< "$out"
is "the host's /dev/null cannot be changed from inside" "$(stat -c %z /dev/null)" "$ctime"
like "... and the sandbox's /dev/null still works" "$out" 'works'
if [ "$(as_test_user id -u)" = 0 ]; then
        is "... as root the sandbox's /dev/null is its own node: its chmod succeeds, on that node" \
                "$(printf '%s\n' "$out" | grep -c -- '-ok')" 2
else
        like "... rootless it is a read-only bind of the host's" "$out" 'Read-only file system'
fi

is "the project directory is unchanged" "$(tree_digest "$P")" "$digest0"
done_testing
