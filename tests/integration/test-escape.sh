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

# --- cgroups through a cgroupfs of the command's own ---
# The host's /sys/fs/cgroup is read-only, but in a cgroup namespace of its own (as root: the command has
# CAP_SYS_ADMIN in its nested user namespace; rootless: in one it makes with 'unshare -U') the command could
# mount a cgroupfs, whose files the kernel checks by owner and mode alone: its own caps (root's files; rootless,
# the caller's delegated ones), a hierarchy's root, the host's cgroups. New cgroup namespaces are refused, by
# every system call and ABI (clone3 answers ENOSYS, so libc falls back to clone, whose flags are seen), and in
# the cgroup namespace it stays in no cgroupfs can be mounted.
if command -v cc > /dev/null; then
        cat > "$SCRATCH/cgns.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
/* a 32-bit system call (int 0x80) from this 64-bit process: another audit arch, other numbers */
static long int80(long nr, long a) {
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(0L) : "memory");
        return r;
}
#define LIBC(expr) ({ long r_ = (expr); r_ == -1 ? -errno : r_; })
/* each try in a child of its own, which says what it got; a process the try made exits at once */
#define TRY(what, expr) do { pid_t p = fork(); if (p == 0) { long r = (expr); if (r == 0 && getpid() != me) \
        _exit(0); printf("%s: %s\n", what, r >= 0 ? "ok" : strerror((int) -r)); _exit(0); } \
        waitpid(p, NULL, 0); } while (0)
int main(void) {
        struct clone_args ca = { .flags = CLONE_NEWCGROUP, .exit_signal = SIGCHLD };
        pid_t me;
        setvbuf(stdout, NULL, _IONBF, 0);
        if (unshare(CLONE_NEWUSER) < 0) /* CAP_SYS_ADMIN in a user namespace of its own, root or not */
                perror("unshare(CLONE_NEWUSER)");
        TRY("unshare", (me = getpid(), LIBC(syscall(SYS_unshare, CLONE_NEWCGROUP))));
        TRY("unshare-x32", (me = getpid(), LIBC(syscall(0x40000000 | SYS_unshare, CLONE_NEWCGROUP))));
        TRY("unshare-i386", (me = getpid(), int80(310, CLONE_NEWCGROUP)));
        TRY("clone", (me = getpid(), LIBC(syscall(SYS_clone, CLONE_NEWCGROUP | SIGCHLD, 0, 0, 0, 0))));
        TRY("clone-i386", (me = getpid(), int80(120, CLONE_NEWCGROUP | SIGCHLD)));
        TRY("clone3", (me = getpid(), LIBC(syscall(SYS_clone3, &ca, sizeof ca))));
        return 0;
}
EOF
        cc -o "$P/cgns" "$SCRATCH/cgns.c"
        out=$(nsrun exec -- ./cgns 2>&1)
        rm -f "$P/cgns"
        diag <<< "$out"
        # x32 is refused by the filter, or by a kernel without x32 (ENOSYS): either way no namespace
        is "no new cgroup namespace: unshare and clone (64-bit, x32, i386 by int 0x80) refused, clone3 ENOSYS" \
                "$(printf '%s\n' "$out" | sed 's/^unshare-x32: Function not implemented/unshare-x32: Operation not permitted/' | sort | tr '\n' ' ')" \
                "clone-i386: Operation not permitted clone3: Function not implemented clone: Operation not permitted unshare-i386: Operation not permitted unshare-x32: Operation not permitted unshare: Operation not permitted "
else
        not_ok "a probe of cgroup namespaces can be built (no C compiler: install gcc)"
