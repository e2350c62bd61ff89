#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_package.sh: the Debian package suite (tests/package/test_package.sh) within make check.
# The package is built without sanitizers, so the suite runs once, for the plain build; the
# sanitizer pass skips it.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BERTH_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
if grep -q -- '-fsanitize' "$BUILD/.flags" 2>/dev/null; then
	echo "# skipped for the sanitizer build $BUILD: the package is tested with the plain build"
	exit 0
fi
exec bash "$ROOT/tests/package/test_package.sh"
