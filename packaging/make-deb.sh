#!/bin/sh
# SPDX-License-Identifier: MIT
# make-deb.sh BUILD [JOBS]: builds the Debian package from a copy of the tree staged under
# BUILD/deb (with packaging/debian as debian/), without running the test suite inside the
# package build; leaves berth_VERSION_ARCH.deb and its dbgsym package in BUILD/.
set -eu
build=${1:-build} jobs=${2:-2}
cd "$(dirname "$0")/.."

version=$(sed -n 's/^#define BERTH_VERSION "\(.*\)"$/\1/p' common/version.h)
deb_version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
if [ -z "$version" ] || [ "${deb_version%%[-~+]*}" != "$version" ]; then
	echo "make-deb: packaging/debian/changelog is at $deb_version but common/version.h says" \
		"'$version': add a changelog entry for $version" >&2
	exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
stage=$build/deb/berth-$version
rm -rf "$build/deb"
mkdir -p "$stage"
# The tree as it is (committed or not), without build outputs and local state.
tar --exclude=./build --exclude=./var --exclude=./.git --exclude=./packaging/debian \
	--exclude='./berthd.conf' -cf - . | tar -C "$stage" -xf -
cp -R packaging/debian "$stage/debian"

log=$build/deb/dpkg-buildpackage.log
echo "  DEB     berth_${deb_version}_$arch.deb (log: $log)"
# The package's own make must not inherit the calling make's command line (`BUILD=...` reaches
# it through MAKEFLAGS and the environment): it would build into the caller's tree, relinking
# its binaries under the tests that run them.
if ! (cd "$stage" && unset MAKEFLAGS MAKEOVERRIDES MFLAGS MAKELEVEL BUILD SAN FUZZ &&
	DEB_BUILD_OPTIONS="nocheck parallel=$jobs ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b -j"$jobs") >"$log" 2>&1; then
	tail -40 "$log" >&2
	echo "make-deb: dpkg-buildpackage failed; the whole log is $log" >&2
	exit 1
fi
for f in "berth_${deb_version}_$arch.deb" "berth-dbgsym_${deb_version}_$arch.deb" \
	"berth-dbgsym_${deb_version}_$arch.ddeb" "berth_${deb_version}_$arch.changes" \
	"berth_${deb_version}_$arch.buildinfo"; do
	[ -f "$build/deb/$f" ] && cp "$build/deb/$f" "$build/"
done
ls "$build/berth_${deb_version}_$arch.deb" "$build"/berth-dbgsym_"${deb_version}"_"$arch".*deb
