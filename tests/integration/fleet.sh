#!/bin/bash
# A fleet sharing one database: lock = database lets one host run a job,
# history = database shares the record.  Two caretaker processes with their
# own state folders stand for two hosts, against a throwaway cluster.
. "$top_srcdir/tests/integration/lib.sh"

command -v python3 >/dev/null || skip_all "python3 is not installed"
start_cluster --db fleet
install_plugins slowok
for host in a b; do
	cat >"$T/$host.ini" <<CONF
[caretaker]
plugin_path = plugins
state_dir = state-$host
conninfo = host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER
history = database

[shared]
plugin = slowok
seconds = 2
lock = database
CONF
	chmod 644 "$T/$host.ini"
done

"$CARETAKER" -c "$T/a.ini" run shared >"$T/a.out" 2>&1 &
a=$!
sleep 0.7
"$CARETAKER" -c "$T/b.ini" run shared >"$T/b.out" 2>&1
b_rc=$?
wait "$a"
a_rc=$?
check "the first host runs the job" eval '[ "$a_rc" -eq 0 ] && grep -q "^ok .*shared" "$T/a.out"'
check "the second host skips it, naming the host that runs it, and exits 0" \
	eval '[ "$b_rc" -eq 0 ] && grep -q "^skipped .*shared .*running on $(hostname | cut -c1-20).* pid $a" "$T/b.out"'

rows=$(psql -X -At -c "SELECT status || ' ' || host FROM caretaker_history WHERE job = 'shared' ORDER BY id")
check "both runs are in the shared history table" \
	eval '[ "$(echo "$rows" | wc -l)" -eq 2 ] && echo "$rows" | grep -q "^ok " && echo "$rows" | grep -q "^skipped "'
"$CARETAKER" -c "$T/b.ini" report shared --format json >"$out" 2>"$err"
check "report on the second host shows the first host's run from the table" \
	python3 - "$out" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert [r["status"] for r in runs] == ["ok", "skipped"], runs
PY

"$CARETAKER" -c "$T/a.ini" run shared >"$out" 2>"$err"
check "with nobody else holding it, the lock is taken again" grep -q "^ok .*shared" "$out"
check "the server's notices do not reach stderr raw" eval '! err_has "NOTICE"'
"$CARETAKER" -c "$T/b.ini" report shared >"$out" 2>"$err"
check "nor do they when report reads the table" eval '! err_has "NOTICE"'

"$CARETAKER" -vv -c "$T/a.ini" run shared >"$out" 2>"$err"
check "a notice is a debug line of the log" \
	err_has '^caretaker: debug: PostgreSQL NOTICE: relation "caretaker_history" already exists, skipping$'

psql -X -q -c "CREATE FUNCTION warn_history() RETURNS trigger LANGUAGE plpgsql AS
	\$\$BEGIN RAISE WARNING 'history is getting large'; RETURN NEW; END\$\$;
	CREATE TRIGGER warn_history BEFORE INSERT ON caretaker_history
	FOR EACH ROW EXECUTE FUNCTION warn_history();"
"$CARETAKER" -c "$T/a.ini" run shared >"$out" 2>"$err"
check "a server WARNING is a warning line of the log" \
	eval 'grep -q "^ok .*shared" "$out" &&
	      err_has "^caretaker: warning: PostgreSQL WARNING: history is getting large$"'

sed -i "s|^conninfo = .*|conninfo = host=$T port=1 dbname=none connect_timeout=2|" "$T/a.ini"
"$CARETAKER" -c "$T/a.ini" run shared >"$out" 2>"$err"
rc=$?
check "an unreachable database fails the job closed" \
	eval 'rc_is 1 && grep -q "^failed .*shared .*cannot take the database lock" "$out"'

done_testing
