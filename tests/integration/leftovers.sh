# shellcheck shell=bash
# What an nsrun run may leave behind, found precisely: the processes, cgroups and run directory of one nsrun
# invocation, not whatever else this machine runs at the time (other test runs, other users). Sourced by
# test-faults.sh, test-escape.sh, test-bad-input.sh, test-cgroup.sh and test-xdist.sh after tests/lib.sh.
#
# Each invocation gets a marker in its environment (nsrun passes the environment into every sandbox, so every
# process of the run carries it) and writes its own pid to a file before exec'ing nsrun, which names its
# cgroups "nsrun-<pid>-<starttime>" and its run directory ".nsrun/runs/<pid>-<starttime>".

# marked PIDFILE MARK CMD...: runs CMD (nsrun and its arguments) as the test user with NSRUN_TEST_MARK=MARK,
# its pid written to PIDFILE first.
marked() {
        local pidfile=$1 mark=$2
        shift 2
        rm -f "$pidfile"
        as_test_user env NSRUN_TEST_MARK="$mark" sh -c 'echo $$ > "$0" && exec "$@"' "$pidfile" "$@"
}

# marked_pids MARK: the pids of every process whose environment holds NSRUN_TEST_MARK=MARK.
marked_pids() {
        grep -lzx "NSRUN_TEST_MARK=$1" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | grep -vx "$$"
        return 0
}

# no_marked_pids MARK: true when no such process is left. Waits up to 10 s: the kernel tears a PID namespace
# down asynchronously after its init died.
no_marked_pids() {
        local _
        for _ in $(seq 100); do
                [ -z "$(marked_pids "$1")" ] && return 0
                sleep 0.1
        done
        return 1
}

# cgroups_of PID: the cgroups nsrun with this pid made, in any hierarchy, that still exist.
cgroups_of() {
        [ -n "$1" ] || return 0
        find /sys/fs/cgroup -maxdepth 9 -type d \( -name "nsrun-$1-*" -o -name "nsrun-$1-*.scope" \) 2>/dev/null
}

# runs_left PROJECT: the run directories in PROJECT/.nsrun/runs.
runs_left() {
        ls -A "$1/.nsrun/runs" 2>/dev/null
}

mount_count() {
        wc -l < /proc/self/mountinfo
}

# leftovers_of PIDFILE MARK PROJECT MOUNTS_BEFORE: one line per kind of thing left behind, nothing if clean.
leftovers_of() {
        local pid pids cgs runs mounts
        pid=$(cat "$1" 2>/dev/null)
        no_marked_pids "$2" || pids=$(marked_pids "$2" | tr '\n' ' ')
        cgs=$(cgroups_of "$pid" | tr '\n' ' ')
        runs=$(runs_left "$3" | tr '\n' ' ')
        mounts=$(mount_count)
        [ -n "${pids:-}" ] && echo "processes: $pids"
        [ -n "$cgs" ] && echo "cgroups: $cgs"
        [ -n "$runs" ] && echo "run directories in $3/.nsrun/runs: $runs"
        [ "$mounts" != "$4" ] && echo "mounts: $4 before, $mounts now"
        return 0
}

# dead_cgroups: how many cgroups of nsrun runs whose nsrun is gone there are, in any hierarchy (other runs on the
# machine may be alive and well).
dead_cgroups() {
        find /sys/fs/cgroup -maxdepth 7 -type d -name 'nsrun-[0-9]*' 2>/dev/null |
                sed -E 's|.*/nsrun-([0-9]+)-[0-9]+(\.scope)?$|\1|' | while read -r pid; do
                        [ -d "/proc/$pid" ] || echo "$pid"
                done | wc -l
}
