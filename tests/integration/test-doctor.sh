#!/bin/bash
# nsrun doctor: one line per check, a verdict that agrees with what nsrun then does, the fix for each failure,
# the same in JSON, and nothing left behind. Refusals are made real without touching the host's settings: a
# user namespace whose user.max_user_namespaces is 0 (as in test-refusal.sh), and a Docker-like seccomp filter.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
CHECKS="kernel user-namespaces pid-namespace network-namespace mount-namespace overlayfs cgroup-layout memory-caps
pids-caps socket-memory systemd sandboxed-job machine-view container cpu-budget memory-budget"

setup_scratch
require_sandbox
P=$(make_project)
as_test_user sh -c "echo content > '$P/file'"
cd "$P" || exit 1
# the cgroups of one run, in every hierarchy (other nsrun runs on this machine may come and go meanwhile)
run_cgroups() { find /sys/fs/cgroup -maxdepth 8 -type d -name "$1" 2>/dev/null | wc -l; }
digest_before=$(tree_digest "$P")

# --- the report ---
out=$(nsrun doctor 2>&1); rc=$?
printf '%s\n' "$out" | diag
for c in $CHECKS; do
        like "a line for the check '$c' with a verdict" "$out" "^(ok  |warn|FAIL)  $c +[^ ]"
done
is "no other check lines" "$(printf '%s\n' "$out" | grep -cE '^(ok  |warn|FAIL)  ')" "$(echo $CHECKS | wc -w)"
n_fail=$(printf '%s\n' "$out" | grep -c '^FAIL')
n_fix=$(printf '%s\n' "$out" | grep -A1 '^FAIL' | grep -c '^ \+fix: ')
is "each FAIL line is followed by its fix" "$n_fix" "$n_fail"
if [ "$n_fail" = 0 ]; then want=0; else want=1; fi
is "exit status: 0 with no FAIL line, 1 with one ($n_fail)" "$rc" "$want"
like "the last line sums up" "$(printf '%s\n' "$out" | tail -1)" '^nsrun (can run isolated, memory-capped jobs here|cannot (build its sandbox|cap memory) here)'
like "the CPU budget names its source" "$out" 'cpu-budget +[0-9.]+ CPUs, from: .+'
like "the memory budget names its source" "$out" 'memory-budget +[0-9.]+ [KMGT]iB for tests, from: .+'