fi
out=$(nsrun exec -- "$PY" -c '
import os, subprocess, threading
t = threading.Thread(target=lambda: print("thread")); t.start(); t.join()
print(subprocess.run(["sh", "-c", "echo subprocess"], capture_output=True, text=True).stdout.strip())
print("posix_spawn", os.waitpid(os.posix_spawn("/bin/sh", ["sh", "-c", "exit 3"], os.environ), 0)[1] >> 8)
p = os.fork()
if p == 0:
    os._exit(4)
print("fork", os.waitpid(p, 0)[1] >> 8)' 2>&1)
is "threads, subprocess, posix_spawn and fork still work (glibc falls back from clone3 to clone)" \
        "$(printf '%s\n' "$out" | tr '\n' ' ')" "thread subprocess posix_spawn 3 fork 4 "
# every kind of cgroupfs, by mount(2) and by fsopen(2); in a mount namespace of its own (root), in a nested
# user and mount namespace (both), and with 'unshare -C'
fsopen='
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
for fs, flag in (("cgroup2", None), ("cgroup", b"memory")):
    fd = libc.syscall(430, fs.encode(), 0)  # fsopen
    if fd >= 0 and flag:
        libc.syscall(431, fd, 0, flag, None, 0)  # FSCONFIG_SET_FLAG
    if fd >= 0 and libc.syscall(431, fd, 6, None, None, 0) == 0:  # FSCONFIG_CMD_CREATE
        print("FSOPEN-MOUNTED", fs)'
printf '%s\n' "$fsopen" > "$P/fsopen.py"
printf '%s\n' 'mkdir -p /tmp/m' \
        "for t in 'cgroup -o memory' 'cgroup -o pids' 'cgroup -o none,name=nsrun-escape' cgroup2; do" \
        '        mount -t $t none /tmp/m 2>/dev/null && echo MOUNTED $t && umount /tmp/m; done' \
        "$PY fsopen.py" > "$P/cgmount.sh"
out=$(in_sandbox 'unshare -m sh cgmount.sh; unshare -m -C sh cgmount.sh; unshare -Urm sh cgmount.sh
                  unshare -Urm -C sh cgmount.sh; unshare -Urm sh -c "unshare -C true && echo NEW-CGROUP-NS"')
rm -f "$P/fsopen.py" "$P/cgmount.sh"
diag <<< "$out"
check "no cgroupfs can be mounted inside (cgroup v1, v2, named; mount and fsopen; unshare -C; nested user namespace)" \
        sh -c "! printf '%s' '$out' | grep -Eq 'MOUNTED|NEW-CGROUP-NS'"
# the attack itself: lift the memory cap (memsw first, then memory), pids.max, a cgroup made at a hierarchy's
# root, then use 256 MiB
cgattack='
mkdir -p /tmp/m /tmp/p
if unshare -m -C true 2>/dev/null; then in_own="unshare -m -C"; else in_own="unshare -Urm -C"; fi
$in_own sh -c "
        mount -t cgroup -o memory none /tmp/m && echo MOUNTED memory
        for f in memory.memsw.limit_in_bytes memory.limit_in_bytes; do echo -1 > /tmp/m/\$f && echo RAISED \$f; done
        mkdir /tmp/m/nsrun-escape-at-root && rmdir /tmp/m/nsrun-escape-at-root && echo MADE-CGROUP
        mount -t cgroup -o pids none /tmp/p && echo max > /tmp/p/pids.max && echo RAISED pids.max
        mount -t cgroup2 none /tmp/p && echo MOUNTED cgroup2" 2>&1
exec '"$PY"' -c "b = bytearray(256 << 20); b[::4096] = b\"x\" * len(range(0, len(b), 4096)); print(\"allocated 256M\")"'
printf '%s\n' "$cgattack" > "$P/cgattack.sh"
out=$(nsrun exec --mem 64M --pids-max 64 -- sh cgattack.sh 2>&1)
rc=$?
diag <<< "$out"
is "nsrun exec --mem 64M: no private cgroupfs lifts its caps (memory, memsw, pids.max, a cgroup at the root): killed (137)" \
        "$rc $(printf '%s\n' "$out" | grep -E 'MOUNTED|RAISED|MADE|allocated' | tr '\n' ' ')" "137 "
as_test_user "$NSRUN_BIN" --mem-per-worker 64M --json "$SCRATCH/cg.json" -- sh cgattack.sh > "$SCRATCH/cg.out" 2>&1
diag < "$SCRATCH/cg.out"
is "... nor does a runner job's under --mem-per-worker 64M: it is killed for memory" \
        "$(json "$SCRATCH/cg.json" "[j['status'] for j in d['jobs']]" 2>&1)" "['oom']"
# ... nor a conftest's, run where no test runs yet: in the prepared interpreter jobs are forked from, in a cgroup
# of its own (prepared-N) capped at a worker's share, and, once that one is killed, in the collection nsrun runs
# again to say why (in a cgroup of its own, "collect"). The conftest tries the same (its output, and where it
# ran, go to a --rw directory), then keeps 256 MiB itself; given 2G, the same conftest keeps them.
C=$(make_project conftest-cgattack)
creport=$(make_project conftest-cgattack-report)
sed '$d' "$P/cgattack.sh" > "$C/cgattack.sh"
cat > "$C/conftest.py" <<'EOF'
import os, re, subprocess
report = os.environ["CGATTACK_REPORT"]
cgroups = dict(line.split(":", 2)[1:] for line in open("/proc/self/cgroup").read().splitlines())
where = next((p for c, p in cgroups.items() if "memory" in c.split(",")), cgroups.get(""))
with open(report + "/attack.out", "a") as f:
    f.write(subprocess.run(["sh", "cgattack.sh"], capture_output=True, text=True).stdout)
    f.write("tried in %s\n" % ("prepared" if re.search(r"/prepared-[0-9]+$", where) else
                              "collection" if where.endswith("/collect") else where))
kept = bytearray(256 << 20)
kept[::4096] = b"x" * len(range(0, len(kept), 4096))
open(report + "/allocated", "w").close()
EOF
printf 'def test_%s():\n    pass\n' a b c d > "$C/test_cg.py"
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$C"
cgattack_conftest() {
        rm -rf "$creport"/* "$C/.nsrun"
        (cd "$C" && CGATTACK_REPORT="$creport" marked "$SCRATCH/pid" "$tag-cgc" "$NSRUN_BIN" -j 2 --fork on \
                --rw "$creport" "$@" -- "$PY" -m pytest -p no:cacheprovider) > "$SCRATCH/cgc.out" 2>&1
        echo "$? $(grep '^tried' "$creport/attack.out" | sort -u | tr '\n' ' ')" \
                "$(grep -E 'MOUNTED|RAISED|MADE' "$creport/attack.out" | tr '\n' ' ')$(test -e "$creport/allocated" && echo allocated)"
}
got=$(cgattack_conftest --mem-per-worker 2G)
diag < "$SCRATCH/cgc.out"
is "given 2G, a conftest keeping 256 MiB passes, its attack run in the prepared interpreters' cgroups (the control)" \
        "$got" "0 tried in prepared  allocated"
mounts0=$(mount_count)
got=$(cgattack_conftest --mem-per-worker 128M)
diag < "$SCRATCH/cgc.out"
is "... under --mem-per-worker 128M its cgroupfs attack lifts nothing, in the interpreter and in the collection run again, each killed at its cap (exit 2)" \
        "$got" "2 tried in collection tried in prepared  "
like "... named as the collection out of memory at its cap" "$(cat "$SCRATCH/cgc.out")" \
        "collection was killed out of memory at its cap of 128 MiB"
is "... and the run left nothing behind" "$(leftovers_of "$SCRATCH/pid" "$tag-cgc" "$C" "$mounts0")" ""
rm -f "$P/cgattack.sh"

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

# --- pytest's assertion rewriting kept between runs (.nsrun/pytest-rewrite/): what later runs' jobs execute ---
# A job writes there an entry for another test file, nsrun's header and all: it lands in its own overlay. Only
# nsrun_rewrite.py, in a sandbox of its own that runs no code of the project, writes the cache on the host.
W=$(make_project rewrite-poison)
as_test_user sh -c "mkdir '$W/tests' && printf 'def test_b():\n    pass\n' > '$W/tests/test_b.py'"
as_test_user tee "$W/tests/test_a.py" > /dev/null <<'PYEOF'
import hashlib, importlib.util, marshal, os, pathlib, sys

import pytest

def test_poison():  # an entry for test_b.py as nsrun_rewrite.py writes one, of other code
    target = pathlib.Path(__file__).with_name("test_b.py").resolve()
    d = pathlib.Path(os.environ["NSRUN_REWRITE_CACHE"], *target.parts[1:-1])
    d.mkdir(parents=True, exist_ok=True)
    head = b"nsrun-rewrite 1\n" + importlib.util.MAGIC_NUMBER + hashlib.sha256(target.read_bytes()).digest()
    code = compile("def test_b():\n    raise AssertionError('poisoned')\n", str(target), "exec")
    name = "test_b.%s-pytest-%s.pyc" % (sys.implementation.cache_tag, pytest.__version__)
    (d / name).write_bytes(head + marshal.dumps(code))
PYEOF
for k in 1 2; do
        (cd "$W" && as_test_user "$NSRUN_BIN" -j 1 -- pytest -p no:cacheprovider tests) > "$SCRATCH/poison-$k.out" 2>&1
done
is "a job's entry for another file in pytest's kept rewriting stays in its overlay: the next run's test passes" \
        "$(tail -n 1 "$SCRATCH/poison-2.out" | sed 's/ in [0-9.]*s//; s/; 1 worker.*//') $(grep -rl poisoned --include='test_b.*' "$W/.nsrun/pytest-rewrite" 2>&1)" \
        "nsrun: 2 jobs: 2 passed; tests: 2 passed "
diag < "$SCRATCH/poison-2.out"
# the control: the same entry written on the host is what the next run's test_b.py runs
(cd "$W/tests" && as_test_user env NSRUN_REWRITE_CACHE="$W/.nsrun/pytest-rewrite" /usr/bin/python3 -c 'import test_a; test_a.test_poison()')
(cd "$W" && as_test_user "$NSRUN_BIN" -j 1 -- pytest -p no:cacheprovider tests) > "$SCRATCH/poison-3.out" 2>&1
like "... where the same entry on the host poisons it (the control)" "$(cat "$SCRATCH/poison-3.out")" "E +AssertionError: poisoned"

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

# --- what nsrun reads back from jobs, and copies into the project ---
# Each attempt of a job may write one host directory, its own (coverage data, pytest's reports). From there nsrun
# copies into the project only a regular file named as its COVERAGE_FILE (or with coverage.py's suffix), never
# through a link and never over a project file that is not coverage data; and another job's name is not its own.
R=$(make_project results)
as_test_user sh -c "echo mine > '$R/.coveragerc' && mkdir '$R/tests' && printf 'def test_ok():\n    pass\n' > '$R/tests/test_a.py'"
plant='d=$(dirname "$COVERAGE_FILE")
echo "[run]" > "$d/.coveragerc"; ln -s /etc/passwd "$COVERAGE_FILE.passwd"; echo data > "$COVERAGE_FILE"
echo planted > "$d/.coverage.nsrun-1-1"; mkdir -p "$d/../job-1-1" && echo planted > "$d/../job-1-1/.coverage.nsrun-1-1"
true'
(cd "$R" && marked "$SCRATCH/pid" "$tag-cov" "$NSRUN_BIN" -j 1 -- sh -c '[ "$1" = A ] && eval "$2"; true' _ {} "$plant" ::: A B \
        > "$SCRATCH/cov.out" 2>&1)
rc=$?
got=$(cd "$R" && for f in .coverage*; do [ -L "$f" ] && echo "link:$f" || echo "$f:$(head -c 20 "$f")"; done | sort | tr '\n' ' ')
is "a job's planted files stay out of the project: only its own coverage data comes back (exit $rc)" \
        "$got$(cat "$R/.coveragerc")" ".coverage.nsrun-0-1:data .coveragerc:mine mine"
diag < "$SCRATCH/cov.out"
is "... and the run left nothing behind" "$(leftovers_of "$SCRATCH/pid" "$tag-cov" "$R" "$(mount_count)")" ""
rm -f "$R"/.coverage.nsrun-*

# The files nsrun reads from a job (pytest's JUnit report, the plugin's times, progress, failed tests' reports and
# -v lines, the collection report) replaced
# with a FIFO (nsrun hung for good), a link to /dev/zero (nsrun grew without bound) or a file over 64 MiB: the
# job is an error that names the file and why, nsrun ends, and nothing is left.
as_test_user sh -c "cat > '$R/conftest.py'" <<'PYEOF'
import os

import pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):  # where a prepared interpreter's collection (--fork) writes its report
    if os.environ.get("EVIL_KIND", "").startswith("collect:"):
        pytest_unconfigure(session.config)

def pytest_unconfigure(config):
    kind = os.environ.get("EVIL_KIND", "")
    what, _, how = kind.partition(":")
    times = os.environ.get("NSRUN_TIMES_OUT")
    path = {"junit": getattr(config.option, "xmlpath", None), "times": times,
            "collect": os.environ.get("NSRUN_COLLECT_OUT"),
            "progress": times and os.path.join(os.path.dirname(times), "progress.json"),
            "reports": times and os.path.join(os.path.dirname(times), "reports.jsonl"),
            "verbose": times and os.path.join(os.path.dirname(times), "verbose.log")}.get(what)
    if not path or (what == "collect") != bool(os.environ.get("NSRUN_COLLECT_OUT")):
        return
    if os.path.lexists(path):
        os.unlink(path)
    if how == "fifo":
        os.mkfifo(path)
    elif how == "zero":
        os.symlink("/dev/zero", path)
    elif how == "big":
        with open(path, "wb") as f:
            f.truncate(100 << 20)
    if what == "progress":  # read only when a job dies before its times are written
        if os.path.lexists(times):
            os.unlink(times)
        os.kill(os.getpid(), 9)
PYEOF
for kind in junit:fifo junit:zero junit:big times:fifo times:zero progress:fifo progress:zero reports:fifo reports:zero \
            reports:big verbose:fifo verbose:zero verbose:big collect:fifo collect:zero collect:fifo:off collect:zero:off; do
        rm -f "$R/.nsrun/collect.json" # collected afresh each time: the collection's conftest.py runs
        fork=auto # the collection: a prepared interpreter's (--fork), or the collection pass (:off)
        [ "${kind##*:}" = off ] && fork=off && kind=${kind%:off}
        (cd "$R" && marked "$SCRATCH/pid" "$tag-$kind-$fork" env EVIL_KIND=$kind timeout -s KILL 60 "$NSRUN_BIN" \
                --fork $fork -- pytest -p no:cacheprovider tests > "$SCRATCH/evil.out" 2>&1)
        rc=$?
        file=${kind%%:*}
        case $kind in
        *:fifo) why='not a regular file' ;;
        *:zero) why='a symbolic link' ;;
        *:big) why='larger than 64 MiB' ;;
        esac
        case $file in
        junit) want="1 \\[1/1\\] ERROR tests/test_a.py: its report junit.xml is $why" ;;
        times) want="1 \\[1/1\\] ERROR tests/test_a.py: its report times.json is $why" ;;
        progress) want="1 \\[1/1\\] ERROR tests/test_a.py: its report progress.json is $why" ;;
        reports) want="1 \\[1/1\\] ERROR tests/test_a.py: its report reports.jsonl is $why" ;;
        verbose) want="1 \\[1/1\\] ERROR tests/test_a.py: its report verbose.log is $why" ;;
        collect) want="2 nsrun: pytest's collection report .*/collect.json is $why" ;;
        esac
        like "a job that makes its $file report $why ($kind, --fork $fork): nsrun ends, with that named" \
                "$rc $(grep -E 'ERROR|collection report' "$SCRATCH/evil.out" | head -1)" "^$want"
        [ "$rc" = 137 ] && echo "nsrun hung and was killed" | diag
        is "... and the run left nothing behind" "$(leftovers_of "$SCRATCH/pid" "$tag-$kind-$fork" "$R" "$(mount_count)")" ""
