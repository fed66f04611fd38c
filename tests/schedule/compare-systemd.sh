#!/bin/sh
# compare-systemd.sh — check caretaker's schedule module against systemd.
#
# Runs every expression of expressions.txt, plus those gen-expressions.sh
# makes, through both tests/schedule/schedule-next and `systemd-analyze
# calendar --base-time=... --iterations=...`, and compares acceptance, the
# normalized OnCalendar= text and the next elapses.  Cron expressions are
# compared through their translation: systemd evaluates each translated
# line and the merged elapses must equal caretaker's.
#
# Input lines are expressions; "%tz ZONE", "%base EPOCH..." and
# "%iterations N" set the process time zone, base times and iteration count
# for the lines after them.  Expressions sharing zone, base and count go
# to one systemd-analyze run (groups of up to 40, run in parallel), which
# keeps the comparison to seconds.
#
# Output is TAP: one test, with every mismatch as a "#" line before it.
# Exit status: 0 all agree, 1 mismatches, 99 setup errors, 77 (automake
# SKIP) without a systemd-analyze that knows --base-time.  Under caretaker's
# TAP harness (top_builddir set) a skip is the plan "1..0 # SKIP ..." and
# exit 0, which tap-driver reports as SKIP; under CI=true it is a setup
# error (99).
# Environment: SCHEDULE_NEXT (driver path), SYSTEMD_ANALYZE, top_srcdir,
# top_builddir.

set -u

here=$(cd "$(dirname "$0")" && pwd)
data=${top_srcdir:+$top_srcdir/tests/schedule}
data=${data:-$here}
analyze=${SYSTEMD_ANALYZE:-systemd-analyze}
driver=${SCHEDULE_NEXT:-}
if [ -z "$driver" ]; then
	for d in "${top_builddir:-.}/tests/schedule/schedule-next" "$here/schedule-next"; do
		[ -x "$d" ] && driver=$d && break
	done
fi

# Under CI=true tests/bootstrap.sh has installed systemd: a skip there
# would hide a broken set-up, so it fails with the reason.
skip() {
	case "${CI:-}" in
	true | TRUE | 1 | yes)
		echo "Bail out! cannot run under CI=true: $1"
		exit 99
		;;
	esac
	echo "1..0 # SKIP $1"
	[ -n "${top_builddir:-}" ] && exit 0
	exit 77
}

if ! command -v "$analyze" >/dev/null 2>&1; then
	skip "systemd-analyze not found"
fi
if ! TZ=UTC "$analyze" calendar --base-time=@0 daily >/dev/null 2>&1; then
	skip "systemd-analyze calendar does not support --base-time"
fi
if [ -z "$driver" ] || [ ! -x "$driver" ]; then
	echo "Bail out! schedule-next driver not found (set SCHEDULE_NEXT)"
	exit 99
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/compare-systemd.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

