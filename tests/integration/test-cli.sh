#!/bin/bash
# The command line GNU parallel's users already know, as root and as an unprivileged user: ':::' lists and
# ':::: FILE' argument files, every replacement string, where an argument is quoted, --halt, --joblog,
# -k, '-' for standard input and output, and the small things of --help. Where GNU parallel is installed
# (CI installs it), the same command lines are run by it too and each job's arguments compared.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3

setup_scratch
require_sandbox
P=$(make_project)
O=$SCRATCH/shared      # jobs write here (--rw): what each job got, as the user sees it
as_test_user mkdir -p "$O"
cd "$P" || exit 1
# rec.sh: one line per call, each argument in brackets, appended to $REC_OUT
# (one write per line: jobs running at once append to the same file)
as_test_user sh -c "printf '%s\n' '#!/bin/sh' 'line=\$(printf \"[%s]\" \"\$@\")' 'printf \"%s\\\\n\" \"\$line\" >> \"\$REC_OUT\"' \
                    > '$O/rec.sh' && chmod 755 '$O/rec.sh'"
REC=$O/rec.sh
PARALLEL=$(command -v parallel)
if [ -z "$PARALLEL" ] && [ "${NSRUN_TESTS_MUST_RUN:-0}" = 1 ]; then
        echo "Bail out! GNU parallel is not installed (apt-get install parallel), and NSRUN_TESTS_MUST_RUN=1"
        exit 1
fi
n=0

# run_nsrun NAME ARGS...: nsrun ARGS as the test user, recording into $O/NAME.n; sets rc, out, err.
run_nsrun() {
        local name=$1
        shift
        rm -f "$O/$name.n"
        as_test_user env REC_OUT="$O/$name.n" "$NSRUN_BIN" --rw "$O" "$@" > "$SCRATCH/out" 2> "$SCRATCH/err"
        rc=$?
        out=$(cat "$SCRATCH/out")
        err=$(cat "$SCRATCH/err")
}

# same_as_parallel DESC PARALLEL_ARGS... -- NSRUN_ARGS...: both run; each job's recorded arguments must be the
# same lines (in any order: jobs run in parallel).
same_as_parallel() {
        local desc=$1 pargs=() name
        shift
        while [ "$1" != -- ]; do pargs+=("$1"); shift; done
        shift
        n=$((n + 1))
        name=cmp$n
        if [ -z "$PARALLEL" ]; then
                ok "# SKIP GNU parallel is not installed: $desc"
                return
        fi
        rm -f "$O/$name.p"
        REC_OUT=$O/$name.p "$PARALLEL" --will-cite "${pargs[@]}" > /dev/null 2>&1
        run_nsrun "$name" "$@"
        if [ "$rc" = 0 ] && [ -s "$O/$name.n" ] && cmp -s <(sort "$O/$name.p") <(sort "$O/$name.n"); then
                ok "same jobs as GNU parallel: $desc"
        else
                not_ok "same jobs as GNU parallel: $desc"
                { echo "nsrun exit status $rc; parallel's jobs, then nsrun's:"; sort "$O/$name.p"; echo ---;
                  sort "$O/$name.n" 2>/dev/null; echo "$err"; } | diag
        fi
}

# --- every {} of a word is replaced ---
run_nsrun every -- sh -c 'echo {} > out && test "$(cat out)" = {}' ::: a
is "every {} of an argument is replaced: sh -c 'echo {} > out && test \"\$(cat out)\" = {}' ::: a passes" "$rc" 0

