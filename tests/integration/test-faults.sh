#!/bin/bash
# Nothing leaks: nsrun killed at any moment, interrupted, or running jobs that misbehave (a fork bomb, a job that
# writes without end, one that runs out of memory), two runs at once in one project, and 2,000 jobs in a row.
# As root and as an unprivileged user (in cgroups root delegated to it). About a minute per mode; with
# NSRUN_TEST_QUICK=1 (for slower builds, as under sanitizers) 6 kills instead of 10, 500 jobs instead of 2,000,
# and no 4,096-process fork bomb.
#
# What a job that writes without end gets (observed on Linux 6.x, cgroup v1 and v2, root and rootless): every
# writable place inside a sandbox is memory, not disk: the project's and $HOME's overlay upper layers live in a
# tmpfs of the sandbox's own mount namespace, and /tmp, /var/tmp and /dev/shm are fresh tmpfs. tmpfs pages are
# charged to the memory cgroup of the job that wrote them, and the job may not swap (memory.swap.max = 0, or
# memory.memsw.limit_in_bytes = its limit on v1). So `dd if=/dev/zero of=/tmp/big` (or of=./big, into the
# project) grows the job's memory until its cap: the kernel's OOM killer kills the writer, nsrun reports the
# job as 'oom' ("killed, out of memory (limit 256 MiB, peak 256 MiB)"), the tmpfs goes away with the sandbox's
# mount namespace, and the host's disk never sees a byte. A tmpfs is at most half of RAM, so with
# --mem-cap off (no cap) the writer gets ENOSPC there instead; with a cap, the cap comes first. Only --rw paths
# and --keep-writes write to the host's disk.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/leftovers.sh"
PY=/usr/bin/python3
t_start=$(date +%s)
if [ "${NSRUN_TEST_QUICK:-0}" = 1 ]; then kills=6 many=500 bombs="64"; else kills=10 many=2000 bombs="64 default"; fi

setup_scratch
require_sandbox
out=$(cd "$SCRATCH" && nsrun exec --mem 64M -- true 2>&1) || skip_all "this machine refuses memory caps: $out"
W=$(copy_example webapp)
cd "$W" || exit 1
export MODEL_MB=100
digest0=$(tree_digest "$W")
mounts0=$(mount_count)
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# marked_cmdline MARK TEXT: true if a process of the run marked MARK has TEXT in one of its arguments.
marked_cmdline() {
        local p
        for p in $(marked_pids "$1"); do
                grep -qzF -- "$2" "/proc/$p/cmdline" 2>/dev/null && return 0
        done
        return 1
}
# marked_in_job MARK: true if a process of the run marked MARK is in a job's cgroup: a job runs (a fresh one, or
# one forked from a prepared interpreter, whose command line is the interpreter's).
marked_in_job() {
        local p
        for p in $(marked_pids "$1"); do
                grep -q '/job-[0-9]*-[0-9]*$' "/proc/$p/cgroup" 2>/dev/null && return 0
        done
        return 1
}

# --- SIGKILL at random moments of a run of the example, 10 times ---
# The delays sweep the whole run (collection takes about the first second, the 7 jobs the next 4-6 s), with
# jitter: each kill lands somewhere else in startup, collection, dispatch or a job.
problems=
for i in $(seq "$kills"); do
        mark=faults-kill-$$-$i
        delay_ms=$(( (i - 1) * 6000 / kills + RANDOM % (6000 / kills) ))
        marked "$SCRATCH/kill.$i.pid" "$mark" "$NSRUN_BIN" -- pytest > "$SCRATCH/kill.out" 2>&1 &
        bg=$!
        wait_for test -s "$SCRATCH/kill.$i.pid"
        sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
        pid=$(cat "$SCRATCH/kill.$i.pid" 2>/dev/null)
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
        wait "$bg" 2>/dev/null
        done_jobs=$(grep -c '^\[' "$SCRATCH/kill.out")
        where="kill $i at ${delay_ms} ms ($done_jobs of 7 jobs done)"
        # at once: the sandboxes die with nsrun (PDEATHSIG), their mounts with their namespaces
        no_marked_pids "$mark" || problems+="$where: processes left: $(marked_pids "$mark" | tr '\n' ' ')"$'\n'
        [ "$(mount_count)" = "$mounts0" ] || problems+="$where: $(mount_count) mounts, $mounts0 before"$'\n'
        # at the latest when the next run starts: cgroups and run directory of the killed run are removed
        as_test_user "$NSRUN_BIN" -- true > "$SCRATCH/next.out" 2>&1 || problems+="$where: the next run failed: $(cat "$SCRATCH/next.out")"$'\n'
        left=$(cgroups_of "$pid" | tr '\n' ' ')
        [ -z "$left" ] || problems+="$where: cgroups left after the next run: $left"$'\n'
        left=$(runs_left "$W" | tr '\n' ' ')
        [ -z "$left" ] || problems+="$where: run directories left after the next run: $left"$'\n'
        [ "$(tree_digest "$W")" = "$digest0" ] || problems+="$where: the project directory changed"$'\n'
        printf '%s\n' "$where" >> "$SCRATCH/kills"
