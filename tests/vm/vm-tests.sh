#!/bin/bash
# tests/vm/vm-tests.sh [PATTERN...] - run nsrun's VM test cases (the single
# entry point CI calls for everything that needs systemd as PID 1 and a pure
# cgroup v2 hierarchy, which the development/CI hosts do not have).
#
#   sudo tests/vm/vm-tests.sh            # build the VM if needed, boot it once, run every case
#   sudo tests/vm/vm-tests.sh env oom    # only cases whose file name contains "env" or "oom"
#
# On the host: builds the VM with build-vm.sh (root; cached in $NSRUN_VM_DIR,
# default /var/tmp/nsrun-vm; a non-root caller needs it built already), boots
# it ONCE with this checkout shared read-only at /src (build nsrun on the host
# first: /src/build/nsrun), and runs this same script inside with --guest.
#
# In the VM, as root: every tests/vm/cases/*.sh, in name order, is run once
# as root and once as the unprivileged user nsrun (uid 1000, lingering, its
# systemd user manager running), via
#   su - nsrun -c 'XDG_RUNTIME_DIR=/run/user/1000 ... bash CASE'
# A case may restrict that with a line "# vm-users: root" (or "nsrun").
# Each run gets, in its environment:
#   NSRUN=/src/build/nsrun  NSRUN_SRC=/src  NSRUN_TESTS_MUST_RUN=1
#   NSRUN_SCRATCH=<a fresh empty directory on the VM's disk owned by the
#   user, also the working directory>
# Exit status of a case: 0 pass, 77 skip (a failure here, since the VM exists
# precisely so that nothing has to be skipped), anything else fail; a case is
# killed after $NSRUN_VM_CASE_TIMEOUT s (default 900: TCG is 40-75x slower
# than the host for fork+exec).
#
# Output is TAP: the cases' output as "# " lines, then "ok N - NAME [USER]" or
# "not ok N - ...", a "1..N" plan, and a last line "P passed, F failed".
# Exit status: 0 if every case passed, 1 otherwise (also if the VM could not
# be built, booted, or timed out: NSRUN_VM_TIMEOUT, default 3600 s overall).
# Other env: NSRUN_VM_DIR, NSRUN_VM_MEM, NSRUN_VM_CPUS, NSRUN_VM_ACCEL,
# NSRUN_VM_KEEP (see run-in-vm.sh).
set -uo pipefail

# ---------------------------------------------------------------- in the VM --
guest() {
    local cases_dir=/src/tests/vm/cases timeout_s=${NSRUN_VM_CASE_TIMEOUT:-900}
    export NSRUN=/src/build/nsrun NSRUN_SRC=/src NSRUN_TESTS_MUST_RUN=1
    echo "TAP version 13"
    echo "# VM: kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) MiB," \
         "systemd $(systemctl is-system-running), up $(cut -d' ' -f1 /proc/uptime) s"

    # the test user's manager and bus (lingering starts them at boot; make sure they are up)
    systemctl start user@1000.service >/dev/null 2>&1
    local _
    for _ in $(seq 240); do
        [ -S /run/user/1000/systemd/private ] && [ -S /run/user/1000/bus ] && break
        sleep 0.5
    done

    local all=() c p
    for c in "$cases_dir"/*.sh; do
        [ -f "$c" ] || continue
        if [ $# -eq 0 ]; then all+=("$c"); continue; fi
        for p in "$@"; do [[ $(basename "$c") == *"$p"* ]] && { all+=("$c"); break; }; done
    done
    if [ ${#all[@]} -eq 0 ]; then
        echo "not ok 1 - no test case in $cases_dir matches: ${*:-(all)}"
        echo "1..1"; echo "0 passed, 1 failed"; return 1
    fi

    local n=0 pass=0 fail=0 users u uid name scratch rc t0 cmd
    for c in "${all[@]}"; do
        users=$(sed -n 's/^# *vm-users: *//p' "$c" | head -n1)
        for u in ${users:-root nsrun}; do
            n=$((n + 1))
            name="$(basename "$c" .sh) [$u]"
            uid=$(id -u "$u")
            scratch=$(mktemp -d /var/tmp/nsrun-case.XXXXXX)
            chown "$u:" "$scratch"
            echo "# --- $name"
            t0=$SECONDS
            if [ "$u" = root ]; then
                (cd "$scratch" && NSRUN_SCRATCH=$scratch exec timeout -k 10 "$timeout_s" bash "$c") 2>&1 |
                    sed -u 's/^/# /'
                rc=${PIPESTATUS[0]}
            else
                cmd=$(printf '%q ' cd "$scratch")"&& exec "$(printf '%q ' env \
                    XDG_RUNTIME_DIR=/run/user/$uid NSRUN="$NSRUN" NSRUN_SRC="$NSRUN_SRC" \
                    NSRUN_TESTS_MUST_RUN=1 NSRUN_SCRATCH="$scratch" \
                    timeout -k 10 "$timeout_s" bash "$c")
                su - "$u" -c "$cmd" </dev/null 2>&1 | sed -u 's/^/# /'
                rc=${PIPESTATUS[0]}
            fi
            rm -rf "$scratch"
            case $rc in
            0)   echo "ok $n - $name ($((SECONDS - t0)) s)"; pass=$((pass + 1)) ;;
            77)  echo "not ok $n - $name # skipped, but NSRUN_TESTS_MUST_RUN=1 in the VM"; fail=$((fail + 1)) ;;
            124) echo "not ok $n - $name # timed out after $timeout_s s"; fail=$((fail + 1)) ;;
            *)   echo "not ok $n - $name # exit status $rc"; fail=$((fail + 1)) ;;
            esac
        done
    done
    echo "# VM: cases done, up $(cut -d" " -f1 /proc/uptime) s"
    echo "1..$n"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