# --- arguments are data in a shell's -c script: quoted as one shell word ---
run_nsrun quoted -- sh -c "$REC got-{}" ::: 'c;d' '$(id)' '`id`' "it's" 'a b' '*'
is "in a sh -c script each argument is one shell word: ;, \$(id), backquotes, quotes, spaces and * stay data" \
        "$(sort "$O/quoted.n")" "$(printf '%s\n' '[got-$(id)]' '[got-*]' '[got-`id`]' '[got-a b]' '[got-c;d]' "[got-it's]")"
check "... and nothing ran id" sh -c "! grep -q uid= '$O/quoted.n'"
run_nsrun quotedbash -- env FOO=1 bash -e -o pipefail -c "$REC {}" ::: 'x;y'
is "... also behind a wrapper and shell options (env bash -e -o pipefail -c)" "$(cat "$O/quotedbash.n")" "[x;y]"
run_nsrun rawword -- "$REC" 'a {} b' {} ::: 'c;d'
is "a word no shell parses gets the argument as it is" "$(cat "$O/rawword.n")" "[a c;d b][c;d]"
run_nsrun script -- sh -c {} ::: "$REC x" "$REC 'y z'"
is "a -c script that is only {} is the argument itself (sh -c {} runs each argument)" \
        "$(sort "$O/script.n")" "$(printf '%s\n' '[x]' '[y z]')"
run_nsrun quote -q -- sh -c "$REC got-{}" ::: 'x y'
is "-q puts the argument in as it is, as GNU parallel's -q does" "$(cat "$O/quote.n")" "[got-x][y]"

# --- the same command lines under GNU parallel ---
args=(a.b dir.d/file a.tar.gz .bashrc /x/.bashrc a/b/ / x/ "it's" 'a b' -n 'a\b' é '')
same_as_parallel "{} {.} {/} {//} {/.} {#} on odd paths" -q "$REC" {} {.} {/} {//} {/.} {#} ::: "${args[@]}" -- \
        -- "$REC" {} {.} {/} {//} {/.} {#} ::: "${args[@]}"
same_as_parallel "two ::: lists: every combination, {1} {2} {#}" -q "$REC" {1} {2} {2.} {#} ::: a b c ::: x.y 'z w' -- \
        -- "$REC" {1} {2} {2.} {#} ::: a b c ::: x.y 'z w'
same_as_parallel "a word that is only {} or {.} with two lists: one word per list" -q "$REC" {} {.} ::: a.b c ::: x.y -- \
        -- "$REC" {} {.} ::: a.b c ::: x.y
same_as_parallel "no replacement string: the arguments are appended" -q "$REC" ::: a 'b c' ::: x -- \
        -- "$REC" ::: a 'b c' ::: x
printf '%s\n' 'l 1' 'l;2' '' '$(id)' > "$SCRATCH/args1.txt"
printf '%s\n' x y > "$SCRATCH/args2.txt"
same_as_parallel ":::: FILE FILE: one list per file, one argument per line, empty lines too" \
        -q "$REC" {1} {2} :::: "$SCRATCH/args1.txt" "$SCRATCH/args2.txt" -- \
        -- "$REC" {1} {2} :::: "$SCRATCH/args1.txt" "$SCRATCH/args2.txt"
same_as_parallel "::: and :::: mixed" -q "$REC" {} ::: a b :::: "$SCRATCH/args2.txt" -- \
        -- "$REC" {} ::: a b :::: "$SCRATCH/args2.txt"
same_as_parallel "a sh -c script reads as parallel's own command line" "$REC" got-{} {/} {#} ::: 'c;d' '$(id)' "it's" 'a b' -- \
        -- sh -c "$REC got-{} {/} {#}" ::: 'c;d' '$(id)' "it's" 'a b'
same_as_parallel "no command: each argument is a shell command" ::: "$REC 1" "$REC '2 3'" ::: x -- \
        -- ::: "$REC 1" "$REC '2 3'" ::: x
same_as_parallel "-q: the words kept, the argument put in as it is" -q sh -c "$REC {}" ::: 'x y' -- \
        -q -- sh -c "$REC {}" ::: 'x y'

# --- {%}: the worker slot, from 1, known when the job starts ---
run_nsrun slot -j 2 -- "$REC" {%} {#} ::: a b c d e
is "{#} numbers the jobs 1 to 5 in input order" \
        "$(cut -d']' -f2 "$O/slot.n" | tr -d '[' | sort -n | tr '\n' ' ')" "1 2 3 4 5 "
check "{%} is the worker slot: 1 or 2 with -j 2" sh -c "[ \$(wc -l < '$O/slot.n') = 5 ] && ! grep -qv '^\[[12]\]' '$O/slot.n'"

# --- standard input: --jobs-file - and :::: - ---
printf '%s\n' "$REC job1" "# a comment" "$REC 'job 2'" > "$SCRATCH/jobs.txt"
rm -f "$O/stdin.n"
as_test_user env REC_OUT="$O/stdin.n" "$NSRUN_BIN" --rw "$O" --jobs-file - < "$SCRATCH/jobs.txt" > /dev/null 2>&1
is "--jobs-file - reads the commands from standard input" "$(sort "$O/stdin.n")" "$(printf '%s\n' '[job 2]' '[job1]')"
rm -f "$O/stdin2.n"
printf '%s\n' p q | as_test_user env REC_OUT="$O/stdin2.n" "$NSRUN_BIN" --rw "$O" -- "$REC" {} :::: - > /dev/null 2>&1
is ":::: - reads the arguments from standard input (a pipe)" "$(sort "$O/stdin2.n")" "$(printf '%s\n' '[p]' '[q]')"
mkfifo "$SCRATCH/fifo" && chmod 666 "$SCRATCH/fifo"
(printf '%s\n' "$REC fifo" > "$SCRATCH/fifo") &
rm -f "$O/fifo.n"
as_test_user env REC_OUT="$O/fifo.n" "$NSRUN_BIN" --rw "$O" --jobs-file "$SCRATCH/fifo" > /dev/null 2>&1
is "--jobs-file FIFO is read (a file that is not regular)" "$(cat "$O/fifo.n")" "[fifo]"
wait
as_test_user timeout --preserve-status -s INT 2 "$NSRUN_BIN" --jobs-file "$SCRATCH/fifo" > /dev/null 2> "$SCRATCH/err"
is "Ctrl-C while nsrun waits for a FIFO's writer: exit status 130, one line" "$?: $(cat "$SCRATCH/err")" \
        "130: nsrun: interrupted by SIGINT before any job ran; nothing was left behind"

# --- --json -, --junit -: the report alone on standard output ---
run_nsrun json --json - -- true ::: a b
check "--json - writes valid JSON on standard output, with both jobs" \
        $PY -c "import json,sys; d=json.loads(sys.argv[1]); assert len(d['jobs']) == 2, d" "$out"
like "... and the human report goes to standard error" "$err" "nsrun: 2 jobs: 2 passed"
run_nsrun junit --junit - -- true ::: a
check "--junit - writes valid JUnit XML on standard output" \
        $PY -c "import sys, xml.etree.ElementTree as E; r=E.fromstring(sys.argv[1]); assert r.get('tests') == '1'" "$out"
run_nsrun dry --dry-run --json - -- sh -c 'echo {}' ::: 'a;b'
is "--dry-run --json - gives each job's command, as it will run" \
        "$($PY -c "import json,sys; print(json.loads(sys.argv[1])['jobs'][0]['argv'])" "$out")" "['sh', '-c', \"echo 'a;b'\"]"

# --- -k: each job's line in input order ---
run_nsrun keep -k -j 3 -- sleep {} ::: 0.9 0.1 0.5
is "-k prints each job's line in input order, whatever order they end in" \
        "$(printf '%s\n' "$out" | grep -o '^\[[0-9]/3\] PASS [0-9.]*' | tr '\n' ' ')" \
        "[1/3] PASS 0.9 [2/3] PASS 0.1 [3/3] PASS 0.5 "

# --- --halt ---
run_nsrun halt1 -j 1 --halt soon,fail=2 --json "$O/halt1.json" -- sh -c 'exit 1' {} ::: a b c d
is "--halt soon,fail=2: exit status 1, two jobs failed, two never started" \
        "$rc $(json "$O/halt1.json" "sorted(j['status'] for j in d['jobs'])")" \
        "1 ['failed', 'failed', 'not-run', 'not-run']"
run_nsrun halt2 -j 2 --halt now,fail=1 --json "$O/halt2.json" -- \
        sh -c "case {} in bad) exit 1;; *) sleep 60; touch '$O/slept';; esac" ::: bad slow
is "--halt now,fail=1: the running job is killed and reported as not run" \
        "$rc $(json "$O/halt2.json" "sorted((j['name'], j['status'], j['error']) for j in d['jobs'])")" \
        "1 [('bad', 'failed', None), ('slow', 'not-run', 'stopped by --halt now')]"
check "... it never got to its end" test ! -e "$O/slept"
run_nsrun exitfirst -j 1 -x --json "$O/x.json" -- sh -c 'exit 1' {} ::: a b c
is "-x is --halt soon,fail=1" "$(json "$O/x.json" "sorted(j['status'] for j in d['jobs'])")" "['failed', 'not-run', 'not-run']"

# --- --joblog: GNU parallel's columns ---
run_nsrun joblog --joblog "$O/joblog.txt" -- sh -c 'printf 12345; exit {}' ::: 0 3
is "--joblog has GNU parallel's header" "$(head -1 "$O/joblog.txt")" \
        "$(printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')"
is "... one line per job: its number, output bytes, exit status and command" \
        "$(tail -n +2 "$O/joblog.txt" | awk -F'\t' '{print $1, $2, $6, $7, $8, $9}' | sort)" \
        "$(printf '%s\n' "1 : 5 0 0 sh -c 'printf 12345; exit 0'" "2 : 5 3 0 sh -c 'printf 12345; exit 3'")"
if [ -n "$PARALLEL" ]; then
        "$PARALLEL" --will-cite --joblog "$SCRATCH/pjoblog.txt" true ::: 1
        is "... the same header as GNU parallel's own" "$(head -1 "$O/joblog.txt")" "$(head -1 "$SCRATCH/pjoblog.txt")"
else
        ok "# SKIP GNU parallel is not installed: the joblog header against parallel's"
fi

# --- --help, help, -V ---
help=$(nsrun help 2>&1)
like "'nsrun help' shows the help, and lists 'help' among the commands" "$help" $'\n  help +show this help'
is "... every line of it within 80 columns" "$(printf '%s\n' "$help" | awk 'length > 80')" ""
help=$(nsrun exec --help 2>&1)
like "'nsrun exec --help' is the help of exec" "$help" "^Usage: nsrun exec"
is "... every line of it within 80 columns" "$(printf '%s\n' "$help" | awk 'length > 80')" ""
like "-V shows the version" "$(nsrun -V 2>&1)" "^nsrun [0-9]"
run_nsrun xdistn -n 4 -- pytest
is "-n 4 (pytest-xdist's) is answered with nsrun's -j, exit status 2" "$rc: $err" \
        "2: nsrun: -n: not an option of nsrun; use -j N (nsrun's worker count)"

done_testing