done

# hypothesis's example database: the examples a job adds come back into the project's .hypothesis/examples, from
# a directory of the job's own attempt it could fill with anything. Planted there: a link to a host file, a key
# directory that is a link to a host directory, a FIFO (nsrun hung in open()), a file over 1 MiB, names hypothesis
# never makes; only the one real example comes back, each refusal named, and the project's own example is kept.
if /usr/bin/python3 -c 'import hypothesis' 2> /dev/null; then
        Y=$(make_project hypothesis)
        as_test_user sh -c "mkdir -p '$Y/.hypothesis/examples/0123abcd' && printf mine > '$Y/.hypothesis/examples/0123abcd/0000feed'"
        as_test_user sh -c "cat > '$Y/test_plant.py'" <<'PYEOF'
import os

import hypothesis  # its database is the project's .hypothesis/examples

def test_plant():
    out = os.environ["NSRUN_HYPOTHESIS_OUT"]
    os.makedirs(os.path.join(out, "aaaa"))
    with open(os.path.join(out, "aaaa", "1111"), "w") as f:
        f.write("good")
    os.makedirs(os.path.join(out, "0123abcd"))
    with open(os.path.join(out, "0123abcd", "0000feed"), "w") as f:
        f.write("replaced")
    os.symlink("/etc/passwd", os.path.join(out, "aaaa", "2222"))
    os.mkfifo(os.path.join(out, "aaaa", "3333"))
    with open(os.path.join(out, "aaaa", "4444"), "wb") as f:
        f.truncate(2 << 20)
    with open(os.path.join(out, "aaaa", "..5555"), "w") as f:
        f.write("bad name")
    os.symlink("/etc", os.path.join(out, "bbbb"))
