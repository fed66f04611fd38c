#!/bin/bash
# The retention plugin against a throwaway cluster seeded with the tiny data
# model: exact counts per rule against the cutoff it reports, every other
# row untouched, the dry run, odd names and injection attempts, missing
# objects, a column without an index, equal times, archives that restore
# exactly what was deleted, a failure to archive, a kill -9 mid-batch and
# the next run's settling, rows and tables other sessions hold, max_runtime,
# a stop, the batch size, the live line, and a writer's insert latency
# beside the runbook's single DELETE.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/backuplib.sh"

WRITER="$top_builddir/tests/integration/insert-writer"
[ -x "$WRITER" ] || skip_all "tests/integration/insert-writer is not built (make check builds it)"

# ---- helpers ----

conn_of() { echo "host=$PGHOST port=$PGPORT dbname=$1 user=$PGUSER"; }
# fresh DB: a copy of the seeded database.
fresh() {
	sql "DROP DATABASE IF EXISTS $1" >/dev/null
	sql "CREATE DATABASE $1 TEMPLATE patient_input" >/dev/null
}
# q DB QUERY: one value from DB.
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
# metric JOB NAME: the value of NAME in JOB's newest run ("" when absent).
metric() {
	report_json "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["runs"][0]
print(next(("%.17g" % m["value"] for m in r["metrics"] if m["name"] == sys.argv[1]), ""))' "$2"
}
# cutoff JOB: the cutoff of JOB's newest run as an SQL timestamptz.
cutoff() { echo "to_timestamp($(metric "$1" cutoff_timestamp_seconds))"; }
# db_sum DB: one checksum over every row of every table of the seed.
db_sum() {
	q "$1" "SELECT md5(string_agg(s, '' ORDER BY s)) FROM (
		SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) s FROM auth_user t UNION ALL
		SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM django_migrations t UNION ALL
		SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM django_session t UNION ALL
		SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM patient_input_patient t UNION ALL
		SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM patient_input_auditlog t UNION ALL
		SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM patient_input_securityevent t) x"
}
# hold DB SQL: another session runs SQL (taking its locks) and keeps its
# transaction open until release; sets $holder.
hold() {
	psql -X -q -d "$1" -c "BEGIN; $2; SELECT pg_sleep(120)" >/dev/null 2>&1 &
	holder=$!
}
# release DB: ends the holding session (killing psql alone would leave
# its backend asleep, holding the locks).
release() {
	q "$1" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()" >/dev/null
	wait "$holder" 2>/dev/null
}
# job NAME DB KEY=VALUE...: a retention job section.
job() {
	local name=$1 db=$2
	shift 2
	printf '\n[%s]\nplugin = retention\nconninfo = %s\n' "$name" "$(conn_of "$db")"
	printf '%s\n' "$@" | sed 's/=/ = /'
}

# ---- exact counts, the dry run, everything else untouched ----
fresh rules
q rules 'CREATE TABLE snap_audit AS SELECT id, "timestamp" FROM patient_input_auditlog;
	CREATE TABLE snap_session AS SELECT session_key, expire_date FROM django_session' >/dev/null
{
	job audit-log rules table=patient_input_auditlog column=timestamp older_than=90d
	job sessions rules table=django_session column=expire_date older_than=0
} | config
before=$(db_sum rules)

ct run --dry-run audit-log sessions
a_dry=$(q rules "SELECT count(*) FROM snap_audit WHERE \"timestamp\" < $(cutoff audit-log)")
s_dry=$(q rules "SELECT count(*) FROM snap_session WHERE expire_date < $(cutoff sessions)")
check "a dry run reports how many rows each rule would delete ($a_dry audit rows, $s_dry sessions)" \
	eval 'rc_is 0 && out_has "^ok .*audit-log .*dry run: would delete $a_dry rows of public.patient_input_auditlog older than 90d" &&
		out_has "^ok .*sessions .*dry run: would delete $s_dry rows of public.django_session older than 0" &&
		[ "$a_dry" -gt 1400 ] && [ "$a_dry" -lt 1600 ] && [ "$s_dry" -gt 450 ] && [ "$s_dry" -lt 550 ]'
check "a dry run deletes nothing" eval '[ "$(db_sum rules)" = "$before" ]'

