#!/bin/bash
# tests/bench/run-all.sh: runs every benchmark of this directory in one go on this machine, as root and (for the
# sandbox start-up) as an unprivileged user, and writes docs/benchmarks.md with the tables and the commands
# that made them. Run it on a quiet machine: build nsrun first (meson compile -C build).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
OUT=${1:-$SRC/docs/benchmarks.md}
T=$(mktemp -d /tmp/nsrun-bench-all.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
USER_NAME=${NSRUN_BENCH_USER:-nsrun-test}

# What the benchmarks run, from Debian's archive: installed here when missing (as root). bench-blas.sh installs its
# OpenBLAS itself, keeping the system's BLAS as it was.
BENCH_PACKAGES=(hyperfine bubblewrap parallel python3-pytest python3-pytest-xdist python3-networkx python3-scipy
                python3-sympy python3-torch)
. "$HERE/bench-lib.sh"
bench_need run-all.sh "${BENCH_PACKAGES[@]}"

install -m 755 "$SRC/build/nsrun" "$T/nsrun"
install -D -m 644 -t "$T/runner" "$SRC"/build/runner/nsrun_*.py
bash "$HERE/bench-exec.sh" "$T/exec-root.md" > "$T/exec-root.txt" 2> "$T/exec-root.err"
if id "$USER_NAME" > /dev/null 2>&1; then
        install -d -o "$USER_NAME" "$T/user"
        (cd "$T/user" && runuser -u "$USER_NAME" -- env NSRUN="$T/nsrun" BENCH_JSON="$T/user/exec.json" \
                bash "$HERE/bench-exec.sh" "$T/user/exec.md" > "$T/exec-user.txt" 2> "$T/exec-user.err") || true
        cp "$T/user/exec.md" "$T/exec-user.md" 2> /dev/null || true
fi
bash "$HERE/bench-runner.sh" "$T/runner.md" 2> "$T/runner.err"
bash "$HERE/bench-suites.sh" "$SRC/build/nsrun" "$T/suites.md" 2> "$T/suites.err" ||
        { cat "$T/suites.err" >&2; exit 1; }
bash "$HERE/bench-floor.sh" "$SRC/build/nsrun" "$T/floor.md" 2> "$T/floor.err"
bash "$HERE/bench-blas.sh" "$SRC/build/nsrun" "$T/blas.md" 2> "$T/blas.err"
NSRUN="$SRC/build/nsrun" bash "$HERE/bench-admission.sh" "$T/admission.md" 2> "$T/admission.err"
NSRUN="$SRC/build/nsrun" bash "$HERE/bench-setup.sh" "$T/setup.md" 2> "$T/setup.err"
NSRUN="$SRC/build/nsrun" bash "$HERE/bench-ml.sh" "$T/ml.md" 2> "$T/ml.err"

{
        echo "# Benchmarks"
        echo
        echo "Measured by \`tests/bench/run-all.sh\` on $(date -u +%Y-%m-%d): $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')),"
        echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r), Debian $(cat /etc/debian_version), $("$SRC/build/nsrun" --version | head -1)."
        echo "Every table comes from one run of its script, all commands measured in that run on the same machine."
        echo "Timings are never asserted by the test suite; these are measurements, not promises."
        echo
        echo "## Starting one sandboxed command"
        echo
        echo "\`tests/bench/bench-exec.sh\`: \`nsrun exec -- true\` (every isolation on: user, mount, PID, network, IPC and"
        echo "UTS namespaces, the project and \$HOME overlaid, fresh /tmp, /var/tmp, /dev/shm, a new /proc, a minimal /dev,"
        echo "everything else read-only, lo up) beside bubblewrap and util-linux's unshare, hyperfine, 200 runs each in"
        echo "5 rounds, so that a machine whose speed drifts during the run weighs on the three alike."
        echo
        echo "As root:"
        echo
        cat "$T/exec-root.md"
        echo
        sed 's/^/    /' "$T/exec-root.txt"
        if [ -s "$T/exec-user.md" ]; then
                echo
                echo "As an unprivileged user (\`$USER_NAME\`):"
                echo
                cat "$T/exec-user.md"
                echo
                sed 's/^/    /' "$T/exec-user.txt"
        fi
        echo
        echo "## Running a suite"
        echo
        echo "\`tests/bench/bench-runner.sh\`:"
        echo
        cat "$T/runner.md"
        echo
        echo "\`tests/bench/bench-suites.sh\`: suites nobody here wrote, serial, \`pytest -n 2\` and nsrun's first and second runs:"
        echo
        cat "$T/suites.md"
        echo
        echo "\`tests/bench/bench-floor.sh\`: the least a sandbox per test (\`--dist test\`) can cost, against a job per file:"
        echo
        cat "$T/floor.md"
        echo
        echo "## Learned memory admission"
        echo
        echo "\`tests/bench/bench-admission.sh\` (as root: it makes the 6 GiB cgroup):"
        echo
        cat "$T/admission.md"
        echo
        echo "## The shared setup layer"
        echo
        echo "\`tests/bench/bench-setup.sh\`:"
        echo
        cat "$T/setup.md"
        echo
        echo "## An ML suite in a memory-capped container"
        echo
        echo "\`tests/bench/bench-ml.sh\` (as root: it makes the 6 GiB cgroups):"
        echo
        cat "$T/ml.md"
        echo
        echo "## BLAS threads: each job told its share of the CPUs"
        echo
        echo "\`tests/bench/bench-blas.sh\`:"
        echo
        cat "$T/blas.md"
} > "$OUT"
echo "wrote $OUT" >&2
