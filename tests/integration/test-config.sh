#!/bin/bash
# Settings from a file and the environment, as root and as an unprivileged user: [tool.nsrun] in pyproject.toml,
# the top-level keys of .nsrun.toml, NSRUN_OPTS; command line over NSRUN_OPTS over the file; --dry-run (and
# --dry-run --json) naming where each setting came from; and bad settings refused with one line naming the
# file, line and column, exit status 2. nsrun exec and nsrun xdist taking the keys that are theirs.
. "$(dirname "$0")/../lib.sh"

setup_scratch
require_sandbox
P=$(make_project)
as_test_user mkdir -p "$P/.git" "$P/tests"
cd "$P" || exit 1

# put FILE: standard input into FILE (in the project), as the test user
put() { as_test_user tee "$P/$1" > /dev/null; }

# run_nsrun [VAR=VALUE...] -- ARGS...: nsrun ARGS as the test user in $DIR (default: the project), with the
# environment given; sets rc, out and err.
run_nsrun() {
        local envs=()
        while [ "$1" != -- ]; do envs+=("$1"); shift; done
        shift
        (cd "${DIR:-$P}" && as_test_user env "${envs[@]}" "$NSRUN_BIN" "$@") > "$SCRATCH/out" 2> "$SCRATCH/err"
        rc=$?
        out=$(cat "$SCRATCH/out")
        err=$(cat "$SCRATCH/err")
}

# one_line_error DESC REGEX: the last run failed with status 2 and one line on stderr matching REGEX.
one_line_error() {
        is "$1: exit status 2" "$rc" 2
        is "$1: one line on stderr" "$(printf '%s\n' "$err" | wc -l)" 1
        like "$1: the message" "$err" "$2"
}

# A pyproject.toml whose other tables hold what a careless reader would take for nsrun's: a multi-line string
# with a [tool.nsrun] header and a key in it, arrays and inline tables over several lines.
put pyproject.toml <<'TOML'
[project]
name = "demo"
description = """
[tool.nsrun]
jobs = 99
"""
classifiers = [
    "a ] b",  # a bracket in a string
    'c',
]

[tool.nsrun]
# the runner's long options
mem-per-worker = "64M"   # per job
jobs = 1
serial = ["*db*"]
flaky-fails = true
retries = 0

[tool.other]
x = { y = "]", z = [1, 2] }
TOML

run_nsrun -- --dry-run -- echo {} ::: db1 web
is "file: exit status" "$rc" 0
like "file: the cap from [tool.nsrun]" "$out" "memory cap: +64 MiB per job \(--mem-per-worker\)"
like "file: -j from [tool.nsrun], not the 99 inside a multi-line string" "$out" "workers: +1 \(set by the -j"
like "file: the serial glob from the array" "$out" "db1.*serial"
like "file: --dry-run names the source" "$out" "mem-per-worker 64M \(pyproject.toml \[tool.nsrun\]\)"
like "file: a flag" "$out" "flaky-fails \(pyproject.toml \[tool.nsrun\]\)"

DIR=$P/tests run_nsrun -- --dry-run -- true
like "from a subdirectory: the project root's file" "$out" "mem-per-worker 64M \(.*pyproject.toml \[tool.nsrun\]\)"

run_nsrun NSRUN_OPTS="--mem-per-worker 96M --serial 'x y'" -- --dry-run -- true
like "NSRUN_OPTS over the file" "$out" "memory cap: +96 MiB per job"
like "NSRUN_OPTS: named as the source" "$out" "mem-per-worker 96M \(NSRUN_OPTS\)"
like "NSRUN_OPTS: shell quoting" "$out" "serial x y \(NSRUN_OPTS\)"
like "NSRUN_OPTS: a repeatable option adds to the file's" "$out" "serial \*db\* \(pyproject.toml"

run_nsrun NSRUN_OPTS="--mem-per-worker 96M" -- --dry-run --mem-per-worker 128M -- true
like "command line over NSRUN_OPTS and the file" "$out" "memory cap: +128 MiB per job"
like "command line: named as the source" "$out" "mem-per-worker 128M \(command line\)"
check "command line: the overridden values are not listed" sh -c "! printf '%s' \"\$1\" | grep -q 'mem-per-worker 96M'" sh "$out"

run_nsrun NSRUN_OPTS="-j 2" -- --dry-run --json - --timeout 5m -- true
printf '%s' "$out" > "$SCRATCH/plan.json"
is "--json: the file's setting and its line" \
        "$(json "$SCRATCH/plan.json" '[(s["value"], s["source"], s["line"]) for s in d["settings"] if s["option"] == "mem-per-worker"]')" \
        "[('64M', 'pyproject.toml [tool.nsrun]', 14)]"
is "--json: NSRUN_OPTS's" \
        "$(json "$SCRATCH/plan.json" '[(s["value"], s["source"]) for s in d["settings"] if s["option"] == "jobs"]')" \
        "[('2', 'NSRUN_OPTS')]"
is "--json: the command line's" \
        "$(json "$SCRATCH/plan.json" '[(s["value"], s["source"]) for s in d["settings"] if s["option"] == "timeout"]')" \
        "[('5m', 'command line')]"
is "--json: a flag has no value" \
        "$(json "$SCRATCH/plan.json" '[s["value"] for s in d["settings"] if s["option"] == "flaky-fails"]')" "[None]"

# a setting changes a real run, not only the plan: the file's timeout kills the job
printf '[tool.nsrun]\ntimeout = "2s"\n' | put pyproject.toml
run_nsrun -- -- sleep 60
is "a real run: the file's --timeout killed the job (exit 1)" "$rc" 1
like "a real run: reported as a timeout" "$out$err" "timed out|timeout"

