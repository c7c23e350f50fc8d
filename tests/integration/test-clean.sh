#!/bin/bash
# nsrun clean: removes what killed runs left (their cgroups and what still runs in them, their run directories,
# half-written history files), one line each; leaves live runs and everything else alone; "nothing to clean"
# otherwise.
. "$(dirname "$0")/../lib.sh"

setup_scratch
require_sandbox
P=$(make_project)
cd "$P" || exit 1
run_cgroups() { find /sys/fs/cgroup -maxdepth 8 -type d -name "nsrun-$1" 2>/dev/null | wc -l; }
# start_time PID: field 22 of /proc/PID/stat, as nsrun names its runs
start_time() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20; }
nsrun_pid() { pgrep -f "^$NSRUN_BIN .*-- sleep $1" | head -1; }

# --- nothing there ---
out=$(nsrun clean 2>&1); rc=$?
is "a clean project: 'nothing to clean', exit 0" "$rc $out" "0 nothing to clean"

# --- a run killed with SIGKILL ---
marker=$((RANDOM + 31000))
nsrun -- sleep "$marker" > /dev/null 2>&1 & bg=$!
wait_for sh -c "ls '$P/.nsrun/runs' 2>/dev/null | grep -q . && pgrep -f '^sleep $marker' >/dev/null"
npid=$(nsrun_pid "$marker")
run="$npid-$(start_time "$npid")"
check "a run directory of the running nsrun exists ($run)" test -d "$P/.nsrun/runs/$run"
kill -9 "$npid"; wait "$bg" 2>/dev/null
wait_for sh -c "! pgrep -f '^sleep $marker'"
check "after SIGKILL its run directory is left behind" test -d "$P/.nsrun/runs/$run"
left=$(run_cgroups "$run")
check "... and its cgroups ($left)" test "$left" -gt 0
out=$(nsrun clean 2>&1); rc=$?
printf '%s\n' "$out" | diag
is "clean exits 0" "$rc" 0
like "... says it removed the run directory, naming it" "$out" "^removed $P/.nsrun/runs/$run$"
like "... and the cgroups of the killed run" "$out" '^removed the cgroups of 1 killed run '
check "... which are gone" test ! -e "$P/.nsrun/runs/$run"
is "... all of them" "$(run_cgroups "$run")" 0
out=$(nsrun clean 2>&1); rc=$?
is "a second clean: nothing to clean" "$rc $out" "0 nothing to clean"

# --- a run killed between freezing a job and thawing it (its kill loop freezes first) ---
# Its job's tasks stay frozen, and a frozen task acts on no signal: clean thaws before it kills.
marker=$((RANDOM + 31000))
nsrun -- sleep "$marker" > /dev/null 2>&1 & bg=$!
wait_for sh -c "pgrep -f '^sleep $marker' >/dev/null"
npid=$(nsrun_pid "$marker")
run="$npid-$(start_time "$npid")"
frozen=0
for d in $(find /sys/fs/cgroup -mindepth 2 -maxdepth 9 -type d -path "*/nsrun-$run/*" 2>/dev/null); do
        if [ -e "$d/freezer.state" ]; then echo FROZEN > "$d/freezer.state" && frozen=$((frozen + 1))
        elif [ -e "$d/cgroup.freeze" ]; then echo 1 > "$d/cgroup.freeze" && frozen=$((frozen + 1)); fi
done
check "the run's job cgroup is frozen ($frozen)" test "$frozen" -gt 0
kill -9 "$npid"; wait "$bg" 2>/dev/null
sleep 0.5
check "... and its command still runs, frozen, after nsrun's SIGKILL" pgrep -f "^sleep $marker"
out=$(as_test_user timeout 20 "$NSRUN_BIN" clean 2>&1); rc=$?
printf '%s\n' "$out" | diag
is "clean exits 0" "$rc" 0
like "... removing the frozen run's cgroups" "$out" '^removed the cgroups of 1 killed run '
is "... all of them" "$(run_cgroups "$run")" 0
wait_for sh -c "! pgrep -f '^sleep $marker'"
check "... and its command is gone" sh -c "! pgrep -f '^sleep $marker'"
# a clean that failed must not leave frozen tasks for every later run on this machine to wait on
for d in $(find /sys/fs/cgroup -mindepth 2 -maxdepth 9 -type d -path "*/nsrun-$run/*" 2>/dev/null); do
        if [ -e "$d/freezer.state" ]; then echo THAWED > "$d/freezer.state"
        elif [ -e "$d/cgroup.freeze" ]; then echo 0 > "$d/cgroup.freeze"; fi
done 2>/dev/null
pkill -9 -f "^sleep $marker"

