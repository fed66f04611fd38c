#!/bin/bash
# The vacuum plugin against a throwaway cluster: known dead tuples, stale
# statistics and an old transaction ID age in tables of our own (autovacuum
# off on them), then exactly which tables mode = auto works on and why, the
# counts before and after, untouched tables left untouched, a dry run that
# changes nothing, mode = all with exclude, a table locked by another
# session (SKIP_LOCKED and lock_timeout) or not the job role's to vacuum,
# reindex = bloated and all, the
# leftover of an interrupted REINDEX CONCURRENTLY dropped and another
# invalid index left alone, a running backup that keeps the strong-lock
# steps away, VACUUM FULL by name, names with quotes and spaces, the
# configuration mistakes, and a run stopped mid-statement (timeout and
# SIGTERM) that says what it did and what it did not.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/backuplib.sh"

# The odd table: a schema with a space, a name with quotes and an attempt
# at SQL.  Its display (format('%I.%I')) and its name in a job's `tables`.
ODD_SQL='"Big Schema"."Odd ""Name""; DROP TABLE vt.quiet; --"'
ODD_SHOWN='"Big Schema"."Odd ""Name""; DROP TABLE vt.quiet; --"'

# psql -c for each argument, each in a session of its own, so that every
# session's statistics reach the shared counters when it ends.
each() { for s in "$@"; do psql -X -q -v ON_ERROR_STOP=1 -c "$s" >/dev/null || return 1; done; }

# wait_stat TABLE CONDITION: statistics arrive a moment after the session
# that made them ends; wait (5 s at most) until CONDITION holds for TABLE.
wait_stat() {
	local i
	for i in $(seq 50); do
		[ "$(sql "SELECT $2 FROM pg_stat_all_tables WHERE relid = '$1'::regclass")" = t ] && return 0
		sleep 0.1
	done
	echo "# statistics of $1 never showed $2: $(sql "SELECT n_dead_tup, n_mod_since_analyze FROM pg_stat_all_tables WHERE relid = '$1'::regclass")"
	return 1
}

# What every table has been through: "table vacuums analyzes".
counts() {
	sql "SELECT string_agg(format('%s %s %s', relid::regclass, vacuum_count, analyze_count), E'\n'
	     ORDER BY relid::regclass::text) FROM pg_stat_all_tables
	     WHERE schemaname !~ '^pg_' AND schemaname <> 'information_schema'"
}
# moved TABLE DV DA: between $before and $after, TABLE's vacuum and analyze
# counts went up by DV and DA.
moved() {
	local b a
	b=$(awk -v t="$1 " 'index($0, t) == 1 { print $(NF - 1), $NF }' <<<"$before")
	a=$(awk -v t="$1 " 'index($0, t) == 1 { print $(NF - 1), $NF }' <<<"$after")
	[ -n "$b" ] && [ "$(awk -v b="$b" -v dv="$2" -v da="$3" 'BEGIN { split(b, x, " "); print x[1] + dv, x[2] + da }')" = "$a" ] ||
		{ echo "# $1: vacuums and analyzes $b -> $a, expected +$2 +$3"; return 1; }
}

# hold NAME STATEMENT...: a session that runs the statements and then
# waits; prints its pid once they ran.  release PID ends it.
hold() {
	local name=$1 i
	shift
	{
		printf '%s;\n' "$@"
		echo "SELECT 'pid=' || pg_backend_pid();"
		echo "SELECT pg_sleep(60);"
	} | psql -X -At -v ON_ERROR_STOP=1 >"$T/$name.out" 2>&1 &
	for i in $(seq 200); do
		grep -q '^pid=' "$T/$name.out" && break
		sleep 0.05
	done
	sed -n 's/^pid=//p' "$T/$name.out"
}
release() { sql "SELECT pg_terminate_backend($1)" >/dev/null; sleep 0.2; }

