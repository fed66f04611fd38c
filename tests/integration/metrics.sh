#!/bin/bash
# The metrics plugin against the real /proc, the real file systems and a
# throwaway cluster: each figure compared with an independent source (the
# kernel's files read by the test, df, psql), client connections by state
# with sessions the test holds open (its own session left out), the
# figures in the Prometheus textfile, store = database appending rows to a
# table with an awkward name that a retention rule then trims, a dry run
# that stores nothing, and the configuration mistakes.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/backuplib.sh"

# metric JOB NAME: the value of one metric of JOB's newest run.
metric() {
	report_json "$1" | python3 -c '
import json, sys
for m in json.load(sys.stdin)["runs"][0]["metrics"]:
    if m["name"] == sys.argv[1]:
        print("%.17g" % m["value"])' "$2"
}

# near A B TOLERANCE: |A - B| <= TOLERANCE x max(|B|, 1).
near() {
	python3 -c 'import sys; a, b, t = map(float, sys.argv[1:]); sys.exit(0 if abs(a - b) <= t * max(abs(b), 1) else 1)' "$1" "$2" "$3" ||
		{ echo "# $1 is not within $3 of $2"; return 1; }
}

# between LOW X HIGH
between() {
	python3 -c 'import sys; l, x, h = map(float, sys.argv[1:]); sys.exit(0 if l <= x <= h else 1)' "$1" "$2" "$3" ||
		{ echo "# $2 is not between $1 and $3"; return 1; }
}

