#!/bin/bash
# Progress an operator can see: the live line of `run` on a terminal (and
# nowhere else), `status` listing the runs alive now from another shell,
# and running files that do not outlive their run or their caretaker.
. "$top_srcdir/tests/integration/lib.sh"

command -v python3 >/dev/null || skip_all "python3 is not installed"
PTY="$top_srcdir/tests/integration/ttyrun.py"

install_plugins slowprogress
write_config <<'CONF'
[slow]
plugin = slowprogress
seconds = 3
step = dumping

[quick]
plugin = hello
CONF

# on_tty FILE [ttyrun.py options] [caretaker options] ARGS...: caretaker on a
# terminal, what the terminal got in FILE; sets $rc.
on_tty() {
	local file=$1
	shift
	local opts=()
	while [ "${1:-}" = --journal ] || [ "${1:-}" = --term ]; do
		if [ "$1" = --term ]; then
			opts+=("$1" "$2")
			shift 2
		else
			opts+=("$1")
			shift
		fi
	done
	python3 "$PTY" "${opts[@]}" "$file" "$CARETAKER" -c "$T/caretaker.ini" "$@"
	rc=$?
	cp "$file" "$out" # for check's report on failure
}

# live_line_then_result FILE JOB STEP: see liveline.py.
live_line_then_result() { python3 "$top_srcdir/tests/integration/liveline.py" "$@"; }

# no_live_line FILE: nothing of a live line reached the terminal.
no_live_line() { ! grep -q -e $'\r'slow -e $'\033\\[K' -e dumping "$1"; }

tty_file="$T/tty"
on_tty "$tty_file" run slow
check "run draws the job's live line on a terminal and clears it before the result line" \
	eval 'rc_is 0 && live_line_then_result "$tty_file" slow dumping'

ct run slow
check "run prints no progress bytes on stderr when it is not a terminal" \
	eval 'rc_is 0 && no_live_line "$err" && out_has "^ok .*slow"'

on_tty "$tty_file" -q run slow
check "run -q draws no live line on a terminal" eval 'rc_is 0 && no_live_line "$tty_file"'

on_tty "$tty_file" --journal run slow
check "run draws no live line when stderr is the journal" \
	eval 'rc_is 0 && no_live_line "$tty_file" && grep -q "ok .*slow" "$tty_file"'

on_tty "$tty_file" --term dumb run slow
check "run draws no live line on a dumb terminal" eval 'rc_is 0 && no_live_line "$tty_file"'

ct status
check "status shows no running jobs when none runs" eval 'rc_is 0 && out_lacks "^RUNNING"'

# A run in the background, watched from here.
"$CARETAKER" -c "$T/caretaker.ini" run slow >"$T/bg.out" 2>"$T/bg.err" &
bg=$!
for _ in $(seq 1 50); do
	ls "$T"/state/running/slow.*.json >/dev/null 2>&1 && grep -q '"step":"dumping"' \
		"$T"/state/running/slow.*.json 2>/dev/null && break
	sleep 0.1
done
ct status
check "status from another shell lists the running job with its step" \
	eval 'rc_is 0 && out_has "^RUNNING" && out_has "^slow  *$bg  *[0-9]*s  *dumping [0-9]*%"'
running_file=$(ls "$T"/state/running/slow.*.json 2>/dev/null | head -1)
check "the running file names caretaker and the job's child, and others cannot read it" \
	eval '[ -n "$running_file" ] && [ "$(stat -c %a "$running_file")" = 640 ] &&
		grep -q "\"pid\":$bg," "$running_file" && grep -q "\"child_pid\":[1-9]" "$running_file"'
wait "$bg"
rc=$?
check "the watched run ends well" rc_is 0
check "the running file is gone after the run" \
	eval '[ -n "$running_file" ] && [ ! -e "$running_file" ] && [ -z "$(ls -A "$T/state/running")" ]'

# A caretaker that died (kill -9) leaves its file: a pid that is gone...
mkdir -p "$T/state/running"
sh -c 'exit 0' &
dead=$!
wait "$dead"
printf '{"format":1,"job":"ghost","pid":%d,"pid_start":1,"child_pid":%d,"start_us":1,"step":"dumping","fraction":0.5}' \
	"$dead" "$dead" >"$T/state/running/ghost.$dead.json"
ct status
check "a stale running file with a dead pid is not shown as running" \
	eval 'rc_is 0 && out_lacks ghost'
check "status removes the stale running file" \
	eval '[ -d "$T/state/running" ] && [ ! -e "$T/state/running/ghost.$dead.json" ]'

# ...or a pid now used by another process, which started at another time.
printf '{"format":1,"job":"reused","pid":%d,"pid_start":1,"child_pid":1,"start_us":1,"step":"dumping","fraction":0.5}' \
	"$$" >"$T/state/running/reused.$$.json"
ct status
check "a running file whose pid was reused by another process is not shown as running" \
	eval 'rc_is 0 && out_lacks reused'

done_testing
