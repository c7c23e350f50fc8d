#!/bin/bash
# 00-environment: the VM is what nsrun's VM tests need.  Runs as root and as
# the unprivileged user nsrun (see ../vm-tests.sh).  Exit 0 pass, 1 fail.
set -u
fail=0
me=$(id -un)
ok()   { echo "ok   $*"; }
check() {       # check NAME COMMAND...: run COMMAND, show its output on failure
    local out t0=${EPOCHREALTIME/[.,]/} dt
    if out=$("${@:2}" 2>&1); then dt=$(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 )); ok "$1 (${dt} ms)"; else
        echo "FAIL $1"; [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/       /'; fail=1
    fi
}
# run a command as nsrun with its user manager reachable (as root via su)
as_nsrun() {
    if [ "$me" = nsrun ]; then "$@"; else
        su - nsrun -c "XDG_RUNTIME_DIR=/run/user/$(id -u nsrun) $(printf '%q ' "$@")"
    fi
}
is() { local want=$1; shift; local got; got=$("$@" 2>&1); [ "$got" = "$want" ] || { echo "got '$got', want '$want'"; return 1; }; }

echo "user $me, kernel $(uname -r), pid1 $(cat /proc/1/comm), cgroup $(cut -d: -f3 /proc/self/cgroup)"
echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"

check "pure cgroup2 at /sys/fs/cgroup" is cgroup2fs stat -fc %T /sys/fs/cgroup
check "no cgroup v1 hierarchy mounted" bash -c '! awk '\''$3 == "cgroup"'\'' /proc/self/mounts | grep .'
check "memory controller available" grep -qw memory /sys/fs/cgroup/cgroup.controllers
check "PID 1 is systemd" is systemd cat /proc/1/comm
check "system manager: is-system-running = running" \
    bash -c 'is_=$(systemctl is-system-running); [ "$is_" = running ] || { echo "$is_"; systemctl --failed --no-legend; false; }'
check "nsrun lingers" is yes loginctl show-user nsrun -p Linger --value
check "nsrun's user manager: systemctl --user is-system-running = running" \
    is running as_nsrun systemctl --user is-system-running
check "nsrun's user bus (\$XDG_RUNTIME_DIR/bus, for sd_bus_open_user)" \
    as_nsrun busctl --user --no-pager list
ucg=/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service
check "memory controller delegated to nsrun's user manager" grep -qw memory "$ucg/cgroup.controllers"
check "nsrun owns its user manager's cgroup" is nsrun stat -c %U "$ucg/cgroup.procs"
check "user namespaces usable" unshare -Ur true
check "mount+net+pid namespaces (unprivileged via userns)" unshare -Urmnpf --mount-proc true
check "overlayfs available" bash -c 'grep -qw overlay /proc/filesystems || { [ $(id -u) = 0 ] && modprobe overlay; }'
check "python3 with pytest" python3 -m pytest --version
check "iproute2, procps, util-linux" bash -c 'command -v ip ps nsenter unshare setpriv >/dev/null'
for lib in libmount.so.1 libnl-3.so.200 libsystemd.so.0 libjson-c.so.5 libxml2.so.2; do
    check "shared library $lib" bash -c "/sbin/ldconfig -p | grep -q '$lib '"
done
check "scratch dir \$NSRUN_SCRATCH writable" bash -c 'f="$NSRUN_SCRATCH/probe" && echo x > "$f" && rm "$f"'
check "/src shared from the host" test -d "${NSRUN_SRC:-/src}/tests/vm"

NSRUN=${NSRUN:-/src/build/nsrun}
if [ -e "$NSRUN" ]; then
    check "$NSRUN --version" "$NSRUN" --version
    check "$NSRUN: all shared libraries found" bash -c "! ldd '$NSRUN' | grep 'not found'"
else
    echo "skip $NSRUN absent (build nsrun on the host first); not checked"
fi
exit $fail