if [ "${1:-}" = --guest ]; then
    shift
    guest "$@"
    exit
fi

# -------------------------------------------------------------- on the host --
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
VM_DIR=${NSRUN_VM_DIR:-/var/tmp/nsrun-vm}
export NSRUN_VM_DIR=$VM_DIR NSRUN_VM_TIMEOUT=${NSRUN_VM_TIMEOUT:-3600}
t0=$SECONDS

if [ "$(id -u)" = 0 ]; then
    bash "$HERE/build-vm.sh" || { echo "Bail out! build-vm.sh failed"; echo "0 passed, 1 failed"; exit 1; }
elif ! [ -e "$VM_DIR/rootfs.img" ]; then
    echo "vm-tests.sh: no VM in $VM_DIR; run as root (or run tests/vm/build-vm.sh as root first)" >&2
    echo "Bail out! no VM"; echo "0 passed, 1 failed"; exit 1
fi
[ -x "$SRC/build/nsrun" ] || echo "# note: $SRC/build/nsrun not built; cases that need it will say so" >&2
t_built=$SECONDS

job=$(mktemp /tmp/nsrun-vm-job.XXXXXX)
log=$(mktemp /tmp/nsrun-vm-log.XXXXXX)
trap 'rm -f "$job" "$log"' EXIT
{
    echo '#!/bin/bash'
    printf 'export NSRUN_VM_CASE_TIMEOUT=%q\n' "${NSRUN_VM_CASE_TIMEOUT:-900}"
    printf 'exec bash /src/tests/vm/vm-tests.sh --guest'
    printf ' %q' "$@"
    echo
} > "$job"

bash "$HERE/run-in-vm.sh" "$job" "$SRC" | tee "$log"
rc=${PIPESTATUS[0]}
echo "# vm-tests.sh: build check $((t_built - t0)) s, boot + cases + poweroff $((SECONDS - t_built)) s" >&2

summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
if [ -z "$summary" ]; then
    # the VM died, hung or never booted: count what ran and fail
    passed=$(grep -c '^ok ' "$log"); failed=$(grep -c '^not ok ' "$log")
    echo "not ok $((passed + failed + 1)) - VM run did not finish (run-in-vm.sh exit $rc; 124 = timeout, 125 = no status from the VM)"
    echo "$passed passed, $((failed + 1)) failed"
    exit 1
fi
[ "$rc" = 0 ] && [[ $summary == *" 0 failed" ]] || exit 1
exit 0
