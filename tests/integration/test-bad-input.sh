#!/bin/bash
# Bad input gets a clear error: each malformed invocation of 'nsrun' and 'nsrun exec' below exits with the
# documented status (2 for the runner's usage errors, 125 for exec's; 126/127 for an exec'd command that is not
# executable / not found), prints exactly one line on stderr that starts with "nsrun: " and names the problem
# (the option or value, and the fix), does not crash, and leaves nothing behind: no process, mount, cgroup,
# run directory under the project's .nsrun/runs, or nsrun file in /tmp. Run as root and as an unprivileged user.
#
# A row that fails here is a bug in nsrun, not in this table: the table says what a user should get.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/leftovers.sh"

setup_scratch
require_sandbox
P=$(make_project)
as_test_user sh -c "cd '$P' && echo file > not-a-dir && printf 'echo hi\n' > notexec.sh && chmod 644 notexec.sh &&
                    : > empty-jobs && mkdir -p jobs-dir && echo 'true' > jobs.txt && mkdir -p tests &&
                    printf 'def test_ok():\n    pass\n' > tests/test_ok.py"
cd "$P" || exit 1
mounts0=$(mount_count)
tmp_nsrun() { ls -A /tmp | grep '^nsrun' | grep -v '^nsrun-test\.' | sort; }
tmp0=$(tmp_nsrun)
digest0=$(tree_digest "$P")
n=0

# run_case MARK ARGS...: runs nsrun ARGS as the test user; sets rc, err (stderr) and out (stdout).
run_case() {
        local mark=$1
        shift
        marked "$SCRATCH/pid" "$mark" "$NSRUN_BIN" "$@" > "$SCRATCH/out" 2> "$SCRATCH/err"
        rc=$?
        err=$(cat "$SCRATCH/err")
        out=$(cat "$SCRATCH/out")
}

# problems_common MARK WANT_RC: what every case checks besides its message: no crash, nothing left behind.
problems_common() {
        local mark=$1 want=$2 left new_tmp
        if [ "$rc" -ge 128 ] && [ "$want" -lt 128 ]; then
                echo "killed by signal $((rc - 128)) (a crash)"
        fi
        if printf '%s\n' "$err" | grep -Eq 'Segmentation|Aborted|core dumped|AddressSanitizer|LeakSanitizer|runtime error'; then
                echo "a crash or sanitizer report on stderr"
        fi
        left=$(leftovers_of "$SCRATCH/pid" "$mark" "$P" "$mounts0")
        [ -n "$left" ] && echo "left behind: $left"
        new_tmp=$(comm -13 <(printf '%s\n' "$tmp0") <(tmp_nsrun) | tr '\n' ' ')
        [ -n "${new_tmp// /}" ] && echo "new in /tmp: $new_tmp"
        return 0
}

