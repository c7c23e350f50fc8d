#!/bin/bash
# nsrun exec: each property of the sandbox that a user relies on, as root and as an unprivileged user.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

setup_scratch
require_sandbox
P=$(make_project)
as_test_user sh -c "echo host-content > '$P/existing'; mkdir -p '$P/data/sessions'; echo s > '$P/data/sessions/test-1'"
cd "$P" || exit 1

# --- exit status and signals ---
nsrun exec -- sh -c 'exit 7'
is "exit status passes through" "$?" 7
nsrun exec -- sh -c 'kill -TERM $$'
is "death by signal N gives 128+N" "$?" 143
out=$(nsrun exec -- no-such-command-xyz 2>&1); rc=$?
is "a command that does not exist gives 127" "$rc" 127
like "... with a one-line message naming it" "$out" '^nsrun: no-such-command-xyz: command not found'
as_test_user sh -c "printf 'echo hi\n' > '$P/notexec.sh'; chmod 644 '$P/notexec.sh'"
out=$(nsrun exec -- ./notexec.sh 2>&1); rc=$?
is "a command that is not executable gives 126" "$rc" 126
like "... with a one-line message" "$out" 'notexec.sh: cannot execute: Permission denied'
is "NSRUN_SANDBOX=1 is set inside" "$(nsrun exec -- sh -c 'echo $NSRUN_SANDBOX')" 1
is "the environment passes through" "$(MY_VAR=abc nsrun exec -- sh -c 'echo $MY_VAR' 2>&1)" abc

