#!/bin/bash
# The backup's progress reaches the operator: on a terminal `run` shows
# the dump's live line (step and percentage) and clears it before the
# result line; without a terminal not a byte of it reaches stderr.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/backuplib.sh"

PTY="$top_srcdir/tests/integration/ttyrun.py"

# The real pg_dump, its output held back a moment halfway, so the dump
# lasts long enough for the live line to be drawn.
slow=$(fake_pg_dump slow '"$REAL" "$@" >"'"$T"'/dump.out" || exit $?
head -c 4096 "'"$T"'/dump.out"; sleep 2; tail -c +4097 "'"$T"'/dump.out"')
config <<CONF
[db]
plugin = backup
dest = $T/backups
pg_bindir = $slow
CONF

python3 "$PTY" "$T/tty" "$CARETAKER" -c "$T/caretaker.ini" run db
rc=$?
cp "$T/tty" "$out"
check "run shows the backup's live line on a terminal and clears it before the result line" \
	eval 'rc_is 0 && python3 "$top_srcdir/tests/integration/liveline.py" "$T/tty" db dumping'

ct run db
check "run prints no progress bytes on stderr when it is not a terminal" \
	eval 'rc_is 0 && out_has "^ok .*db" && ! grep -q -e $'"'"'\r'"'"' -e $'"'"'\033'"'"' -e dumping "$err"'
check "no running file is left after the backups" eval '[ -z "$(ls -A "$T/state/running")" ]'

done_testing
