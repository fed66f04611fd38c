#!/bin/bash
# The per-job lock and stopping caretaker itself.
. "$top_srcdir/tests/integration/lib.sh"

install_plugins slowok
write_config <<'CONF'
[slow]
plugin = slowok
seconds = 3

[slow-unlocked]
plugin = slowok
seconds = 1
lock = none
CONF

"$CARETAKER" -c "$T/caretaker.ini" run slow >"$T/first.out" 2>&1 &
first=$!
for _ in $(seq 50); do [ -s "$T/state/locks/slow.lock" ] && break; sleep 0.05; done
ct run slow
check "a second run of a running job exits 75" rc_is 75
check "it says which process holds the lock" out_has "already running (pid $first)"
wait "$first"
first_rc=$?
check "the first run still succeeds" eval '[ "$first_rc" -eq 0 ]'
ct run slow
check "once the first run ended, the job runs again" rc_is 0

"$CARETAKER" -c "$T/caretaker.ini" run slow-unlocked >/dev/null 2>&1 &
other=$!
sleep 0.2
ct run slow-unlocked
wait "$other"
check "lock = none lets two runs overlap" rc_is 0

"$CARETAKER" -c "$T/caretaker.ini" run slow >"$T/term.out" 2>&1 &
victim=$!
sleep 0.5
kill -TERM "$victim"
wait "$victim"
term_rc=$?
check "SIGTERM to caretaker stops the job and exits 1" eval '[ "$term_rc" -eq 1 ]'
check "the run is recorded as stopped" \
	eval 'report_json slow | grep -q "stopped: caretaker received SIGTERM"'

done_testing