# --- leftovers of every kind, beside things that are not leftovers ---
# a live process to own a run directory: any will do, clean reads only its pid and start time
sleep 300 < /dev/null > /dev/null 2>&1 & live=$!; CLEANUP_PIDS+=($live)
as_test_user sh -c "
        mkdir -p '$P/.nsrun/runs/4194999-1/junit' '$P/.nsrun/runs/$live-$(start_time $live)' '$P/.nsrun/runs/notarun' '$P/.nsrun/logs'
        echo x > '$P/.nsrun/runs/4194999-1/junit/a.xml'
        echo '{}' > '$P/.nsrun/history.json'
        echo '{' > '$P/.nsrun/history.json.4194999.tmp'
        echo log > '$P/.nsrun/logs/job.log'"
out=$(nsrun clean 2>&1); rc=$?
printf '%s\n' "$out" | diag
is "exit 0" "$rc" 0
is "one line per leftover, and only those" "$(printf '%s\n' "$out" | sort)" \
        "$(printf 'removed %s\nremoved %s\n' "$P/.nsrun/history.json.4194999.tmp" "$P/.nsrun/runs/4194999-1" | sort)"
check "the run directory of a live process stays" test -d "$P/.nsrun/runs/$live-$(start_time $live)"
check "a directory not named like a run stays" test -d "$P/.nsrun/runs/notarun"
check "history.json and the logs stay" test -s "$P/.nsrun/history.json" -a -s "$P/.nsrun/logs/job.log"
as_test_user rm -rf "$P/.nsrun/runs/$live-$(start_time $live)"
as_test_user mkdir -p "$P/.nsrun/runs/$live-1"
out=$(nsrun clean 2>&1)
is "a live pid with another start time (a reused pid) is a leftover" "$out" "removed $P/.nsrun/runs/$live-1"
kill "$live" 2>/dev/null

# --- $NSRUN_CACHE_DIR and --root-dir ---
C=$(make_project cache)
Q=$(make_project other)
as_test_user mkdir -p "$C/runs/4194998-7" "$P/.nsrun/runs/4194997-7" "$Q/.nsrun/runs/4194996-7"
out=$(NSRUN_CACHE_DIR=$C nsrun clean 2>&1)
is "with NSRUN_CACHE_DIR: its leftovers and the project's" "$(printf '%s\n' "$out" | sort)" \
        "$(printf 'removed %s\nremoved %s\n' "$C/runs/4194998-7" "$P/.nsrun/runs/4194997-7" | sort)"
out=$(cd "$SCRATCH" && as_test_user "$NSRUN_BIN" clean --root-dir "$Q" 2>&1)
is "--root-dir: the leftovers of that project" "$out" "removed $Q/.nsrun/runs/4194996-7"

# --- --setup layers in /var/tmp/nsrun-UID ---
uid=$(as_test_user id -u)
layers=/var/tmp/nsrun-$uid
as_test_user sh -c "mkdir -p -m 700 '$layers' && mkdir -p '$layers/4194993-1/upper' '$layers/notarun'"
if [ "$(stat -c '%u %a' "$layers")" = "$uid 700" ]; then
        out=$(nsrun clean 2>&1)
        is "the --setup layers of a killed run are removed" "$out" "removed $layers/4194993-1"
        check "... and nothing else there" test -d "$layers/notarun"
        as_test_user rmdir "$layers/notarun"
        chmod 755 "$layers"; as_test_user mkdir -p "$layers/4194993-2"
        out=$(nsrun clean 2>&1)
        is "a /var/tmp/nsrun-UID that is not private is not looked into" "$out" "nothing to clean"
        chmod 700 "$layers"; as_test_user rmdir "$layers/4194993-2"
else
        ok "# SKIP $layers is not a private directory of uid $uid"
fi

# --- a run going on at the same time is left alone ---
nsrun -- sh -c "sleep 2; echo done" > "$SCRATCH/live.out" 2>&1 & bg=$!
wait_for sh -c "ls '$P/.nsrun/runs' 2>/dev/null | grep -qE '^[0-9]+-[0-9]+$'"
out=$(nsrun clean 2>&1)
is "clean during a run: nothing to clean" "$out" "nothing to clean"
wait "$bg"
is "... and the run passes" "$?" 0

# --- what cannot be removed ---
if [ ${#RUN_AS[@]} -gt 0 ]; then
        mkdir -p "$P/.nsrun/runs/4194995-1/locked" && touch "$P/.nsrun/runs/4194995-1/locked/f"
        out=$(nsrun clean 2>&1); rc=$?
        is "a leftover the user cannot remove: exit status 1" "$rc" 1
        like "... with a message naming it, the reason and the fix" "$out" \
                "^nsrun: Cannot remove $P/.nsrun/runs/4194995-1: Permission denied; remove it by hand, as its owner$"
        rm -rf "$P/.nsrun/runs/4194995-1"
fi

# --- usage ---
out=$(nsrun clean --bogus 2>&1); rc=$?
is "an unknown option: exit status 2" "$rc" 2
like "... naming it" "$out" "^nsrun: clean: unknown option '--bogus'; see 'nsrun clean --help'$"
nsrun clean extra >/dev/null 2>&1
is "an extra argument: exit status 2" "$?" 2
like "--help says what it removes" "$(nsrun clean --help | tr '\n' ' ')" 'Usage: nsrun clean .*cgroups.*run directories'

done_testing