ct run audit-log
a_cut=$(cutoff audit-log)
a_want=$(q rules "SELECT count(*) FROM snap_audit WHERE \"timestamp\" < $a_cut")
a_wrong=$(q rules "SELECT count(*) FROM snap_audit s FULL JOIN patient_input_auditlog a USING (id)
	WHERE (a.id IS NULL) <> (s.\"timestamp\" < $a_cut)")
check "the audit rule deletes exactly the $a_want rows older than its reported cutoff, and keeps every younger one" \
	eval 'rc_is 0 && out_has "^ok .*audit-log .*deleted $a_want rows of public.patient_input_auditlog older than 90d" &&
		[ "$(metric audit-log rows_deleted)" = "$a_want" ] && [ "$a_wrong" = 0 ]'
ct run sessions
s_cut=$(cutoff sessions)
s_want=$(q rules "SELECT count(*) FROM snap_session WHERE expire_date < $s_cut")
s_wrong=$(q rules "SELECT count(*) FROM snap_session s FULL JOIN django_session d USING (session_key)
	WHERE (d.session_key IS NULL) <> (s.expire_date < $s_cut)")
check "older_than = 0 deletes exactly the $s_want sessions whose expire_date has passed" \
	eval 'rc_is 0 && [ "$(metric sessions rows_deleted)" = "$s_want" ] && [ "$s_wrong" = 0 ]'
# others DB: a checksum of the seeded tables no rule here names.
others() {
	q "$1" "SELECT md5(string_agg(s, '' ORDER BY s)) FROM (
		SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) s FROM auth_user t UNION ALL
		SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM patient_input_patient t UNION ALL
		SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM patient_input_securityevent t UNION ALL
		SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM django_migrations t) x"
}
check "rows of the tables no rule names are untouched" eval '[ "$(others rules)" = "$(others patient_input)" ]'
ct run audit-log
check "a second run finds nothing left to delete" \
	eval 'rc_is 0 && out_has "deleted 0 rows of public.patient_input_auditlog" && [ "$(metric audit-log batches)" = 0 ]'
"$CARETAKER" -c "$T/caretaker.ini" report --format prometheus >"$out" 2>"$err"
check "the figures reach Prometheus" \
	eval 'grep -q "^caretaker_retention_rows_deleted{job=\"sessions\".*} $s_want$" "$out" &&
		grep -q "^caretaker_retention_longest_transaction_seconds{job=\"audit-log\"" "$out"'

# ---- names: quoted, odd, and attempts at injection ----
fresh names
q names 'CREATE SCHEMA "Odd Schema";
	CREATE TABLE "Odd Schema"."Audit ""Log"", 2024" (id serial PRIMARY KEY, "created at" timestamptz NOT NULL);
	CREATE INDEX ON "Odd Schema"."Audit ""Log"", 2024" ("created at");
	INSERT INTO "Odd Schema"."Audit ""Log"", 2024" ("created at")
		SELECT now() - (g || '"' days'"')::interval + interval '"'1 hour'"' FROM generate_series(1, 100) g;
	CREATE TABLE "x""; DELETE FROM django_session; --" (id int, ts timestamptz);
	INSERT INTO "x""; DELETE FROM django_session; --" SELECT g, now() - g * interval '"'1 day'"' + interval '"'1 hour'"'
		FROM generate_series(1, 10) g' >/dev/null
{
	job odd names 'schema=Odd Schema' 'table=Audit "Log", 2024' 'column=created at' older_than=30d
	job looks-like-sql names 'table=x"; DELETE FROM django_session; --' column=ts older_than=5d
	job inject-table names 'table=patient_input_auditlog"; DELETE FROM django_session; --' column=timestamp older_than=1d
	job inject-column names table=patient_input_auditlog 'column=timestamp" < now() OR true; --' older_than=1d
	job inject-schema names 'schema=public"; DROP TABLE django_session; --' table=django_session column=expire_date older_than=1d
} | config
ct run odd
check "a table and a column with quotes, spaces and a comma in their names work (70 of 100 rows are older than 30 days)" \
	eval 'rc_is 0 && [ "$(metric odd rows_deleted)" = 70 ] &&
		[ "$(q names "SELECT count(*) FROM \"Odd Schema\".\"Audit \"\"Log\"\", 2024\"")" = 30 ] &&
		out_has "deleted 70 rows of \"Odd Schema\".\"Audit \"\"Log\"\", 2024\" older than 30d (\"created at\" before"'
