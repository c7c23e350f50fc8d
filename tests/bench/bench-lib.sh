# tests/bench/bench-lib.sh: sourced by the benchmark scripts of this directory.

# bench_need WHO PACKAGE...: the Debian packages a benchmark needs; the missing ones are installed with apt-get
# (as root), else WHO exits 1 naming them.
bench_need() {
        local who=$1 p missing=()

        shift
        for p in "$@"; do
                dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'install ok installed' || missing+=("$p")
        done
        [ ${#missing[@]} -gt 0 ] || return 0
        [ "$(id -u)" = 0 ] || { echo "$who: missing ${missing[*]}: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2; exit 1; }
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null ||
                { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null; }
}

# bench_workdir NAME: T, the work directory: $BENCH_DIR (made if needed, kept) or a new temporary directory
# /tmp/NAME.XXXXXX, removed on exit.
bench_workdir() {
        if [ -n "${BENCH_DIR:-}" ]; then
                T=$(realpath -m "$BENCH_DIR")
                mkdir -p "$T"
        else
                T=$(mktemp -d "/tmp/$1.XXXXXX")
                trap 'rm -rf "$T"' EXIT
        fi
}
