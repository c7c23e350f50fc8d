#!/bin/bash
# 10-cgroup-v2: memory caps, peaks and OOM attribution on pure cgroup v2 with systemd as PID 1. As root, nsrun's
# own cgroup (this job's service) holds other processes, so nsrun asks the system manager for a delegated scope;
# as the user nsrun it asks its user manager, over sd-bus in both cases, as systemd-run --scope -p Delegate=yes
# would. Then the v2 backend manages jobs inside the scope.
set -u
fail=0
PY=/usr/bin/python3
NSRUN=${NSRUN:-/src/build/nsrun}
check() {       # check NAME COMMAND...: run COMMAND, show its output on failure
        local out
        if out=$("${@:2}" 2>&1); then echo "ok   $1"; else
                echo "FAIL $1"; [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/       /'; fail=1
        fi
}
expect() {      # expect NAME GOT REGEX
        if printf '%s' "$2" | grep -Eq -- "$3"; then echo "ok   $1"; else
                echo "FAIL $1"; printf 'got:  %s\nwant: /%s/\n' "$2" "$3" | sed 's/^/       /'; fail=1
        fi
}
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
touch_mb() { echo "b = bytearray($1 * 1024 * 1024); b[::4096] = b'\\x01' * len(range(0, len(b), 4096)); print('touched $1')"; }
leftovers() { find /sys/fs/cgroup -type d -name 'nsrun-[0-9]*' 2>/dev/null; }

echo "user $(id -un), cgroup $(cut -d: -f3 /proc/self/cgroup)"
cd "${NSRUN_SCRATCH:?}" || exit 1

# where the command runs, and its cap, seen from inside
path=$("$NSRUN" exec --mem 100M -- cat /proc/self/cgroup 2>&1)
expect "the job runs in a delegated transient scope (systemd over sd-bus)" "$path" \
        '^0::/.*nsrun-[0-9]+-[0-9]+\.scope/'
cg=/sys/fs/cgroup${path#0::}
expect "... below the cgroup nsrun runs in" "$cg" "$(cut -d: -f3 /proc/self/cgroup | sed 's|/[^/]*$||')"
out=$("$NSRUN" exec --mem 100M -- sh -c 'cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); cat $cg/memory.max $cg/memory.swap.max' 2>&1)
expect "memory.max is the cap, memory.swap.max is 0" "$(echo $out)" '^104857600 0$'

out=$("$NSRUN" exec --mem 100M -- $PY -c "$(touch_mb 300)" 2>&1); rc=$?
expect "exec: past --mem 100M: killed, 137" "$rc" '^137$'
expect "... named as out of memory with limit and peak (memory.events, memory.peak)" "$out" \
        '^nsrun: killed: out of memory \(limit 100 MiB, peak 10[0-9](\.[0-9])? MiB\)$'
out=$("$NSRUN" exec --mem 400M -- $PY -c "$(touch_mb 300)" 2>&1); rc=$?
expect "exec: the same under --mem 400M passes" "$rc $out" '^0 touched 300$'

"$NSRUN" --json peak.json -- $PY -c "$(touch_mb 200)" > /dev/null 2>&1
peak=$(json peak.json "d['jobs'][0]['peak_mem_bytes']")
check "peak within 5% of the 200 MiB touched (got $((peak / 1048576)) MiB)" \
        test "$peak" -ge $((200 * 1048576)) -a "$peak" -le $((210 * 1048576))

# the runner on the bundled example: 512M per job; models of 200 MB pass, models of 700 MB are out of memory
cp -r "$NSRUN_SRC/examples/webapp" webapp && rm -rf webapp/.nsrun webapp/.pytest_cache && cd webapp || exit 1
MODEL_MB=200 "$NSRUN" --mem-per-worker 512M --json ../ok.json -- pytest > ../ok.out 2>&1; rc=$?
expect "the example passes under nsrun --mem-per-worker 512M" \
        "$rc $(json ../ok.json "d['totals']['tests_passed']")" '^0 23$'
tail -n 1 ../ok.out
rm -rf .nsrun # fixed slots: a first run, with no peaks to learn from
MODEL_MB=700 "$NSRUN" --mem-per-worker 512M --json ../oom.json -- pytest > ../oom.out 2>&1; rc=$?
expect "models larger than the cap: only they are out of memory, the rest passes" \
        "$rc $(json ../oom.json "sorted(set((j['status'], j['name'].startswith('tests/test_model_')) for j in d['jobs']))")" \
        "^1 \[\('oom', True\), \('passed', False\)\]$"
expect "... named with limit and peak" "$(cat ../oom.out)" \
        'tests/test_model_[a-z]+\.py: killed, out of memory \(limit 512 MiB, peak 51[0-9](\.[0-9])? MiB\)'
# --mem-per-worker SIZE is a hard cap: with the history too, a model past it is out of memory, never rerun above it
MODEL_MB=700 "$NSRUN" --mem-per-worker 512M --json ../hard.json -- pytest > ../hard.out 2>&1; rc=$?
expect "with --mem-per-worker, models past it are out of memory on the next run too, never capped above it" \
        "$rc $(json ../hard.json "sorted(set((j['status'], 0 < (j['mem_limit_bytes'] or 0) <= 512 << 20) for j in d['jobs'] if j['name'].startswith('tests/test_model_')))")" \
        "^1 \[\('oom', True\)\]$"
# learned admission without it: the history says the models peak at their 512 MiB cap; asked for that plus a
# quarter, each is killed again, then rerun alone with the whole budget, and passes
MODEL_MB=700 "$NSRUN" --json ../learn.json -- pytest > ../learn.out 2>&1; rc=$?
expect "learned: models past their learned request are rerun alone with the whole budget and pass" \
        "$rc $(json ../learn.json "sorted(set((j['status'], 600 << 20 <= (j['oom_rerun_alone_after_bytes'] or 0) <= 641 << 20) for j in d['jobs'] if j['name'].startswith('tests/test_model_')))")" \
        "^0 \[\('passed', True\)\]$"
expect "... and the report says so" "$(cat ../learn.out)" \
        'tests/test_model_[a-z]+\.py: out of memory at its learned 6[0-9][0-9](\.[0-9])? MiB, rerun alone with [0-9.]+ GiB: passed, peak 7[0-9][0-9]'
cd .. || exit 1

# --timeout: the whole job's cgroup is killed (cgroup.kill)
start=$(date +%s)
"$NSRUN" --timeout 2s --json t.json -- sh -c 'sleep 600 & setsid sleep 601 & wait' > /dev/null 2>&1
expect "--timeout kills the job's whole cgroup" "$(json t.json "d['jobs'][0]['status']") $(pgrep -c -f '^sleep 60[01]')" '^timeout 0$'
check "... within seconds" test $(( $(date +%s) - start )) -lt 60

# nothing left: no cgroup of nsrun, after a run and after SIGKILL and the next run
check "no nsrun cgroup is left after the runs" test -z "$(leftovers)"
"$NSRUN" -- sleep 600 > /dev/null 2>&1 & npid=$!
for _ in $(seq 300); do pgrep -f '^sleep 600$' > /dev/null && break; sleep 0.2; done
kill -9 $npid; wait $npid 2>/dev/null
for _ in $(seq 100); do pgrep -f '^sleep 600$' > /dev/null || break; sleep 0.2; done
check "SIGKILLed nsrun: its sandbox is gone" bash -c "! pgrep -f '^sleep 600$'"
"$NSRUN" -- true > /dev/null 2>&1
for _ in $(seq 50); do [ -z "$(leftovers)" ] && break; sleep 0.2; done
check "... and after the next run no nsrun cgroup is left" test -z "$(leftovers)"
leftovers | sed 's/^/       left: /'
exit $fail
