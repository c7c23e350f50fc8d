#!/bin/sh
# Builds the nsrun RPM from this tree: makes Source0 (nsrun-VERSION.tar.gz, the files git knows and new ones it
# does not ignore) in a temporary rpmbuild tree, runs 'rpmbuild -bb' on packaging/rpm/nsrun.spec and copies the
# RPMs to OUTDIR (default: build-rpm/ in the tree).
#
#   packaging/build-rpm.sh [OUTDIR]
#
# Where rpm has no database of installed packages to check BuildRequires against (Debian's rpm package), it
# passes --nodeps: the build dependencies must then be installed with apt (.ci/install-deps). Also there, no
# debuginfo package is made, since Debian's rpm has no find-debuginfo.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-rpm}
spec=$src/packaging/rpm/nsrun.spec
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -n 1)
spec_version=$(sed -n 's/^Version: *//p' "$spec")
[ "$version" = "$spec_version" ] ||
        { echo "build-rpm: meson.build says $version, $spec says $spec_version; update the spec" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nsrun-rpm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/SOURCES" "$tmp/nsrun-$version" "$out"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$src" && git ls-files -z --cached --others --exclude-standard |
                tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$tmp/nsrun-$version"
else
        (cd "$src" && tar --exclude='./build*' --exclude=./.git -cf - .) | tar -xf - -C "$tmp/nsrun-$version"
fi
tar -C "$tmp" -czf "$tmp/SOURCES/nsrun-$version.tar.gz" "nsrun-$version"

set -- --define "_topdir $tmp"
if ! rpm -q rpm >/dev/null 2>&1 && ! rpm -q glibc >/dev/null 2>&1; then
        set -- "$@" --nodeps
        command -v find-debuginfo >/dev/null 2>&1 || [ -x /usr/lib/rpm/find-debuginfo.sh ] ||
                set -- "$@" --define "debug_package %{nil}"
fi
rpmbuild -bb "$@" "$spec"
find "$tmp/RPMS" -name '*.rpm' -exec cp {} "$out/" \;
echo "build-rpm: $(ls "$out"/nsrun-"$version"-*.rpm | tr '\n' ' ')"
