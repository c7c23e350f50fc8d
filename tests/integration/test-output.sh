#!/bin/bash
# What a user reads of a run, as root and as an unprivileged user, with standard output captured to a file as
# CI captures it: SLOW lines for long jobs, jobs killed by Ctrl-C reported as interrupted, the wording of
# counts, colours, and GitHub Actions' and GitLab's log formats.
. "$(dirname "$0")/../lib.sh"

setup_scratch
require_sandbox
install -m 644 "$(dirname "$0")/status-pty.py" "$SCRATCH/status-pty.py"
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

# --- colours: --color > NO_COLOR > FORCE_COLOR, CLICOLOR_FORCE > a terminal ---
# colored ENV... -- ARGS...: "yes" if the FAIL word on stdout (a file) is coloured
colored() {
        local envs=()
        while [ "$1" != -- ]; do envs+=("$1"); shift; done
        shift
        as_test_user env -u NO_COLOR -u FORCE_COLOR -u CLICOLOR_FORCE "${envs[@]}" "$NSRUN_BIN" "$@" -- false \
                > "$SCRATCH/out" 2> /dev/null
        if grep -q $'\e\\[31mFAIL\e\\[0m' "$SCRATCH/out"; then echo yes; else echo no; fi
}
is "stdout is a file: no colour" "$(colored --)" no
is "FORCE_COLOR=1: colour" "$(colored FORCE_COLOR=1 --)" yes
is "CLICOLOR_FORCE=1: colour" "$(colored CLICOLOR_FORCE=1 --)" yes
is "FORCE_COLOR=0: none" "$(colored FORCE_COLOR=0 --)" no
is "NO_COLOR=1 beats FORCE_COLOR=1" "$(colored NO_COLOR=1 FORCE_COLOR=1 --)" no
is "--color always beats NO_COLOR=1" "$(colored NO_COLOR=1 -- --color always)" yes
is "--color never beats FORCE_COLOR=1" "$(colored FORCE_COLOR=1 -- --color never)" no
run_nsrun --color sometimes -- true
is "--color sometimes: exit status 2, naming the values" "$rc $(printf '%s' "$err" | grep -c "use 'auto', 'always' or 'never'")" "2 1"

# --- GitHub Actions: an ::error annotation, the output in a ::group:: whose commands are stopped ---
as_test_user env GITHUB_ACTIONS=true "$NSRUN_BIN" -- sh -c 'echo "::warning::from the job"; echo "50% done"; exit 3' \
        ::: 'x:y,z' > "$SCRATCH/out" 2> /dev/null
sed -n '/^::error/,/^::endgroup::$/p' "$SCRATCH/out" > "$SCRATCH/gh"
token=$(sed -n 's/^::stop-commands::\(.*\)$/\1/p' "$SCRATCH/gh")
is "GITHUB_ACTIONS=true: the failed job as the documented workflow commands, its properties escaped" \
        "$(cat "$SCRATCH/gh")" "$(printf '%s\n' '::error title=x%3Ay%2Cz::failed: x:y,z: exit status 3' '::group::x:y,z' \
                "::stop-commands::$token" '==== FAIL x:y,z: exit status 3 ====' '::warning::from the job' '50% done' \
                "::$token::" '::endgroup::')"
like "... the stop-commands token is not guessable (16 hex digits)" "$token" '^nsrun-[0-9a-f]{16}$'
as_test_user env GITHUB_ACTIONS=true "$NSRUN_BIN" -- true > "$SCRATCH/out" 2> /dev/null
check "... a passing run prints no workflow command" sh -c "! grep -q '^::' '$SCRATCH/out'"

# --- GitLab: the failed job's output in a collapsed section ---
as_test_user env GITLAB_CI=true "$NSRUN_BIN" -- sh -c 'echo inside-{}; exit 1' ::: a > "$SCRATCH/out" 2> /dev/null
/usr/bin/python3 - "$SCRATCH/out" > "$SCRATCH/gl" <<'PY'
import re, sys
t = open(sys.argv[1], encoding="utf-8", newline="").read()
m = re.search(r"\x1b\[0Ksection_start:(\d+):(nsrun_job_0)\[collapsed=true\]\r\x1b\[0K(==== FAIL a: exit status 1 ====\n"
              r"inside-a\n)\x1b\[0Ksection_end:(\d+):(nsrun_job_0)\r\x1b\[0K\n", t)