done
diag < "$SCRATCH/kills"
is "SIGKILL $kills times across a run: no process, mount, cgroup or run directory left, the project unchanged" \
        "$problems" ""
check "... and the history is still valid JSON" json "$W/.nsrun/history.json" "d['version']"
check "... with no half-written temporary file next to it" sh -c "! ls -A '$W/.nsrun' | grep -q '\.tmp$'"

# --- SIGINT and SIGTERM: running jobs stopped within 2 s, a partial summary, 128+N, nothing left ---
for sig in INT TERM; do
    for fork in auto off; do # jobs forked from prepared interpreters, and fresh ones
        mark=faults-$sig-$fork-$$
        num=$(kill -l "$sig")
        # a background job of a script starts with SIGINT ignored: give nsrun the default, as a terminal would
        marked "$SCRATCH/sig.$sig.pid" "$mark" env --default-signal=INT "$NSRUN_BIN" --fork $fork -- pytest \
                > "$SCRATCH/sig.out" 2>&1 &
        bg=$!
        wait_for test -s "$SCRATCH/sig.$sig.pid"
        pid=$(cat "$SCRATCH/sig.$sig.pid")
        wait_for marked_in_job "$mark" # a job (not the collection) is running
        running=$?
        t0=$(now_ms)
        kill -"$sig" "$pid"
        wait "$bg"
        rc=$?
        ms=$(( $(now_ms) - t0 ))
        is "SIG$sig while jobs run (--fork $fork): exit status $((128 + num))" "$rc" $((128 + num))
        check "... the jobs were running when it came" test "$running" = 0
        check "... stopped within 2 s (took $ms ms)" test "$ms" -lt 2000
        like "... with a partial summary" "$(cat "$SCRATCH/sig.out")" 'nsrun: [0-9]+ jobs: .*[1-9][0-9]* not run'
        is "... and nothing left behind, at once" "$(leftovers_of "$SCRATCH/sig.$sig.pid" "$mark" "$W" "$mounts0")" ""
        rm -f "$SCRATCH/sig.$sig.pid"
    done
done
# during pytest's collection (made slow here): nsrun is not in its job loop yet
slow=$(make_project slow-collect)
as_test_user sh -c "mkdir -p '$slow/tests' && printf 'def test_a():\n    pass\n' > '$slow/tests/test_a.py' &&
        printf 'import time\n\ndef pytest_collection_modifyitems(items):\n    time.sleep(4)\n' > '$slow/conftest.py'"
