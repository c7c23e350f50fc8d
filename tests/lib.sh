# shellcheck shell=bash
# Shared helpers for nsrun's integration tests. Each test script prints TAP and is registered with meson twice:
# as the caller (root in CI) and, with NSRUN_TEST_AS=user, as an unprivileged user this harness creates.
#
#   NSRUN                 the binary under test (set by meson)
#   NSRUN_TESTS_MUST_RUN  1 in CI: a test that would be skipped fails instead (a skipped isolation test proves
#                         nothing)
#   NSRUN_TEST_AS=user    run nsrun as the unprivileged user 'nsrun-test' (created here when running as root)
set -u

TEST_USER=${NSRUN_TEST_USER:-nsrun-test}
_tap_n=0
_tap_failed=0

# A test that cannot run here says so with TAP's skip plan (meson counts it as SKIP; it reads exit 77 from a
# TAP test as an error). In CI, NSRUN_TESTS_MUST_RUN=1 makes it a failure.
skip_all() {
        if [ "${NSRUN_TESTS_MUST_RUN:-0}" = 1 ]; then
                echo "Bail out! cannot run, and NSRUN_TESTS_MUST_RUN=1 forbids skipping: $*"
                exit 1
        fi
        echo "1..0 # SKIP $*"
        exit 0
}

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
diag() { sed 's/^/# /'; }

# check DESCRIPTION COMMAND...: passes if COMMAND succeeds; shows its output when it fails.
check() {
        local desc=$1 out
        shift
        if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc"; printf '%s\n' "$out" | diag; fi
}

# is DESCRIPTION GOT WANT
is() {
        if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; printf 'got:  %s\nwant: %s\n' "$2" "$3" | diag; fi
}

# like DESCRIPTION TEXT REGEX
like() {
        if printf '%s' "$2" | grep -Eq -- "$3"; then ok "$1"; else not_ok "$1"; printf 'text: %s\nwant /%s/\n' "$2" "$3" | diag; fi
}

done_testing() {
        echo "1..$_tap_n"
        [ "$_tap_failed" = 0 ]
}

# A scratch directory every test user can reach, removed at exit. Tests write projects here, never in the repo.
setup_scratch() {
        SCRATCH=$(mktemp -d /tmp/nsrun-test.XXXXXX)
        chmod 755 "$SCRATCH"
        trap 'cleanup_scratch' EXIT
        # The binary is copied where the unprivileged user can run it (the checkout may be under /root).
        install -m 755 "$NSRUN" "$SCRATCH/nsrun"
        install -D -m 644 -t "$SCRATCH/runner" "$(dirname "$NSRUN")"/runner/nsrun_*.py
        NSRUN_BIN=$SCRATCH/nsrun
        DELEGATED_DIRS=()
        if [ "${NSRUN_TEST_AS:-}" = user ] && [ "$(id -u)" = 0 ]; then
                ensure_test_user
                chown "$TEST_USER:" "$SCRATCH"
                RUN_AS=(runuser -u "$TEST_USER" --)
                TEST_HOME=$(getent passwd "$TEST_USER" | cut -d: -f6)
                delegate_cgroups
        else
                RUN_AS=()
                TEST_HOME=$HOME
        fi
}

cleanup_scratch() {
        local f
        for f in "${CLEANUP_PIDS[@]:-}"; do [ -n "$f" ] && kill -9 "$f" 2>/dev/null; done
        undelegate_cgroups
        rm -rf "$SCRATCH"
}

ensure_test_user() {
        getent passwd "$TEST_USER" >/dev/null && return 0
        useradd --create-home --shell /bin/bash "$TEST_USER" >/dev/null 2>&1 ||
                skip_all "cannot create the test user '$TEST_USER'"
}

