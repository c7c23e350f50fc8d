#!/bin/bash
# tests/bench/bench-exec.sh [MARKDOWN_FILE]
# Cost of one sandboxed `true`, in one run of this script, for:
#   nsrun      $NSRUN exec -- true                         (NSRUN default: build/nsrun of this checkout)
#   bwrap      bwrap --unshare-all --die-with-parent --ro-bind / / --tmpfs /tmp --proc /proc --dev /dev true
#   unshare    unshare -Urmnpf --mount-proc true
# hyperfine measures the three in BENCH_ROUNDS rounds (5) of BENCH_RUNS/BENCH_ROUNDS runs each, so that a
# machine that gets slower or faster during the run (a shared host) weighs on the three alike; the table is
# over all runs of all rounds.
# Runs as whichever user calls it (root, or unprivileged with user namespaces).
# Writes the markdown table to MARKDOWN_FILE (default: stdout; hyperfine's own
# report then goes to stderr), then prints the ratio of nsrun's median to
# bwrap's.  Installs hyperfine and bubblewrap with apt-get if missing (root only).
# Env: NSRUN, BENCH_RUNS (200, in all), BENCH_ROUNDS (5), BENCH_WARMUP (20, before the first round),
#      BENCH_JSON (keep the combined times there, JSON; default a temporary file).
# Exit: 0; 77 if `nsrun exec -- true` does not work here (the other two are
#      still measured and reported); 1 on other errors.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
NSRUN=${NSRUN:-$SRC/build/nsrun}
RUNS=${BENCH_RUNS:-200}
ROUNDS=${BENCH_ROUNDS:-5}
WARMUP=${BENCH_WARMUP:-20}
md_out=${1:-}

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v bwrap >/dev/null || need+=(bubblewrap)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "bench-exec.sh: missing ${need[*]}; run as root once or: sudo apt-get install -y ${need[*]}" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
json=${BENCH_JSON:-$tmp/bench.json}
md=${md_out:-$tmp/bench.md}

# each command must work on its own first: hyperfine would only say "non-zero exit"
names=() cmds=()
try() {         # try NAME COMMAND...
    local err
    if err=$("${@:2}" 2>&1 </dev/null); then
        names+=("$1"); cmds+=("$(printf '%q ' "${@:2}")")
    else
        echo "bench-exec.sh: '$*' does not work here, not measured:" >&2
        printf '%s\n' "$err" | sed 's/^/    /' >&2
        return 1
    fi
}
have_nsrun=1
try nsrun "$NSRUN" exec -- true || have_nsrun=0
try bwrap bwrap --unshare-all --die-with-parent --ro-bind / / --tmpfs /tmp --proc /proc --dev /dev true ||
    { echo "bench-exec.sh: bwrap is the reference; cannot go on" >&2; exit 1; }
try unshare unshare -Urmnpf --mount-proc true || true

args=()
for i in "${!names[@]}"; do args+=(--command-name "${names[$i]}" "${cmds[$i]}"); done
echo "# $(uname -r), $(nproc) CPUs, user $(id -un), $RUNS runs in $ROUNDS rounds after $WARMUP warm-up runs" >&2
# -N: exec directly, no intermediate shell whose start-up would blur the numbers
for ((i = 1; i <= ROUNDS; i++)); do
    hyperfine -N --warmup "$([ "$i" = 1 ] && echo "$WARMUP" || echo 3)" --runs $(((RUNS + ROUNDS - 1) / ROUNDS)) \
        --export-json "$tmp/round-$i.json" "${args[@]}" >&2
done

# every round's times together: hyperfine's table layout, and the medians (seconds) by command name
medians=$(/usr/bin/python3 - "$json" "$md" "$tmp"/round-*.json <<'EOF'
import json, statistics, sys
out_json, out_md, rounds = sys.argv[1], sys.argv[2], sys.argv[3:]
times = {}
for f in rounds:
    for r in json.load(open(f))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
json.dump({"results": [{"command": c, "times": t, "median": statistics.median(t)} for c, t in times.items()]},
          open(out_json, "w"))
fastest = min(statistics.mean(t) for t in times.values())
with open(out_md, "w") as md:
    md.write("| Command | Mean [ms] | Min [ms] | Max [ms] | Relative |\n|:---|---:|---:|---:|---:|\n")
    for c, t in times.items():
        m = statistics.mean(t)
        md.write("| `%s` | %.1f ± %.1f | %.1f | %.1f | %.2f |\n"
                 % (c, m * 1e3, statistics.stdev(t) * 1e3, min(t) * 1e3, max(t) * 1e3, m / fastest))
for c, t in times.items():
    print(c, statistics.median(t))
EOF
)
[ -n "$md_out" ] || cat "$md"
med() { awk -v n="$1" '$1 == n { print $2 }' <<<"$medians"; }
ms() { awk -v s="$1" 'BEGIN { printf "%.2f ms", s * 1000 }'; }
if [ $have_nsrun = 1 ]; then
    awk -v a="$(med nsrun)" -v b="$(med bwrap)" -v u="$(med unshare)" 'BEGIN {
        printf "median: nsrun %.2f ms, bwrap %.2f ms", a * 1000, b * 1000
        if (u != "") printf ", unshare %.2f ms", u * 1000
        printf "\nnsrun/bwrap median ratio: %.2f\n", a / b }'
else
    u=$(med unshare)
    echo "median: bwrap $(ms "$(med bwrap)")${u:+, unshare $(ms "$u")}"
    echo "nsrun/bwrap median ratio: n/a ($NSRUN exec -- true does not work here)"
    exit 77
fi