sessions_before=$(q names "SELECT count(*) FROM django_session")
ct run looks-like-sql
check "a table named like SQL is only a name: its 5 old rows go, nothing else" \
	eval '[ "$(metric looks-like-sql rows_deleted)" = 5 ] && [ "$(q names "SELECT count(*) FROM django_session")" = "$sessions_before" ]'
before=$(db_sum names)
ct run inject-table
check "an injection attempt in table deletes nothing and fails naming the job, the rule and the table" \
	eval 'rc_is 1 && out_has "^failed .*inject-table .*rule \"patient_input_auditlog\"\"; DELETE FROM django_session; --\".timestamp older than 1d: table \"patient_input_auditlog\"\"; DELETE FROM django_session; --\" does not exist" &&
		[ "$(db_sum names)" = "$before" ]'
ct run inject-column
check "an injection attempt in column deletes nothing and fails naming the column" \
	eval 'rc_is 1 && out_has "^failed .*inject-column .*: column \"timestamp\"\" < now() OR true; --\" does not exist in public.patient_input_auditlog" &&
		[ "$(db_sum names)" = "$before" ]'
ct run inject-schema
check "an injection attempt in schema deletes nothing and fails naming the schema" \
	eval 'rc_is 1 && out_has "^failed .*inject-schema .*: schema \"public\"\"; DROP TABLE django_session; --\" does not exist" &&
		[ "$(db_sum names)" = "$before" ]'

# ---- objects that are missing or wrong ----
q names 'CREATE VIEW audit_view AS SELECT * FROM patient_input_auditlog;
	CREATE TABLE parted (ts timestamptz) PARTITION BY RANGE (ts)' >/dev/null
{
	job no-table names table=audit_logs column=timestamp older_than=90d
	job no-column names table=patient_input_auditlog column=created_at older_than=90d
	job not-a-time names table=patient_input_auditlog column=action older_than=90d
	job a-view names table=audit_view column=timestamp older_than=90d
	job partitioned names table=parted column=ts older_than=90d
	job no-schema names schema=app table=patient_input_auditlog column=timestamp older_than=90d
} | config
ct run no-table
check "a table that does not exist fails the job naming the rule and the table" \
	eval 'rc_is 1 && out_has "^failed .*no-table .*rule audit_logs.timestamp older than 90d: table audit_logs does not exist on the search_path" &&
		out_has "hint: set schema"'
ct run no-column
check "a column that does not exist fails the job naming the rule and the column" \
	eval 'rc_is 1 && out_has "^failed .*no-column .*rule patient_input_auditlog.created_at older than 90d: column created_at does not exist in public.patient_input_auditlog"'
ct run not-a-time
check "a column that is not a timestamp is refused, naming its type" \
	eval 'rc_is 1 && out_has "^failed .*not-a-time .*column action of public.patient_input_auditlog is character varying(20), not a timestamp"'
ct run a-view partitioned no-schema
check "a view, a partitioned table and a missing schema are refused, each with its reason" \
	eval 'rc_is 1 && out_has "^failed .*a-view .*public.audit_view is not a table" &&
		out_has "^failed .*partitioned .*public.parted is a partitioned table" &&
		out_has "^failed .*no-schema .*schema app does not exist"'
check "none of them deleted a row" eval '[ "$(db_sum names)" = "$before" ]'

# ---- options ----
{
	job bounds names table=patient_input_auditlog column=timestamp older_than=90d batch_rows_min=500 batch_rows_max=100
	job no-wait names table=patient_input_auditlog column=timestamp older_than=90d lock_timeout=0
} | config
ct run bounds no-wait
check "contradicting options are refused before anything runs, each with its reason" \
	eval 'rc_is 1 && out_has "^failed .*bounds .*batch_rows_min is larger than batch_rows_max" &&
		out_has "^failed .*no-wait .*lock_timeout must be more than 0" && [ "$(db_sum names)" = "$before" ]'
job typo names table=patient_input_auditlog column=timestamp older_than=90x | config
ct check
check "a bad older_than is a configuration error with file:line from caretaker check" \
	eval 'rc_is 78 && grep -q "caretaker.ini:[0-9]*: .*older_than.*90x" "$err" "$out"'