# Cases, one per line: GROUP <TAB> TZ <TAB> BASE <TAB> ITERATIONS <TAB>
# EXPRESSION.  A group is at most 40 cases sharing zone, base and count.
{ cat "$data/expressions.txt"; sh "$data/gen-expressions.sh"; } | awk -v OFS='\t' '
	BEGIN { tz = "UTC"; nb = 1; base[1] = 1700000000; it = 5 }
	/^[ \t]*(#|$)/ { next }
	/^%tz / { tz = $2; next }
	/^%iterations / { it = $2; next }
	/^%base / { nb = 0; for (i = 2; i <= NF; i++) base[++nb] = $i; next }
	{
		for (i = 1; i <= nb; i++) {
			key = tz SUBSEP base[i] SUBSEP it
			n = count[key]++
			k = key SUBSEP int(n / 40)
			if (!(k in gid)) gid[k] = ++ng
			print gid[k], tz, base[i], it, $0
		}
	}
' >"$work/cases" || exit 99

cut -f1-4 "$work/cases" | awk '!seen[$0]++' >"$work/groups"

# One group: all expressions sharing a zone, base and iteration count.
run_group() {
	tz=$1 base=$2 it=$3 g="$work/g$4"
	awk -F'\t' -v id="$4" '$1 == id { sub(/^[^\t]*\t[^\t]*\t[^\t]*\t[^\t]*\t/, ""); print }' \
		"$work/cases" >"$g.exprs"
	# Expressions as positional parameters (they contain blanks and globs).
	set -f
	IFS='
'
	# shellcheck disable=SC2046
	set -- $(cat "$g.exprs")
	TZ=$tz "$driver" -n "$it" -b "$base" -- "$@" >"$g.ours" 2>&1
	# systemd sees calendar expressions as written, cron as translated.
	awk '/^expr: / { e = substr($0, 7); s = "" } /^syntax: / { s = $2; if (s != "cron") print e }
	     /^oncalendar: / && s == "cron" { print substr($0, 13) }
	     /^error: / { print e }' "$g.ours" | awk '!seen[$0]++' >"$g.sd-in"
	# shellcheck disable=SC2046
	set -- $(cat "$g.sd-in")
	TZ=$tz "$analyze" calendar --iterations="$it" --base-time="@$base" -- "$@" >"$g.theirs" 2>/dev/null
}

# Groups run in parallel: systemd-analyze forks for every elapse of an
# expression with a zone, which is what the time goes into.
while IFS='	' read -r id tz base it; do
	(run_group "$tz" "$base" "$it" "$id") &
	printf '%s\t%s\t%s\t%s\n' "$tz" "$base" "$it" "$id" >>"$work/index"
done <"$work/groups"
wait

# Compare every group; print details for each mismatch and the summary.
status=0
awk -F'\t' -v work="$work" '
# systemd-analyze prints one block per input, blank-line separated, and
# nothing for an input it rejects; "Original form" is left out when it
# equals the normalized form, so blocks are matched to inputs by position.
function load_theirs(file, inputs,    line, key, i, n, input) {
	delete norm; delete acc; delete ev; delete evn
	n = 0
	while ((getline line < inputs) > 0) input[++n] = line
	close(inputs)
	i = 1; key = input[1]
	while ((getline line < file) > 0) {
		if (line == "") { key = input[++i]; continue }
		acc[key] = 1
		if (line ~ /^ *Normalized form: /) { sub(/^ *Normalized form: /, "", line); norm[key] = line; continue }
		if (line ~ /^ *(Next elapse|Iter\. #[0-9]+): /) {
			sub(/^ *(Next elapse|Iter\. #[0-9]+): /, "", line)
			if (line != "never") ev[key, ++evn[key]] = line
			continue
		}
		if (line ~ /^ *\(in UTC\): /) { sub(/^ *\(in UTC\): /, "", line); ev[key, evn[key]] = line }
	}
	close(file)
}
function sortkey(s) { return substr(s, 5) }
# Merged first N elapses of the translated lines of a cron expression.
function merged(lines, nl, it,    all, n, i, j, k, t, out) {
	n = 0
	for (i = 1; i <= nl; i++)
		for (j = 1; j <= evn[lines[i]]; j++) all[++n] = ev[lines[i], j]
	for (i = 2; i <= n; i++) { t = all[i]; for (k = i - 1; k >= 1 && sortkey(all[k]) > sortkey(t); k--) all[k + 1] = all[k]; all[k + 1] = t }
	out = ""; k = 0
	for (i = 1; i <= n && k < it; i++) { if (i > 1 && all[i] == all[i - 1]) continue; out = out all[i] "|"; k++ }
	return out
}
function report(tz, base, e, what, want, got) {
	mism++
	if (mism <= 40) printf "# MISMATCH TZ=%s base=@%s %s\n#   expr: %s\n#   systemd:   %s\n#   caretaker: %s\n", tz, base, what, e, want, got
}
function check(tz, base, it,    i, want, got, lines, same) {
	if (syntax == "error") {
		if (e in acc) report(tz, base, e, "acceptance", "accepted", "rejected: " err)
		return
	}
	got = ""
	for (i = 1; i <= nnext; i++) got = got nexts[i] "|"
	if (syntax == "cron") {
		for (i = 1; i <= nl; i++) {
			lines[i] = ocl[i]
			if (!(ocl[i] in acc)) { report(tz, base, e, "translation rejected", "rejects " ocl[i], "emits it"); return }
			if (norm[ocl[i]] != ocl[i]) { report(tz, base, e, "translation not normalized", norm[ocl[i]], ocl[i]); return }
		}
		want = merged(lines, nl, it)
	} else {
		if (!(e in acc)) { report(tz, base, e, "acceptance", "rejected", "accepted"); return }
		if (norm[e] != ocl[1]) { report(tz, base, e, "normalized form", norm[e], ocl[1]); return }
		want = ""
		for (i = 1; i <= evn[e]; i++) want = want ev[e, i] "|"
	}
	if (want != got) report(tz, base, e, "elapses", want, got)
}
{
	tz = $1; base = $2; it = $3; g = $4
	load_theirs(work "/g" g ".theirs", work "/g" g ".sd-in")
	file = work "/g" g ".ours"
	e = ""; syntax = ""
	while ((getline line < file) > 0) {
		if (line ~ /^expr: /) { e = substr(line, 7); syntax = ""; nl = 0; nnext = 0; err = ""; continue }
		if (line ~ /^syntax: /) { syntax = substr(line, 9); continue }
		if (line ~ /^error: /) { syntax = "error"; err = substr(line, 8); continue }
		if (line ~ /^oncalendar: /) { ocl[++nl] = substr(line, 13); continue }
		if (line ~ /^next: /) { if (substr(line, 7) != "never") nexts[++nnext] = substr(line, 7); continue }
		if (line == "" && e != "") { n++; if (!(e in distinct)) { distinct[e] = 1; nd++ }; check(tz, base, it); e = "" }
	}
	close(file)
}
END {
	failed = mism > 0 || n == 0
	printf "1..1\n%s 1 - compared %d expressions (%d distinct) against systemd-analyze, %d mismatches\n",
		(failed ? "not ok" : "ok"), n, nd, mism
	exit failed
}' "$work/index" || status=1
exit $status
