#!/bin/bash
# retention-bench.sh — the retention plugin against the runbook's single
# DELETE statements, side by side in one run, on the harness's ~1 GB
# `bench` data (tests/harness/seed.sh --scale bench: 3 million audit rows,
# half of them older than 90 days; 500 000 sessions, half expired).
#
#   make bench-retention               (from the build folder)
#   tests/bench/retention-bench.sh     (top_builddir defaults to ./_build)
#
# Each round copies the seeded database twice (CREATE DATABASE ... TEMPLATE,
# untimed) and, on one copy, times the anchor: the runbook's statements,
#   DELETE FROM patient_input_auditlog WHERE "timestamp" < now() - interval '90 days'
#   DELETE FROM django_session WHERE expire_date < now()
# and on the other `caretaker run` of the two shipped retention jobs
# (conf.d/20-weekly.ini, without archive_to: the anchor writes no archive).
# A third copy shows the jobs as shipped, the audit log archived first
# (no target: the runbook has nothing like it).
# A writer inserts an audit row every 10 ms during both
# (tests/integration/insert-writer) and samples the longest open
# transaction of the deleting sessions.  Printed: wall time, the ratio to
# the anchor, rows deleted, the longest transaction (caretaker's own
# measure and the writer's sample) and the writer's worst insert, as
# medians of ROUNDS rounds, the anchor measured beside caretaker in each.
#
# Targets: caretaker <= 1.5x the anchor's wall time, no transaction longer
# than 1 s.  The machine may be shared: the load average is printed before
# and after, and the order of the two alternates between rounds.
#
# Environment: SCALE (seed.sh scale, default bench); ROUNDS (default 3);
# BENCH_CLUSTER=DIR uses an already seeded harness cluster instead of
# starting one (its patient_input database is only read, as a template).
set -euo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/_build}
CARETAKER=${CARETAKER:-$top_builddir/caretaker}
WRITER=${WRITER:-$top_builddir/tests/integration/insert-writer}
SCALE=${SCALE:-bench}
ROUNDS=${ROUNDS:-3}
[ -x "$CARETAKER" ] || { echo "retention-bench: build caretaker first ($CARETAKER)" >&2; exit 1; }
[ -x "$WRITER" ] || { echo "retention-bench: build $WRITER first (make check builds it)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/retention-bench.XXXXXX")
chmod 755 "$work"
export PG_HARNESS_QUIET=1

if [ -n "${BENCH_CLUSTER:-}" ]; then
	eval "$("$top_srcdir/tests/harness/pg.sh" env "$BENCH_CLUSTER")"
else
	eval "$("$top_srcdir/tests/harness/pg.sh" start --owner $$)"
	echo "seeding (seed.sh --scale $SCALE) ..."
	"$top_srcdir/tests/harness/seed.sh" --scale "$SCALE" --quiet