metric() {
	report_json "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["runs"][0]
print(" ".join("%s=%g" % (m["name"], m["value"]) for m in r["metrics"]))'
}

# metrics_have JOB NAME=VALUE...: the newest run of JOB has these metrics
# (VALUE a regular expression).
metrics_have() {
	local m want
	m=$(metric "$1")
	shift
	for want in "$@"; do
		grep -qw -- "$want" <<<"$m" || { echo "# $want is not in: $m"; return 1; }
	done
}

oid_of() { sql "SELECT coalesce(to_regclass('$1')::oid, 0)"; }

# ---- fixtures: vt.old gets an old transaction ID age, the rest a fresh one ----
each "CREATE SCHEMA vt" \
	"CREATE TABLE vt.old (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false)" \
	"INSERT INTO vt.old SELECT g, md5(g::text) FROM generate_series(1, 100) g"
for i in $(seq 2000); do echo "SELECT txid_current();"; done | psql -X -q >/dev/null
for t in churn stats quiet; do
	each "CREATE TABLE vt.$t (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false)" \
		"INSERT INTO vt.$t SELECT g, md5(g::text) FROM generate_series(1, 1000) g"
done
each 'CREATE SCHEMA "Big Schema"' \
	"CREATE TABLE $ODD_SQL (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false)" \
	"INSERT INTO $ODD_SQL SELECT g, md5(g::text) FROM generate_series(1, 1000) g"
