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

# --- Ctrl-C: the jobs nsrun kills are interrupted, not failed ---
O=$SCRATCH/shared
as_test_user mkdir -p "$O"
# interrupt SIGNAL: a run of a quick job and a long one, stopped by SIGNAL once the long one runs
interrupt() {
        local pid
        rm -f "$O/slow"
        as_test_user "$NSRUN_BIN" --rw "$O" --json "$P/int.json" --junit "$P/int.xml" \
                -- sh -c 'test {} = fast && exit 0; touch "$0/{}"; sleep 60' "$O" ::: fast slow \
                > "$SCRATCH/out" 2> "$SCRATCH/err" &
        wait_for test -e "$O/slow"
        pid=$(pgrep -o -f "^$NSRUN_BIN --rw $O --json")
        kill -"$1" "$pid"
        wait $!
        rc=$?
        out=$(cat "$SCRATCH/out")
}
interrupt INT
is "Ctrl-C (SIGINT) while a job runs: exit status 130" "$rc" 130
like "the killed job's line says INTERRUPTED, by SIGINT" "$out" "INTERRUPTED slow: interrupted by SIGINT"
like "the summary counts it as interrupted" "$out" "nsrun: 2 jobs: 1 passed, 1 interrupted; "
check "nothing is called failed" sh -c "! grep -Eiq 'fail' '$SCRATCH/out'"
is "--json: its status is \"interrupted\"" "$(json "$P/int.json" '[j["status"] for j in d["jobs"] if j["name"] == "slow"][0]')" interrupted
is "--junit: a skipped testcase saying why, no failure or error" \
        "$(/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
print(r.get("failures"), [(c.get("name"), s.get("message")) for c in r.iter("testcase") for s in c.iter("skipped")])' "$P/int.xml")" \
        "0 [('slow', 'interrupted by SIGINT')]"
run_nsrun --dry-run -- sh -c 'test {} = fast && exit 0; touch "$0/{}"; sleep 60' "$O" ::: fast slow
check "the history does not remember it as failed" sh -c "! grep -q 'slow.*failed last time' '$SCRATCH/out'"
interrupt TERM
is "SIGTERM: exit status 143" "$rc" 143
like "... the job interrupted by SIGTERM" "$out" "INTERRUPTED slow: interrupted by SIGTERM"

# --- wording: singular counts, no zero counts, no made-up peaks ---
run_nsrun -- true
is "one job on one worker: '1 job', '1 passed', '1 worker'" "$(tail -n 1 "$SCRATCH/out" | sed 's/, [0-9.]*m\?s$//')" \
        "nsrun: 1 job: 1 passed; 1 worker"
run_nsrun -j 2 -- sh -c 'exit {}' ::: 0 1 0
like "the summary leaves out zero counts" "$(tail -n 1 "$SCRATCH/out")" '^nsrun: 3 jobs: 2 passed, 1 failed; 2 workers, '
check "... no '0 something' anywhere in it" sh -c "! tail -n 1 '$SCRATCH/out' | grep -Eq '[^0-9.]0 [a-z]'"
budget=$(as_test_user "$NSRUN_BIN" --dry-run --json - -- true 2>/dev/null |
         /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["mem_budget_bytes"], int(d["cpu_budget"]))')
if [ "${budget#* }" -ge 2 ]; then
        run_nsrun --dry-run --mem-per-worker "$(( ${budget% *} * 6 / 10 / 1048576 ))M" -- echo {} ::: a b c
        like "a slot that fits once in memory: '1 worker, not N: ... each fits once'" "$err" \
                'nsrun: 1 worker, not [0-9]+: .* each fits once in the'
else
        ok "# SKIP one CPU here: memory is not the bound"
fi
# a peak is shown only where memory was measured: never '0 B'
run_nsrun --mem-cap off --json "$P/off.json" -- sh -c 'echo {}' ::: a b
check "--mem-cap off: no job line says 'peak 0 B'" sh -c "! grep -q '0 B' '$SCRATCH/out'"
if [ ${#RUN_AS[@]} -gt 0 ]; then
        # rootless without a delegated cgroup, nothing accounts a job's memory
        NSRUN_TEST_NO_DELEGATION=1 run_nsrun --mem-cap off --json "$P/off.json" -- sh -c 'echo {}' ::: a b
        is "rootless, undelegated, --mem-cap off: each line says 'peak n/a'" "$(grep -c 'peak n/a)' "$SCRATCH/out")" 2
        is "... --json peak_mem_bytes is null, not 0" "$(json "$P/off.json" '[j["peak_mem_bytes"] for j in d["jobs"]]')" \
                "[None, None]"
        check "... and no 'most memory' line of zeros" sh -c "! grep -q '^most memory' '$SCRATCH/out'"
fi

done_testing