print("ok" if m and int(m.group(4)) >= int(m.group(1)) > 1600000000 else "no match in %r" % t)
PY
is "GITLAB_CI=true: section_start:TIMESTAMP:NAME[collapsed=true], the output, section_end, as GitLab documents" \
        "$(cat "$SCRATCH/gl")" ok

# --- .nsrun/ at the project's root, wherever in it nsrun starts ---
G=$(make_project gitproj)
as_test_user mkdir -p "$G/.git" "$G/tests/sub"
(cd "$G" && as_test_user "$NSRUN_BIN" -- sh -c 'exit {}' ::: 1 > /dev/null 2>&1)
out=$(cd "$G/tests/sub" && as_test_user "$NSRUN_BIN" --dry-run -- sh -c 'exit {}' ::: 1 2>&1)
like "a run from tests/sub/ of a git project reads the history of a run from its top" "$out" '1 .*failed last time'
check "... and made no second .nsrun/ there" test ! -e "$G/tests/sub/.nsrun" -a ! -e "$G/tests/.nsrun"
(cd "$G/tests" && as_test_user "$NSRUN_BIN" --root-dir "$G/tests" -- true > /dev/null 2>&1)
check "--root-dir DIR: .nsrun/ in DIR" test -e "$G/tests/.nsrun/history.json"
Y=$(make_project pyproj)
as_test_user mkdir -p "$Y/.git" "$Y/app/tests"
as_test_user sh -c "printf '[pytest]\n' > '$Y/app/pytest.ini' && printf 'def test_a():\n    pass\n' > '$Y/app/tests/test_a.py'"
out=$(cd "$Y/app/tests" && as_test_user "$NSRUN_BIN" -- pytest -q 2>&1)
like "a pytest run from app/tests/ passes" "$out" 'nsrun: 1 job: 1 passed'
check "... its .nsrun/ is at pytest's rootdir (app/, where pytest.ini is), not in tests/ nor the git top" \
        test -e "$Y/app/.nsrun/history.json" -a ! -e "$Y/app/tests/.nsrun" -a ! -e "$Y/.nsrun"

# --- on a terminal: the status line names the running jobs, with elapsed time and ETA, within the width ---
# status_pty COLS NEWCOLS ARGS...: nsrun ARGS with stderr on a pseudo-terminal COLS wide, resized to NEWCOLS
# (SIGWINCH) while a job runs; the lines drawn, as status-pty.py prints them, in $SCRATCH/pty.json
status_pty() {
        local cols=$1 newcols=$2
        shift 2
        as_test_user /usr/bin/python3 "$SCRATCH/status-pty.py" "$cols" "$newcols" "$SCRATCH/pty-out" -- \
                "$NSRUN_BIN" "$@" > "$SCRATCH/pty.json"
}
# pty_lines WHICH EXPR: Python over the lines drawn before or after the resize (l: the line, c: its columns)
pty_lines() {
        /usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[3], {"v": [(l, c) for l, c in d[sys.argv[2]] if l.startswith("[")]}))' "$SCRATCH/pty.json" "$1" "$2"
}
# wide (CJK) and long names: a cut that counted bytes or characters instead of columns would be seen
names=(長い名前のジョブその一番目です second-job-with-a-rather-long-name third)
status_pty 100 40 -j 2 -- sh -c 'sleep 2.5; : {}' ::: "${names[@]}"
is "on a terminal (100 columns) the status line names a running job" \
        "$(pty_lines before 'any("running: " in l and ("長い名前" in l or "second-job" in l) for l, c in v)')" True
is "... and shows the elapsed time and, on a first run, 'ETA ?'" "$(pty_lines before 'any(" ETA ?" in l for l, c in v)')" True
is "... never wider than the terminal, counted in display columns" "$(pty_lines before 'max(c for l, c in v) <= 100')" True
is "resized to 40 columns (SIGWINCH): every line since is cut to the new width" \
        "$(pty_lines after 'max(c for l, c in v) <= 40 and len(v) > 0')" True
is "... and still names a running job, cut to fit, filling the width" \
        "$(pty_lines after 'any("running: " in l and c >= 37 for l, c in v)')" True
