#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh: runs every test suite against each build directory given (plain, then sanitized)
# and ends with one line "N passed, N failed".
#
# Suites run TEST_JOBS at a time (default 4: most of a suite's time is spent waiting on tasks
# and timers, not on the CPU). A suite whose file has a line "# test: alone" measures CPU
# shares or timing-sensitive behaviour and runs with nothing else running, after the others.
# A suite with "# test: first-build" runs only against the first build directory.
# A suite with "# test: timeout SECONDS" may run that long (default SUITE_TIMEOUT or 600 s).
# A suite with "# test: weight SECONDS" says about how long it takes; the longest start first,
# so that the short ones (unit tests, fuzz corpora) fill the gaps at the end.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 failures=()
log_dir=build/test-logs
jobs=${TEST_JOBS:-4}
mkdir -p "$log_dir"
rm -f "$log_dir"/*.rc "$log_dir"/*.time "$log_dir"/*.cpu "$log_dir"/*.times

first=$1
builds=("$@")

# Environment of a suite for a build: the first build's integration tests drive the real aws
# CLI; later (sanitizer) passes repeat them through berthctl, which speaks the same flags and
# starts 100x faster.
suite_env() {
	local build=$1
	export BERTH_BUILD=$build
	if [ "$build" = "$first" ]; then unset BERTH_ECS_CLIENT; else export BERTH_ECS_CLIENT=berthctl; fi
	# Sanitizers: leaks are errors; the task supervisor is a fork without exec and exits
	# with _exit, which LeakSanitizer does not check.
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
}

# Runs one suite in the background: "name build command...". Its TAP goes to the log; its
# exit status and seconds to .rc and .time beside it.
start_suite() {
	local name=$1 build=$2; shift 2
	local out="$log_dir/${name//\//_}.log" limit=${SUITE_TIMEOUT:-600} a own
	for a in "$@"; do
		[[ $a == *.sh && -f $a ]] || continue
		own=$(sed -n 's/^# test: timeout \([0-9][0-9]*\)$/\1/p' "$a" | head -n 1)
		[ -n "$own" ] && [ "$own" -gt "$limit" ] && limit=$own
	done
	(
		suite_env "$build"
		t0=$(date +%s)
		timeout "$limit" "$@" >"$out" 2>&1
		echo $? >"$out.rc"
		# CPU seconds of the suite's reaped processes (user + system), beside its wall time.
		# (times itself must not run in a pipeline: a subshell has no children of its own)
		times >"$out.times"
		tail -n 1 "$out.times" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] } printf "%.0f\n", n }' >"$out.cpu"
		echo $(($(date +%s) - t0)) >"$out.time"
	) &
}

# Counts a finished suite's "ok"/"not ok" lines. A command that exits non-zero without
# printing a failure counts as one failure (a crash, a sanitizer report).
tally() {
	local name=$1
	local out="$log_dir/${name//\//_}.log" rc p f secs cpu
	rc=$(cat "$out.rc" 2>/dev/null || echo 1)
	secs=$(cat "$out.time" 2>/dev/null || echo '?')
	cpu=$(cat "$out.cpu" 2>/dev/null || echo '?')
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
		echo "FAIL $name ($p passed, $f failed, ${secs}s, cpu ${cpu}s; log: $out)"
		grep -E '^not ok |^  |ERROR|runtime error|AddressSanitizer|LeakSanitizer' "$out" | head -40 | sed 's/^/    /'
	else
		echo "ok   $name ($p passed, ${secs}s, cpu ${cpu}s)"
	fi
}

# The queue: "name|build|command words", shared and alone suites apart.
shared=() alone=()
for build in "${builds[@]}"; do
	tag=$(basename "$build")
	for t in "$build"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		shared+=("1|$tag/unit/$(basename "$t")|$build|$t")
	done
	for t in "$build"/tests/fuzz/fuzz_*; do
		[ -x "$t" ] || continue
		corpus=tests/fuzz/corpus/$(basename "$t" | sed 's/^fuzz_//')
		[ -d "$corpus" ] || continue
		shared+=("1|$tag/fuzz/$(basename "$t")|$build|$t $corpus")
	done
	for t in tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		if grep -q '^# test: first-build' "$t" && [ "$build" != "$first" ]; then
			continue
		fi
		w=$(sed -n 's/^# test: weight \([0-9][0-9]*\)$/\1/p' "$t" | head -n 1)
		entry="${w:-20}|$tag/integration/$(basename "$t" .sh)|$build|bash $t"
		if grep -q '^# test: alone' "$t"; then alone+=("$entry"); else shared+=("$entry"); fi
	done
done

running=()
run_pool() {
	local max=$1; shift
	local entry name build cmd
	for entry in "$@"; do
		IFS='|' read -r _ name build cmd <<<"$entry"
		while [ "${#running[@]}" -ge "$max" ]; do
			wait_one
		done
		# shellcheck disable=SC2086
		start_suite "$name" "$build" $cmd
		running+=("$name")
	done
	while [ "${#running[@]}" -gt 0 ]; do
		wait_one
	done
}

# Waits for a suite to end and tallies it. With no child left (127), whatever is still listed
# ended without a word and is tallied as such.
wait_one() {
	local name out
	wait -n 2>/dev/null
	if [ $? -eq 127 ]; then
		for name in "${running[@]}"; do
			out="$log_dir/${name//\//_}.log"
			[ -f "$out.time" ] || echo '?' >"$out.time"
		done
	fi
	reap
}

# Tallies the suites of `running` that have finished and drops them from it.
reap() {
	local still=() name out
	for name in "${running[@]}"; do
		out="$log_dir/${name//\//_}.log"
		if [ -f "$out.time" ]; then tally "$name"; else still+=("$name"); fi
	done
	running=("${still[@]+"${still[@]}"}")
}

start=$(date +%s)
# Longest first (a stable sort: equal weights keep their order, the plain build's first).
[ ${#shared[@]} -gt 0 ] && mapfile -t shared < <(printf '%s\n' "${shared[@]+"${shared[@]}"}" | sort -t'|' -k1,1nr -s)
if [ -n "${TEST_LIST:-}" ]; then  # the queue, in order, and nothing run
	printf '%s\n' "${shared[@]+"${shared[@]}"}" "${alone[@]+"${alone[@]}"}" | cut -d'|' -f1,2
	exit 0
fi
run_pool "$jobs" "${shared[@]+"${shared[@]}"}"
run_pool 1 "${alone[@]+"${alone[@]}"}"

if [ -n "${BERTH_BENCH:-}" ]; then
	for b in tests/bench/*.sh; do
		[ -f "$b" ] && BERTH_BUILD=$1 bash "$b"
	done
fi
echo
echo "tests took $(($(date +%s) - start)) s"
[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