# ---- no index; equal times ----
fresh shapes
q shapes "CREATE TABLE noindex (id serial, ts timestamp, payload text);
	INSERT INTO noindex (ts, payload) SELECT localtimestamp - g * interval '1 hour', repeat('x', 200)
		FROM generate_series(1, 20000) g;
	CREATE TABLE daily (id serial, day date NOT NULL);
	CREATE INDEX ON daily (day);
	INSERT INTO daily (day) SELECT current_date - (g % 10) FROM generate_series(1, 3000) g;
	ANALYZE noindex; ANALYZE daily" >/dev/null
{
	job noindex shapes table=noindex column=ts older_than=100h batch_rows_max=2000
	job daily shapes table=daily column=day older_than=5d batch_rows_min=10 batch_rows_max=50
} | config
ct run noindex
noindex_pages=$(q shapes "SELECT pg_relation_size('noindex') / 8192")
check "a column without an index: a warning says what it costs, and exactly the old rows go by page ranges" \
	eval 'rc_is 0 && out_has "^warn .*noindex .*deleted 19901 rows of public.noindex" &&
		[ "$(q shapes "SELECT count(*) FROM noindex")" = 99 ] && [ "$(q shapes "SELECT max(id) FROM noindex")" = 99 ] &&
		findings noindex | grep -q "^warning public.noindex: no usable index on \"ts\": public.noindex ([0-9.]* MiB) is read whole on every run, page range by page range" &&
		findings noindex | grep -q "hint: CREATE INDEX CONCURRENTLY ON \"public\".\"noindex\" (\"ts\")" &&
		[ "$(metric noindex batches)" -ge 2 ]'
daily_want=$(q shapes "SELECT count(*) FROM daily WHERE day < current_date - 5 + 1")
ct run daily
check "a date column, 300 rows a day, in batches of at most 50: the groups of equal days go 50 at a time ($daily_want rows)" \
	eval 'rc_is 0 && [ "$(metric daily rows_deleted)" = "$daily_want" ] &&
		[ "$(q shapes "SELECT min(day) FROM daily")" = "$(q shapes "SELECT current_date - 4")" ] &&
		[ "$(metric daily batches)" -ge $((daily_want / 50)) ]'

# ---- batch size ----
# grow: fast rows; slow: every delete costs 1 ms (a trigger), so 1000
# rows take a second where batch_time asks for 50 ms.
q shapes "CREATE TABLE grow (id serial, ts timestamptz); CREATE INDEX ON grow (ts);
	INSERT INTO grow (ts) SELECT now() - interval '1 day' - g * interval '1 second' FROM generate_series(1, 60000) g;
	CREATE TABLE slow (LIKE grow INCLUDING ALL); INSERT INTO slow SELECT * FROM grow WHERE id <= 2500;
	CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS
		'BEGIN PERFORM pg_sleep(0.001); RETURN OLD; END';
	CREATE TRIGGER slow_down BEFORE DELETE ON slow FOR EACH ROW EXECUTE FUNCTION slow_down()" >/dev/null
{
	job grow shapes table=grow column=ts older_than=1h batch_rows_min=10
	job slow shapes table=slow column=ts older_than=1h batch_rows_min=20 batch_time=50ms
} | config
ct run grow slow
check "the batch size grows toward batch_time from its first 1000 rows, at most 2x a batch" \
	eval 'rc_is 0 && [ "$(metric grow rows_deleted)" = 60000 ] && [ "$(metric grow batch_size_final)" -gt 1000 ] &&
		[ "$(metric grow batches)" -ge 5 ]'
check "and shrinks toward it, at most by half a batch, down to batch_rows_min" \
	eval '[ "$(metric slow rows_deleted)" = 2500 ] && [ "$(metric slow batch_size_final)" -lt 100 ] &&
		[ "$(metric slow batch_size_final)" -ge 20 ] && [ "$(metric slow batches)" -ge 8 ]'

