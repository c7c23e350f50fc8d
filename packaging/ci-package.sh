#!/bin/bash
# CI stage for the Debian package, as root on Debian 12 or Ubuntu: builds the .deb (packaging/build-deb.sh), runs
# lintian on it (fails on errors), installs it with apt-get, checks the installed files and runs, from the
# installed package only, 'nsrun doctor', 'nsrun exec -- true', 'nsrun -- true' and a small pytest suite in a
# temporary project, as root and as an unprivileged user; then purges the package. Takes about a minute.
#
#   packaging/ci-package.sh [OUTDIR]      (the .deb is kept in OUTDIR, default build-deb/)
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-deb}
n=0
failed=0
installed=
tmp=

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# check DESCRIPTION COMMAND...: shows the command's output when it fails
check() {
        local desc=$1 o
        shift
        if o=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc"; printf '%s\n' "$o" | sed 's/^/# /'; fi
}
die() { echo "ci-package: $*" >&2; exit 1; }

cleanup() {
        [ -n "$installed" ] && DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq nsrun >/dev/null 2>&1
        [ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || die "run this as root: it installs and removes the package"
dpkg-query -W -f='${Status}' nsrun 2>/dev/null | grep -q 'ok installed' &&
        die "nsrun is already installed here; remove it first (apt-get purge nsrun), this stage installs its own"
for tool in dpkg-buildpackage dh lintian; do
        command -v "$tool" >/dev/null || die "$tool is missing; run .ci/install-deps"
done

# --- build ---
start=$SECONDS
mkdir -p "$out"
"$src/packaging/build-deb.sh" "$out" > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; die "the build failed (log: $out/build.log)"; }
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -n 1)
deb=$(ls "$out"/nsrun_"$version"-*_*.deb | grep -v dbgsym | head -n 1)
ok "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) in $((SECONDS - start)) s"

# --- lintian ---
lint=$(lintian --fail-on error --suppress-tags initial-upload-closes-no-bugs "$deb" \
        "${deb%_*.deb}_$(dpkg --print-architecture).changes" 2>&1 | grep -v 'running with root privileges')
printf '%s\n' "$lint" | sed '/^$/d; s/^/# lintian: /'
if printf '%s\n' "$lint" | grep -q '^E: '; then not_ok "lintian: no errors"; else ok "lintian: no errors"; fi

# --- install ---
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" > "$out/install.log" 2>&1 && installed=1
if [ -n "$installed" ]; then ok "apt-get installs it"; else not_ok "apt-get installs it"; sed 's/^/# /' "$out/install.log"; exit 1; fi
check "nsrun is /usr/bin/nsrun" test "$(command -v nsrun)" = /usr/bin/nsrun
check "--version: $(nsrun --version | head -n 1)" sh -c "nsrun --version | grep -qx 'nsrun $version'"
check "the man page is installed (man -w nsrun)" man -w nsrun
check "the completions are installed" test -s /usr/share/bash-completion/completions/nsrun \
        -a -s /usr/share/zsh/vendor-completions/_nsrun -a -s /usr/share/fish/vendor_completions.d/nsrun.fish
check "the pytest plugins are installed" test -s /usr/share/nsrun/pytest/nsrun_pytest.py -a -s /usr/share/nsrun/pytest/nsrun_xdist_worker.py -a -s /usr/share/nsrun/pytest/nsrun_rewrite.py
if [ -e /etc/apparmor.d/abi/4.0 ]; then
        check "AppArmor 4: the profile is in /etc/apparmor.d" test -s /etc/apparmor.d/nsrun
else
        check "AppArmor older than 4 or absent: no profile in /etc/apparmor.d (the parser would reject it)" \
                test ! -e /etc/apparmor.d/nsrun
fi

# --- run it, from the package only ---
tmp=$(mktemp -d /tmp/nsrun-ci-package.XXXXXX)
chmod 755 "$tmp"
user=nsrun-ci
made_user=
if ! getent passwd "$user" >/dev/null; then
        useradd --create-home --shell /bin/bash "$user" >/dev/null 2>&1 || die "cannot create the user $user"
        made_user=1
fi
mkdir -p "$tmp/root" "$tmp/user/tests"
cat > "$tmp/user/tests/test_port.py" <<'EOF'
import socket
def test_binds_8080():
    s = socket.socket(); s.bind(("127.0.0.1", 8080)); s.close()
EOF
cp "$tmp/user/tests/test_port.py" "$tmp/user/tests/test_port2.py"
cp -r "$tmp/user/tests" "$tmp/root/"
chown -R "$user:" "$tmp/user"

doctor=$(cd "$tmp/root" && nsrun doctor 2>&1); rc=$?
printf '%s\n' "$doctor" | sed 's/^/# /'
if [ "$rc" = 0 ]; then ok "root: nsrun doctor passes"; else not_ok "root: nsrun doctor passes (exit $rc)"; fi
check "root: nsrun exec -- true" sh -c "cd '$tmp/root' && nsrun exec -- true"
check "root: nsrun -- true" sh -c "cd '$tmp/root' && nsrun -- true"
if /usr/bin/python3 -c 'import pytest' 2>/dev/null; then
        check "root: nsrun -- pytest (the installed plugin; two files both bind port 8080)" \
                sh -c "cd '$tmp/root' && nsrun -- pytest -q"
fi

# Rootless: memory caps need a delegated cgroup, which a CI container seldom gives a plain user; the sandbox
# itself does not. So the user runs without caps, and doctor is only asked to tell the truth about it.
as_user() { runuser -u "$user" -- env -C "$tmp/user" HOME="$(getent passwd "$user" | cut -d: -f6)" "$@"; }
doctor=$(as_user nsrun doctor 2>&1); rc=$?
printf '%s\n' "$doctor" | grep -v '^ok' | sed 's/^/# /'
exec_rc=0; as_user nsrun exec -- true >/dev/null 2>&1 || exec_rc=$?
mem_rc=0; as_user nsrun exec --mem 64M -- true >/dev/null 2>&1 || mem_rc=$?
check "user: nsrun exec -- true" test "$exec_rc" = 0
check "user: doctor's exit status ($rc) agrees with 'nsrun exec --mem 64M' ($mem_rc)" \
        test "$([ "$rc" = 0 ] && echo 0 || echo 1)" = "$([ "$mem_rc" = 0 ] && echo 0 || echo 1)"
check "user: nsrun --mem-cap off -- true" as_user nsrun --mem-cap off -- true

# --- remove ---
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq nsrun >/dev/null 2>&1 && installed=
check "apt-get purge removes it" test -z "$installed" -a ! -e /usr/bin/nsrun -a ! -e /etc/apparmor.d/nsrun \
        -a ! -e /usr/share/nsrun
[ -n "$made_user" ] && userdel -r "$user" >/dev/null 2>&1

echo "1..$n"
echo "ci-package: $((n - failed)) passed, $failed failed in $((SECONDS - start)) s; package: $deb"
[ "$failed" = 0 ]
