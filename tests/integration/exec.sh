#!/bin/bash
# The exec plugin: argv without a shell, env, cwd, user, exit codes, output.
. "$top_srcdir/tests/integration/lib.sh"

install_plugins
mkdir -p "$T/work"
write_config <<'CONF'
[argv]
plugin = exec
command = printf '%s|' "two words" 'single $HOME' back\ slash "a;b"

[not-a-shell]
plugin = exec
command = echo hi | cat

[env-cwd]
plugin = exec
command = sh -c 'echo "$GREETING from $(pwd)"'
env = GREETING=hello, OTHER=1
cwd = work

[warn-code]
plugin = exec
command = sh -c 'exit 3'
warn_exit_codes = 3

[fail-code]
plugin = exec
command = sh -c 'echo last words >&2; exit 4'

[missing-program]
plugin = exec
command = /nonexistent/program --flag

[slow]
plugin = exec
command = sleep 31.7
timeout = 1s

[dry]
plugin = exec
command = touch dry-run-was-not-dry
cwd = work
CONF

ct run argv
check "argv keeps quoted words whole and runs no shell" \
	eval 'rc_is 0 && report_json argv | grep -q "two words|single \$HOME|back slash|a;b|"'

ct run not-a-shell
check "an unquoted pipe is refused with a hint" \
	eval 'rc_is 1 && out_has "shell syntax"'

ct run env-cwd
check "env and cwd reach the command" \
	eval 'rc_is 0 && report_json env-cwd | grep -q "hello from $T/work"'

ct run warn-code
check "an exit code in warn_exit_codes warns and exits 0" \
	eval 'rc_is 0 && out_has "^warn .*warn-code"'

ct run fail-code
check "any other exit code fails, with the last line of output" \
	eval 'rc_is 1 && out_has "exited 4: last words"'

ct run missing-program
check "a missing program fails with the reason" \
	eval 'rc_is 1 && out_has "cannot run /nonexistent/program: No such file"'

ct run slow
check "the job timeout kills the command and says so" \
	eval 'rc_is 1 && out_has "timed out after 1s"'
# SIGKILL is delivered asynchronously: give a loaded machine a moment to
# finish the killed process group before looking for survivors.
sleep_gone() {
	local i
	for i in $(seq 1 30); do
		pgrep -f "^sleep 31[.]7$" >/dev/null || return 0
		sleep 0.1
	done
	return 1
}
check "no sleep is left behind after a timeout" sleep_gone

ct run --dry-run dry
check "--dry-run plans and does not run the command" \
	eval 'rc_is 0 && out_has "would run touch" && [ ! -e "$T/work/dry-run-was-not-dry" ]'

# A command that leaves a daemon holding its stdout: the run ends soon
# after the command does, not at its timeout, and the daemon is ended.
cat >"$T/daemonize.sh" <<'SH'
#!/bin/sh
setsid sleep 287 &
echo started
SH
chmod 755 "$T/daemonize.sh"
cat >>"$T/caretaker.ini" <<CONF

[leaves-a-daemon]
plugin = exec
command = $T/daemonize.sh
timeout = 20s
CONF
started_at=$(date +%s)
ct run leaves-a-daemon
took=$(($(date +%s) - started_at))
check "a command whose daemon keeps its output open ends with the command (took ${took}s)" \
	eval 'rc_is 0 && [ "$took" -lt 8 ] && report_json leaves-a-daemon | grep -q "\"stdout\": \"started" &&
		report_json leaves-a-daemon | grep -q "still holds its output open"'
check "and the daemon does not outlive the run" eval '! pgrep -f "^sleep 287$" >/dev/null'

if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	cat >>"$T/caretaker.ini" <<'CONF'

[as-nobody]
plugin = exec
command = id -u
user = nobody
CONF
	ct run as-nobody
	check "user = nobody runs the command as nobody" \
		eval 'rc_is 0 && report_json as-nobody | grep -q "\"stdout\": \"$(id -u nobody)"'
else
	skip_test_inapplicable "user switch" "not root"
fi

cat >>"$T/caretaker.ini" <<CONF

[writes-a-file]
plugin = exec
command = touch $T/made.txt
artifacts = made=$T/made.txt, missing=$T/never.txt

[relative-artifact]
plugin = exec
command = true
artifacts = made=made.txt
CONF
ct run writes-a-file
check "a file in artifacts is recorded once the command succeeded; a missing one is a warning" \
	eval 'rc_is 0 && report_json writes-a-file | grep -q "\"path\": \"$T/made.txt\"" &&
	! report_json writes-a-file | grep -q "\"path\": \"$T/never.txt\"" &&
	report_json writes-a-file | grep -q "artifact missing: $T/never.txt"'
ct run relative-artifact
check "an artifact path that is not absolute is refused" \
	eval 'rc_is 1 && out_has "artifacts: .made=made.txt. is not KIND=/absolute/path"'

done_testing
