#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# alarms.sh: CPU of one alarm evaluation pass - 10,000 alarms on 1000 task series, every alarm
# due at the same minute boundary (the worst case) - against the passes where nothing is due
# and the collector's own cycle in the same run. Prints figures; asserts nothing (run by hand:
# BERTH_BUILD=build tests/bench/alarms.sh [TASKS ALARMS MINUTES]).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BERTH_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
cd "$ROOT"
REL=${BUILD#"$ROOT"/}
make -s "BUILD=$REL" "$REL/tests/bench/alarms_bench" >/dev/null 2>&1 || make "BUILD=$REL" "$REL/tests/bench/alarms_bench"
DIR=$(mktemp -d /dev/shm/berth-alarms-bench.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$DIR"' EXIT
"$BUILD/tests/bench/alarms_bench" "${1:-1000}" "${2:-10000}" "$DIR" "${3:-10}"
