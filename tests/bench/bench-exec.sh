#!/bin/bash
# tests/bench/bench-exec.sh [MARKDOWN_FILE]
# Cost of one sandboxed `true`, in ONE hyperfine run, for:
#   nsrun      $NSRUN exec -- true                         (NSRUN default: build/nsrun of this checkout)
#   bwrap      bwrap --unshare-all --die-with-parent --ro-bind / / --tmpfs /tmp --proc /proc --dev /dev true
#   unshare    unshare -Urmnpf --mount-proc true
# Runs as whichever user calls it (root, or unprivileged with user namespaces).
# Writes hyperfine's markdown table to MARKDOWN_FILE (default: stdout; hyperfine's
# own report then goes to stderr), then prints the ratio of nsrun's median to
# bwrap's.  Installs hyperfine and bubblewrap with apt-get if missing (root only).
# Env: NSRUN, BENCH_RUNS (200), BENCH_WARMUP (20), BENCH_JSON (keep hyperfine's
#      JSON export there; default a temporary file).
# Exit: 0; 77 if `nsrun exec -- true` does not work here (the other two are
#      still measured and reported); 1 on other errors.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
NSRUN=${NSRUN:-$SRC/build/nsrun}
RUNS=${BENCH_RUNS:-200}
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
echo "# $(uname -r), $(nproc) CPUs, user $(id -un), $RUNS runs after $WARMUP warm-up runs" >&2
# -N: exec directly, no intermediate shell whose start-up would blur the numbers
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$json" --export-markdown "$md" "${args[@]}" >&2

[ -n "$md_out" ] || cat "$md"
# medians (seconds) by command name, with python3 from Debian or jq
medians=$(/usr/bin/python3 - "$json" <<'EOF' 2>/dev/null || jq -r '.results[] | "\(.command) \(.median)"' "$json"
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"], r["median"])
EOF
)
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
