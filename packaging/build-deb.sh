#!/bin/sh
# Builds the nsrun .deb from this tree: copies the tree (the files git knows, and new ones it does not ignore) to
# a temporary directory, puts packaging/debian there as debian/, runs 'dpkg-buildpackage -b -us -uc' and copies
# the .deb, .buildinfo and .changes to OUTDIR (default: build-deb/ in the tree).
#
#   packaging/build-deb.sh [OUTDIR]
#
# Needs the Build-Depends of packaging/debian/control (.ci/install-deps installs them). Nothing in the tree is
# written to but OUTDIR.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-deb}
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -n 1)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nsrun-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
work=$tmp/nsrun-$version
mkdir -p "$work" "$out"

if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
        # --ignore-failed-read: a file git knows but the working tree has deleted is simply not copied.
        (cd "$src" && git ls-files -z --cached --others --exclude-standard |
                tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$work"
else
        (cd "$src" && tar --exclude='./build*' --exclude=./.git -cf - .) | tar -xf - -C "$work"
fi
rm -rf "$work/debian"
cp -r "$src/packaging/debian" "$work/debian"

(cd "$work" && dpkg-buildpackage -b -us -uc)
for f in "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes; do
        [ -e "$f" ] && cp "$f" "$out/"
done
echo "build-deb: $(ls "$out"/nsrun_"$version"-*.deb)"
