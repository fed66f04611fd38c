#!/bin/bash
# replay.sh — each fuzz harness over its seed corpus (tests/fuzz/corpus/NAME/)
# and over every input fuzzing found (tests/fuzz/regress/NAME/): one TAP
# line per input, failing on a crash, an abort or a sanitizer report.  Runs
# in `make check` with any compiler; the harnesses are then plain programs
# (tests/fuzz/standalone.c).
set -u

: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"

harnesses="config schedule result manifest"
fuzzdir=$top_srcdir/tests/fuzz
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	printf '%s\n' "$2" | tail -40 | sed 's/^/#   /'
}

for name in $harnesses; do
	prog=$top_builddir/tests/fuzz/fuzz_$name
	seeds=0
	for input in "$fuzzdir/corpus/$name"/* "$fuzzdir/regress/$name"/*; do
		[ -f "$input" ] || continue
		case $input in */corpus/*) seeds=$((seeds + 1)) ;; esac
		what="the $name harness takes ${input#"$fuzzdir"/}"
		if said=$("$prog" "$input" 2>&1); then
			ok "$what"
		else
			not_ok "$what" "exit status $?; $prog $input said:"$'\n'"$said"
		fi
	done
	if [ "$seeds" -gt 0 ]; then
		ok "the $name harness has a seed corpus ($seeds inputs)"
	else
		not_ok "the $name harness has a seed corpus" "no file in $fuzzdir/corpus/$name"
	fi
done
echo "1..$n"
