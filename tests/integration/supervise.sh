#!/bin/bash
# The supervision of a job's child: runs end when pidfd_open is refused,
# a job does not outlive a caretaker killed with SIGKILL, processes that
# leave the job's process group do not outlive the run, and `run A B`
# runs A, then B.
. "$top_srcdir/tests/integration/lib.sh"

install_plugins hang escape
shim="$top_builddir/tests/faults/.libs/nopidfd.so"

# Every process of this test's runs carries this variable: caretaker passes
# its environment to the job's child, and the exec plugin to its command.
mark="CT_SUPERVISE_MARK=$T"
job_pids() { grep -lsxzF "$mark" /proc/[0-9]*/environ | cut -d/ -f3 | tr '\n' ' '; }
trap 'pids=$(job_pids); [ -n "$pids" ] && kill -9 $pids; rm -rf "$T"' EXIT

# The scripts the exec jobs run (exec runs argv, never a shell).
script() {
	printf '#!/bin/sh\n%s\n' "$2" >"$T/$1"
	chmod 755 "$T/$1"
}
script long.sh "[ -e $T/quick ] && exit 0
touch $T/long.started
sleep 300"
script daemon.sh "setsid sh -c 'touch $T/d1; exec sleep 300' </dev/null >/dev/null 2>&1 &
(setsid sh -c 'touch $T/d2; exec sleep 301' </dev/null >/dev/null 2>&1 &)
while [ ! -e $T/d1 ] || [ ! -e $T/d2 ]; do sleep 0.05; done
echo daemons started"
script daemon-hang.sh "setsid sh -c 'touch $T/daemon-hang.started; exec sleep 300' </dev/null >/dev/null 2>&1 &
while [ ! -e $T/daemon-hang.started ]; do sleep 0.05; done
exec sleep 300"

write_config <<CONF
[plain]
plugin = hello

[hang]
plugin = hang
timeout = 1s

[stuck]
plugin = hang
timeout = 60s

[long]
plugin = exec
command = $T/long.sh
timeout = 60s

[daemon]
plugin = exec
command = $T/daemon.sh

[daemon-timeout]
plugin = exec
command = $T/daemon-hang.sh
timeout = 1s

[daemon-long]
plugin = exec
command = $T/daemon-hang.sh
timeout = 60s

[escape]
plugin = escape
timeout = 1s

[escape-long]
plugin = escape
timeout = 60s
CONF

now_ms() { date +%s%3N; }

# bg_start [ENV=VALUE...] -- ARGS...: caretaker in the background, marked;
# $bg is its pid.  Whatever an earlier behaviour left (it failed and said
# so) is killed first, so that one failure does not bring down the next, and the output files are emptied here, not in the
# background, so that nothing waits on an earlier run's words.
bg_start() {
	local envs=() left
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	wait_until 5 no_job_pids || { left=$(job_pids); kill -9 $left 2>/dev/null; }
	: >"$out"
	: >"$err"
	env "$mark" "${envs[@]}" "$CARETAKER" -c "$T/caretaker.ini" "$@" >"$out" 2>"$err" &
	bg=$!
	bg_t0=$(now_ms)
}

# bg_finish SECONDS: wait at most that long for it (then SIGKILL it, and
# $rc says 137); sets $rc and $took_ms.
bg_finish() {
	local i
	for ((i = 0; i < $1 * 20; i++)); do
		kill -0 "$bg" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$bg" 2>/dev/null && kill -9 "$bg"
	wait "$bg" 2>/dev/null
	rc=$?
	took_ms=$(($(now_ms) - bg_t0))
}

# bg_kill9: SIGKILL to caretaker, as the OOM killer or an operator would.
bg_kill9() {
	kill -9 "$bg"
	wait "$bg" 2>/dev/null
}

# wait_until SECONDS COMMAND...: poll until COMMAND succeeds (0 seconds:
# try once).
wait_until() {
	local i n=$(($1 * 20))
	shift
	for ((i = 0; ; i++)); do
		"$@" && return 0
		[ "$i" -ge "$n" ] && return 1
		sleep 0.05
	done
}

no_job_pids() { [ -z "$(job_pids)" ]; }

# check_gone NAME SECONDS: one TAP line saying whether every process of the
# runs is gone within SECONDS; what is left is listed, then killed, so that
# the next behaviour starts clean.
check_gone() {
	local left
	if wait_until "$2" no_job_pids; then
		ok "$1"
		return
	fi
	left=$(job_pids)
	not_ok "$1" "expected: no process of the job left after $2 s" \
		"left: $(ps -o pid,ppid,pgid,args -p "$(echo $left | tr ' ' ',')")"
	kill -9 $left 2>/dev/null
}
record_has() { report_json "$1" | grep -q -- "$2"; }