for sig in INT TERM; do
    for fork in auto off; do # the first prepared interpreter's collection, and the collection pass
        mark=faults-collect-$sig-$fork-$$
        num=$(kill -l "$sig")
        (cd "$slow" && marked "$SCRATCH/col.$sig.pid" "$mark" env --default-signal=INT "$NSRUN_BIN" --fork $fork \
                -- pytest > "$SCRATCH/col.out" 2>&1) &
        bg=$!
        wait_for marked_cmdline "$mark" "$([ $fork = off ] && echo --collect-only || echo nsrun_fork)"
        sleep 0.5
        t0=$(now_ms)
        kill -"$sig" "$(cat "$SCRATCH/col.$sig.pid")"
        wait "$bg"
        rc=$?
        ms=$(( $(now_ms) - t0 ))
        is "SIG$sig during pytest's collection (--fork $fork): exit status $((128 + num)) within 2 s (took $ms ms)" \
                "$rc $([ "$ms" -lt 2000 ] && echo fast)" "$((128 + num)) fast"
        is "... and nothing left behind, at once (no waiting for the next run)" \
                "$(leftovers_of "$SCRATCH/col.$sig.pid" "$mark" "$slow" "$mounts0")" ""
        rm -rf "$slow/.nsrun/runs"/* "$slow/.nsrun/collect.json" # collected again by the next
        (cd "$slow" && as_test_user "$NSRUN_BIN" -- true > /dev/null 2>&1) # removes what was left, for what follows
    done
done

# --- a fork bomb in one job: stopped by the job's pids limit, the other jobs pass ---
P=$(make_project bombs)
cd "$P" || exit 1
as_test_user sh -c "cat > '$P/bomb.py'" <<'EOF'
import errno, os, sys, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(120)
            os._exit(0)
        n += 1
except OSError as e:
    print(f"fork failed after {n} children: {errno.errorcode[e.errno]}", flush=True)
    sys.exit(3)
EOF
jobs='case $1 in bomb) exec python3 bomb.py ;; *) sleep 1 ;; esac'
for pm in $bombs; do
        opt=()
        [ "$pm" = default ] || opt=(--pids-max "$pm")
        limit=${pm/default/4096}
        as_test_user "$NSRUN_BIN" "${opt[@]}" --json "$SCRATCH/bomb.json" -- sh -c "$jobs" _ {} ::: bomb ok1 ok2 ok3 \
                > "$SCRATCH/bomb.out" 2>&1
        rc=$?
        got=$(sed -n 's/^fork failed after \([0-9]*\) children: \(.*\)$/\1 \2/p' "$P/.nsrun/logs/bomb.log")
        is "--pids-max $pm: the bomb's forks fail with EAGAIN at the limit, the other jobs pass (exit 1)" \
                "$rc $(json "$SCRATCH/bomb.json" "sorted((j['name'], j['status']) for j in d['jobs'])") ${got#* }" \
                "1 [('bomb', 'failed'), ('ok1', 'passed'), ('ok2', 'passed'), ('ok3', 'passed')] EAGAIN"
        n=${got%% *}
        check "... after at most $limit processes in the job, and near it: the cgroup's limit, not another one (got ${n:-none} children)" \
                test "${n:-0}" -le "$limit" -a "${n:-0}" -ge $((limit - 8))
done
# the classic shell bomb: under --pids-max 64 its forks fail ("Cannot fork") and it dies out; --timeout is only
# a safety net. Meanwhile the job never holds more processes than its limit.
mark=faults-bomb-$$
marked "$SCRATCH/sb.pid" "$mark" "$NSRUN_BIN" --pids-max 64 --timeout 10s --json "$SCRATCH/sb.json" -- \
        sh -c 'case $1 in bomb) b() { b | b & }; b; sleep 3 ;; *) sleep 1 ;; esac' _ {} ::: bomb ok1 ok2 > /dev/null 2>&1 &
bg=$!
peak=0
while kill -0 "$bg" 2>/dev/null; do
        c=$(marked_pids "$mark" | wc -l)
        [ "$c" -gt "$peak" ] && peak=$c
        sleep 0.05
done
wait "$bg"
like "a shell fork bomb under --pids-max 64: its forks fail, it ends, the others pass" \
        "$(json "$SCRATCH/sb.json" "sorted((j['name'], j['status']) for j in d['jobs'])") $(grep -c -iE 'fork|resource temporarily unavailable' "$P/.nsrun/logs/bomb.log")" \
        "^\[\('bomb', '(passed|failed|timeout)'\), \('ok1', 'passed'\), \('ok2', 'passed'\)\] [1-9]"
check "... holding at most 64 processes, plus nsrun and the other jobs, while it ran (peak seen: $peak)" test "$peak" -le 75
is "... and nothing is left of it" "$(leftovers_of "$SCRATCH/sb.pid" "$mark" "$P" "$mounts0")" ""

# --- a job that writes without end: see the top of this file ---
df_mb() { df -Pm "$1" | awk 'NR == 2 {print $3}'; }
used0=$(df_mb "$P")
tmp0=$(df_mb /tmp)
fill='case $1 in
        fill-tmp) dd if=/dev/zero of=/tmp/big bs=1M ;;
        fill-project) dd if=/dev/zero of=big bs=1M ;;
        fill-shm) dd if=/dev/zero of=/dev/shm/big bs=1M ;;
        *) sleep 1 ;;
      esac'
as_test_user "$NSRUN_BIN" -j 4 --mem-per-worker 256M --json "$SCRATCH/fill.json" -- sh -c "$fill" _ {} ::: \
        fill-tmp fill-project fill-shm ok1 > "$SCRATCH/fill.out" 2>&1
rc=$?
statuses=$(json "$SCRATCH/fill.json" "' '.join(j['status'] for j in sorted(d['jobs'], key=lambda j: j['name']))")
diag < "$SCRATCH/fill.out"
like "writing without end to /tmp, the project and /dev/shm under --mem-per-worker 256M: each writer fails cleanly (oom or failed), the other job passes" \
        "$rc $statuses" '^1 (oom|failed) (oom|failed) (oom|failed) passed$'
check "... each stopped at its cap (peaks $(json "$SCRATCH/fill.json" "[j['peak_mem_bytes'] >> 20 for j in d['jobs']]") MiB)" \
        json "$SCRATCH/fill.json" "all(j['peak_mem_bytes'] <= 256 << 20 for j in d['jobs'])"
is "... and the host's disk is unaffected (used: $used0 -> $(df_mb "$P") MiB; /tmp: $tmp0 -> $(df_mb /tmp) MiB)" \
        "$(( $(df_mb "$P") - used0 < 32 && $(df_mb /tmp) - tmp0 < 32 ))" 1
check "... nothing of it is in the project on the host" test ! -e "$P/big"

# --- an out-of-memory job: only it dies, named as out of memory; the others, running beside it, pass ---
mem='import sys, time
mb = int(sys.argv[1])
b = bytearray(mb << 20)
b[::4096] = b"x" * len(range(0, len(b), 4096))
time.sleep(2)'
as_test_user "$NSRUN_BIN" -j 4 --mem-per-worker 256M --json "$SCRATCH/oom.json" -- "$PY" -c "$mem" {} ::: 100 101 512 102 \
        > "$SCRATCH/oom.out" 2>&1
rc=$?
is "one job past its cap among four running at once: it is oom, the three others pass (exit 1)" \
        "$rc $(json "$SCRATCH/oom.json" "[(j['name'], j['status'], j['attempts']) for j in sorted(d['jobs'], key=lambda j: j['name'])]")" \
        "1 [('100', 'passed', 1), ('101', 'passed', 1), ('102', 'passed', 1), ('512', 'oom', 1)]"
like "... and the summary names it, its limit and its peak" "$(cat "$SCRATCH/oom.out")" \
        '^512: killed, out of memory \(limit 256 MiB, peak 25[0-9](\.[0-9])? MiB\)$'

# --- two runs at once in one project ---
cd "$W" || exit 1
as_test_user "$NSRUN_BIN" --json "$SCRATCH/c1.json" -- pytest > "$SCRATCH/c1.out" 2>&1 &
b1=$!
as_test_user "$NSRUN_BIN" --json "$SCRATCH/c2.json" -- pytest > "$SCRATCH/c2.out" 2>&1 &
b2=$!
wait "$b1"; r1=$?
wait "$b2"; r2=$?
is "two runs of the example at once in one project both pass" "$r1 $r2 $(json "$SCRATCH/c1.json" "d['totals']['tests_passed']") $(json "$SCRATCH/c2.json" "d['totals']['tests_passed']")" \
        "0 0 23 23"
as_test_user "$NSRUN_BIN" -j 2 -- sh -c 'sleep 0.2' {} ::: $(seq -f 'a%02g' 30) > "$SCRATCH/c3.out" 2>&1 &
b1=$!
as_test_user "$NSRUN_BIN" -j 2 -- sh -c 'sleep 0.2' {} ::: $(seq -f 'b%02g' 30) > "$SCRATCH/c4.out" 2>&1 &
b2=$!
wait "$b1"; r1=$?
wait "$b2"; r2=$?
is "two runs with different jobs at once: both pass" "$r1 $r2" "0 0"
is "... and .nsrun/history.json is valid JSON holding every job of all four runs" \
        "$(json "$W/.nsrun/history.json" "(d['version'], sorted(n for n in d['jobs'] if n[0] in 'ab'), sum(n.startswith('tests/') for n in d['jobs']))")" \
        "(1, [$(seq -f "'a%02g'" 30 | paste -sd, | sed 's/,/, /g'), $(seq -f "'b%02g'" 30 | paste -sd, | sed 's/,/, /g')], 7)"
is "... and neither left a run directory" "$(runs_left "$W")" ""

# --- 2,000 tiny jobs: nsrun's own file descriptors and memory stay flat ---
lo=$((many / 20)) hi=$((many - many / 20))
cd "$P" || exit 1
mark=faults-2000-$$
marked "$SCRATCH/2k.pid" "$mark" "$NSRUN_BIN" -j 2 -- true ::: $(seq "$many") > "$SCRATCH/2k.out" 2>&1 &
bg=$!
wait_for test -s "$SCRATCH/2k.pid"
pid=$(cat "$SCRATCH/2k.pid")
: > "$SCRATCH/2k.samples"
t0=$(now_ms)
# samples while the jobs run: finished jobs, open fds, VmRSS (kB)
while kill -0 "$bg" 2>/dev/null; do
        fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        finished=$(grep -c '^\[' "$SCRATCH/2k.out")
        [ -n "$rss" ] && [ "$finished" -ge "$lo" ] && [ "$finished" -le "$hi" ] && echo "$finished $fds $rss" >> "$SCRATCH/2k.samples"
        sleep 0.2
done
wait "$bg"
rc=$?
secs=$(( ($(now_ms) - t0) / 1000 ))
range() { awk -v c="$1" 'NR == 1 {min = max = $c} {if ($c < min) min = $c; if ($c > max) max = $c} END {print min, max, max - min}' "$SCRATCH/2k.samples"; }
read -r fd_min fd_max fd_spread <<< "$(range 2)"
read -r rss_min rss_max rss_spread <<< "$(range 3)"
samples=$(wc -l < "$SCRATCH/2k.samples")
tail -n 1 "$SCRATCH/2k.out" | diag
echo "$many jobs in ${secs}s; $samples samples between job $lo and job $hi: fds $fd_min..$fd_max, VmRSS $rss_min..$rss_max kB" | diag
is "$many jobs of 'true': all pass" "$rc $(tail -n 1 "$SCRATCH/2k.out" | grep -o "$many jobs: $many passed")" "0 $many jobs: $many passed"
check "... sampled enough to tell ($samples samples)" test "${samples:-0}" -ge 10
check "nsrun's open fds stay flat over $((hi - lo)) jobs (at most 2 workers' worth of spread: $fd_min..$fd_max)" \
        test "${fd_spread:-999}" -le 16
if ldd "$NSRUN_BIN" 2>/dev/null | grep -q libasan; then
        # AddressSanitizer keeps freed memory in quarantine (256 MiB by default): RSS grows by design there;
        # LeakSanitizer checks leaks instead (.ci/sanitizers).
        ok "nsrun's RSS stays flat # SKIP under AddressSanitizer (spread $rss_spread kB)"
else
        check "nsrun's RSS stays flat over $((hi - lo)) jobs (spread $rss_spread kB, at most 1 MiB)" \
                test "${rss_spread:-99999}" -le 1024
fi
is "... and nothing is left behind" "$(leftovers_of "$SCRATCH/2k.pid" "$mark" "$P" "$mounts0")" ""

echo "test-faults ran for $(( $(date +%s) - t_start )) s" | diag
done_testing