# hold STATE: a session that stays in STATE (idle, idle in transaction,
# active) until the test ends; its psql's pid goes to $held.
held=()
hold() {
	case $1 in
	idle) { echo "SELECT 1;"; sleep 60; } | psql -X -q >/dev/null & ;;
	intx) { echo "BEGIN;"; echo "SELECT txid_current();"; sleep 60; } | psql -X -q >/dev/null & ;;
	active) psql -X -q -c "SELECT pg_sleep(60)" >/dev/null 2>&1 & ;;
	esac
	held+=($!)
}
release_all() { sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" >/dev/null; }
replica=""
trap 'release_all 2>/dev/null; [ -z "$replica" ] || as_owner "$PG_HARNESS_BINDIR/pg_ctl" -D "$replica" -m immediate stop >/dev/null 2>&1; rm -rf "$T"' EXIT

mkdir -p "$T/prom"
chmod 755 "$T/prom"
config <<CONF
prometheus_dir = $T/prom

[m]
plugin = metrics
cpu_interval = 100ms

[stored]
plugin = metrics
cpu_interval = 50ms
store = database
table = Host "Metrics"; DROP TABLE auth_user; --
schema = public

[hostonly]
plugin = metrics
database = no
conninfo = host=/nonexistent port=1
cpu_interval = 10ms
CONF

# ---- the host's figures against the kernel and df ----
hold idle
hold intx
hold active
sleep 1.2
load_before=$(cut -d' ' -f1 /proc/loadavg)
net_if=$(awk -F: 'NR > 2 { gsub(/ /, "", $1); if ($1 != "lo") { print $1; exit } }' /proc/net/dev)
net_before=$(awk -v i="$net_if" -F'[: ]+' '{ sub(/^ +/, ""); } $1 == i { print $2 }' /proc/net/dev)
read -r df0_used df0_avail < <(df -B1 --output=used,avail / | tail -1)
ct run m
read -r df1_used df1_avail < <(df -B1 --output=used,avail / | tail -1)
load_after=$(cut -d' ' -f1 /proc/loadavg)
net_after=$(awk -v i="$net_if" -F'[: ]+' '{ sub(/^ +/, ""); } $1 == i { print $2 }' /proc/net/dev)
check "a run reports CPU over the stated interval, memory, load and the database in its summary" eval 'rc_is 0 &&
	grep -q "^ok  *m .*cpu [0-9.]*% busy over 100 ms, memory [0-9.]*% used, load [0-9.]*, [0-9]* figures; database: 3 client connections" "$out"'
check "the CPU share is a ratio and the interval is stated as a metric" eval '
	between 0 "$(metric m cpu_busy_ratio)" 1 && [ "$(metric m cpu_interval_seconds)" = 0.10000000000000001 ] &&
	[ "$(metric m cpu_count)" = "$(grep -c "^cpu[0-9]" /proc/stat)" ]'
check "memory and swap totals are /proc/meminfo's, in bytes" eval '
	[ "$(metric m memory_total_bytes)" = "$(awk "/^MemTotal:/ { printf \"%.0f\", \$2 * 1024 }" /proc/meminfo)" ] &&
	[ "$(metric m swap_total_bytes)" = "$(awk "/^SwapTotal:/ { printf \"%.0f\", \$2 * 1024 }" /proc/meminfo)" ] &&
	near "$(metric m memory_available_bytes)" "$(awk "/^MemAvailable:/ { printf \"%.0f\", \$2 * 1024 }" /proc/meminfo)" 0.05'
check "the 1-minute load is /proc/loadavg's of just before or just after" eval '
	l=$(metric m load_1); near "$l" "$load_before" 0.0001 || near "$l" "$load_after" 0.0001'
read -r df_size < <(df -B1 --output=size / | tail -1)
read -r df_itotal df_iused < <(df --output=itotal,iused / | tail -1)
# around A B X: X lies between A and B, give or take 0.5% (others write to
# the same disk while the test runs).
around() {
	python3 -c 'import sys; a, b, x = map(float, sys.argv[1:]); sys.exit(0 if min(a, b) * 0.995 <= x <= max(a, b) * 1.005 else 1)' "$@" ||
		{ echo "# $3 is not between $1 and $2"; return 1; }
}
check "the root file system's size is df's, used and available what df said before and after" eval '
	[ "$(metric m disk_size_bytes_root)" = "$df_size" ] && around "$df0_used" "$df1_used" "$(metric m disk_used_bytes_root)" &&
	around "$df0_avail" "$df1_avail" "$(metric m disk_avail_bytes_root)" &&
	around "$(python3 -c "print($df0_used / ($df0_used + $df0_avail))")" "$(python3 -c "print($df1_used / ($df1_used + $df1_avail))")" "$(metric m disk_used_ratio_root)"'
# Inodes in use move by thousands while other tests (run in parallel by
# make check) make and remove files, so the used count is df's within 5%:
# still far from the free count or the total, the mistakes it would catch.
check "its inodes are df -i's" eval '[ "$(metric m inodes_total_root)" = "$df_itotal" ] &&
	near "$(metric m inodes_used_root)" "$df_iused" 0.05'
check "pseudo file systems (proc, sysfs, tmpfs...) are left out" eval '
	report_json m | python3 -c "import json, sys; n = [m[\"name\"] for m in json.load(sys.stdin)[\"runs\"][0][\"metrics\"]]; sys.exit(any(x.startswith(\"disk_size_bytes_proc\") or x.startswith(\"disk_size_bytes_sys\") for x in n))"'
check "an interface's received bytes lie between /proc/net/dev's before and after; lo is left out" eval '
	between "$net_before" "$(metric m "net_rx_bytes_$net_if")" "$net_after" && [ -n "$(metric m "net_rx_errors_$net_if")" ] &&
	[ -z "$(metric m net_rx_bytes_lo)" ]'

# ---- the database's figures against psql ----
check "connections by state count the client sessions the test holds, not the job's own" eval '
	[ "$(metric m db_connections_idle)" = 1 ] && [ "$(metric m db_connections_idle_in_transaction)" = 1 ] &&
	[ "$(metric m db_connections_active)" = 1 ] && [ "$(metric m db_connections_total)" = 3 ] &&
	[ "$(metric m db_idle_in_transaction)" = 1 ]'
check "the oldest idle transaction and the longest transaction are at least as old as the test made them" eval '
	between 1 "$(metric m db_idle_in_transaction_oldest_seconds)" 60 && between 1 "$(metric m db_longest_transaction_seconds)" 60'
check "max_connections and the share in use match the server, the job's own slot counted" eval '
	mc=$(sql "SHOW max_connections"); [ "$(metric m db_max_connections)" = "$mc" ] &&
	near "$(metric m db_connections_used_ratio)" "$(python3 -c "print(4 / $mc)")" 0.0001'
check "database sizes are pg_database_size's, within 1%" eval '
	near "$(metric m db_size_bytes_patient_input)" "$(sql "SELECT pg_database_size('"'"'patient_input'"'"')")" 0.01 &&
	[ -z "$(metric m db_size_bytes_template0)" ]'
check "the cache hit ratio is pg_stat_database's, and a primary has no replication lag" eval '
	near "$(metric m db_cache_hit_ratio)" "$(sql "SELECT sum(blks_hit) / (sum(blks_hit) + sum(blks_read))::float8 FROM pg_stat_database")" 0.01 &&
	[ "$(metric m db_is_replica)" = 0 ] && [ -z "$(metric m db_replication_lag_seconds)" ]'
release_all

# ---- Prometheus ----
check "the figures reach the Prometheus textfile with their job and unit" eval '
	grep -q "^caretaker_metrics_disk_used_ratio_root{job=\"m\"} [0-9.e-]*$" "$T/prom/caretaker.prom" &&
	grep -q "^# HELP caretaker_metrics_db_size_bytes_patient_input Metric .* (bytes)" "$T/prom/caretaker.prom" &&
	grep -q "^caretaker_metrics_db_connections_idle_in_transaction{job=\"m\"} 1$" "$T/prom/caretaker.prom"'

# ---- store = database ----
TABLE_SQL='public."Host ""Metrics""; DROP TABLE auth_user; --"'
ct run --dry-run stored
check "a dry run stores nothing and creates no table" eval 'rc_is 0 &&
	[ "$(sql "SELECT to_regclass('"'"'$TABLE_SQL'"'"') IS NULL")" = t ]'
ct run stored
n1=$(report_json stored | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["runs"][0]["metrics"]) - 1)')
check "store = database creates the table and appends one row per figure" eval 'rc_is 0 && grep -q "stored" "$out" &&
	[ "$(sql "SELECT count(*) FROM $TABLE_SQL")" = "$n1" ] &&
	[ "$(sql "SELECT count(DISTINCT collected_at) || '"'"' '"'"'|| min(job) || '"'"' '"'"' || (min(host) = '"'"'$(hostname)'"'"') FROM $TABLE_SQL")" = "1 stored true" ]'
check "rows carry name, label, value and unit apart; the name with SQL in it stayed a name" eval '
	[ "$(sql "SELECT value || '"'"' '"'"' || unit FROM $TABLE_SQL WHERE name = '"'"'disk_size_bytes'"'"' AND label = '"'"'/'"'"'")" = "$df_size bytes" ] &&
	[ "$(sql "SELECT count(*) FROM auth_user")" -gt 0 ]'
check "the table has the documented columns and an index on collected_at" eval '
	[ "$(sql "SELECT string_agg(attname || '"'"':'"'"' || format_type(atttypid, NULL), '"'"','"'"' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '"'"'$TABLE_SQL'"'"'::regclass AND attnum > 0")" = \
	"collected_at:timestamp with time zone,host:text,job:text,name:text,label:text,value:double precision,unit:text" ] &&
	[ "$(sql "SELECT count(*) FROM pg_index WHERE indrelid = '"'"'$TABLE_SQL'"'"'::regclass")" = 1 ]'
ct run stored
check "a second run appends a second set of rows" eval 'rc_is 0 &&
	[ "$(sql "SELECT count(DISTINCT collected_at) FROM $TABLE_SQL")" = 2 ]'

# A retention rule keeps the table short (docs/metrics.md shows it).
sql "UPDATE $TABLE_SQL SET collected_at = collected_at - interval '40 days' WHERE collected_at = (SELECT min(collected_at) FROM $TABLE_SQL)" >/dev/null
cat >>"$T/caretaker.ini" <<CONF

[metrics-retention]
plugin = retention
table = Host "Metrics"; DROP TABLE auth_user; --
column = collected_at
older_than = 30d
CONF
ct run metrics-retention
check "a retention rule on collected_at deletes the old runs' rows and keeps the new" eval 'rc_is 0 &&
	[ "$(sql "SELECT count(*) || '"'"' '"'"' || count(DISTINCT collected_at) FROM $TABLE_SQL")" = "$n1 1" ]'

# ---- without a database, and mistakes ----
ct run hostonly
check "database = no collects the host only, without connecting" eval 'rc_is 0 &&
	[ -n "$(metric hostonly disk_size_bytes_root)" ] && [ -z "$(metric hostonly db_max_connections)" ]'
config <<CONF
[both]
plugin = metrics
database = no
store = database

[fast]
plugin = metrics
cpu_interval = 5ms

[nodb]
plugin = metrics
conninfo = host=$T port=1

[stopped]
plugin = metrics
database = no
cpu_interval = 60s
timeout = 1s
CONF
ct run both
check "store = database without the database is refused with a hint" eval 'rc_is 1 &&
	grep -q "store = database needs the database" "$out" && report_json both | grep -q "hint: set database = yes"'
ct run fast
check "a CPU interval under 10ms is refused" eval 'rc_is 1 && grep -q "cpu_interval: 5 ms is not from 10ms to 60s" "$out"'
ct run nodb
check "a database that cannot be reached fails the run and says so" eval 'rc_is 1 &&
	grep -q "^failed .*nodb .*cannot connect to the database" "$out"'
# The stop comes as SIGTERM in the middle of the CPU interval; kill_grace
# (1s here) would SIGKILL a plugin that slept on, and a killed plugin
# writes no summary.
ct run stopped
check "a timeout in the middle of the CPU interval ends the sampling before the kill" eval 'rc_is 1 &&
	report_json stopped | grep -q "\"reason\": \"timed out after 1s\"" &&
	report_json stopped | grep -q "\"summary\": \"cpu 0.0% busy over 60000 ms"'

# ---- a replica: its replay lag ----
# as_owner CMD...: as the cluster's owner (the harness runs the server as
# postgres when the tests run as root).
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u "${PG_HARNESS_RUNAS:-postgres}" -- "$@"; else "$@"; fi
}
PG_HARNESS_BINDIR=${PG_HARNESS_BINDIR:-/usr/lib/postgresql/15/bin}
# The harness's cluster keeps minimal WAL and no senders: a replica needs
# more, and a replication line in pg_hba.conf.
make_replica() {
	local port=$((PGPORT + 1 + RANDOM % 500)) i
	sql "ALTER SYSTEM SET wal_level = 'replica'" >/dev/null &&
		sql "ALTER SYSTEM SET max_wal_senders = 4" >/dev/null &&
		echo "local replication all trust" >>"$PG_HARNESS_DIR/data/pg_hba.conf" &&
		as_owner "$PG_HARNESS_BINDIR/pg_ctl" -D "$PG_HARNESS_DIR/data" -w -m fast restart >/dev/null 2>&1 &&
		as_owner "$PG_HARNESS_BINDIR/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" \
			-D "$PG_HARNESS_DIR/replica" -R -X stream >"$T/basebackup.log" 2>&1 || return 1
	replica=$PG_HARNESS_DIR/replica
	as_owner "$PG_HARNESS_BINDIR/pg_ctl" -D "$replica" -l "$PG_HARNESS_DIR/replica.log" -w \
		-o "-p $port -k $PG_HARNESS_DIR" start >/dev/null 2>&1 || return 1
	REPLICA_PORT=$port
	for i in $(seq 100); do
		[ "$(PGPORT=$port sql "SELECT pg_is_in_recovery()" 2>/dev/null)" = t ] && return 0
		sleep 0.1
	done
	return 1
}
# on_replica SQL
on_replica() { PGPORT=$REPLICA_PORT sql "$1"; }
if make_replica; then
	# A write replayed, replay paused, a second write received but not
	# replayed: the lag is the age of the first write's commit.
	sql "CREATE TABLE lag_probe (at timestamptz)" >/dev/null
	for i in $(seq 100); do [ "$(on_replica "SELECT to_regclass('lag_probe') IS NOT NULL")" = t ] && break; sleep 0.1; done
	on_replica "SELECT pg_wal_replay_pause()" >/dev/null
	sleep 1.5
	sql "INSERT INTO lag_probe VALUES (now())" >/dev/null
	# The insert position: with synchronous_commit off, pg_current_wal_lsn()
	# may still be before the INSERT's record.
	target=$(sql "SELECT pg_current_wal_insert_lsn()")
	for i in $(seq 100); do
		[ "$(on_replica "SELECT pg_last_wal_receive_lsn() >= '$target' AND pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()")" = t ] && break
		sleep 0.1
	done
	cat >>"$T/caretaker.ini" <<CONF

[replica]
plugin = metrics
cpu_interval = 10ms
conninfo = host=$PGHOST port=$REPLICA_PORT dbname=$PGDATABASE user=$PGUSER
CONF
	ct run replica
	check "on a replica whose replay is paused, the lag is the age of the last replayed commit" eval 'rc_is 0 &&
		[ "$(metric replica db_is_replica)" = 1 ] && between 1.4 "$(metric replica db_replication_lag_seconds)" 60'
	on_replica "SELECT pg_wal_replay_resume()" >/dev/null
	for i in $(seq 100); do [ "$(on_replica "SELECT pg_last_wal_replay_lsn() >= '$target'")" = t ] && break; sleep 0.1; done
	ct run replica
	check "once everything received is replayed, the lag is 0" eval 'rc_is 0 && [ "$(metric replica db_replication_lag_seconds)" = 0 ]'
else
	skip_test "on a replica whose replay is paused, the lag is the age of the last replayed commit" \
		"could not start a replica: $(tail -n 3 "$T/basebackup.log" "$PG_HARNESS_DIR/replica.log" 2>/dev/null | tr '\n' ' ')"
	skip_test "once everything received is replayed, the lag is 0" "no replica"
fi

ct describe metrics
describes_all() {
	local k
	rc_is 0 || return 1
	for k in cpu_interval exclude_fs mounts exclude_interfaces database conninfo statement_timeout store table schema; do
		out_has "^  *$k " || { echo "# $k is not described"; return 1; }
	done
}
check "describe documents every option" describes_all

done_testing