# bad WANT_RC REGEX ARGS...: one malformed invocation and what it must give.
bad() {
        local want=$1 re=$2 mark problems lines
        shift 2
        n=$((n + 1))
        mark=bad-input-$$-$n
        run_case "$mark" "$@"
        lines=$(printf '%s' "$err" | grep -c '')
        problems=$(
                [ "$rc" = "$want" ] || echo "exit status $rc, want $want"
                [ "$lines" = 1 ] || echo "stderr has $lines lines, want exactly 1"
                [[ $err == "nsrun: "* ]] || echo "stderr does not start with 'nsrun: '"
                printf '%s\n' "$err" | grep -Eq -- "$re" || echo "stderr does not match /$re/"
                problems_common "$mark" "$want"
        )
        report "nsrun $* -> $want, one line naming it" "$problems"
        rm -rf "$P/.nsrun/runs"/* 2>/dev/null
}

report() {
        if [ -z "$2" ]; then
                ok "$1"
        else
                not_ok "$1"
                { printf '%s\n' "$2"; printf 'stderr: %s\n' "$err"; } | diag
        fi
}

# --- the runner: usage errors are exit status 2 ---
bad 2 "^nsrun: --mem-per-worker 2X: .*such as 512M or 2G" --mem-per-worker 2X -- true
bad 2 "^nsrun: --mem-per-worker 0: .*such as 512M or 2G" --mem-per-worker 0 -- true
bad 2 "^nsrun: --mem-per-worker -1G: .*such as 512M or 2G" --mem-per-worker -1G -- true
bad 2 "^nsrun: --mem-per-worker .*available to tests here.*use at most [0-9]+G" --mem-per-worker 99999T -- true
bad 2 "^nsrun: --mem-per-worker 99999999T: too large" --mem-per-worker 99999999T -- true
bad 2 "^nsrun: --mem-per-worker 1.5: " --mem-per-worker 1.5 -- true
bad 2 "^nsrun: -j 0: give a whole number from 1 to" -j 0 -- true
bad 2 "^nsrun: -j abc: give a whole number" -j abc -- true
bad 2 "^nsrun: option '-j' needs a value" -j -- true
bad 2 "^nsrun: --timeout 0: give a duration such as 30s" --timeout 0 -- true
bad 2 "^nsrun: --timeout 5x: give a duration" --timeout 5x -- true
bad 2 "^nsrun: --timeout -5s: give a duration" --timeout -5s -- true
bad 2 "^nsrun: --timeout 1h30: give a duration" --timeout 1h30 -- true
bad 2 "^nsrun: no command given; write: nsrun \[OPTIONS\] -- COMMAND"
bad 2 "^nsrun: unexpected argument 'true'; put the command after '--'" true
bad 2 "^nsrun: no command after '--'" --
bad 2 "^nsrun: no command given.*--jobs-file" -j 2
bad 2 "^nsrun: --root-dir $P/not-a-dir: not a directory" --root-dir "$P/not-a-dir" -- true
bad 2 "^nsrun: --root-dir /nonexistent-nsrun: No such file or directory" --root-dir /nonexistent-nsrun -- true
bad 2 "^nsrun: --mem-cap off and --mem-per-worker exclude each other" --mem-cap off --mem-per-worker 1G -- true
bad 2 "^nsrun: --mem-cap off and --mem-per-worker exclude each other" --mem-cap off --mem-per-worker auto -- true
bad 2 "^nsrun: --mem-cap on: the only value is 'off'" --mem-cap on -- true
bad 2 "^nsrun: --jobs-file and a command after '--' exclude each other" --jobs-file jobs.txt -- true
bad 2 "^nsrun: unknown option '--bogus'; see 'nsrun --help'" --bogus -- true
bad 2 "^nsrun: unknown option '-y'" -y -- true
bad 2 "^nsrun: unknown option '-x?y'" -xy -- true
bad 2 "^nsrun: unknown option '-y'" -yx -- true
bad 2 "^nsrun: --net bogus: unknown mode; use 'loopback' or 'host'" --net bogus -- true
bad 2 "^nsrun: --dist bogus: use 'loadfile' or 'test'" --dist bogus -- true
bad 2 "^nsrun: --mem-reserve 95%: give a percentage from 0% to 90%" --mem-reserve 95% -- true
bad 2 "^nsrun: --mem-reserve abc: " --mem-reserve abc -- true
bad 2 "^nsrun: --retries -1: give a whole number from 0 to" --retries -1 -- true
bad 2 "^nsrun: --repeat 0: give a whole number from 1 to" --repeat 0 -- true
bad 2 "^nsrun: --pids-max 2: give a whole number from 8 to" --pids-max 2 -- true
bad 2 "^nsrun: --jobs-file /nonexistent-nsrun: No such file or directory" --jobs-file /nonexistent-nsrun
bad 2 "^nsrun: --jobs-file jobs-dir: (Is a directory|.*directory)" --jobs-file jobs-dir
bad 2 "^nsrun: --jobs-file empty-jobs: no commands in it" --jobs-file empty-jobs
bad 2 "^nsrun: ':::' needs at least one argument after it" -- echo :::
bad 2 "^nsrun: --rw relative: give an absolute path" --rw relative -- true
# a pytest path no job can see: the project is under /tmp (the scratch directory), its parent is not in any
# sandbox (it was "pytest collected no tests", exit 2 with nothing to say why); a value of an option is not one
bad 2 "^nsrun: pytest's argument \.\.: outside the project \($P\), under /tmp, which every job has fresh and empty but for the project: run nsrun from $SCRATCH, or give --root-dir $SCRATCH$" \
        -- /usr/bin/python3 -m pytest -q ..
printf 'def test_x():\n    pass\n' > "$SCRATCH/x.py"
bad 2 "^nsrun: pytest's argument $SCRATCH/x\.py::test_x: outside the project" -- /usr/bin/python3 -m pytest "$SCRATCH/x.py::test_x"
# --keep-writes is nsrun exec's: a run of jobs refuses it rather than keep nothing (it was taken and ignored)
bad 2 "^nsrun: --keep-writes /var/tmp/kept-nsrun: not with a run of jobs: every job has writes of its own; keep one command's with 'nsrun exec --keep-writes'" \
        --keep-writes /var/tmp/kept-nsrun -- true
check "... nothing made" test ! -e /var/tmp/kept-nsrun
# a report that cannot be written is named with its reason (the jobs have run by then: exit status 2)
bad 2 "^nsrun: --junit /nonexistent-nsrun/r.xml: .*No such file or directory" --junit /nonexistent-nsrun/r.xml -- true
# --cpus-per-job: a whole number of CPUs, at least 1 and at most the CPU budget (named with where it comes from)
bad 2 "^nsrun: --cpus-per-job 0: give a whole number from 1 to" --cpus-per-job 0 -- true
bad 2 "^nsrun: --cpus-per-job two: give a whole number from 1 to" --cpus-per-job two -- true
bad 2 "^nsrun: --cpus-per-job 1.5: give a whole number from 1 to" --cpus-per-job 1.5 -- true
bad 2 "^nsrun: --cpus-per-job 4096: more than the [0-9]+ CPUs? tests may use here \(.+\); give at most [0-9]+$" \
        --cpus-per-job 4096 -- true

# the runner and nsrun xdist share one parser of the sizing options: the same bad value, the same message (a
# --mem-per-worker under 1M, which the runner took down to 4K, is too small for both)
for args in "--mem-per-worker 512K" "--mem-per-worker 2X" "--mem-per-worker 99999999T" "--pids-max 2" "-j 0" \
            "--mem-reserve 95%" "--mem-cap on"; do
        # shellcheck disable=SC2086 # the option and its value, two words
        bad 2 "^nsrun: $args: " $args -- true
        runner_err=$err
        # shellcheck disable=SC2086
        bad 2 "^nsrun: $args: " xdist $args -- pytest
        is "nsrun $args and nsrun xdist $args: the same message" "$err" "$runner_err"
done
bad 2 "^nsrun: --mem-per-worker 512K: too small; give at least 1M" --mem-per-worker 512K -- true
bad 2 "^nsrun: --mem-per-worker auto: not with nsrun xdist.*give a SIZE" xdist --mem-per-worker auto -- pytest
bad 2 "^nsrun: xdist: --mem-cap off and --mem-per-worker exclude each other" xdist --mem-cap off --mem-per-worker 1G -- pytest

# --- nsrun exec: usage errors are exit status 125 ---
bad 125 "^nsrun: --mem 2X: .*such as 512M" exec --mem 2X -- true
bad 125 "^nsrun: --mem 0: " exec --mem 0 -- true
bad 125 "^nsrun: --mem -1G: " exec --mem -1G -- true
bad 125 "^nsrun: --mem 512K: .*at least 1M" exec --mem 512K -- true
bad 125 "^nsrun: --mem (99999T|97.7 PiB): " exec --mem 99999T -- true
bad 125 "^nsrun: exec: missing '--' before the command" exec
bad 125 "^nsrun: exec: missing '--' before the command" exec true
bad 125 "^nsrun: exec: no command after '--'" exec --
bad 125 "^nsrun: --root-dir $P/not-a-dir: not a directory" exec --root-dir "$P/not-a-dir" -- true
bad 125 "^nsrun: --root-dir /: overlaying the whole filesystem is not supported" exec --root-dir / -- true
bad 125 "^nsrun: exec: --mem and --mem-cap off exclude each other" exec --mem-cap off --mem 1G -- true
bad 125 "^nsrun: exec: unknown option '--bogus'; see 'nsrun exec --help'" exec --bogus -- true
bad 125 "^nsrun: exec: unknown option '-q'" exec -qh -- true
bad 125 "^nsrun: exec: option '--net' needs a value" exec --net -- true
bad 125 "^nsrun: --net bogus: unknown mode" exec --net bogus -- true
bad 125 "^nsrun: --pids-max 2: give a whole number from 8 to" exec --pids-max 2 -- true
bad 125 "^nsrun: --rw /nonexistent-nsrun: No such file or directory" exec --rw /nonexistent-nsrun -- true
bad 125 "^nsrun: --tmpfs /: not on '/' itself" exec --tmpfs / -- true
bad 125 "^nsrun: --keep-writes /nonexistent-nsrun/kw: No such file or directory" exec --keep-writes /nonexistent-nsrun/kw -- true
bad 125 "^nsrun: --keep-writes $P/kept: must be outside the overlaid project" exec --keep-writes "$P/kept" -- true
# the command itself: 127 not found, 126 not executable, each with one line naming it
bad 127 "^nsrun: no-such-command-xyz: command not found" exec -- no-such-command-xyz
bad 126 "^nsrun: ./notexec.sh: cannot execute: Permission denied" exec -- ./notexec.sh

# --- the runner: a job whose command does not exist is a job error (exit status 1), named in the report ---
n=$((n + 1))
run_case "bad-input-$$-$n" --json "$SCRATCH/nf.json" -- no-such-command-xyz
problems=$(
        [ "$rc" = 1 ] || echo "exit status $rc, want 1"
        got=$(json "$SCRATCH/nf.json" "d['jobs'][0]['status'], d['jobs'][0]['error']" 2>&1)
        [ "$got" = "error no-such-command-xyz: command not found" ] ||
                echo "the JSON report says $got, not 'error', 'command not found'"
        printf '%s\n' "$out" | grep -q '^\[1/1\] ERROR no-such-command-xyz: no-such-command-xyz: command not found' ||
                echo "no 'ERROR ... command not found' line"
        problems_common "bad-input-$$-$n" 1
)
report "nsrun -- no-such-command-xyz -> the job is an error (exit 1) named 'command not found'" "$problems"
n=$((n + 1))
run_case "bad-input-$$-$n" --json "$SCRATCH/nx.json" -- ./notexec.sh
problems=$(
        [ "$rc" = 1 ] || echo "exit status $rc, want 1"
        [ "$(json "$SCRATCH/nx.json" "d['jobs'][0]['status']" 2>&1)" = error ] || echo "the job is not reported as an error"
        printf '%s\n' "$out" | grep -q 'ERROR ./notexec.sh: .*Permission denied' || echo "no 'ERROR ... Permission denied' line"
        problems_common "bad-input-$$-$n" 1
)
report "nsrun -- ./notexec.sh -> the job is an error (exit 1) named 'Permission denied'" "$problems"

# --- the history: corrupt, or from a newer nsrun: one warning line, the run goes on ---
mkdir -p "$P/.nsrun" && [ ${#RUN_AS[@]} -gt 0 ] && chown "$TEST_USER:" "$P/.nsrun"
printf '{"version": 1, "jobs": {"tests/x.py": {"wall_s": 1' > "$P/.nsrun/history.json"
n=$((n + 1))
run_case "bad-input-$$-$n" -- true
problems=$(
        [ "$rc" = 0 ] || echo "exit status $rc, want 0"
        [ "$(printf '%s' "$err" | grep -c '')" = 1 ] || echo "stderr is not exactly one line"
        printf '%s\n' "$err" | grep -Eq "^nsrun: $P/.nsrun/history.json is unreadable .*running without history" ||
                echo "the warning does not name the file and what happens"
        got=$(json "$P/.nsrun/history.json" "d['version'], list(d['jobs'])" 2>&1)
        [ "$got" = "1 ['true']" ] || echo "history.json is not a valid one with the job: $got"
        problems_common "bad-input-$$-$n" 0
)
report "a corrupt history.json: one warning line naming it, exit 0, a new valid history" "$problems"
printf '{"version": 99, "jobs": {"tests/x.py": {"wall_s": 1}}, "from_the_future": [1, 2]}\n' > "$P/.nsrun/history.json"
cp "$P/.nsrun/history.json" "$SCRATCH/future.json"
n=$((n + 1))
run_case "bad-input-$$-$n" -- true
problems=$(
        [ "$rc" = 0 ] || echo "exit status $rc, want 0"
        [ "$(printf '%s' "$err" | grep -c '')" = 1 ] || echo "stderr is not exactly one line"
        printf '%s\n' "$err" | grep -Eq "^nsrun: $P/.nsrun/history.json was written by a newer nsrun; .*leaving it as it is" ||
                echo "the warning does not name the file and what happens"
        cmp -s "$P/.nsrun/history.json" "$SCRATCH/future.json" || echo "the newer nsrun's history.json was changed"
        problems_common "bad-input-$$-$n" 0
)
report "a history.json from a newer nsrun: one warning line, exit 0, the file left untouched" "$problems"
rm -f "$P/.nsrun/history.json"

# --- pytest: a collection error is exit status 2 with pytest's message; a broken report is refused cleanly ---
as_test_user sh -c "echo 'def test_broken(:' > '$P/tests/test_broken.py'"
n=$((n + 1))
run_case "bad-input-$$-$n" -- pytest -p no:cacheprovider tests
problems=$(
        [ "$rc" = 2 ] || echo "exit status $rc, want 2"
        printf '%s\n' "$err" | head -1 | grep -q '^nsrun: pytest could not collect the tests' ||
                echo "the first line does not say that pytest could not collect"
        printf '%s\n' "$err" | grep -q 'test_broken.py' || echo "pytest's own error (naming test_broken.py) is not shown"
        printf '%s\n' "$err" | tail -1 | grep -q '^nsrun: fix them' || echo "the last line does not say how to fix it"
        problems_common "bad-input-$$-$n" 2
)
report "a pytest collection error: exit 2, pytest's error between nsrun's first and last line" "$problems"
rm -f "$P/tests/test_broken.py"
# pytest's own usage errors: its argparse line after the usage banner, and pytest's exit status 4
n=$((n + 1))
run_case "bad-input-$$-$n" -- pytest -p no:cacheprovider --badflag tests
problems=$(
        [ "$rc" = 4 ] || echo "exit status $rc, want 4 (pytest's for a usage error)"
        printf '%s\n' "$err" | grep -q '^  pytest: error: unrecognized arguments: --badflag$' ||
                echo "pytest's error line (unrecognized arguments: --badflag) is not shown"
        printf '%s\n' "$err" | tail -1 | grep -q '^nsrun: fix them' || echo "the last line does not say how to fix it"
        problems_common "bad-input-$$-$n" 4
)
report "pytest --badflag: exit 4, pytest's 'pytest: error: unrecognized arguments: --badflag' shown" "$problems"
n=$((n + 1))
run_case "bad-input-$$-$n" -- pytest -p no:cacheprovider tests/no_such_test.py
problems=$(
        [ "$rc" = 4 ] || echo "exit status $rc, want 4 (pytest's for a usage error)"
        printf '%s\n' "$err" | grep -q '^  ERROR: file or directory not found: tests/no_such_test.py$' ||
                echo "pytest's error line (file or directory not found) is not shown"
        problems_common "bad-input-$$-$n" 4
)
report "pytest with a missing file: exit 4, pytest's 'file or directory not found' shown" "$problems"
# The collection report is written inside the sandbox, where the project's own conftest.py runs: one that
# rewrites it (here: null markers, as a buggy plugin could) must get an error, never crash nsrun.
as_test_user sh -c "cat > '$P/conftest.py'" <<'EOF'
import json, os

import pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):  # after nsrun's plugin wrote it, in either collection (--fork or not)
    out = os.environ.get("NSRUN_COLLECT_OUT")
    if out and os.path.exists(out):
        doc = json.load(open(out))
        for item in doc["items"]:
            item["markers"] = [None]
        json.dump(doc, open(out, "w"))
EOF
n=$((n + 1))
run_case "bad-input-$$-$n" -- pytest -p no:cacheprovider tests
problems=$(
        [ "$rc" = 2 ] || echo "exit status $rc, want 2"
        [ "$(printf '%s' "$err" | grep -c '')" = 1 ] || echo "stderr is not exactly one line"
        printf '%s\n' "$err" | grep -q "^nsrun: pytest's collection report" || echo "no line naming the collection report"
        problems_common "bad-input-$$-$n" 2
)
report "a collection report with null markers (rewritten by conftest.py): exit 2, one line, no crash" "$problems"
rm -f "$P/conftest.py"
rm -rf "$P/.nsrun/runs"/* 2>/dev/null

# The report's list of modules for the prepared interpreters of the next run (a hint, passed on in their
# environment): rewritten as a conftest could, (a) with entries of the wrong shape and names that find other files
# than the ones listed, (b) with an entry of 1 MiB. Each second run (collection reused, 3 jobs on 2 workers:
# interpreters importing the conftest files and that list) runs its tests forked as ever, and imports nothing
# the list misnames.
Q=$SCRATCH/imports
mkdir -p "$Q"
for k in 1 2 3; do printf 'import sys\n\ndef test_q():\n    assert "nsrun_no_such" not in sys.modules\n' > "$Q/test_q$k.py"; done
echo 'MARK = "imported although the list named another file"' > "$Q/nsrun_no_such.py"
for list in '[1, None, ["a"], [2, 3], ["json", "/elsewhere/json.py"], ["nsrun_no_such", "/x.py"]]' \
            '[["h" * (1 << 20), "/h.py"], ["nsrun_no_such", "/x.py"]]'; do
        cat > "$Q/conftest.py" <<EOF
import json, os

import pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    out = os.environ.get("NSRUN_COLLECT_OUT")
    if out and os.path.exists(out):
        doc = json.load(open(out))
        doc["imports"] = $list
        json.dump(doc, open(out, "w"))
EOF
        [ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$Q"
        for k in 1 2; do
                n=$((n + 1))
                cd "$Q" || exit 1
                run_case "bad-input-$$-$n" -j 2 --batch off --json "$SCRATCH/imports$k.json" -- pytest -p no:cacheprovider
                cd "$P" || exit 1
                got[k]=$(json "$SCRATCH/imports$k.json" "(d['collection_reused'], d['totals']['tests_passed'])" 2>&1)
        done
        problems=$(
                [ "${got[1]}" = "(False, 3)" ] || echo "the first run: ${got[1]}, want (False, 3)"
                [ "${got[2]}" = "(True, 3)" ] || echo "the second run: ${got[2]}, want (True, 3)"
                grep -q "collected 0 items" "$Q/.nsrun/logs/nsrun-prepared-1.log" 2>/dev/null ||
                        echo "the second run's jobs were not forked from interpreters importing the conftest files"
                problems_common "bad-input-$$-$n" 0
        )
        report "a collection report with a hostile module list (${list:0:40}...): the next run forks as ever" "$problems"
done

# Handing over (runner-run.c's take_handover()): nsrun asks a running job, by a file it creates in the job's
# attempt directory, for tests it has not reached, and the job answers with their arguments and files. A conftest
# answers in the plugin's stead: (a) an option for an argument, (b) a file outside the job's, (c) a file name that
# is not the job's, (d) a FIFO for the answer, (f) one of 9 MiB, (nsrun hung in open() before it read job files with O_NONBLOCK), (e) a
# symbolic link made where nsrun's question goes, before it asks, then an answer giving half: nsrun takes none of
# them (no job is added, the job runs all its tests), and each run passes, with nothing left behind.
H=$SCRATCH/handover
mkdir -p "$H"
for k in a b; do printf 'import pytest\n\n@pytest.mark.parametrize("i", range(4))\ndef test_q(i):\n    pass\n' > "$H/test_${k}_quick.py"; done
printf 'import time, pytest\n\n@pytest.mark.parametrize("i", range(6))\ndef test_slow(i):\n    time.sleep(0.4)\n' > "$H/test_c_slow.py"
cat > "$H/conftest.py" <<'PYEOF'
import json, os

import nsrun_pytest

nsrun_pytest._handover["answered"] = True  # the plugin does not answer: this does
KIND = os.environ.get("EVIL_HANDOVER")


def pytest_runtest_logstart(nodeid, location):
    where = os.path.dirname(os.environ.get("NSRUN_TIMES_OUT", "/nonexistent/x"))
    if KIND == "link" and os.path.isdir(where) and not os.path.lexists(os.path.join(where, "handover-ask")):
        os.symlink("/etc/passwd", os.path.join(where, "handover-ask"))


def pytest_runtest_logfinish(nodeid, location):
    where = os.path.dirname(os.environ.get("NSRUN_TIMES_OUT", "/nonexistent/x"))
    ask, out = os.path.join(where, "handover-ask"), os.path.join(where, "handover.json")
    if "slow" not in nodeid or not os.path.lexists(ask) or os.path.lexists(out):
        return
    me = os.path.abspath("test_c_slow.py")
    give = {"option": [{"arg": "-p", "file": "test_c_slow.py"}],
            "outside": [{"arg": "/etc/passwd", "file": "test_c_slow.py"}],
            "name": [{"arg": me + "::test_slow[5]", "file": "test_a_quick.py"}],
            "link": [{"arg": me + "::test_slow[5]", "file": "test_c_slow.py"}],
            "valid": [{"arg": me + "::test_slow[5]", "file": "test_c_slow.py"}]}.get(KIND)
    if KIND == "fifo":
        os.mkfifo(out)
    elif KIND == "big":  # past the 8 MiB nsrun reads of an answer: json-c would make far more of it
        with open(out + ".tmp", "w") as f:
            json.dump({"keep": [], "give": [{"arg": me + "::test_slow[5]", "file": "test_c_slow.py"}] * 150000}, f)
        os.rename(out + ".tmp", out)
    elif give is not None:
        with open(out + ".tmp", "w") as f:
            json.dump({"keep": [{"arg": me + "::test_slow[0]", "file": "test_c_slow.py"}], "give": give}, f)
        os.rename(out + ".tmp", out)
PYEOF
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$H"
for kind in valid option outside name fifo link big; do
        n=$((n + 1))
        rm -rf "$H/.nsrun"
        cd "$H" || exit 1
        EVIL_HANDOVER=$kind run_case "bad-input-$$-$n" -j 2 --json "$SCRATCH/handover.json" -- pytest -p no:cacheprovider
        cd "$P" || exit 1
        problems=$(
                [ "$rc" = 0 ] || echo "exit status $rc, want 0"
                got=$(json "$SCRATCH/handover.json" "sorted((j['name'], j['tests_passed'], j['handed_over']) for j in d['jobs'])" 2>&1)
                want="[('test_a_quick.py', 4, 0), ('test_b_quick.py', 4, 0), ('test_c_slow.py', 6, 0)]"
                # the control: a well-formed answer is taken (the slow job, not stopped by the plugin, runs on)
                [ $kind = valid ] && want="[('test_a_quick.py', 4, 0), ('test_b_quick.py', 4, 0), ('test_c_slow.py', 6, 1), ('test_c_slow.py [handed over]', 1, 0)]"
                [ "$got" = "$want" ] || echo "the jobs: $got, want $want"
                problems_common "bad-input-$$-$n" 0
        )
        what="hostile ($kind): nsrun takes no test from it"
        [ $kind = valid ] && what="well-formed (the control): nsrun runs its one test in a new job"
        report "a job's answer to a handover, $what, the run passes" "$problems"
done

# --- hostile names and output: nsrun's own memory, terminal and reports stay sound (issue 13) ---
# A failing job that prints one 300 MiB line: nsrun reads the tail of its log by bytes, so its own peak stays
# small (the largest RSS of nsrun and every process it waited for; the job itself is head and tr, a few MiB).
n=$((n + 1))
marked "$SCRATCH/pid" "bad-input-$$-$n" /usr/bin/python3 -c '
import resource, subprocess, sys
r = subprocess.run(["sh", "-c", "echo $$ > \"$0\" && exec \"$@\""] + sys.argv[1:], stdout=subprocess.PIPE,
                   stderr=subprocess.DEVNULL)
print(r.returncode, len(r.stdout), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)' \
        "$SCRATCH/pid" "$NSRUN_BIN" -- sh -c 'head -c 314572800 /dev/zero | tr "\0" y; exit 1' > "$SCRATCH/big.out" 2>&1
read -r big_rc big_len big_mib < "$SCRATCH/big.out"
err=
problems=$(
        [ "$big_rc" = 1 ] || echo "exit status $big_rc, want 1 ($(cat "$SCRATCH/big.out"))"
        [ "${big_mib:-999999}" -lt 150 ] || echo "nsrun's peak RSS was ${big_mib:-?} MiB for a job printing one 300 MiB line"
        [ "${big_len:-999999999}" -lt 1048576 ] || echo "nsrun printed ${big_len:-?} bytes of that line"
        rc=1; problems_common "bad-input-$$-$n" 1
)
report "a failing job printing one 300 MiB line: nsrun's peak RSS ${big_mib:-?} MiB, its tail shown by bytes" "$problems"

# Names longer than a file name may be (255 bytes): every job runs, each with a log of its own.
long=$(printf 'x%.0s' $(seq 300))
n=$((n + 1))
run_case "bad-input-$$-$n" --json "$SCRATCH/long.json" -- echo {} ::: "$long-a" "$long-b"
problems=$(
        [ "$rc" = 0 ] || echo "exit status $rc, want 0"
        got=$(json "$SCRATCH/long.json" "sorted(j['status'] for j in d['jobs'])" 2>&1)
        [ "$got" = "['passed', 'passed']" ] || echo "the jobs are $got"
        logs=$(json "$SCRATCH/long.json" "' '.join(j['log'] for j in d['jobs'])" 2>&1)
        for f in $logs; do
                [ "$(basename "$f" | wc -c)" -le 256 ] || echo "log name too long: $f"
                grep -q -- "$long-[ab]" "$f" 2>/dev/null || echo "no job output in $f"
        done
        [ "$(printf '%s\n' $logs | sort -u | wc -l)" = 2 ] || echo "the two jobs do not have two logs: $logs"
        problems_common "bad-input-$$-$n" 0
)
report "job names of 300+ bytes run (no 'File name too long'), each with its own log" "$problems"

# Escape sequences and bytes that are not UTF-8 in job names and in a failed job's output: shown escaped, never
# raw on the terminal; --json and the history stay valid JSON, keyed the same in every run.
esc1=$(printf 'a\033]0;pwned\007b')
esc2=$(printf 'c\033[2Jd\377')
for k in 1 2; do
        n=$((n + 1))
        run_case "bad-input-$$-$n" --json "$SCRATCH/esc.json" -- sh -c 'printf "%s\n" "$1"; printf "\033]0;title\007\n"; exit 1' _ {} ::: "$esc1" "$esc2"
done
problems=$(
        [ "$rc" = 1 ] || echo "exit status $rc, want 1"
        printf '%s' "$out$err" | LC_ALL=C grep -q "$(printf '\033')" &&
                echo "an escape byte reached the terminal: $(printf '%s' "$out" | cat -v | grep -m1 '\^\[')"
        printf '%s' "$out$err" | LC_ALL=C grep -q "$(printf '\377')" && echo "a byte that is not UTF-8 reached the terminal"
        printf '%s\n' "$out" | grep -qF 'FAIL a\x1b]0;pwned\x07b' || echo "no FAIL line with the name escaped"
        printf '%s\n' "$out" | grep -qF '\x1b]0;title\x07' || echo "the failed job's output is not shown escaped"
        got=$(json "$SCRATCH/esc.json" "sorted(j['name'] for j in d['jobs'])" 2>&1)
        [ "$got" = "['a\\\\x1b]0;pwned\\\\x07b', 'c\\\\x1b[2Jd\\\\xff']" ] || echo "--json names: $got"
        got=$(json "$P/.nsrun/history.json" "sorted((k, v['runs']) for k, v in d['jobs'].items() if k[0] in 'ac')" 2>&1)
        [ "$got" = "[('a\\\\x1b]0;pwned\\\\x07b', 2), ('c\\\\x1b[2Jd\\\\xff', 2)]" ] || echo "history.json: $got"
        problems_common "bad-input-$$-$n" 1
)
report "escape sequences and non-UTF-8 in names and output: escaped on the terminal; --json, history valid and stable" "$problems"

# From a path to the project through a symbolic link (in /tmp, which each sandbox has a fresh one of): the
# sandbox starts in the physical directory.
as_test_user ln -sfn "$P" "$SCRATCH/link-to-project"
for verb in exec run; do
        n=$((n + 1))
        args=(exec -- pwd)
        [ $verb = run ] && args=(--json "$SCRATCH/link.json" -- pwd)
        marked "$SCRATCH/pid" "bad-input-$$-$n" sh -c 'cd "$1" && shift && exec "$@"' _ "$SCRATCH/link-to-project" \
                "$NSRUN_BIN" "${args[@]}" > "$SCRATCH/out" 2> "$SCRATCH/err"
        rc=$? err=$(cat "$SCRATCH/err") out=$(cat "$SCRATCH/out")
        problems=$(
                [ "$rc" = 0 ] || echo "exit status $rc, want 0"
                if [ $verb = exec ]; then
                        [ "$out" = "$P" ] || echo "it ran in '$out', not in $P"
                else
                        grep -qx "$P" "$P/.nsrun/logs/pwd.log" 2>/dev/null || echo "the job did not run in $P"
                fi
                problems_common "bad-input-$$-$n" 0
        )
        report "nsrun ${args[*]} from a symlinked path to the project: runs in the physical directory" "$problems"
done

# 'nsrun ... | head': the closed pipe stops the run as an interrupt does (exit 141), with nothing left behind;
# the jobs themselves still get SIGPIPE's default action (bash's 'yes | head' ends by it: 141).
n=$((n + 1))
marked "$SCRATCH/pid" "bad-input-$$-$n" bash -c 'sh -c "echo \$\$ > \"\$0\" && exec \"\$@\"" "$@" | head -1 > /dev/null
                                                  echo "nsrun=${PIPESTATUS[0]}" >&2' _ "$SCRATCH/pid" \
        "$NSRUN_BIN" -j 1 -- bash -c 'yes | head -1 > /dev/null; echo "yes=${PIPESTATUS[0]}"; sleep 0.2' {} ::: 1 2 3 4 5 6 \
        > "$SCRATCH/out" 2> "$SCRATCH/err"
err=$(cat "$SCRATCH/err")
problems=$(
        grep -qx 'nsrun=141' "$SCRATCH/err" || echo "nsrun's status is not 141: $err"
        cat "$P"/.nsrun/logs/[1-6].log 2>/dev/null | grep -qx 'yes=141' ||
                echo "a job's 'yes | head' did not die of SIGPIPE: $(cat "$P"/.nsrun/logs/[1-6].log 2>&1)"
        rc=141; problems_common "bad-input-$$-$n" 141
)
report "nsrun ... | head -1: exit 141, no process, cgroup or run directory left; jobs keep SIGPIPE's default" "$problems"

# A job whose command passed while one of its processes was killed for memory is not a pass.
n=$((n + 1))
run_case "bad-input-$$-$n" --mem-per-worker 64M --json "$SCRATCH/oomp.json" -- sh -c \
        '/usr/bin/python3 -c "b = bytearray(256 << 20); b[::4096] = b\"x\" * len(range(0, len(b), 4096))"; exit 0'
problems=$(
        [ "$rc" = 1 ] || echo "exit status $rc, want 1"
        got=$(json "$SCRATCH/oomp.json" "d['jobs'][0]['status'], d['jobs'][0]['oom_kills'] > 0" 2>&1)
        [ "$got" = "oom True" ] || echo "--json says $got"
        printf '%s\n' "$out" | grep -q '^\[1/1\] OOM .*a process was killed for memory (oom_kill [0-9]*; .*though the command exited 0' ||
                echo "no OOM line saying a process was killed though the command exited 0"
        problems_common "bad-input-$$-$n" 1
)
report "a job that exits 0 after a process of it was killed for memory: OOM, exit 1, said so" "$problems"
rm -rf "$P/.nsrun/runs"/* 2>/dev/null

is "the project directory is unchanged by all of the above" "$(tree_digest "$P")" "$digest0"
check "at least 30 malformed invocations were tried" test "$n" -ge 30

# --- GNU parallel's command lines and the files nsrun reads (issue 18; issue 13, item 10): refused in one line,
# exit status 2, never run literally; a jobs file or ':::: FILE' is read up to 16 MiB, lines up to 64 KiB, no NUL
printf 'true\nec\0ho cut\n' > "$SCRATCH/nul-jobs.txt"
head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' '\n' > "$SCRATCH/big-jobs.txt"
{ printf 'echo '; head -c $((64 * 1024 + 1)) /dev/zero | tr '\0' x; echo; } > "$SCRATCH/long-line.txt"
chmod 644 "$SCRATCH"/nul-jobs.txt "$SCRATCH"/big-jobs.txt "$SCRATCH"/long-line.txt
bad 2 "^nsrun: --jobs-file $SCRATCH/nul-jobs.txt: line 2 holds a NUL byte" --jobs-file "$SCRATCH/nul-jobs.txt"
bad 2 "^nsrun: --jobs-file /dev/zero: line 1 holds a NUL byte" --jobs-file /dev/zero
bad 2 "^nsrun: --jobs-file $SCRATCH/big-jobs.txt: larger than 16 MiB" --jobs-file "$SCRATCH/big-jobs.txt"
bad 2 "^nsrun: --jobs-file $SCRATCH/long-line.txt: line 1 is longer than 64 KiB" --jobs-file "$SCRATCH/long-line.txt"
bad 2 "^nsrun: ':::: $SCRATCH/nul-jobs.txt': line 2 holds a NUL byte" -- echo :::: "$SCRATCH/nul-jobs.txt"
bad 2 "^nsrun: ':::: /dev/zero': line 1 holds a NUL byte" -- echo {} :::: /dev/zero
bad 2 "^nsrun: ':::: /nonexistent-nsrun': No such file or directory" -- echo :::: /nonexistent-nsrun
bad 2 "^nsrun: '\{x\}' is not one of nsrun's replacement strings" -- echo {x} ::: a
bad 2 "^nsrun: '\{= uc =\}' is not one of nsrun's replacement strings" -- echo '{= uc =}' ::: a
bad 2 "^nsrun: '\{3\}': there are 2 argument lists; use \{1\} to \{2\}" -- sh -c 'echo {3}' ::: a ::: b
bad 2 "^nsrun: '\{0\}': there is one argument list" -- echo {0} ::: a
bad 2 "^nsrun: ':::' needs at least one argument after it" -- echo ::: a b :::
bad 2 "^nsrun: '::::' needs a file of arguments after it" -- echo {} ::::
bad 2 "^nsrun: ':::\+': linked argument lists are not supported" -- echo ::: a :::+ b
bad 2 "^nsrun: -n: not an option of nsrun; use -j N" -n 4 -- true
bad 2 "^nsrun: --max-args=2: not an option of nsrun; " --max-args=2 -- echo ::: a
bad 2 "^nsrun: --halt soon: give 'soon,fail=N'" --halt soon -- true
bad 2 "^nsrun: --json, --junit and --joblog: only one of them can write to standard output" --json - --junit - -- true

# A project file that grows while nsrun reads it (the collection's change detector reads every small file of the
# project): strace writing its log into the project appends a line for each read nsrun makes of that log, so the
# file never ends. nsrun read it whole, unbounded (2.5 GB of memory, never finishing); now it reads at most what
# the file held when it looked, plus one byte, and the run passes.
G=$SCRATCH/grow
mkdir -p "$G/tests"
printf 'def test_g():\n    pass\n' > "$G/tests/test_g.py"
[ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$G"
n=$((n + 1))
cd "$G" || exit 1
# (LeakSanitizer cannot run under ptrace: the sanitizer build's leak check is off for this one run)
marked "$SCRATCH/pid" "bad-input-$$-$n" timeout -s KILL 120 env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -o "$G/trace.log" "$NSRUN_BIN" -j 2 -- pytest -q -p no:cacheprovider > "$SCRATCH/out" 2>&1
rc=$?
err=$(tail -n 5 "$SCRATCH/out")
cd "$P" || exit 1
problems=$(
        [ "$rc" = 0 ] || echo "exit status $rc, want 0 (137: killed after 120 s, still reading)"
        grep -q "tests: 1 passed" "$SCRATCH/out" || echo "not 1 passed"
        size=$(stat -c %s "$G/trace.log")
        [ "$size" -lt $((64 << 20)) ] || echo "the log grew to $size bytes: nsrun kept reading it"
        leftovers_of "$SCRATCH/pid" "bad-input-$$-$n" "$G" "$mounts0"
)
report "a project file appended to for each read nsrun makes of it: read once, bounded; the run passes" "$problems"

done_testing