# ---- pidfd_open refused: SIGCHLD tells caretaker the job ended -----------
nopidfd=(LD_PRELOAD="$shim" CT_NOPIDFD_LOG="$T/nopidfd.log"
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" --)

bg_start "${nopidfd[@]}" run plain
bg_finish 20
check "without pidfd_open a run ends when its job ends (took ${took_ms} ms)" \
	eval 'rc_is 0 && out_has "^ok .*plain" && [ "$took_ms" -lt 5000 ]'
check "the shim refused pidfd_open" test -s "$T/nopidfd.log"

bg_start "${nopidfd[@]}" run hang
bg_finish 20
check "without pidfd_open a hanging job times out (took ${took_ms} ms)" \
	eval 'rc_is 1 && out_has "^failed .*hang .*timed out after 1s" && [ "$took_ms" -lt 8000 ]'

for sig in TERM INT; do
	bg_start "${nopidfd[@]}" run stuck
	wait_until 10 grep -q hanging "$err"
	kill -"$sig" "$bg"
	bg_finish 20
	check "without pidfd_open SIG$sig to caretaker stops a hanging job (took ${took_ms} ms)" \
		eval 'rc_is 1 && out_has "stopped: caretaker received SIG$sig" && [ "$took_ms" -lt 8000 ]'
done
check_gone "nothing of the stopped jobs is left" 5

# ---- caretaker killed with SIGKILL: the job does not outlive it -----------
bg_start -- run long
wait_until 10 test -e "$T/long.started"
bg_kill9
check "a job's command ends within seconds of caretaker's SIGKILL" wait_until 5 no_job_pids
touch "$T/quick"
ct run long
check "the next run of the job is not refused" \
	eval 'rc_is 0 && out_has "^ok .*long" && out_lacks "already running"'

bg_start -- run stuck
wait_until 10 grep -q hanging "$err"
bg_kill9
check "a job that ignores SIGTERM ends within seconds of caretaker's SIGKILL" \
	wait_until 5 no_job_pids
check "and its lock is free" flock -n "$T/state/locks/stuck.lock" true

bg_start -- run daemon-long
wait_until 10 test -e "$T/daemon-hang.started"
bg_kill9
check_gone "a process that left the group ends with the job when caretaker is killed" 5

bg_start -- run escape-long
wait_until 10 grep -q hanging "$err"
bg_kill9
check_gone "a plugin that ignores SIGTERM and a process it let escape end when caretaker is killed" 5

# ---- processes that leave the job's process group ------------------------
bg_start -- run daemon
bg_finish 20
check "a job whose script daemonizes ends ok" eval 'rc_is 0 && out_has "^ok .*daemon"'
check_gone "no daemonized process survives the run" 0
check "the run's record says how many escaped processes were ended" \
	record_has daemon "ended 2 processes that had left the job's process group"

rm -f "$T/daemon-hang.started"
bg_start -- run daemon-timeout
bg_finish 20
check "a daemonizing job that hangs times out" \
	eval 'rc_is 1 && out_has "^failed .*daemon-timeout .*timed out after 1s"'
check_gone "no daemonized process survives the timeout" 0
check "the timed-out run's record says it ended the escaped process" \
	record_has daemon-timeout "ended 1 process that had left the job's process group"

bg_start -- run escape
bg_finish 20
check "a job child killed after its timeout is reported as timed out" \
	eval 'rc_is 1 && out_has "^failed .*escape .*timed out after 1s"'
check_gone "the process it left outside its group does not survive it" 0
check "that run's record says so too" \
	record_has escape "ended 1 process that had left the job's process group"

# ---- run A B runs A, then B ----------------------------------------------
write_config <<'CONF'
[backup]
plugin = hello

[vacuum]
plugin = hello
requires = backup

[analyze]
plugin = hello
CONF
ct run analyze vacuum
check "run runs named jobs in the order given, requires first" \
	eval 'rc_is 0 && [ "$(awk "{print \$2}" "$out" | tr "\n" " ")" = "analyze backup vacuum " ]'
ct run --all
check "run --all keeps the configuration's order" \
	eval 'rc_is 0 && [ "$(awk "{print \$2}" "$out" | tr "\n" " ")" = "backup vacuum analyze " ]'

done_testing
