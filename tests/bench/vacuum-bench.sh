#!/bin/bash
# vacuum-bench.sh — the vacuum plugin (mode = auto) against the runbook's
# `VACUUM ANALYZE` of everything, in one run, on the harness's ~1 GB
# `bench` data (tests/harness/seed.sh --scale bench).
#
#   make bench-vacuum                  (from the build folder)
#   tests/bench/vacuum-bench.sh        (top_builddir defaults to ./_build)
#
# The database as a live one looks under autovacuum, on average: every
# table vacuumed and analyzed once, then the application's writes since,
# every table halfway to autovacuum's thresholds (10% more rows in the
# audit log and the security events, where the insert threshold is 20%;
# 10% of the patients updated, where the dead tuple threshold is 20%),
# except one past them: a quarter of the sessions updated, 125 000 dead
# tuples.  Each round builds that state twice, from the same start,
# and times one of the two on it:
#   the anchor:  psql -c 'VACUUM ANALYZE'      (the runbook)
#   caretaker:   caretaker run vac             (mode = auto, the defaults)
# and, for scale, the floor: the one statement caretaker chooses, by hand
# (psql -c 'VACUUM (ANALYZE) django_session'), which no tool can beat.
# Before each timed step a CHECKPOINT and a sync, so that neither pays
# for writes of the other.  The table shows medians over the rounds (the
# ratio is the median of each round's caretaker/anchor ratio), and what
# each caretaker run did.
#
# Target on 2 cores: caretaker <= 0.3x the anchor's wall time.  The
# machine may be shared: the load average is printed before and after.
#
# Environment: SCALE (seed.sh scale, default bench); ROUNDS (default 5);
# BENCH_CLUSTER=DIR uses an already seeded harness cluster instead of
# starting one (its tables get the updates above).
set -euo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/_build}
CARETAKER=${CARETAKER:-$top_builddir/caretaker}
SCALE=${SCALE:-bench}
ROUNDS=${ROUNDS:-5}
[ -x "$CARETAKER" ] || { echo "vacuum-bench: build caretaker first ($CARETAKER)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vacuum-bench.XXXXXX")
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
export PG_HARNESS_QUIET=1

if [ -n "${BENCH_CLUSTER:-}" ]; then
	eval "$("$top_srcdir/tests/harness/pg.sh" env "$BENCH_CLUSTER")"
else
	eval "$("$top_srcdir/tests/harness/pg.sh" start --owner $$)"
	echo "seeding (seed.sh --scale $SCALE) ..."
	"$top_srcdir/tests/harness/seed.sh" --scale "$SCALE" --quiet
fi

mkdir -p "$work/plugins"
cp "$top_builddir"/plugins/*/.libs/*.so "$work/plugins/"
chmod 755 "$work/plugins"
chmod 644 "$work"/plugins/*.so
{
	printf '[caretaker]\nplugin_path = plugins\nstate_dir = state\ntimeout = 1h\n'
	printf 'conninfo = host=%s port=%s dbname=%s user=%s\n' "$PGHOST" "$PGPORT" "$PGDATABASE" "$PGUSER"
	printf '\n[vac]\nplugin = vacuum\n'
} >"$work/caretaker.ini"
chmod 644 "$work/caretaker.ini"

psql_() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# The state both steps start from: everything vacuumed and analyzed (the
# previous round's rows taken out first, so that the tables keep their
# size), then the writes of a live application, each table's statistics
# in place.
prepare() {
	psql_ -c "DELETE FROM patient_input_auditlog WHERE object_type = 'bench-drift'"
	psql_ -c "DELETE FROM patient_input_securityevent WHERE event_type = 'BENCH_DRIFT'"
	psql_ -c "VACUUM ANALYZE"
	psql_ -c "INSERT INTO patient_input_auditlog (\"timestamp\", user_id, action, object_type, object_id, changes, ip_address)
		SELECT now(), user_id, action, 'bench-drift', object_id, changes, ip_address FROM patient_input_auditlog WHERE id % 10 = 0"
	psql_ -c "INSERT INTO patient_input_securityevent (event_type, \"timestamp\", ip_address, username, user_id, details)
		SELECT 'BENCH_DRIFT', now(), ip_address, username, user_id, details FROM patient_input_securityevent WHERE id % 10 = 0"
	psql_ -c "UPDATE patient_input_patient SET updated_at = now() WHERE id % 10 = 0"
	psql_ -c "UPDATE django_session SET expire_date = expire_date + interval '1 s' WHERE abs(hashtext(session_key)) % 4 = 0"
	# Statistics reach the shared counters as each session ends.
	for _ in $(seq 100); do
		[ "$(psql_ -c "SELECT n_dead_tup > 100000 FROM pg_stat_user_tables WHERE relname = 'django_session'")" = t ] && break
		sleep 0.1
	done
	psql_ -c "CHECKPOINT"
	sync
}

# timed CMD...: runs CMD, sets $secs.
timed() {
	local t0=$EPOCHREALTIME
	"$@"
	secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
}

runbook() { psql_ -c "VACUUM ANALYZE"; }
floor_() { psql_ -c "VACUUM (ANALYZE) django_session"; }
ct() { "$CARETAKER" -c "$work/caretaker.ini" run vac >"$work/ct.out" 2>&1 || { cat "$work/ct.out" >&2; exit 1; }; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, $ROUNDS rounds"
echo "database: $(psql_ -c "SELECT pg_size_pretty(pg_database_size(current_database()))"), $(psql_ -c "SELECT count(*) FROM pg_stat_user_tables") tables"
anchors=() walls=() ratios=() floors=() floor_ratios=()
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
for ((r = 1; r <= ROUNDS; r++)); do
	prepare
	timed runbook
	anchor=$secs
	prepare
	timed ct
	wall=$secs
	prepare
	timed floor_
	anchors+=("$anchor") walls+=("$wall") floors+=("$secs")
	ratios+=("$(ratio "$wall" "$anchor")") floor_ratios+=("$(ratio "$secs" "$anchor")")
	echo "round $r: VACUUM ANALYZE $anchor s, caretaker $wall s, the floor $secs s; caretaker:" \
		"$(sed -n 's/^[a-z]*  *vac  *[0-9.]*s  *//p' "$work/ct.out")"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%-44s %8s %9s\n' "what (median of $ROUNDS rounds)" "wall s" "x anchor"
printf '%-44s %8s %9s\n' "psql -c 'VACUUM ANALYZE' (anchor, the runbook)" "$(median "${anchors[@]}")" "1.00"
printf '%-44s %8s %9s\n' "caretaker run vac (mode = auto)" "$(median "${walls[@]}")" "$(median "${ratios[@]}")"
printf '%-44s %8s %9s\n' "the floor: VACUUM (ANALYZE) django_session" "$(median "${floors[@]}")" "$(median "${floor_ratios[@]}")"
echo "target: caretaker <= 0.30x the anchor"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