is "the status line never reaches standard output (a file here): only the jobs' lines do" \
        "$(grep -c 'running:' "$SCRATCH/pty-out")" 0
status_pty 100 100 -j 2 -- sh -c 'sleep 2.5; : {}' ::: "${names[@]}"
like "a second run shows an ETA from the history's times" "$(pty_lines before '[l for l, c in v]')" 'ETA [0-9]+s'

# a pytest job forked from a prepared interpreter writes its progress where that interpreter's sandbox has its
# attempt directory until it ends: the status line counts its tests as they end all the same
printf 'import time, pytest\n\n@pytest.mark.parametrize("i", range(6))\ndef test_slow(i):\n    time.sleep(0.4)\n' |
        as_test_user tee "$P/test_counted.py" > /dev/null
status_pty 100 100 -j 1 --fork on -- pytest -q -p no:cacheprovider test_counted.py
is "a forked pytest job's tests are counted on the status line as they end, not only when it ends" \
        "$(/usr/bin/python3 -c 'import json, re, sys
d = json.load(open(sys.argv[1]))
print(sorted({m.group(1) for l, c in d["before"] + d["after"] for m in [re.search(r"tests ([1-5])/6 ", l)] if m}))' "$SCRATCH/pty.json")" \
        "['1', '2', '3', '4', '5']"
as_test_user rm -f "$P/test_counted.py"

# --- --success-output: a passing job's output too ---
run_nsrun --success-output -- sh -c 'echo said-{}' ::: passing
is "--success-output prints a passing job's output after its line" "$(grep -A1 'PASS passing' "$SCRATCH/out" | tail -n 1)" \
        said-passing
run_nsrun -- sh -c 'echo said-{}' ::: passing
check "... and without it, a passing job's output is not shown" sh -c "! grep -q said-passing '$SCRATCH/out'"

# --- --no-capture: a job's output as it runs ---
rm -f "$O/release"
as_test_user "$NSRUN_BIN" --no-capture --rw "$O" -- \
        sh -c 'echo streamed-{}; i=0; while [ ! -e "$0/release" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done' \
        "$O" ::: a > "$SCRATCH/out" 2> "$SCRATCH/err" &
nc_pid=$!
streamed=no
for _ in $(seq 600); do grep -q streamed-a "$SCRATCH/out" && streamed=yes && break; sleep 0.1; done
if kill -0 "$nc_pid" 2>/dev/null; then running=yes; else running=no; fi
as_test_user touch "$O/release"
wait "$nc_pid"
is "--no-capture: a job's line reaches the output while the job still runs" "$streamed $running" "yes yes"
like "... the run then passes as usual" "$(cat "$SCRATCH/out")" 'nsrun: 1 job: 1 passed'
run_nsrun --no-capture -j 4 --dry-run -- echo {} ::: a b
like "--no-capture implies -j 1: one job's output at a time" "$out" 'workers: +1 '

# --- start-up shares after a retry: each job's start-up is its last attempt's time less its tests' ---
as_test_user sh -c "printf '%s\n' 'import os, time' 'def test_flaky():' '    time.sleep(1)' \
        '    if not os.path.exists(\"$O/seen\"):' '        open(\"$O/seen\", \"w\").close()' '        assert False' \
        > '$P/test_flaky.py' && printf '%s\n' 'import time' 'def test_ok():' '    time.sleep(1)' > '$P/test_ok.py'"
rm -f "$O/seen"
run_nsrun --retries 1 --rw "$O" --json "$P/retry.json" -- pytest -q test_flaky.py test_ok.py
like "a test that fails once, then passes on its retry: the job is flaky" "$out" 'nsrun: 2 jobs: 1 passed, 1 flaky'
is "--json's start-up is the jobs' wall time less their tests' (the retried job's last attempt), a share below 1" \
        "$(json "$P/retry.json" 'all(j["file_seconds"][j["name"]] >= 1 for j in d["jobs"]) and abs(d["startup"]["pytest_startup_s"] - sum(j["wall_s"] - sum(j["file_seconds"].values()) for j in d["jobs"])) < 1e-3 and d["startup"]["share"] < 1')" True
like "... and the summary's start-up share is not 100%" "$out" 'start-up: [0-9]{1,2}% of the jobs'"'"' time'

done_testing
