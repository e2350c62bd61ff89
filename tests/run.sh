#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh: runs every test suite against each build directory given (plain, then sanitized)
# and ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 failures=()
log_dir=build/test-logs
mkdir -p "$log_dir"

# Runs one TAP-printing command; counts its "ok"/"not ok" lines. A command that exits
# non-zero without printing a failure counts as one failure (a crash, a sanitizer report).
run_suite() {
	local name=$1; shift
	local out="$log_dir/${name//\//_}.log" rc p f
	timeout "${SUITE_TIMEOUT:-600}" "$@" >"$out" 2>&1
	rc=$?
	p=$(grep -cE '^ok ' "$out")
	f=$(grep -cE '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$out"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		failures+=("$name")
		echo "FAIL $name ($p passed, $f failed; log: $out)"
		grep -E '^not ok |^  |ERROR|runtime error|AddressSanitizer|LeakSanitizer' "$out" | head -40 | sed 's/^/    /'
	else
		echo "ok   $name ($p passed)"
	fi
}

first=$1
for build in "$@"; do
	tag=$(basename "$build")
	export BERTH_BUILD=$build
	# The first build's integration tests drive the real aws CLI; later (sanitizer) passes
	# repeat them through berthctl, which speaks the same flags and starts 100x faster.
	if [ "$build" = "$first" ]; then unset BERTH_ECS_CLIENT; else export BERTH_ECS_CLIENT=berthctl; fi
	# Sanitizers: leaks are errors; the task supervisor is a fork without exec and exits
	# with _exit, which LeakSanitizer does not check.
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	for t in "$build"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		run_suite "$tag/unit/$(basename "$t")" "$t"
	done
	for t in "$build"/tests/fuzz/fuzz_*; do
		[ -x "$t" ] || continue
		corpus=tests/fuzz/corpus/$(basename "$t" | sed 's/^fuzz_//')
		[ -d "$corpus" ] || continue
		run_suite "$tag/fuzz/$(basename "$t")" "$t" "$corpus"
	done
	for t in tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		run_suite "$tag/integration/$(basename "$t" .sh)" bash "$t"
	done
done
if [ -n "${BERTH_BENCH:-}" ]; then
	for b in tests/bench/*.sh; do
		[ -f "$b" ] && BERTH_BUILD=$1 bash "$b"
	done
fi
echo
[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