fi
template=$PGDATABASE
cleanup() {
	psql -X -q -d "$template" -c "DROP DATABASE IF EXISTS bench_runbook" \
		-c "DROP DATABASE IF EXISTS bench_caretaker" -c "DROP DATABASE IF EXISTS bench_archived" \
		>/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

conn_of() { echo "host=$PGHOST port=$PGPORT dbname=$1 user=$PGUSER"; }
mkdir -p "$work/plugins" "$work/conf.d"
cp "$top_builddir"/plugins/*/.libs/*.so "$work/plugins/"
chmod 755 "$work/plugins"
chmod 644 "$work"/plugins/*.so
# write_config NAME DB ARCHIVE_TO: the shipped jobs against DB in
# $work/NAME.ini, archive_to replaced (or removed when empty).
write_config() {
	{
		printf '[caretaker]\nplugin_path = plugins\nstate_dir = state-%s\ntimeout = 2h\n' "$1"
		printf 'conninfo = %s\n\n' "$(conn_of "$2")"
		sed -n '/^\[expired-sessions\]/,/^timeout/p; /^\[audit-log-retention\]/,/^timeout/p' \
			"$top_srcdir/conf.d/20-weekly.ini" |
			sed "s#^archive_to = .*#${3:+archive_to = $3}#"
	} >"$work/$1.ini"
	chmod 644 "$work/$1.ini"
}
write_config caretaker bench_caretaker ""
write_config archived bench_archived "$work/archive"

# timed CMD...: runs CMD, sets $secs.
timed() {
	local t0=$EPOCHREALTIME
	"$@"
	secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
}
copy_db() {
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -d "$template" -c "DROP DATABASE IF EXISTS $1" \
		-c "CREATE DATABASE $1 TEMPLATE $template STRATEGY FILE_COPY" >/dev/null
}
INSERT="INSERT INTO patient_input_auditlog (\"timestamp\", user_id, action, object_type, object_id, changes) VALUES (now(), 1, 'VIEW', 'patient', '1', '{}')"
# with_writer DB PATTERN CMD...: CMD while the writer inserts every 10 ms;
# sets $secs (CMD's wall time) and the writer's $worst and $xact.
with_writer() {
	local db=$1 pattern=$2 w line
	shift 2
	"$WRITER" "$(conn_of "$db")" 10 "$pattern" "$INSERT" >"$work/writer" &
	w=$!
	sleep 0.5
	sync
	timed "$@"
	sleep 0.2
	kill -TERM "$w"
	wait "$w"
	line=$(cat "$work/writer")
	worst=$(awk '{ print $4 }' <<<"$line")
	xact=$(awk '{ print $8 }' <<<"$line")
}
runbook() {
	PGAPPNAME=runbook-delete psql -X -q -v ON_ERROR_STOP=1 -d bench_runbook \
		-c "DELETE FROM patient_input_auditlog WHERE \"timestamp\" < now() - interval '90 days'" \
		-c "DELETE FROM django_session WHERE expire_date < now()"
}
# caretaker_jobs CONFIG: both jobs, their lines in $work/CONFIG.out.
caretaker_jobs() {
	"$CARETAKER" -c "$work/$1.ini" run audit-log-retention expired-sessions >"$work/$1.out" 2>&1 ||
		{ cat "$work/$1.out" >&2; exit 1; }
}
# metric CONFIG JOB NAME: from the newest run of JOB.
metric() {
	"$CARETAKER" -c "$work/$1.ini" report "$2" --format json -n 1 | python3 -c '
import json, sys
r = json.load(sys.stdin)["runs"][0]
v = next(m["value"] for m in r["metrics"] if m["name"] == sys.argv[1])
print("%d" % v if v == int(v) else v)' "$3"
}
rows_left() {
	psql -X -At -d "$1" -c "SELECT (SELECT count(*) FROM patient_input_auditlog WHERE \"timestamp\" < now() - interval '91 days')
		+ (SELECT count(*) FROM django_session WHERE expire_date < now() - interval '1 day')"
}
# median [-f FORMAT] N...
median() {
	local fmt=%.3f
	[ "$1" = -f ] && { fmt=$2; shift 2; }
	printf '%s\n' "$@" | sort -g |
		awk -v f="$fmt" '{ v[NR] = $1 } END { printf f, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

rb_rows=$(psql -X -At -d "$template" -c "SELECT (SELECT count(*) FROM patient_input_auditlog WHERE \"timestamp\" < now() - interval '90 days')
	+ (SELECT count(*) FROM django_session WHERE expire_date < now())")
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, $ROUNDS rounds, about $rb_rows rows to delete"

declare -a rb_walls ct_walls ratios rb_worsts ct_worsts rb_xacts ct_xacts ct_longests
declare -a ar_walls ar_ratios ar_longests ar_worsts
measure_runbook() {
	copy_db bench_runbook
	with_writer bench_runbook runbook-delete runbook
	rb_wall=$secs
	rb_worsts+=("$worst")
	rb_xacts+=("$xact")
	[ "$(rows_left bench_runbook)" = 0 ] || { echo "retention-bench: the runbook left old rows" >&2; exit 1; }
}
# longest_ms CONFIG: the longer of the two jobs' longest transactions.
longest_ms() {
	awk -v a="$(metric "$1" audit-log-retention longest_transaction_seconds)" \
		-v b="$(metric "$1" expired-sessions longest_transaction_seconds)" \
		'BEGIN { printf "%.1f", (a > b ? a : b) * 1000 }'
}
measure_caretaker() {
	copy_db bench_caretaker
	with_writer bench_caretaker 'caretaker/%' caretaker_jobs caretaker
	ct_wall=$secs
	ct_worsts+=("$worst")
	ct_xacts+=("$xact")
	ct_longests+=("$(longest_ms caretaker)")
	ct_rows=$(awk -v a="$(metric caretaker audit-log-retention rows_deleted)" \
		-v b="$(metric caretaker expired-sessions rows_deleted)" 'BEGIN { printf "%d", a + b }')
	[ "$(rows_left bench_caretaker)" = 0 ] || { echo "retention-bench: caretaker left old rows" >&2; exit 1; }
}
measure_archived() {
	rm -rf "$work/archive"
	copy_db bench_archived
	with_writer bench_archived 'caretaker/%' caretaker_jobs archived
	ar_walls+=("$secs")
	ar_worsts+=("$worst")
	ar_longests+=("$(longest_ms archived)")
	ar_bytes=$(metric archived audit-log-retention archive_bytes)
	ar_files=$(metric archived audit-log-retention archive_files)
}
for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then
		measure_runbook
		measure_caretaker
	else
		measure_caretaker
		measure_runbook
	fi
	measure_archived
	rb_walls+=("$rb_wall")
	ct_walls+=("$ct_wall")
	ratios+=("$(awk -v a="$ct_wall" -v b="$rb_wall" 'BEGIN { printf "%.3f", a / b }')")
	ar_ratios+=("$(awk -v a="${ar_walls[-1]}" -v b="$rb_wall" 'BEGIN { printf "%.3f", a / b }')")
	psql -X -q -d "$template" -c "DROP DATABASE bench_runbook" -c "DROP DATABASE bench_caretaker" \
		-c "DROP DATABASE bench_archived" >/dev/null
done

row() { printf '%-46s %7s %9s %8s %18s %13s\n' "$@"; }
echo
row "what (median of $ROUNDS rounds)" "wall s" "x anchor" "rows" "longest xact ms" "worst insert"
row "runbook: 2 DELETE statements (anchor)" "$(median "${rb_walls[@]}")" "1.00" "$rb_rows" \
	"$(median -f %.1f "${rb_xacts[@]}") (sampled)" "$(median -f %.1f "${rb_worsts[@]}") ms"
row "caretaker: the 2 retention jobs" "$(median "${ct_walls[@]}")" "$(median -f %.2f "${ratios[@]}")" \
	"$ct_rows" "$(median -f %.1f "${ct_longests[@]}") ($(median -f %.1f "${ct_xacts[@]}"))" \
	"$(median -f %.1f "${ct_worsts[@]}") ms"
row "caretaker: as shipped, audit log archived" "$(median "${ar_walls[@]}")" "$(median -f %.2f "${ar_ratios[@]}")" \
	"$ct_rows" "$(median -f %.1f "${ar_longests[@]}")" "$(median -f %.1f "${ar_worsts[@]}") ms"
echo "(longest xact: caretaker's own measure; in brackets, and for the runbook, the writer's sample"
echo " of pg_stat_activity.xact_start; archived: $ar_files files, $ar_bytes bytes of gzip)"
echo "runbook per round: wall ${rb_walls[*]}; transactions sampled ${rb_xacts[*]} ms"
echo "caretaker per round: wall ${ct_walls[*]}; x anchor ${ratios[*]}; longest transaction ${ct_longests[*]} ms"
echo "archived per round: wall ${ar_walls[*]}; x anchor ${ar_ratios[*]}; longest transaction ${ar_longests[*]} ms"
echo "caretaker's last run (without archive):"
sed 's/^/  /' "$work/caretaker.out"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "targets: caretaker <= 1.50x the anchor's wall time; no caretaker transaction over 1000 ms"