fresh=$(sql "SELECT string_agg(format('%I.%I', schemaname, relname), ', ') FROM pg_stat_user_tables
	WHERE relid <> 'vt.old'::regclass")
each "VACUUM (FREEZE, ANALYZE) $fresh" "ANALYZE vt.old"
# The work to find: 400 and 300 dead tuples, 200 new rows (statistics
# only), 10 dead tuples (below every threshold).
each "DELETE FROM vt.churn WHERE id <= 400" "INSERT INTO vt.stats SELECT g, 'x' FROM generate_series(1001, 1200) g" \
	"UPDATE vt.quiet SET v = v WHERE id <= 10" "DELETE FROM $ODD_SQL WHERE id <= 300"
wait_stat vt.churn "n_dead_tup = 400" && wait_stat vt.stats "n_mod_since_analyze = 200" &&
	wait_stat vt.quiet "n_dead_tup = 10" && wait_stat "$ODD_SQL" "n_dead_tup = 300" ||
	skip_all "the statistics never showed the fixtures' changes"

config <<CONF
[auto]
plugin = vacuum
freeze_age = 1000
CONF

# ---- mode = auto: a dry run, then the run ----
before=$(counts)
ct run --dry-run auto
findings auto >"$T/dry"
check "a dry run lists the four tables that need work, and why" eval 'rc_is 0 && [ "$(wc -l <"$T/dry")" -eq 4 ] &&
	grep -q "^info vt.old: would VACUUM (ANALYZE, FREEZE) because transaction ID age [0-9]* >= freeze_age 1000$" "$T/dry" &&
	grep -q "^info vt.churn: would VACUUM (ANALYZE) because 400 dead tuples > 250 (vacuum_threshold 50 + vacuum_scale_factor 0.2 x 1000 rows)" "$T/dry" &&
	grep -qF "info $ODD_SHOWN: would VACUUM (ANALYZE) because 300 dead tuples > 250" "$T/dry" &&
	grep -q "^info vt.stats: would ANALYZE because 200 rows modified since the last analyze > 150 (analyze_threshold 50 + analyze_scale_factor 0.1 x 1000 rows)$" "$T/dry" &&
	grep -q "dry run: would vacuum 3 (1 with FREEZE) and analyze 1 of 11 tables" "$out"'
check "the dry run changed nothing: no table was vacuumed or analyzed" eval '[ "$(counts)" = "$before" ] &&
	[ "$(sql "SELECT n_dead_tup FROM pg_stat_all_tables WHERE relid = '"'"'vt.churn'"'"'::regclass")" = 400 ]'

ct run auto
findings auto >"$T/auto"
check "mode = auto vacuums, freezes and analyzes exactly those tables, the oldest first" eval 'rc_is 0 &&
	grep -q "^ok  *auto .*vacuumed 3 (1 with FREEZE, 0 FULL) and analyzed 1 more of 11 tables, 700 dead tuples removed" "$out" &&
	[ "$(wc -l <"$T/auto")" -eq 4 ] && head -1 "$T/auto" | grep -q "^info vt.old: VACUUM (ANALYZE, FREEZE) because transaction ID age"'
check "each finding says the statement, why, and dead tuples and sizes before and after" eval '
	grep -q "^info vt.churn: VACUUM (ANALYZE) because 400 dead tuples > 250 (vacuum_threshold 50 + vacuum_scale_factor 0.2 x 1000 rows); 400 rows modified since the last analyze > 150 .*: dead tuples 400 -> 0, table [0-9.]* KiB -> [0-9.]* KiB, indexes [0-9.]* KiB -> [0-9.]* KiB, [0-9.]* s$" "$T/auto" &&
	grep -qF "info $ODD_SHOWN: VACUUM (ANALYZE) because 300 dead tuples > 250" "$T/auto" &&
	grep -q "^info vt.stats: ANALYZE because 200 rows modified since the last analyze > 150 .*: dead tuples 0 -> 0" "$T/auto"'
after=$(counts)
moved_as_planned() { moved vt.old 1 1 && moved vt.churn 1 1 && moved "$ODD_SHOWN" 1 1 && moved vt.stats 0 1; }
check "the server agrees: vacuum and analyze counts moved for exactly those tables" moved_as_planned
untouched() { diff <(grep -v -e "^vt.old " -e "^vt.churn " -e "^vt.stats " -e "^\"Big Schema\"" <<<"$before") \
	<(grep -v -e "^vt.old " -e "^vt.churn " -e "^vt.stats " -e "^\"Big Schema\"" <<<"$after"); }
check "every other table was left untouched (vt.quiet and the application's)" untouched
check "dead tuples are gone, vt.old is frozen, and the name with SQL in it stayed a name" eval '
	[ "$(sql "SELECT n_dead_tup FROM pg_stat_all_tables WHERE relid IN ('"'"'vt.churn'"'"'::regclass, '"'"'$ODD_SQL'"'"'::regclass) GROUP BY n_dead_tup")" = 0 ] &&
	[ "$(sql "SELECT age(relfrozenxid) < 100 FROM pg_class WHERE oid = '"'"'vt.old'"'"'::regclass")" = t ] &&
	[ "$(oid_of vt.quiet)" != 0 ]'
check "the metrics count tables vacuumed, analyzed and frozen, dead tuples and seconds" \
	metrics_have auto tables_considered=11 tables_planned=4 tables_vacuumed=3 tables_analyzed=4 \
	tables_frozen=1 tables_skipped=0 dead_tuples_removed=700 indexes_rebuilt=0 'duration_seconds=[0-9.e-]*' \
	'bytes_reclaimed=[0-9]*'

# ---- time since the last vacuum, mode = all, exclude, verbose ----
config <<CONF
[auto]
plugin = vacuum
freeze_age = 1000

[interval]
plugin = vacuum
tables = vt.quiet
vacuum_max_interval = 1s

[all]
plugin = vacuum
mode = all
tables = vt.*
exclude = vt.quiet, vt.st?ts

[talk]
plugin = vacuum
mode = all
tables = vt.quiet
verbose = yes
CONF
ct run auto
check "vt.quiet's 10 dead tuples pass no threshold" eval 'rc_is 0 && grep -q "nothing to do: none of 11 tables passed a threshold" "$out"'
sleep 1.2
ct run interval
check "vacuum_max_interval vacuums a table changed since its last vacuum longer ago" eval 'rc_is 0 &&
	[ "$(findings interval | wc -l)" -eq 1 ] &&
	findings interval | grep -q "^info vt.quiet: VACUUM (ANALYZE) because last vacuumed [0-9]*s ago (vacuum_max_interval) with 10 dead or new rows since: dead tuples 10 -> 0, "'
ct run all
check "mode = all vacuums every table in scope but the excluded ones, one at a time" eval 'rc_is 0 &&
	[ "$(findings all | cut -d: -f1 | sort | tr "\n" " ")" = "info vt.churn info vt.old " ] &&
	[ "$(findings all | grep -c "VACUUM (ANALYZE) because mode = all")" -eq 2 ]'
ct run talk
check "verbose keeps VACUUM VERBOSE's lines in the report" eval 'rc_is 0 &&
	report_json talk | python3 -c "import json, sys; o = json.load(sys.stdin)[\"runs\"][0][\"output\"]; assert \"vacuuming\" in o[\"verbose\"], o"'

# ---- a table another session holds ----
each "DELETE FROM vt.churn WHERE id <= 700"
wait_stat vt.churn "n_dead_tup = 300"
config <<CONF
[locked]
plugin = vacuum
tables = vt.churn

[impatient]
plugin = vacuum
tables = vt.churn
lock_timeout = 300ms
CONF
pid=$(hold suelock "BEGIN" "LOCK TABLE vt.churn IN SHARE UPDATE EXCLUSIVE MODE")
vacuums=$(sql "SELECT vacuum_count FROM pg_stat_all_tables WHERE relid = 'vt.churn'::regclass")
ct run locked
check "a table locked by another session is skipped (SKIP_LOCKED), naming who holds it" eval 'rc_is 0 &&
	grep -q "^warn  *locked .*skipped 1 tables" "$out" &&
	findings locked | grep -q "^warning vt.churn: VACUUM (ANALYZE) skipped: another session held a conflicting lock (SKIP_LOCKED): pid $pid (psql, [a-z ]*, transaction open [0-9]*s) holds ShareUpdateExclusiveLock (wanted because 300 dead tuples > [0-9]* " &&
	[ "$(sql "SELECT vacuum_count FROM pg_stat_all_tables WHERE relid = '"'"'vt.churn'"'"'::regclass")" = "$vacuums" ]'
release "$pid"
pid=$(hold aelock "BEGIN" "LOCK TABLE vt.churn IN ACCESS EXCLUSIVE MODE")
t0=$EPOCHREALTIME
ct run impatient
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
check "a table locked exclusively is skipped after lock_timeout ($secs s), naming who holds it" eval 'rc_is 0 &&
	findings impatient | grep -q "^warning vt.churn: VACUUM (ANALYZE) skipped: lock_timeout passed waiting to measure its size: pid $pid (psql, [a-z ]*, transaction open [0-9]*s) holds AccessExclusiveLock" &&
	awk -v s="$secs" "BEGIN { exit !(s < 3) }"'
release "$pid"

each "CREATE ROLE vt_app LOGIN" "GRANT USAGE ON SCHEMA vt TO vt_app" "UPDATE vt.quiet SET v = v WHERE id <= 600"
wait_stat vt.quiet "n_dead_tup = 600"
config <<CONF
[notmine]
plugin = vacuum
conninfo = host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=vt_app
tables = vt.quiet
CONF
ct run notmine
check "a table the job's role may not vacuum is skipped with the server's words" eval 'rc_is 0 &&
	findings notmine | grep -q "^warning vt.quiet: VACUUM (ANALYZE) skipped: .*skipping.* (wanted because 600 dead tuples"'
each "VACUUM ANALYZE vt.quiet"

# ---- reindex = bloated, then all ----
each "CREATE TABLE vt.bloat (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false)" \
	"INSERT INTO vt.bloat SELECT g, md5(g::text) FROM generate_series(1, 100000) g" \
	"CREATE INDEX bloat_v_idx ON vt.bloat (v)" "VACUUM ANALYZE vt.bloat" \
	"DELETE FROM vt.bloat WHERE id % 10 <> 0" \
	"CREATE INDEX \"idx \"\"q\"\"; x\" ON $ODD_SQL (v)"
wait_stat vt.bloat "n_dead_tup = 90000"
config <<CONF
[bloated]
plugin = vacuum
tables = vt.bloat, vt.churn
reindex = bloated
index_bloat_min_bytes = 1M

[every-index]
plugin = vacuum
tables = vt.churn, Big Schema.*
reindex = all
CONF
size() { sql "SELECT pg_relation_size('$1')"; }
pk=$(oid_of vt.bloat_pkey) vi=$(oid_of vt.bloat_v_idx) cp=$(oid_of vt.churn_pkey)
pks=$(size vt.bloat_pkey) vis=$(size vt.bloat_v_idx)
ct run bloated
findings bloated >"$T/bloated"
check "reindex = bloated rebuilds exactly the two bloated indexes, after vacuuming the tables" eval 'rc_is 0 &&
	[ "$(grep -c "rebuilt (REINDEX INDEX CONCURRENTLY) because estimated bloat [0-9]*% (.* of .*) >= index_bloat_ratio 50% and index_bloat_min_bytes 1.0 MiB: .* -> .*, [0-9.]* s$" "$T/bloated")" -eq 2 ] &&
	grep -q "^info vt.bloat_pkey: rebuilt" "$T/bloated" && grep -q "^info vt.bloat_v_idx: rebuilt" "$T/bloated" &&
	grep -q "^info vt.bloat: VACUUM (ANALYZE) because 90000 dead tuples" "$T/bloated" &&
	grep -q "^info vt.churn: VACUUM (ANALYZE) because 300 dead tuples" "$T/bloated" && [ "$(wc -l <"$T/bloated")" -eq 4 ] &&
	grep -q "rebuilt 2 indexes" "$out"'
check "the rebuilt indexes are new and under a third of their size; vt.churn_pkey is the same" eval '
	[ "$(oid_of vt.bloat_pkey)" != "$pk" ] && [ "$(oid_of vt.bloat_v_idx)" != "$vi" ] && [ "$(oid_of vt.churn_pkey)" = "$cp" ] &&
	[ $(( $(size vt.bloat_pkey) * 3 )) -lt "$pks" ] && [ $(( $(size vt.bloat_v_idx) * 3 )) -lt "$vis" ] &&
	metrics_have bloated indexes_rebuilt=2'

odd_indexes() { sql "SELECT string_agg(indexrelid::text, ' ' ORDER BY indexrelid) FROM pg_index WHERE indrelid IN ('vt.churn'::regclass, '$ODD_SQL'::regclass)"; }
old_indexes=$(odd_indexes)
pid=$(hold backup "SELECT pg_advisory_lock_shared(hashtext('caretaker'), hashtext('maintenance'))")
ct run every-index
check "with a backup holding the maintenance lock, the rebuilds are skipped and said, not queued" eval 'rc_is 0 &&
	[ "$(findings every-index | grep -c "REINDEX INDEX CONCURRENTLY skipped: a backup holds the maintenance lock (wanted because reindex = all)")" -eq 3 ] &&
	grep -q "a backup was running, so the strong-lock steps waited for another run" "$out" && [ "$(odd_indexes)" = "$old_indexes" ]'
release "$pid"
ct run every-index
check "reindex = all rebuilds every index of the tables in scope, odd names included" eval 'rc_is 0 &&
	[ "$(findings every-index | grep -c ": rebuilt (REINDEX INDEX CONCURRENTLY) because reindex = all: ")" -eq 3 ] &&
	findings every-index | grep -qF "info \"Big Schema\".\"idx \"\"q\"\"; x\": rebuilt" &&
	[ -z "$(comm -12 <(tr " " "\n" <<<"$old_indexes" | sort) <(odd_indexes | tr " " "\n" | sort))" ] &&
	[ "$(wc -w <<<"$(odd_indexes)")" -eq 3 ]'

# ---- invalid indexes: a rebuild's leftover, and a failed CREATE INDEX CONCURRENTLY ----
pid=$(hold writer "BEGIN" "INSERT INTO vt.churn VALUES (100000, 'x')")
PGOPTIONS='-c statement_timeout=1s' psql -X -q -c "REINDEX INDEX CONCURRENTLY vt.churn_pkey" 2>/dev/null
release "$pid"
each "CREATE TABLE vt.dup (v int)" "INSERT INTO vt.dup VALUES (1), (1)"
psql -X -q -c "CREATE UNIQUE INDEX CONCURRENTLY dup_v ON vt.dup (v)" 2>/dev/null
invalid() { sql "SELECT string_agg(indexrelid::regclass::text, ' ' ORDER BY 1) FROM pg_index WHERE NOT indisvalid"; }
check "the fixtures: vt.churn_pkey_ccnew and vt.dup_v are invalid" eval '[ "$(invalid)" = "vt.churn_pkey_ccnew vt.dup_v" ]'
config <<CONF
[tidy]
plugin = vacuum
tables = vt.*
CONF
ct run --dry-run tidy
check "a dry run says it would drop the leftover, and drops nothing" eval 'rc_is 0 &&
	findings tidy | grep -q "^info vt.churn_pkey_ccnew: would DROP INDEX CONCURRENTLY because invalid index left by an interrupted REINDEX CONCURRENTLY$" &&
	[ "$(oid_of vt.churn_pkey_ccnew)" != 0 ]'
ct run tidy
check "the leftover of an interrupted REINDEX CONCURRENTLY is found, reported and dropped" eval 'rc_is 0 &&
	grep -q "^warn  *tidy .*dropped 1 leftover indexes; 1 invalid indexes left alone" "$out" &&
	findings tidy | grep -q "^warning vt.churn_pkey_ccnew: invalid index left by an interrupted REINDEX CONCURRENTLY on vt.churn: dropped (DROP INDEX CONCURRENTLY)" &&
	[ "$(oid_of vt.churn_pkey_ccnew)" = 0 ]'
check "another invalid index is reported and left where it is" eval '
	findings tidy | grep -q "^warning vt.dup_v: invalid index (a CREATE INDEX CONCURRENTLY or REINDEX that failed, or one still running); not dropped" &&
	[ "$(oid_of vt.dup_v)" != 0 ]'
each "DROP TABLE vt.dup"

# ---- VACUUM FULL, only by name ----
config <<CONF
[full]
plugin = vacuum
tables = vt.churn
vacuum_full = vt.bloat

[full-glob]
plugin = vacuum
vacuum_full = vt.*

[full-typo]
plugin = vacuum
vacuum_full = vt.bloa

[tables-typo]
plugin = vacuum
tables = vt.quite
CONF
heap=$(sql "SELECT pg_table_size('vt.bloat')")
ct run full
check "VACUUM FULL of a table named by vacuum_full: done, smaller, and a warning" eval 'rc_is 0 &&
	grep -q "^warn  *full .*vacuumed 1 (0 with FREEZE, 1 FULL)" "$out" &&
	findings full | grep -q "^warning vt.bloat: VACUUM (FULL, ANALYZE) because vacuum_full names it: dead tuples 0 -> 0, table .* -> .*; held an ACCESS EXCLUSIVE lock on the table all that time" &&
	[ $(( $(sql "SELECT pg_table_size('"'"'vt.bloat'"'"')") * 3 )) -lt "$heap" ]'
ct run full-glob
check "vacuum_full takes no patterns" eval 'rc_is 1 && grep -q "vacuum_full: '"'"'vt\.\*'"'"' is a pattern" "$out"'
ct run full-typo
check "a vacuum_full name that matches no table fails the job, naming it" eval 'rc_is 1 &&
	grep -q "failed.*full-typo.*vacuum_full: no table '"'"'vt.bloa'"'"' in database patient_input" "$out"'
ct run tables-typo
check "a tables name that matches no table fails the job, naming it" eval 'rc_is 1 &&
	grep -q "tables: no table '"'"'vt.quite'"'"' in database patient_input" "$out"'

# ---- a run stopped mid-statement says what it did and what it did not ----
config <<CONF
[slow]
plugin = vacuum
mode = all
tables = vt.*
lock_timeout = 0
timeout = 2s
CONF
# Nothing left to do anywhere, so that mode = all goes by name: vt.bloat
# and vt.churn before the locked vt.old, vt.quiet and vt.stats after.
each "VACUUM ANALYZE vt.bloat, vt.churn, vt.old, vt.quiet, vt.stats"
pid=$(hold stoplock "BEGIN" "LOCK TABLE vt.old IN ACCESS EXCLUSIVE MODE")
ct run slow
findings slow >"$T/slow"
check "a timeout cancels the statement in flight; the report lists what was done and what was not" eval 'rc_is 1 &&
	grep -q "timed out after 2s" "$out" &&
	grep -q "^info vt.bloat: VACUUM (ANALYZE) because mode = all" "$T/slow" && grep -q "^info vt.churn: VACUUM" "$T/slow" &&
	grep -q "^warning vt.old: VACUUM (ANALYZE) not done: it was running when the run was asked to stop, and was cancelled$" "$T/slow" &&
	grep -q "^warning vt.quiet: VACUUM (ANALYZE) not done: the run stopped before it$" "$T/slow" &&
	grep -q "^warning vt.stats: VACUUM (ANALYZE) not done: the run stopped before it$" "$T/slow" &&
	[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'"'caretaker/slow'"'"'")" = 0 ]'
"$CARETAKER" -c "$T/caretaker.ini" run slow >"$out" 2>"$err" &
ctpid=$!
for i in $(seq 100); do
	[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'caretaker/slow' AND wait_event_type = 'Lock'")" = 1 ] && break
	sleep 0.05
done
kill -TERM "$ctpid"
wait "$ctpid"
rc=$?
check "SIGTERM does the same: the waiting statement is cancelled, the rest listed as not done" eval 'rc_is 1 &&
	findings slow | grep -q "^warning vt.old: VACUUM (ANALYZE) not done: it was running when the run was asked to stop" &&
	findings slow | grep -q "^warning vt.stats: VACUUM (ANALYZE) not done: the run stopped before it$" &&
	report_json slow | grep -q "stopped: vacuumed 2 (0 with FREEZE, 0 FULL) and analyzed 0 more of 5 tables" &&
	[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'"'caretaker/slow'"'"'")" = 0 ]'

config <<CONF
[cut]
plugin = vacuum
mode = all
tables = vt.*
lock_timeout = 0
CONF
"$CARETAKER" -c "$T/caretaker.ini" run cut >"$out" 2>"$err" &
ctpid=$!
for i in $(seq 100); do
	[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'caretaker/cut' AND wait_event_type = 'Lock'")" = 1 ] && break
	sleep 0.05
done
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'caretaker/cut'" >/dev/null
wait "$ctpid"
rc=$?
check "a run that loses its connection stops, and says what it did and what it did not" eval 'rc_is 1 &&
	grep -q "failed  *cut .*lost the connection to the database: .*; before that: vacuumed 2 (0 with FREEZE, 0 FULL) and analyzed 0 more of 5 tables" "$out" &&
	findings cut | grep -q "^error vt.old: VACUUM (ANALYZE) failed: measuring its size: " &&
	findings cut | grep -q "^warning vt.quiet: VACUUM (ANALYZE) not done: the run stopped before it$" &&
	findings cut | grep -q "^warning vt.stats: VACUUM (ANALYZE) not done: the run stopped before it$"'
release "$pid"

done_testing