# ---- archive_to ----
fresh arch
arch_before=$(db_sum arch)
{
	job audit-arch arch table=patient_input_auditlog column=timestamp older_than=90d "archive_to=$T/arch" batch_rows_max=300
	job sessions-zst arch table=django_session column=expire_date older_than=0 "archive_to=$T/arch" archive_compress=zstd
} | config
ct run audit-arch sessions-zst
# verify_archives DIR JOB: every sidecar's file against its digests and rows.
verify_archives() {
	python3 - "$1" "$2" <<'PY'
import glob, gzip, hashlib, json, os, subprocess, sys
folder, job = sys.argv[1], sys.argv[2]
cars = sorted(glob.glob(os.path.join(folder, job + "-*.json")))
assert cars, "no sidecar"
for car in cars:
    m = json.load(open(car))
    assert m["caretaker_retention_archive"] == 1 and m["state"] == "committed", (car, m["state"])
    data = open(os.path.join(folder, m["file"]), "rb").read()
    assert m["stored_bytes"] == len(data) and m["stored_sha256"] == hashlib.sha256(data).hexdigest(), car
    raw = gzip.decompress(data) if m["file"].endswith(".gz") else subprocess.run(
        ["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    assert m["raw_sha256"] == hashlib.sha256(raw).hexdigest(), car
    assert raw.count(b"\n") == m["rows"] > 0, (car, m["rows"])
    assert m["copy_from"].startswith("COPY \"public\"."), m["copy_from"]
print(len(cars))
PY
}
files=$(verify_archives "$T/arch" audit-arch)
check "archive_to: every batch's file ($files of them) has a committed sidecar whose digests and row count check out" \
	eval 'rc_is 0 && [ "$files" = "$(metric audit-arch archive_files)" ] && [ "$files" -ge 5 ] &&
		out_has "^ok .*audit-arch .*archived in $files file(s)"'
if command -v zstd >/dev/null; then
	check "archive_compress = zstd writes .copy.zst that zstd -d reads" \
		eval 'verify_archives "$T/arch" sessions-zst >/dev/null && ls "$T"/arch/sessions-zst-*.copy.zst >/dev/null'
else
	skip_test "archive_compress = zstd writes .copy.zst that zstd -d reads" "zstd is not installed"
fi
restore_all() {
	local car
	for car in "$1"/*.json; do
		python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print(m["file"]); print(m["copy_from"])' "$car" |
			{
				read -r file
				read -r copy
				case $file in
				*.zst) zstd -qdc "$1/$file" ;;
				*) gunzip -c "$1/$file" ;;
				esac | psql -X -q -v ON_ERROR_STOP=1 -d "$2" -c "$copy"
			} || return 1
	done
}
check "the sidecars' COPY statements load the files back: the database is as it was, row for row" \
	eval 'restore_all "$T/arch" arch && [ "$(db_sum arch)" = "$arch_before" ]'

if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	fresh nospace
	full_before=$(db_sum nospace)
	job no-room nospace table=patient_input_auditlog column=timestamp older_than=90d "archive_to=$T/full" | config
	mkdir -p "$T/full"
	# An 8 KiB file system: the first batch's file does not fit.
	unshare -m bash -c 'mount -t tmpfs -o size=8k tmpfs "$1" && "$2" -c "$3" run no-room >"$4" 2>"$5"; echo $? >"$6"; ls -A "$1" >"$7"' \
		_ "$T/full" "$CARETAKER" "$T/caretaker.ini" "$out" "$err" "$T/full.rc" "$T/full.ls"
	rc=$(cat "$T/full.rc")
	check "a failure to archive (no space left) deletes nothing and leaves no file" \
		eval 'rc_is 1 && out_has "^failed .*no-room .*batch 1: .*No space left on device" &&
			[ "$(db_sum nospace)" = "$full_before" ] && [ ! -s "$T/full.ls" ]'
else
	skip_test_inapplicable "a failure to archive (no space left) deletes nothing and leaves no file" \
		"needs root to mount a small file system"
fi

# ---- kill -9 mid-batch, and the next run ----
fresh killed
q killed "CREATE TABLE k (id int PRIMARY KEY, ts timestamptz NOT NULL, note text);
	CREATE INDEX ON k (ts);
	INSERT INTO k SELECT g, now() - interval '1 day' - g * interval '1 minute', 'row ' || g FROM generate_series(1, 6000) g;
	INSERT INTO k SELECT g, now() - (g - 6000) * interval '1 second', 'young' FROM generate_series(6001, 6100) g;
	CREATE TABLE k_snap AS SELECT id FROM k" >/dev/null
job killed killed table=k column=ts older_than=1h "archive_to=$T/karch" batch_rows_min=10 batch_rows_max=100 \
	pause=10ms lock_timeout=60s timeout=5min | config
# The 3000th oldest row is held by another session, so a batch waits on
# it inside its transaction, its rows deleted (not committed) and its
# archive file half written, when the job is killed.
hold killed "SELECT * FROM k WHERE id = 3000 FOR UPDATE"
"$CARETAKER" -c "$T/caretaker.ini" run killed >"$out" 2>"$err" &
pid=$!
waiting=
for _ in $(seq 200); do
	waiting=$(q killed "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'caretaker/killed' AND wait_event_type = 'Lock'")
	[ "$waiting" = 1 ] && break
	sleep 0.1
done
partials=$(ls -A "$T/karch" | grep -c '^\..*\.partial$')
job_pg=$(ps -o pid=,pgid= --ppid "$pid" | awk '$1 == $2 { print $1; exit }')
exec 3>&2 2>/dev/null
[ -n "$job_pg" ] && kill -KILL -- "-$job_pg"
kill -KILL -- "$pid"
wait "$pid"
exec 2>&3 3>&-
# Its statement, still waiting for the row, must end without a client.
gone=
for _ in $(seq 100); do
	gone=$(q killed "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'caretaker/killed'")
	[ "$gone" = t ] && break
	sleep 0.1
done
release killed
# archived DIR JOB: the ids in the archive files that have a sidecar and
# check out, one per line; "BAD ..." for a file that does not.
archived() {
	python3 - "$1" "$2" <<'PY'
import glob, gzip, hashlib, json, os, sys
folder, job = sys.argv[1], sys.argv[2]
for car in sorted(glob.glob(os.path.join(folder, job + "-*.json"))):
    m = json.load(open(car))
    data = open(os.path.join(folder, m["file"]), "rb").read()
    raw = gzip.decompress(data)
    if hashlib.sha256(data).hexdigest() != m["stored_sha256"] or hashlib.sha256(raw).hexdigest() != m["raw_sha256"]:
        print("BAD", car)
    for line in raw.decode().splitlines():
        print(line.split("\t")[0])
PY
}
deleted() { q killed "SELECT id FROM k_snap EXCEPT SELECT id FROM k ORDER BY 1"; }
archived "$T/karch" killed | sort -n >"$T/archived"
deleted >"$T/deleted"
check "kill -9 mid-batch: the server ends the waiting statement, the batch in flight is rolled back, and every deleted row ($(wc -l <"$T/deleted")) is in an archive file that checks out" \
	eval '[ "$waiting" = 1 ] && [ -n "$job_pg" ] && [ "$gone" = t ] && [ -s "$T/deleted" ] && ! grep -q BAD "$T/archived" &&
		[ -z "$(comm -23 "$T/deleted" "$T/archived")" ] && [ "$(q killed "SELECT count(*) FROM k WHERE id = 3000")" = 1 ]'
# sidecars_for_all DIR: every visible archive file has its sidecar.
sidecars_for_all() {
	local f
	for f in "$1"/*.copy.gz; do
		[ -e "${f%.copy.gz}.json" ] || return 1
	done
}
check "nothing unfinished looks complete: the half-written file is hidden (.NAME.partial) and every visible file has its sidecar" \
	eval '[ "$partials" = 1 ] && [ "$(ls -A "$T/karch" | grep -c "^\..*\.partial$")" = 1 ] && sidecars_for_all "$T/karch"'
sed -i 's/^lock_timeout = 60s$/lock_timeout = 500ms/' "$T/caretaker.ini"
ct run killed
archived "$T/karch" killed | sort -n >"$T/archived"
deleted >"$T/deleted"
check "the next run removes the unfinished file, finishes, and then every deleted row is archived exactly once" \
	eval 'rc_is 0 && [ "$(wc -l <"$T/deleted")" = 6000 ] && cmp -s "$T/deleted" "$T/archived" &&
		[ -z "$(ls -A "$T/karch" | grep "^\.")" ] && ! grep -l "\"pending\"" "$T"/karch/*.json &&
		findings killed | grep -q "^info $T/karch: left by an interrupted run: 0 pending file(s) confirmed committed, 0 removed as rolled back (.*), 1 unfinished file(s) removed"'

# A killed run's other possible leftovers, made by hand: a pending sidecar
# whose transaction committed, one whose transaction rolled back (with its
# file), and a file without a sidecar.
first=$(ls "$T"/karch/killed-*.json | head -1)
manifest_edit "$first" 'm["state"] = "pending"'
aborted=$(psql -X -At -d killed -c "BEGIN" -c "SELECT txid_current()" -c "ROLLBACK" | sed -n 2p)
cp "${first%.json}.copy.gz" "$T/karch/killed-20000101T000000Z-000001.copy.gz"
cp "$first" "$T/karch/killed-20000101T000000Z-000001.json"
manifest_edit "$T/karch/killed-20000101T000000Z-000001.json" "m['xid'] = $aborted; m['file'] = 'killed-20000101T000000Z-000001.copy.gz'"
cp "${first%.json}.copy.gz" "$T/karch/killed-20000101T000000Z-000002.copy.gz"
ct run killed
check "the next run marks a pending file committed when its transaction committed, removes one whose transaction rolled back, and warns of a file without sidecar" \
	eval 'rc_is 0 && out_has "^warn .*killed " && grep -q "\"state\": \"committed\"" "$first" &&
		[ ! -e "$T/karch/killed-20000101T000000Z-000001.copy.gz" ] && [ ! -e "$T/karch/killed-20000101T000000Z-000001.json" ] &&
		[ -e "$T/karch/killed-20000101T000000Z-000002.copy.gz" ] &&
		findings killed | grep -q "1 pending file(s) confirmed committed, 1 removed as rolled back" &&
		findings killed | grep -q "^warning killed-20000101T000000Z-000002.copy.gz: an archive file without its sidecar"'

# ---- other sessions' locks ----
fresh locks
{
	job held locks table=patient_input_auditlog column=timestamp older_than=90d lock_timeout=200ms
	job table-locked locks table=django_session column=expire_date older_than=0 lock_timeout=100ms lock_retries=1
} | config
held_id=$(q locks 'SELECT min(id) + 100 FROM patient_input_auditlog')
held_want=$(q locks "SELECT count(*) - 1 FROM patient_input_auditlog WHERE \"timestamp\" < now() - interval '90 days'")
hold locks "SELECT * FROM patient_input_auditlog WHERE id = $held_id FOR UPDATE"
for _ in $(seq 50); do
	[ "$(q locks "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND granted AND pid <> pg_backend_pid()")" -ge 1 ] && break
	sleep 0.1
done
ct run held
check "a row another session holds is skipped, not waited for: the batch is redone with SKIP LOCKED and the row left" \
	eval 'out_has "^warn .*held .*deleted $held_want rows .* 1 rows left, locked by other sessions" &&
		[ "$(metric held skip_locked_batches)" -ge 1 ] && [ "$(q locks "SELECT count(*) FROM patient_input_auditlog WHERE id = $held_id")" = 1 ] &&
		awk -v s="$(metric held longest_transaction_seconds)" "BEGIN { exit !(s < 1) }"'
release locks
ct run held
check "the next run takes the row once it is free" eval 'rc_is 0 && [ "$(metric held rows_deleted)" = 1 ]'
sessions_before=$(q locks "SELECT count(*) FROM django_session")
hold locks "LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE"
for _ in $(seq 50); do
	[ "$(q locks "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'django_session'::regclass")" = 1 ] && break
	sleep 0.1
done
ct run table-locked
release locks
check "a table another session keeps locked fails the run after lock_retries, naming the table, and nothing is deleted" \
	eval 'rc_is 1 && out_has "^failed .*table-locked .*table public.django_session stayed locked by another session through 2 tries of lock_timeout (100 ms) each" &&
		[ "$(q locks "SELECT count(*) FROM django_session")" = "$sessions_before" ]'

# ---- max_runtime, a stop, the live line ----
fresh paced
q paced "CREATE TABLE p (id int PRIMARY KEY, ts timestamptz NOT NULL); CREATE INDEX ON p (ts);
	INSERT INTO p SELECT g, now() - interval '1 day' - g * interval '1 second' FROM generate_series(1, 3000) g" >/dev/null
{
	job capped paced table=p column=ts older_than=1h batch_rows_min=10 batch_rows_max=20 pause=100ms max_runtime=1s
	job stopped paced table=p column=ts older_than=1h batch_rows_min=10 batch_rows_max=20 pause=100ms \
		"archive_to=$T/parch" timeout=2s
	job shown paced table=p column=ts older_than=1h batch_rows_min=10 batch_rows_max=100 pause=100ms
} | config
ct run capped
left=$(q paced "SELECT count(*) FROM p")
check "max_runtime ends the run after the batch that passes it, with a warning and the rows left" \
	eval 'rc_is 0 && out_has "^warn .*capped .*stopped by max_runtime, $left old rows left" &&
		[ "$left" -gt 0 ] && [ "$left" -lt 3000 ] && [ "$(metric capped rows_left)" = "$left" ]'
q paced "CREATE TABLE p_snap AS SELECT id FROM p" >/dev/null
ct run stopped
q paced "SELECT id FROM p_snap EXCEPT SELECT id FROM p ORDER BY 1" >"$T/deleted"
archived "$T/parch" stopped | sort -n >"$T/archived"
check "a stop request (the job's timeout) ends the run between batches or cancels the one in flight: what was deleted is archived, nothing is left half-written" \
	eval 'rc_is 1 && out_has "^failed .*stopped .*timed out" && [ -s "$T/deleted" ] && cmp -s "$T/deleted" "$T/archived" &&
		[ -z "$(ls -A "$T/parch" | grep "^\.")" ] && ! grep -l "\"pending\"" "$T"/parch/*.json &&
		[ "$(q paced "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'caretaker/stopped'"'")" = 0 ]'
python3 "$top_srcdir/tests/integration/ttyrun.py" "$T/tty" "$CARETAKER" -c "$T/caretaker.ini" run shown
rc=$?
cp "$T/tty" "$out"
check "on a terminal, run shows the rows done of the planner's estimate as a live line" \
	eval 'rc_is 0 && python3 "$top_srcdir/tests/integration/liveline.py" "$T/tty" shown "deleting from public.p"'

# ---- a writer inserting every 10 ms, beside the runbook's DELETE ----
fresh latency
q latency "INSERT INTO patient_input_auditlog (\"timestamp\", user_id, action, object_type, object_id, changes)
	SELECT now() - interval '91 days' - g * interval '10 seconds', 1, 'VIEW', 'patient', g::text, '{}'
	FROM generate_series(1, 300000) g" >/dev/null
q latency "VACUUM ANALYZE patient_input_auditlog" >/dev/null
sql "CREATE DATABASE latency_runbook TEMPLATE latency" >/dev/null
job latency latency table=patient_input_auditlog column=timestamp older_than=90d | config
INSERT="INSERT INTO patient_input_auditlog (\"timestamp\", user_id, action, object_type, object_id, changes) VALUES (now(), 1, 'VIEW', 'patient', '1', '{}')"
# with_writer DB PATTERN CMD...: CMD while the writer inserts every 10 ms;
# the writer's line in $T/writer.
with_writer() {
	local db=$1 pattern=$2 w
	shift 2
	"$WRITER" "$(conn_of "$db")" 10 "$pattern" "$INSERT" >"$T/writer" 2>"$T/writer.err" &
	w=$!
	sleep 0.5
	"$@"
	sleep 0.5
	kill -TERM "$w"
	wait "$w"
}
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$T/writer"; }
with_writer latency 'caretaker/%' ct run latency
ct_rc=$rc ct_worst=$(field worst_ms) ct_xact=$(field longest_xact_ms) ct_inserts=$(field inserts)
ct_longest=$(awk -v s="$(metric latency longest_transaction_seconds)" 'BEGIN { printf "%.1f", s * 1000 }')
ct_rows=$(metric latency rows_deleted)
rb_delete() { PGAPPNAME=runbook-delete psql -X -q -d latency_runbook -c "DELETE FROM patient_input_auditlog WHERE \"timestamp\" < now() - interval '90 days'"; }
with_writer latency_runbook 'runbook-delete' rb_delete
rb_worst=$(field worst_ms) rb_xact=$(field longest_xact_ms)
echo "# writer every 10 ms while $ct_rows audit rows go: caretaker worst insert ${ct_worst} ms ($ct_inserts inserts), longest retention transaction ${ct_longest} ms (sampled ${ct_xact} ms);"
echo "#   the runbook's single DELETE: worst insert ${rb_worst} ms, its transaction ${rb_xact} ms (sampled)"
check "a writer inserting every 10 ms: worst insert ${ct_worst} ms under caretaker (<= 1000), no retention transaction over 1 s (${ct_longest} ms; runbook: ${rb_worst} ms, ${rb_xact} ms)" \
	eval '[ "$ct_rc" = 0 ] && [ "$ct_rows" -gt 300000 ] && [ "$ct_inserts" -gt 10 ] &&
		awk -v w="$ct_worst" -v x="$ct_xact" -v l="$ct_longest" "BEGIN { exit !(w <= 1000 && x <= 1000 && l <= 1000) }"'

done_testing
