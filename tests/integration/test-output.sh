#!/bin/bash
# What a user reads of a run, as root and as an unprivileged user, with standard output captured to a file as
# CI captures it: SLOW lines for long jobs, jobs killed by Ctrl-C reported as interrupted, the wording of
# counts, colours, and GitHub Actions' and GitLab's log formats.
. "$(dirname "$0")/../lib.sh"

setup_scratch
require_sandbox
P=$(make_project)
cd "$P" || exit 1

# run_nsrun ARGS...: nsrun as the test user, stdout and stderr to files (no terminal); sets rc, out, err.
run_nsrun() {
        as_test_user "$NSRUN_BIN" "$@" > "$SCRATCH/out" 2> "$SCRATCH/err"
        rc=$?
        out=$(cat "$SCRATCH/out")
        err=$(cat "$SCRATCH/err")
}

# --- SLOW lines: a CI log never looks hung ---
run_nsrun --slow-timeout 1s -- sh -c 'sleep {}' ::: 3.5 0.1
is "a run with a 3.5 s job passes" "$rc" 0
is "a job running past --slow-timeout 1s gets a SLOW line each second, in the captured stdout" \
        "$(grep '^SLOW' "$SCRATCH/out")" "$(printf '%s\n' 'SLOW [>1s] 3.5' 'SLOW [>2s] 3.5' 'SLOW [>3s] 3.5')"
like "... before its own line ends it" "$(grep -n . "$SCRATCH/out" | grep -E 'SLOW \[>3s\]|PASS 3.5' | cut -d: -f1 | tr '\n' ' ')" '^[0-9]+ [0-9]+ $'
check "... and the short job gets none" sh -c "! grep -q 'SLOW.* 0.1\$' '$SCRATCH/out'"
run_nsrun -- sh -c 'sleep {}' ::: 1.5
is "by default (60s) a 1.5 s job gets no SLOW line" "$(grep -c '^SLOW' "$SCRATCH/out")" 0
run_nsrun --slow-timeout off -- sh -c 'sleep {}' ::: 1.5
is "--slow-timeout off: none" "$(grep -c '^SLOW' "$SCRATCH/out")" 0
run_nsrun --slow-timeout 0.5s -- true
is "--slow-timeout below 1s is refused with exit status 2" "$rc" 2
like "... naming the option and the fix" "$err" "--slow-timeout 0.5s: .*at least 1s"

done_testing
