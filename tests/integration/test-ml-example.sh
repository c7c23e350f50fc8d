#!/bin/bash
# The ML example (examples/ml, PyTorch on the CPU) under nsrun with small models (MODEL_MB=64): the same pass
# counts as serial pytest; its MemAvailable guard skips the large model in a job capped below it and runs it in
# one above; a model past its job's cap is reported out of memory; nothing is left behind. Root and rootless.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/leftovers.sh"

setup_scratch
require_sandbox
export PATH=/usr/sbin:/usr/bin:/sbin:/bin # Debian's pytest and python3, which have torch; not a pyenv's
[ -x /usr/bin/pytest ] && /usr/bin/python3 -c 'import torch' 2>/dev/null ||
        skip_all "needs Debian's pytest and PyTorch (apt-get install --no-install-recommends python3-pytest python3-torch)"
W=$(copy_example ml ml)
cd "$W" || exit 1
cgroups0=$(dead_cgroups)
mounts0=$(mount_count)

# counts PYTEST_JUNIT_XML: "passed failed skipped" of a pytest JUnit report
counts() {
        /usr/bin/python3 -c "
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
s = r if r.tag == 'testsuite' else r.find('testsuite')
t, f, e, k = (int(s.get(a)) for a in ('tests', 'failures', 'errors', 'skipped'))
print(t - f - e - k, f + e, k)" "$1"
}

# --- the suite small: serial pytest and nsrun agree, test for test ---
as_test_user env MODEL_MB=64 pytest -q -p no:cacheprovider --junitxml "$SCRATCH/serial.xml" > "$SCRATCH/serial.out" 2>&1
serial=$(counts "$SCRATCH/serial.xml")
is "serial pytest passes the whole example (MODEL_MB=64)" "$serial" "18 0 0"
as_test_user env MODEL_MB=64 "$NSRUN_BIN" -j 2 --mem-per-worker 1G --json "$SCRATCH/run.json" -- pytest \
        > "$SCRATCH/run.out" 2>&1
rc=$?
is "nsrun --mem-per-worker 1G -- pytest exits 0" "$rc" 0
is "... with serial pytest's pass, fail and skip counts" \
        "$(json "$SCRATCH/run.json" "' '.join(str(d['totals'][k]) for k in ('tests_passed', 'tests_failed', 'tests_skipped'))")" \
        "$serial"
is "... one job per test file, every job capped at 1 GiB" \
        "$(json "$SCRATCH/run.json" "(len(d['jobs']), {j['mem_limit_bytes'] for j in d['jobs']})")" "(6, {1073741824})"
[ "$rc" = 0 ] || tail -n 30 "$SCRATCH/run.out" | diag

# --- the large model's MemAvailable guard sees the job's cap, not the host ---
as_test_user env MODEL_MB=256 "$NSRUN_BIN" --mem-per-worker 300M --json "$SCRATCH/small.json" -- \
        pytest tests/test_large_model.py > "$SCRATCH/small.out" 2>&1
is "a 256 MiB model in a job capped at 300 MiB: skipped by its MemAvailable guard, not killed" \
        "$(json "$SCRATCH/small.json" "(d['totals']['tests_skipped'], d['totals']['tests_passed'], [j['status'] for j in d['jobs']])")" \
        "(1, 0, ['passed'])"
as_test_user env MODEL_MB=256 "$NSRUN_BIN" --mem-per-worker 1G --json "$SCRATCH/big.json" -- \
        pytest tests/test_large_model.py > "$SCRATCH/big.out" 2>&1
is "... and run in a job capped at 1 GiB, where its resident peak grows by the model's size" \
        "$(json "$SCRATCH/big.json" "(d['totals']['tests_passed'], d['jobs'][0]['peak_mem_bytes'] >= 256 << 20)")" "(1, True)"

# --- a model past its job's cap: killed, named as out of memory, the run fails. From an empty history: with the
# small run's history the job asks for its learned peak and, killed there, is rerun alone with the whole budget
# (issue 16 item 4 makes --mem-per-worker a hard cap then too) ---
as_test_user rm -rf "$W/.nsrun"
as_test_user env MODEL_MB=1024 "$NSRUN_BIN" --mem-per-worker 400M --json "$SCRATCH/oom.json" -- \
        pytest tests/test_classifier.py > "$SCRATCH/oom.out" 2>&1
rc=$?
is "a 512 MiB classifier under --mem-per-worker 400M: exit 1" "$rc" 1
is "... its job reported out of memory" "$(json "$SCRATCH/oom.json" "[j['status'] for j in d['jobs']]")" "['oom']"
like "... and the summary names it with its limit" "$(cat "$SCRATCH/oom.out")" \
        'tests/test_classifier.py: killed, out of memory \(limit 400 MiB'

sleep 0.2
is "no cgroup left behind" "$(dead_cgroups)" "$cgroups0"
is "no mount left behind" "$(mount_count)" "$mounts0"
done_testing
