#!/bin/bash
# A machine that refuses user namespaces gets one clear message naming the knob and the fix, a distinct exit
# status (123), and the command never runs unisolated. The refusal is made real, without touching the host's
# settings: inside a user namespace of the test's own, user.max_user_namespaces is set to 0.
. "$(dirname "$0")/../lib.sh"

setup_scratch
require_sandbox
P=$(make_project)
cd "$P" || exit 1
marker=$SCRATCH/ran-unisolated

# refused_run UID: runs 'nsrun exec' as UID inside a user namespace (uids 0-65535 mapped one to one) whose
# user.max_user_namespaces is 0; root maps the range from outside (no newuidmap needed).
refused_run() {
        local uid=$1 pid
        # unshare execs the shell before the map exists, so the shell has no capabilities; as uid 0, once
        # mapped, its next execve() gets them.
        unshare --user sh -c "
                while ! grep -q 65536 /proc/self/uid_map; do sleep 0.01; done
                exec sh -c 'echo 0 > /proc/sys/user/max_user_namespaces || exit 99
                        exec setpriv --reuid=$uid --regid=$uid --clear-groups $NSRUN_BIN exec -- touch $marker'" &
        pid=$!
        # the map may be written only once unshare() has made the new namespace
        wait_for sh -c "test \"\$(readlink /proc/$pid/ns/user)\" != \"\$(readlink /proc/self/ns/user)\""
        echo '0 0 65536' > /proc/$pid/uid_map && echo '0 0 65536' > /proc/$pid/gid_map
        wait $pid
}

if [ "${NSRUN_TEST_AS:-}" = user ] && [ "$(id -u)" = 0 ]; then
        # The unprivileged path: nsrun as a plain uid must create a user namespace itself, and may not.
        uid=$(id -u "$TEST_USER")
        out=$(refused_run "$uid" 2>&1); rc=$?
else
        # The privileged path: nsrun holds CAP_SYS_ADMIN (here, in a namespace it owns) and still needs a user
        # namespace for the command.
        out=$(as_test_user unshare --user --map-root-user sh -c "
                echo 0 > /proc/sys/user/max_user_namespaces && exec $NSRUN_BIN exec -- touch $marker" 2>&1); rc=$?
fi
is "a refused user namespace gives exit status 123" "$rc" 123
is "... and one line of message" "$(printf '%s\n' "$out" | wc -l)" 1
like "... naming what was refused and the fix" "$out" \
        "^nsrun: cannot create a sandbox: user namespaces are disabled on this machine \(user.max_user_namespaces = 0\); enable them with 'sysctl -w user.max_user_namespaces=15000'$"
check "... and the command did not run" test ! -e "$marker"

done_testing