PYEOF
        (cd "$Y" && marked "$SCRATCH/pid" "$tag-hyp" timeout -s KILL 60 "$NSRUN_BIN" -j 1 -- pytest -p no:cacheprovider \
                > "$SCRATCH/hyp.out" 2>&1)
        rc=$?
        diag < "$SCRATCH/hyp.out"
        got=$(cd "$Y/.hypothesis/examples" && find . -mindepth 1 | sort | while read -r f; do
                if [ -L "$f" ]; then echo "link:$f"; elif [ -f "$f" ]; then echo "$f:$(head -c 20 "$f")"; else echo "$f"; fi
        done | LC_ALL=C sort | tr '\n' ' ')
        is "a job's planted hypothesis examples: only the regular, small, well-named one comes back; the project's kept (exit $rc)" \
                "$got" "./0123abcd ./0123abcd/0000feed:mine ./aaaa ./aaaa/1111:good "
        warned=$(grep -o "hypothesis example [^ ]* to [^:]*: it .*" "$SCRATCH/hyp.out" | sed 's/ to [^:]*:/:/' | LC_ALL=C sort | tr '\n' ';')
        is "... each refusal named" "$warned" \
                "hypothesis example aaaa/..5555: it is not named as hypothesis names examples;hypothesis example aaaa/2222: it is a symbolic link;hypothesis example aaaa/3333: it is not a regular file (a FIFO, socket or device);hypothesis example aaaa/4444: it is larger than 1 MiB;hypothesis example bbbb: it is a symbolic link;"
        is "... and the run left nothing behind" "$(leftovers_of "$SCRATCH/pid" "$tag-hyp" "$Y" "$(mount_count)")" ""