# --- the project directory and $HOME: overlaid, writes private ---
out=$(nsrun exec -- sh -c 'echo sandbox > new-file && cat new-file && echo changed > existing && cat existing &&
                           rm data/sessions/test-1 && ls data/sessions | wc -l')
is "the command sees its own writes in the project" "$out" "$(printf 'sandbox\nchanged\n0')"
check "a file written in the project is not on the host afterwards" test ! -e "$P/new-file"
is "a host file changed inside is unchanged on the host" "$(cat "$P/existing")" host-content
check "a host file deleted inside is still on the host" test -e "$P/data/sessions/test-1"
out=$(nsrun exec -- sh -c 'echo h > "$HOME/.nsrun-home-probe" && cat "$HOME/.nsrun-home-probe"')
is "the command sees its own write in \$HOME" "$out" h
check "a file written in \$HOME is not there afterwards" test ! -e "$TEST_HOME/.nsrun-home-probe"
modes=$(stat -c %a "$P" "$TEST_HOME")
chmod 0710 "$P"
chmod 0700 "$TEST_HOME"
is "the project and \$HOME keep their mode and owner inside (0710 and 0700 here)" \
        "$(nsrun exec -- sh -c 'stat -c "%a %U" . "$HOME"' 2>&1)" "$(stat -c '%a %U' "$P" "$TEST_HOME")"
chmod "$(echo $modes | cut -d' ' -f1)" "$P"
chmod "$(echo $modes | cut -d' ' -f2)" "$TEST_HOME"

# --- /tmp, /var/tmp, /dev/shm are fresh and private ---
probe=/tmp/nsrun-host-probe.$$
echo host > "$probe"; chmod 644 "$probe"
nsrun exec -- test -e "$probe"
is "a host file in /tmp is invisible inside" "$?" 1
rm -f "$probe"
nsrun exec -- sh -c "echo in > $probe.inside && echo in > /var/tmp/nsrun-probe.$$ && echo in > /dev/shm/nsrun-probe.$$"
check "/tmp, /var/tmp and /dev/shm writes stay inside" \
        sh -c "test ! -e $probe.inside && test ! -e /var/tmp/nsrun-probe.$$ && test ! -e /dev/shm/nsrun-probe.$$"

# --- everything else read-only ---
out=$(nsrun exec -- sh -c 'echo x > /etc/nsrun-probe' 2>&1)
like "writing to /etc fails with EROFS" "$out" 'Read-only file system'
check "... and nothing reached the host's /etc" test ! -e /etc/nsrun-probe
out=$(nsrun exec -- sh -c 'echo 3 > /proc/sys/vm/drop_caches' 2>&1)
like "writing /proc/sys fails" "$out" 'Read-only file system|Permission denied'
if [ -e /proc/sysrq-trigger ]; then
        out=$(nsrun exec -- sh -c 'echo h > /proc/sysrq-trigger' 2>&1)
        like "writing /proc/sysrq-trigger fails" "$out" 'Read-only file system|Permission denied'
fi
out=$(nsrun exec -- sh -c 'mount -o remount,rw / 2>&1; mount -o remount,rw,bind /etc 2>&1; touch /etc/nsrun-probe 2>&1')
like "remounting a read-only path writable fails" "$out" 'Read-only file system'
check "... and /etc is still untouched" test ! -e /etc/nsrun-probe
out=$(nsrun exec -- sh -c "umount -l '$P' 2>&1; echo escaped > '$P/escape-probe'; cat '$P/escape-probe'")
check "unmounting the project overlay fails: a write after it still stays private" test ! -e "$P/escape-probe"
out=$(nsrun exec -- unshare -m sh -c "umount -l '$P' && echo UNMOUNTED" 2>&1)
check "a nested mount namespace cannot uncover the host project either" \
        sh -c "! printf '%s' '$out' | grep -q UNMOUNTED || test ! -e '$P/escape-probe'"

# --- network: only lo, up, private ---
out=$(nsrun exec -- ip -o link show)
is "only one interface exists inside" "$(printf '%s\n' "$out" | wc -l)" 1
like "... it is lo and it is up" "$out" '^1: lo: <LOOPBACK,UP,LOWER_UP>'
like "lo has 127.0.0.1/8 and ::1" "$(nsrun exec -- ip -o addr show lo | tr '\n' ' ')" '127\.0\.0\.1/8.*::1/128'
bind8080='import socket,time,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0); s.bind(("127.0.0.1", 8080)); s.listen()
print("bound", flush=True); time.sleep(1.5)'
nsrun exec -- $PY -c "$bind8080" > "$SCRATCH/b1" 2>&1 & p1=$!
nsrun exec -- $PY -c "$bind8080" > "$SCRATCH/b2" 2>&1 & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
is "two sandboxes started at once both bind 127.0.0.1:8080" "$r1 $r2 $(cat "$SCRATCH/b1" "$SCRATCH/b2" | tr '\n' ' ')" "0 0 bound bound "
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$PY -m http.server --bind 127.0.0.1 "$port" >/dev/null 2>&1 & CLEANUP_PIDS+=($!)
wait_for $PY -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)"
out=$(nsrun exec -- $PY -c "
import socket
try:
    socket.create_connection(('127.0.0.1', $port), 1); print('reached')
except OSError as e:
    print('refused', e.errno)" 2>&1)
like "a server on the host's 127.0.0.1 is unreachable from inside" "$out" '^refused'
out=$(nsrun exec --net host -- $PY -c "import socket; socket.create_connection(('127.0.0.1', $port), 1); print('reached')" 2>&1)
is "--net host shares the host's network" "$out" reached

# --- processes ---
out=$(nsrun exec -- ps -e -o pid=,comm=)
is "ps inside sees only the sandbox's processes" "$(printf '%s\n' "$out" | awk '{print $2}' | tr '\n' ' ')" "nsrun ps "
nsrun exec -- kill -0 $$ 2>/dev/null
is "a host process cannot be signalled from inside" "$?" 1
marker=$((RANDOM + 31000))
nsrun exec -- sh -c "setsid sleep $marker.1 >/dev/null 2>&1 < /dev/null & sh -c 'sleep $marker.2 &' ; exit 0"
sleep 0.3
check "a setsid daemon and a double-forked one are gone after exit" sh -c "! pgrep -f '^sleep $marker'"

# --- nsrun killed with SIGKILL leaves nothing ---
mounts_before=$(wc -l < /proc/self/mountinfo)
nsrun exec -- sleep "$marker.3" & npid=$!
wait_for pgrep -f "^sleep $marker.3" >/dev/null
kill -9 "$(pgrep -f "^$NSRUN_BIN exec -- sleep $marker.3" | head -1)" 2>/dev/null || kill -9 $npid
wait $npid 2>/dev/null
wait_for sh -c "! pgrep -f '^sleep $marker.3'"
check "killing nsrun with SIGKILL leaves no sandbox process" sh -c "! pgrep -f '^sleep $marker.3'"
is "... and no mount on the host" "$(wc -l < /proc/self/mountinfo)" "$mounts_before"

# --- signals sent to nsrun reach the command ---
nsrun exec -- sh -c 'trap "exit 42" TERM; echo ready; sleep 100 & wait' > "$SCRATCH/sig" & npid=$!
wait_for grep -q ready "$SCRATCH/sig"
kill -TERM "$(pgrep -f "^$NSRUN_BIN exec -- sh -c trap" | head -1)"
wait $npid
is "SIGTERM to nsrun reaches the command (its handler's exit status comes back)" "$?" 42

# --- the terminal passes through; Ctrl-C reaches the command ---
out=$(as_test_user script -qec "$NSRUN_BIN exec -- sh -c 'test -t 0 && test -t 1 && echo TTY; tty'" /dev/null 2>&1)
like "stdin and stdout stay a terminal inside" "$out" 'TTY'
out=$(as_test_user $PY - "$NSRUN_BIN" <<'PYEOF'
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "exec", "--", "sh", "-c", "echo ready; sleep 30"])
buf = b""
end = time.time() + 30
while b"ready" not in buf and time.time() < end:
    if select.select([fd], [], [], 0.2)[0]:
        buf += os.read(fd, 1024)