# What doctor says is what nsrun does.
nsrun exec -- true >/dev/null 2>&1; exec_rc=$?
nsrun exec --mem 64M -- true >/dev/null 2>&1; mem_rc=$?
if printf '%s\n' "$out" | grep -q '^ok    sandboxed-job'; then want=0; else want=123; fi
is "sandboxed-job ok <=> 'nsrun exec -- true' works" "$exec_rc" "$want"
if printf '%s\n' "$out" | grep -q '^ok    memory-caps'; then want=0; else want=123; fi
is "memory-caps ok <=> 'nsrun exec --mem 64M -- true' works" "$mem_rc" "$want"
if [ "$(id -u)" = 0 ] && [ ${#RUN_AS[@]} -eq 0 ]; then
        like "as root: the user namespace is made as root" "$out" 'ok    user-namespaces +created one as root'
else
        like "rootless: the other namespaces are made inside a user namespace" "$out" \
                'pid-namespace +created a PID namespace in a new user namespace'
fi
like "the overlay probe overlays the directory doctor runs in" "$out" "overlayfs +overlaid $P"

# --- JSON ---
nsrun doctor --json > "$SCRATCH/doctor.json" 2>"$SCRATCH/doctor.err"; jrc=$?
is "--json: the same exit status" "$jrc" "$rc"
check "--json: stdout is one JSON object" $PY -c "import json,sys; json.load(open(sys.argv[1]))" "$SCRATCH/doctor.json"
is "--json: the same checks, in order" "$(json "$SCRATCH/doctor.json" "' '.join(c['name'] for c in d['checks'])")" \
        "$(echo $CHECKS)"
is "--json: the same verdicts as the text" \
        "$(json "$SCRATCH/doctor.json" "' '.join(c['status'] for c in d['checks'])")" \
        "$(printf '%s\n' "$out" | grep -E '^(ok  |warn|FAIL)  ' | awk '{print tolower($1)}' | tr '\n' ' ' | sed 's/ $//')"
is "--json: every check has a detail, every failure a fix" \
        "$(json "$SCRATCH/doctor.json" "all(c['detail'] and (c['status'] != 'fail' or c['fix']) for c in d['checks'])")" True
is "--json: exit_status and ok agree with the exit status" \
        "$(json "$SCRATCH/doctor.json" "(d['exit_status'], d['ok'])")" "($rc, $([ "$rc" = 0 ] && echo True || echo False))"
check "--json: budgets as numbers" $PY -c "
import json,sys; d=json.load(open(sys.argv[1])); assert d['cpus'] > 0 and d['memory_bytes'] > 0, d" "$SCRATCH/doctor.json"

# --- nothing left behind ---
run=$(printf '%s\n' "$out" | sed -n 's/^ok    memory-caps .* below .*\/\(nsrun-[0-9]*-[0-9]*\)$/\1/p')
if [ -n "$run" ]; then
        is "no cgroup of doctor's run ($run) is left" "$(run_cgroups "$run")" 0
else
        ok "# SKIP memory caps do not work here: doctor made no cgroup"
fi
is "the project is unchanged" "$(tree_digest "$P")" "$digest_before"
check "no .nsrun directory was made in the project" test ! -e "$P/.nsrun"
out=$(cd / && as_test_user env TMPDIR="$SCRATCH" "$NSRUN_BIN" doctor 2>&1)
like "from /, the overlay probe uses a directory of its own" "$out" "overlayfs +overlaid $SCRATCH/nsrun-doctor\."
is "... which is removed afterwards" "$(find "$SCRATCH" -maxdepth 1 -name 'nsrun-doctor.*' | wc -l)" 0

# --- usage ---
out=$(nsrun doctor --bogus 2>&1); rc=$?
is "an unknown option is a usage error (2)" "$rc" 2
like "... naming it" "$out" "^nsrun: doctor: unknown option '--bogus'; see 'nsrun doctor --help'$"
nsrun doctor extra >/dev/null 2>&1
is "an extra argument is a usage error (2)" "$?" 2
out=$(nsrun doctor --help); rc=$?
is "--help exits 0" "$rc" 0
like "--help documents --json and the exit status" "$out" '--json.*'
like "... and the exit status" "$(printf '%s' "$out" | tr '\n' ' ')" 'Exit status: 0 .* 1 .* 2 bad usage'

# --- a machine that refuses user namespaces ---
# user.max_user_namespaces = 0 inside a user namespace of the test's own (see test-refusal.sh).
refused_doctor() {
        if [ "${NSRUN_TEST_AS:-}" = user ] && [ "$(id -u)" = 0 ]; then
                local uid pid
                uid=$(id -u "$TEST_USER")
                unshare --user sh -c "
                        while ! grep -q 65536 /proc/self/uid_map; do sleep 0.01; done
                        exec sh -c 'cd $P && echo 0 > /proc/sys/user/max_user_namespaces || exit 99
                                exec setpriv --reuid=$uid --regid=$uid --clear-groups $NSRUN_BIN doctor $*'" &
                pid=$!
                # Only once unshare() has made the new namespace: before, the maps are the host's and the
                # write would fail, leaving the child waiting for ever.
                wait_for sh -c "[ \"\$(readlink /proc/$pid/ns/user)\" != \"\$(readlink /proc/self/ns/user)\" ]"
                { echo '0 0 65536' > /proc/$pid/uid_map && echo '0 0 65536' > /proc/$pid/gid_map; } || kill $pid
                wait $pid
        else
                as_test_user unshare --user --map-root-user sh -c "
                        echo 0 > /proc/sys/user/max_user_namespaces && exec $NSRUN_BIN doctor $*"
        fi
}
out=$(refused_doctor 2>&1); rc=$?
is "user namespaces refused: exit status 1" "$rc" 1
like "... the user-namespaces check fails naming the knob" "$out" \
        'FAIL  user-namespaces +user namespaces are disabled on this machine \(user.max_user_namespaces = 0\)'
like "... with the fix on the next line" "$out" "fix: enable them with 'sysctl -w user.max_user_namespaces=15000'"
like "... the sandbox check fails too" "$out" 'FAIL  sandboxed-job'
like "... and the summary says a run would refuse" "$(printf '%s\n' "$out" | tail -1)" \
        "^nsrun cannot build its sandbox here: a run would exit with status 3, 'nsrun exec' with 123"
out=$(refused_doctor --json 2>&1)
is "... and in JSON: status and fix of user-namespaces" \
        "$(printf '%s' "$out" | $PY -c "import json,sys; d=json.load(sys.stdin); c=d['checks'][1]; print(c['status'], c['fix'])")" \
        "fail enable them with 'sysctl -w user.max_user_namespaces=15000'"

# --- a Docker-like seccomp filter ---
# As Docker's default profile: clone3 is ENOSYS (so libc falls back to clone), unshare and clone with namespace
# flags are EPERM. x86_64 only (syscall numbers).
cat > "$SCRATCH/seccomp-exec.py" <<'EOF'
import ctypes, os, platform, struct, sys
if platform.machine() != "x86_64":
    sys.exit(77)
def ins(code, jt, jf, k): return struct.pack("HBBI", code, jt, jf, k)
LD, JEQ, JSET, RET = 0x20, 0x15, 0x45, 0x06
ALLOW, ERRNO = 0x7fff0000, 0x00050000
NS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
prog = b"".join([
    ins(LD, 0, 0, 4), ins(JEQ, 1, 0, 0xc000003e), ins(RET, 0, 0, ALLOW),   # not x86_64: allow
    ins(LD, 0, 0, 0),                                                       # the syscall number
    ins(JEQ, 0, 1, 435), ins(RET, 0, 0, ERRNO | 38),                        # clone3: ENOSYS
    ins(JEQ, 0, 1, 272), ins(RET, 0, 0, ERRNO | 1),                         # unshare: EPERM
    ins(JEQ, 0, 3, 56), ins(LD, 0, 0, 16), ins(JSET, 0, 1, NS),             # clone with CLONE_NEW*:
    ins(RET, 0, 0, ERRNO | 1),                                              #   EPERM
    ins(RET, 0, 0, ALLOW),
])
buf = ctypes.create_string_buffer(prog)
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fp = Fprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(fp), 0, 0) != 0:
    sys.exit(78)
os.execv(sys.argv[1], sys.argv[1:])
EOF
out=$(as_test_user $PY "$SCRATCH/seccomp-exec.py" "$NSRUN_BIN" doctor 2>&1); rc=$?
if [ "$rc" = 77 ]; then
        ok "# SKIP the seccomp filter is written for x86_64"
else
        printf '%s\n' "$out" | grep -v '^ok' | diag
        is "under a seccomp filter: exit status 1" "$rc" 1
        like "... the user-namespaces check names the seccomp filter" "$out" \
                'FAIL  user-namespaces +a seccomp filter refuses to create namespaces'
        like "... and the fix is Docker's --security-opt seccomp=unconfined" "$out" \
                'fix: run the container with --security-opt seccomp=unconfined'
        like "... the sandbox check fails the same way" "$out" 'FAIL  sandboxed-job +a seccomp filter'
fi

done_testing
