#!/bin/bash
# run.sh — run the libFuzzer harnesses of a --enable-fuzzing build for a
# bounded time each, under AddressSanitizer (leak detection on) and UBSan;
# fail on any crash, leak, hang, out-of-memory or sanitizer report, and
# print how to reproduce it.  tests/bootstrap.sh check runs it.
#
#   tests/fuzz/run.sh BUILD_DIR [NAME...]     (NAME: config schedule result manifest)
#
#   FUZZ_SECONDS   time per harness (default 60)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (10)
#   FUZZ_RSS_MB    memory limit, also for a single allocation (2048)
#
# New inputs go to BUILD_DIR/tests/fuzz/corpus/NAME (the seeds in the
# source tree are only read); a failing input is written to
# BUILD_DIR/tests/fuzz/artifacts/NAME/.
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:?usage: tests/fuzz/run.sh BUILD_DIR [NAME...]}
build=$(cd "$build" && pwd) || exit 2
shift
[ $# -gt 0 ] || set -- config schedule result manifest
seconds=${FUZZ_SECONDS:-60}
timeout=${FUZZ_TIMEOUT:-10}
rss_mb=${FUZZ_RSS_MB:-2048}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0

# The figures libFuzzer prints with -print_final_stats=1.
stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

report_failure() {
	local name=$1 prog=$2 log=$3 artifact
	artifact=$(ls -t "$build/tests/fuzz/artifacts/$name"/* 2>/dev/null | head -1)
	echo "fuzz $name: FAILED" >&2
	grep -E -A40 "^==[0-9]+==ERROR|runtime error|ALARM|out-of-memory|fuzz_$name:" "$log" |
		head -80 >&2
	if [ -n "$artifact" ]; then
		echo "the input ($artifact):" >&2
		od -A d -c "$artifact" | head -20 >&2
		echo "reproduce: $prog $artifact" >&2
		echo "minimise:  $prog -minimize_crash=1 -max_total_time=60 $artifact" >&2
		echo "keep it:   cp MINIMISED $top/tests/fuzz/regress/$name/NAME (tests/fuzz/README.md)" >&2
	else
		echo "no input was saved; the log is $log" >&2
	fi
}

for name in "$@"; do
	prog=$build/tests/fuzz/fuzz_$name
	corpus=$build/tests/fuzz/corpus/$name
	artifacts=$build/tests/fuzz/artifacts/$name
	log=$build/tests/fuzz/fuzz_$name.out
	if [ ! -x "$prog" ]; then
		echo "fuzz $name: $prog is missing" >&2
		echo "hint: configure --enable-fuzzing CC=clang-14 in $build, then make fuzz" >&2
		exit 2
	fi
	mkdir -p "$corpus" "$artifacts"
	rm -f "$artifacts"/*
	regress=()
	[ -d "$top/tests/fuzz/regress/$name" ] && regress=("$top/tests/fuzz/regress/$name")
	"$prog" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss_mb" \
		-print_final_stats=1 -artifact_prefix="$artifacts/" \
		"$corpus" "$top/tests/fuzz/corpus/$name" "${regress[@]}" >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		failed=1
		report_failure "$name" "$prog" "$log"
		continue
	fi
	runs=$(stat number_of_executed_units "$log")
	printf 'fuzz %-9s %10s runs in %s s, %s exec/s, %s new inputs\n' "$name" "${runs:-?}" \
		"$seconds" "$(stat average_exec_per_sec "$log")" "$(stat new_units_added "$log")"
done
exit $failed