os.write(fd, b"\x03")
_, status = os.waitpid(pid, 0)
print("exit", os.waitstatus_to_exitcode(status))
PYEOF
)
is "Ctrl-C on the terminal stops the command (130)" "$out" "exit 130"

# --- devices ---
out=$(nsrun exec -- sh -c 'echo x > /dev/null && head -c 4 /dev/urandom | wc -c && head -c 4 /dev/zero | wc -c &&
                           ls /dev/pts/ptmx >/dev/null && echo ok')
is "/dev/null, /dev/urandom, /dev/zero and /dev/pts work" "$(echo $out)" "4 4 ok"
out=$(nsrun exec -- $PY -c 'import pty,os; m,s=pty.openpty(); os.write(s,b"hi"); print(os.read(m,2).decode())')
is "a pty can be opened inside" "$out" hi

# --- sandbox options ---
kw=$SCRATCH/kept
nsrun exec --keep-writes "$kw" -- sh -c 'mkdir -p out && echo result > out/log.txt'
like "--keep-writes keeps the command's writes for a look afterwards" "$(cat "$kw"/*/out/log.txt 2>&1)" '^result$'
check "... without overlayfs's work directories" sh -c "! ls -a '$kw' | grep -q '^\.work'"
shared=$(make_project shared)
nsrun exec --rw "$shared" -- sh -c "echo shared > '$shared/f'"
is "--rw shares a path writable with the host" "$(cat "$shared/f" 2>&1)" shared
extra=$(make_project extra)
as_test_user sh -c "echo orig > '$extra/f'"
out=$(nsrun exec --overlay "$extra" -- sh -c "echo new > '$extra/f' && cat '$extra/f'")
is "--overlay makes another path writable inside..." "$out" new
is "... and private" "$(cat "$extra/f")" orig
out=$(nsrun exec --tmpfs "$extra" -- ls -A "$extra")
is "--tmpfs puts an empty tmpfs on a path" "$out" ""
out=$(nsrun exec --no-home -- sh -c 'echo x > "$HOME/.nsrun-probe"' 2>&1)
like "--no-home leaves \$HOME read-only" "$out" 'Read-only file system'
sub=$(make_project other)
out=$(cd "$SCRATCH" && nsrun exec --root-dir "$sub" -- sh -c "echo x > '$sub/f' && cat '$sub/f'")
is "--root-dir chooses the overlaid project" "$out" x
check "... and its writes stay private" test ! -e "$sub/f"

done_testing