else
        ok "hypothesis examples planted by a job # SKIP python3-hypothesis is not installed"
        ok "... each refusal named # SKIP python3-hypothesis is not installed"
        ok "... and the run left nothing behind # SKIP python3-hypothesis is not installed"
fi

# --- file descriptors: only stdin, stdout and stderr cross into a sandbox ---
# A directory nsrun inherited open is a path on the host (/proc/self/fd/N/...), writable where the host's is,
# whatever the sandbox's mounts; a file open for writing is that file.
fdout=$(make_project fd-target)
out=$(exec 7< "$fdout" 8>> "$fdout/log"
      nsrun exec -- sh -c 'ls /proc/self/fd | tr "\n" " "; echo; echo x > /proc/self/fd/7/by-exec && echo WROTE-7
                           echo y >&8 && echo WROTE-8; ls /proc/1/fd/7 > /dev/null && echo INIT-FD' 2>&1)
diag <<< "$out"
is "nsrun exec: the command has only fds 0, 1 and 2 (3 is ls's own) of what nsrun was started with" \
        "$(printf '%s\n' "$out" | head -1)" "0 1 2 3 "
check "... a directory inherited as fd 7 does not carry writes to the host, nor does fd 8 to its file, nor init's copy" \
        sh -c "test ! -e '$fdout/by-exec' && test ! -s '$fdout/log' && ! printf '%s' '$out' | grep -Eq 'WROTE|INIT-FD'"
(exec 7< "$fdout"
 as_test_user "$NSRUN_BIN" --json "$SCRATCH/fd.json" -- sh -c 'echo x > /proc/self/fd/7/by-job; test ! -e /proc/self/fd/7' \
        > "$SCRATCH/fd.out" 2>&1)
diag < "$SCRATCH/fd.out"
is "a runner job does not get the fds nsrun was started with either" \
        "$(test -e "$fdout/by-job" && echo written-on-host) $(json "$SCRATCH/fd.json" "[j['status'] for j in d['jobs']]" 2>&1)" \
        " ['passed']"

# --- the session keyring: each sandbox has its own, empty ---
if command -v keyctl > /dev/null; then
        out=$(as_test_user keyctl session - sh -c "keyctl add user nsrun-secret host-secret @s > /dev/null
                $(printf '%q' "$NSRUN_BIN") exec -- sh -c 'keyctl search @s user nsrun-secret && echo READ-SESSION
                                                 keyctl search @u user nsrun-secret && echo READ-USER
                                                 keyctl add user nsrun-planted x @s > /dev/null && echo added inside'
                keyctl search @s user nsrun-planted > /dev/null 2>&1 && echo PLANTED" 2>&1)
        diag <<< "$out"
        like "a key can be added inside (the test is real)" "$out" 'added inside'
        check "a key in the caller's session keyring is not found inside, and a key added inside is not in it afterwards" \
                sh -c "! printf '%s' '$out' | grep -Eq 'READ-|PLANTED'"
else
        not_ok "keyctl is installed (install keyutils)"
fi

# --- device nodes: nodev on every mount of the sandbox but its own /dev ---
# A node is the device itself, whatever the mount's read-only flag. One for /dev/zero (1:5, mode 0666, so any
# user could read it) in each kind of place: the project, a path given to --overlay and --rw, $HOME, the
# read-only host tree, and the host's /dev as the project ('cd /dev').
if [ "$(id -u)" = 0 ]; then
        devdir=$(make_project devnodes) hostdev=/var/lib/nsrun-escape-$$ homedev=$TEST_HOME/.nsrun-escape-$$
        mkdir -p "$hostdev"
        for n in "$devdir/zero" "$hostdev/zero" "$homedev" "$P/zero"; do mknod -m 666 "$n" c 1 5; done
        read1() { printf 'for f in %s; do [ "$(head -c 1 $f | wc -c)" = 1 ] && echo "DEVICE $f"; done; true' "$*"; }
        out=$( (nsrun exec -- sh -c "$(read1 zero "$hostdev/zero" "$homedev")"
                nsrun exec --overlay "$devdir" -- sh -c "$(read1 "$devdir/zero")"
                nsrun exec --rw "$devdir" -- sh -c "$(read1 "$devdir/zero")") 2>&1)
        # rootless, overlayfs refuses the host's /dev as a lower layer: then there is no sandbox at all
        out_dev=$(cd /dev && nsrun exec -- sh -c "$(read1 zero)" 2>&1)
        rm -rf "$hostdev" "$homedev" "$P/zero"
        diag <<< "$out
$out_dev"
        check "no device node outside the sandbox's /dev opens: project, --overlay, --rw, \$HOME, host tree, 'cd /dev'" \
                sh -c "! printf '%s' '$out $out_dev' | grep -q DEVICE"
        is "... each of the 5 tries refused" "$(printf '%s\n' "$out" | grep -c 'Permission denied')" 5
        like "... and from 'cd /dev' too" "$out_dev" 'Permission denied|cannot create a sandbox'
        is "... while the sandbox's own /dev/null, /dev/zero and /dev/urandom work" \
                "$(in_sandbox 'echo x > /dev/null && head -c 1 /dev/zero | wc -c && head -c 1 /dev/urandom | wc -c' | tr '\n' ' ')" "1 1 "
else
        ok "device nodes under the project # SKIP making one needs root"
fi

# --- --keep-writes: no setuid, setgid or file capability comes out, and the directory is the caller's alone ---
# A root job's 'chmod 4755' copy of a binary, kept, ran as euid 0 for any local user.
kept=$SCRATCH/kept.$$
keep='cp /usr/bin/id uid-copy && chmod 4755 uid-copy && cp /usr/bin/id gid-copy && chmod 2755 gid-copy && echo chmod-ok
      cp /usr/bin/id cap-copy'
if [ ${#RUN_AS[@]} -eq 0 ]; then # root: a capability for the host's root; a v2 entry, cap_net_raw permitted+effective
        keep="$keep; $PY -c 'import os; os.setxattr(\"cap-copy\", \"security.capability\", bytes.fromhex(\"0100000200200000000000000000000000000000\"))' && echo setcap-ok"
fi
out=$(nsrun exec --keep-writes "$kept" -- sh -c "$keep" 2>&1)
diag <<< "$out"
like "the command could make setuid, setgid (and as root capability) copies (the test is real)" "$out" 'chmod-ok'
is "the --keep-writes directory is the caller's alone (0700)" "$(stat -c %a "$kept")" 700
is "... no kept file is setuid or setgid" "$(find "$kept" -type f -perm /6000 | wc -l)" 0
is "... nor has a file capability" \
        "$("$PY" -c 'import os, sys; print(sum("security.capability" in os.listxattr(os.path.join(d, f), follow_symlinks=False) for d, _, fs in os.walk(sys.argv[1]) for f in fs))' "$kept")" 0
if [ "$(id -u)" = 0 ]; then
        euid=$(runuser -u nobody -- "$(find "$kept" -name uid-copy | head -1)" -u 2>&1)
        diag <<< "$euid"
        check "... and another user (nobody) cannot run a kept setuid copy of id with its owner's euid" \
                test "$euid" != "$(as_test_user id -u)"
else
        ok "another user runs a kept file # SKIP runuser needs root"
fi
rm -rf "$kept"

is "the project directory is unchanged" "$(tree_digest "$P")" "$digest0"
done_testing
