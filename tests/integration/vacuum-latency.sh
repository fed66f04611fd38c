#!/bin/bash
# The application's view of maintenance: a writer inserts a row into the
# audit log every 10 ms, as the application does, while caretaker's weekly
# and monthly database work runs (retention of the 90-day audit rows, then
# the vacuum plugin with reindex = all: every index rebuilt), and again
# while the runbook's runs (one DELETE of the same rows; then
# optimize_database(): ANALYZE VERBOSE; VACUUM ANALYZE; REINDEX DATABASE).
# Each insert's time is recorded; the worst one under caretaker must stay
# within 1 s.  Both figures are printed: REINDEX DATABASE holds each
# table's SHARE lock while its indexes rebuild, so the writer waits as long
# as the audit log's indexes take to build.
. "$top_srcdir/tests/integration/lib.sh"

command -v python3 >/dev/null || skip_all "python3 is not installed"
start_cluster
# A million audit rows: rebuilding their indexes takes a second or more here.
"$top_srcdir/tests/harness/seed.sh" --scale small --audit 1000000 --quiet 2>"$T/seed.err" ||
	skip_all "could not seed the cluster: $(tail -n 3 "$T/seed.err" | tr '\n' ' ')"
install_plugins
sql() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
{
	printf 'conninfo = host=%s port=%s dbname=%s user=%s\n\n' "$PGHOST" "$PGPORT" "$PGDATABASE" "$PGUSER"
	printf '[online]\nplugin = vacuum\nreindex = all\ntimeout = 5min\n\n'
	printf '[audit-90d]\nplugin = retention\ntable = patient_input_auditlog\n'
	printf 'column = timestamp\nolder_than = 90d\ntimeout = 5min\n'
} | write_config

# writer OUT: an insert every 10 ms until $T/stop exists, each one's time
# (psql's \timing) in OUT.
writer() {
	{
		echo '\timing on'
		while [ ! -e "$T/stop" ]; do
			echo "INSERT INTO patient_input_auditlog (\"timestamp\", action, object_type, object_id, changes) VALUES (now(), 'VIEW', 'patient', '42', '{}');"
			sleep 0.01
		done
	} | psql -X -q -v ON_ERROR_STOP=1 >"$1" 2>&1
}

# under NAME COMMAND...: runs COMMAND with the writer going (from a second
# before to half a second after); leaves "inserts worst_ms" in $T/NAME.
under() {
	local name=$1 wpid
	shift
	rm -f "$T/stop"
	writer "$T/$name.times" &
	wpid=$!
	sleep 1
	"$@" >"$T/$name.out" 2>&1
	echo $? >"$T/$name.rc"
	sleep 0.5
	touch "$T/stop"
	wait "$wpid"
	awk '/^Time:/ { n++; if ($2 > m) m = $2 } END { printf "%d %.1f\n", n, m }' "$T/$name.times" >"$T/$name"
}

runbook() {
	psql -X -q -v ON_ERROR_STOP=1 \
		-c "DELETE FROM patient_input_auditlog WHERE \"timestamp\" < now() - interval '90 days'" \
		-c "ANALYZE VERBOSE" -c "VACUUM ANALYZE" -c "REINDEX DATABASE $PGDATABASE"
}

# The same old rows for both sides: kept aside once, put back before the
# runbook's turn.
sql "CREATE TABLE old_audit AS SELECT * FROM patient_input_auditlog
	WHERE \"timestamp\" < now() - interval '90 days'" >/dev/null
old=$(sql "SELECT count(*) FROM old_audit")
indexes=$(sql "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'")
under caretaker "$CARETAKER" -c "$T/caretaker.ini" run audit-90d online
# Rows that were past 90 days when old_audit was taken (before the run took
# its cutoff): all must be gone.  Counting against now() - 90 days here
# would also count rows that aged past the boundary while the run went on.
left=$(sql "SELECT count(*) FROM patient_input_auditlog
	WHERE \"timestamp\" <= (SELECT max(\"timestamp\") FROM old_audit)")
sql "INSERT INTO patient_input_auditlog SELECT * FROM old_audit" >/dev/null
under runbook runbook
read -r ct_n ct_ms <"$T/caretaker"
read -r rb_n rb_ms <"$T/runbook"
echo "# worst insert latency: caretaker $ct_ms ms over $ct_n inserts; runbook (REINDEX DATABASE) $rb_ms ms over $rb_n inserts"

report_json online | python3 -c '
import json, sys
r = json.load(sys.stdin)["runs"][0]
m = {m["name"]: m["value"] for m in r["metrics"]}
vacuumed = [f["object"] for f in r["findings"] if f["message"].startswith("VACUUM (ANALYZE) because")]
print(int(m["indexes_rebuilt"]), " ".join(vacuumed))' >"$T/online.json"
read -r rebuilt vacuumed <"$T/online.json"
check "retention deleted the $old audit rows older than 90 days" eval '[ "$old" -gt 0 ] && [ "$left" = 0 ]'
check "the vacuum job rebuilt every one of the $indexes indexes and vacuumed the audit log ($vacuumed)" eval '
	[ "$(cat "$T/caretaker.rc")" = 0 ] && [ "$rebuilt" = "$indexes" ] &&
	case " $vacuumed " in *" public.patient_input_auditlog "*) true ;; *) false ;; esac'
check "the writer kept writing through both runs, and no insert failed" eval '
	[ "$ct_n" -ge 50 ] && [ "$rb_n" -ge 50 ] && ! grep -q ERROR "$T/caretaker.times" "$T/runbook.times"'
check "the worst insert under caretaker took at most 1 s ($ct_ms ms; runbook $rb_ms ms)" \
	awk -v ms="$ct_ms" 'BEGIN { exit !(ms <= 1000) }'

done_testing