# environment only, no file; .nsrun.toml's top-level keys
as_test_user rm "$P/pyproject.toml"
run_nsrun NSRUN_OPTS="-j 1 --mem-per-worker 80M" -- --dry-run -- true
like "NSRUN_OPTS alone" "$out" "memory cap: +80 MiB per job"
printf 'mem-per-worker = "72M"\n' | put .nsrun.toml
run_nsrun -- --dry-run -- true
like ".nsrun.toml: its top-level keys" "$out" "mem-per-worker 72M \(.nsrun.toml\)"
printf '[tool.nsrun]\njobs = 1\n' | put pyproject.toml
run_nsrun -- --dry-run -- true
one_line_error "both files" "^nsrun: settings in both .nsrun.toml and pyproject.toml; keep them in one file$"
as_test_user rm "$P/.nsrun.toml"

# bad_file DESC TEXT REGEX: pyproject.toml holding TEXT (printf's format) is refused with one line matching REGEX.
bad_file() {
        printf "$2" | put pyproject.toml
        run_nsrun -- --dry-run -- true
        one_line_error "$1" "$3"
}

# bad settings: one line, file:line:col, exit 2
bad_file "an unknown key" '[tool.nsrun]\njobs = 1\nmem-per-wroker = "2G"\n' \
        "^nsrun: pyproject.toml:3:1: 'mem-per-wroker' is not a setting of nsrun"
bad_file "a bad value" '[tool.nsrun]\n\n  mem-per-worker = "lots"\n' \
        "^nsrun: pyproject.toml:3:3: --mem-per-worker lots: not a size"
bad_file "a flag given a string" '[tool.nsrun]\nflaky-fails = "yes"\n' \
        "^nsrun: pyproject.toml:2:1: 'flaky-fails' is a flag; write flaky-fails = true or false$"
bad_file "a float refused" '[tool.nsrun]\ntimeout = 1.5\n' \
        "^nsrun: pyproject.toml:2:11: a float, date or time"
bad_file "a multi-line string refused" '[tool.nsrun]\nserial = """tests/*"""\n' \
        "^nsrun: pyproject.toml:2:10: a multi-line string"
bad_file "a sub-table refused" '[tool.nsrun]\njobs = 1\n[tool.nsrun.extra]\n' \
        "^nsrun: pyproject.toml:3:1: \[tool.nsrun.extra\]: nsrun's settings are keys of \[tool.nsrun\]"
bad_file "an inline [tool] nsrun table refused, not ignored" '[tool]\nnsrun = { jobs = 1 }\n' \
        "^nsrun: pyproject.toml:2:1: nsrun's settings under \[tool\]"
as_test_user rm "$P/pyproject.toml"
run_nsrun NSRUN_OPTS="--mem-per-worker" -- --dry-run -- true
one_line_error "NSRUN_OPTS: a missing value" "^nsrun: NSRUN_OPTS: option '--mem-per-worker' needs a value"
run_nsrun NSRUN_OPTS="-j 2 pytest" -- --dry-run -- true
one_line_error "NSRUN_OPTS: not an option" "^nsrun: NSRUN_OPTS: 'pytest' is not an option"
run_nsrun NSRUN_OPTS="--serial 'a" -- --dry-run -- true
one_line_error "NSRUN_OPTS: an unclosed quote" "^nsrun: NSRUN_OPTS: an unclosed quote"

# --- nsrun exec and nsrun xdist take the keys that are theirs; the runner's they leave ---
as_test_user mkdir -p "$P/shared" "$P/tests/sub"
printf '%s\n' 'net = "host"' 'rw = ["shared"]' 'retries = 2' 'junit = "r.xml"' 'jobs = 2' 'mem-per-worker = "300M"' |
        put .nsrun.toml
DIR=$P/tests/sub run_nsrun -- exec -- sh -c 'grep -c : /proc/net/dev; echo from-exec > "$0/shared/x"' "$P"
is "nsrun exec (from tests/sub) takes net = \"host\" from the project's file: the host's interfaces, not lo alone" \
        "$rc $([ "$out" -gt 1 ] && echo more-than-lo)" "0 more-than-lo"
is "... and rw = [\"shared\"], relative to the file: its write reaches the host" "$(cat "$P/shared/x" 2>&1)" from-exec
is "... leaving the runner's keys (retries, junit, jobs, mem-per-worker) alone, with no error" "$err" ""
run_nsrun -- exec --net loopback -- grep -c : /proc/net/dev
is "nsrun exec: the command line wins over the file (--net loopback: lo alone)" "$rc $out" "0 1"
run_nsrun NSRUN_OPTS="--retries 3 --net loopback" -- exec -- grep -c : /proc/net/dev
is "nsrun exec: NSRUN_OPTS wins over the file, its runner options left alone" "$rc $out" "0 1"
run_nsrun NSRUN_OPTS="-j 1" -- xdist --dry-run -- pytest
like "nsrun xdist takes mem-per-worker from the file" "$out" 'capped at 300 MiB \(--mem-per-worker\)'
like "... and -j from NSRUN_OPTS over the file's jobs = 2" "$out" 'workers: +1 '
as_test_user rm "$P/.nsrun.toml"
run_nsrun NSRUN_OPTS="--timeout 5m --net host" -- exec -- grep -c : /proc/net/dev
is "nsrun exec takes --net host from NSRUN_OPTS alone, beside a runner option" "$rc $([ "$out" -gt 1 ] && echo more-than-lo)" \
        "0 more-than-lo"

# --help whatever the settings hold
printf '[tool.nsrun]\njobz = 1\n' | put pyproject.toml
run_nsrun -- --help
is "--help with a bad settings file: exit status 0" "$rc" 0

done_testing