# as_test_user CMD...: runs CMD as the user the test is about (the caller, or the unprivileged test user).
# Rootless, CMD runs in cgroups that root delegated to the test user (owned by it, as systemd's Delegate=yes
# leaves them), unless NSRUN_TEST_NO_DELEGATION=1.
as_test_user() {
        if [ ${#RUN_AS[@]} -eq 0 ]; then
                "$@"
        elif [ -n "${DELEGATED_PROCS:-}" ] && [ "${NSRUN_TEST_NO_DELEGATION:-0}" != 1 ]; then
                sh -c 'for f in $DELEGATED_PROCS; do echo $$ > "$f" || exit 1; done; exec "$@"' sh \
                        "${RUN_AS[@]}" env HOME="$TEST_HOME" PATH="/usr/sbin:/usr/bin:/sbin:/bin" "$@"
        else
                "${RUN_AS[@]}" env HOME="$TEST_HOME" PATH="/usr/sbin:/usr/bin:/sbin:/bin" "$@"
        fi
}

# Delegates a cgroup to the test user in every hierarchy that caps or measures (memory, pids, cpuacct,
# freezer on v1; the unified one on v2), below the harness's own cgroup.
delegate_cgroups() {
        local line ctrls path mnt dir
        DELEGATED_DIRS=()
        DELEGATED_PROCS=
        while IFS=: read -r _ ctrls path; do
                case ",$ctrls," in
                *,memory,*) mnt=/sys/fs/cgroup/memory ;;
                *,pids,*) mnt=/sys/fs/cgroup/pids ;;
                *,cpuacct,*|*,cpu,cpuacct,*) mnt=/sys/fs/cgroup/cpuacct ;;
                *,freezer,*) mnt=/sys/fs/cgroup/freezer ;;
                ,,) [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && mnt=/sys/fs/cgroup || continue ;;
                *) continue ;;
                esac
                [ -d "$mnt" ] || continue
                dir=$mnt${path%/}/nsrun-test-deleg.$$
                mkdir -p "$dir" || continue
                chown -R "$TEST_USER:" "$dir"
                DELEGATED_DIRS+=("$dir")
                DELEGATED_PROCS="$DELEGATED_PROCS $dir/cgroup.procs"
        done < /proc/self/cgroup
        export DELEGATED_PROCS
}

undelegate_cgroups() {
        local d p
        for d in "${DELEGATED_DIRS[@]:-}"; do
                [ -n "$d" ] && [ -d "$d" ] || continue
                for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
                find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        done
}

# nsrun ARGS...: the binary under test, as the test user.
nsrun() { as_test_user "$NSRUN_BIN" "$@"; }

# copy_example NAME [EXAMPLE]: a bundled example (examples/EXAMPLE, default webapp), copied to a scratch project
# NAME owned by the test user.
copy_example() {
        local dir=$SCRATCH/${1:-webapp}
        cp -r "$NSRUN_SRC/examples/${2:-webapp}" "$dir"
        rm -rf "$dir/.nsrun" "$dir/.pytest_cache"
        find "$dir" -name __pycache__ -prune -exec rm -rf {} +
        [ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$dir"
        echo "$dir"
}

# tree_digest DIR: one hash of every file's path, mode and content, to prove a tree unchanged. nsrun's own
# .nsrun/ and pytest's cache, which nsrun merges back after a pytest run as pytest would write it (what may go
# there: test-pytest-compat.sh), are left out.
tree_digest() {
        (cd "$1" && find . \( -path ./.nsrun -o -path ./.pytest_cache \) -prune -o -type f -printf '%p %m\n' -exec sha256sum {} \; | sort | sha256sum)
}

# copy_project SRC NAME: a fresh copy of the directory SRC as the scratch project NAME, owned by the test user.
copy_project() {
        local dir=$SCRATCH/$2
        rm -rf "$dir"
        cp -r "$1" "$dir"
        [ ${#RUN_AS[@]} -gt 0 ] && chown -R "$TEST_USER:" "$dir"
        echo "$dir"
}

# run_in DIR CMD...: CMD in DIR as the test user (writing no .pyc), its output in DIR.out, its exit status returned
run_in() {
        local dir=$1
        shift
        (cd "$dir" && as_test_user env PYTHONDONTWRITEBYTECODE=1 "$@") > "$dir.out" 2>&1
}

# json FILE EXPR: a value from a JSON file (EXPR is Python over 'd').
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# A project directory owned by the test user.
make_project() {
        local dir=$SCRATCH/${1:-project}
        as_test_user mkdir -p "$dir"
        echo "$dir"
}

# Fails if nsrun cannot make a sandbox here at all (a skip locally, a failure in CI).
require_sandbox() {
        local out
        out=$(cd "$SCRATCH" && nsrun exec -- true 2>&1) || skip_all "this machine refuses sandboxes: $out"
}

# wait_for COMMAND...: polls up to 10 s.
wait_for() {
        local i
        for i in $(seq 100); do "$@" && return 0; sleep 0.1; done
        return 1
}
