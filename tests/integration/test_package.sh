#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 300
# test: first-build
# test: timeout 2400
# test_package.sh: the Debian package suite (tests/package/test_package.sh) within make check.
# The package is built without sanitizers, so it runs once, for the plain build. Its first run
# on a machine makes the Debian chroot with debootstrap, hence the longer timeout.
exec bash "$(dirname "$0")/../package/test_package.sh"
