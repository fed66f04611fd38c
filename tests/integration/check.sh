#!/bin/bash
# `caretaker check`: every configuration error at once, each with file:line,
# exit 78; a clean configuration exits 0.
. "$top_srcdir/tests/integration/lib.sh"

install_plugins
write_config <<'CONF'
[good]
plugin = hello
who = you
CONF

ct check
check "a clean configuration checks with exit 0" \
	eval 'rc_is 0 && out_has "^1 job, [0-9]* plugins: 0 errors, 0 warnings$"'

printf '[pw]\nplugin = hello\nwho = host=db password=secret\nwhom = typo\n' >"$T/conf.d/05-one.ini"
chmod 644 "$T/conf.d/05-one.ini"
ct check
check "one error and one warning are counted in the singular" \
	eval 'rc_is 78 && out_has "^2 jobs, [0-9]* plugins: 1 error, 1 warning$"'
rm "$T/conf.d/05-one.ini"

cat >"$T/conf.d/10-bad.ini" <<'CONF'
[typo]
plugin = hello
whom = you

[wrong-type]
plugin = hello
times = many
timeout = 90x

[range]
plugin = hello
times = 1000

[no-command]
plugin = exec

[no-plugin]
plugin = nosuchplugin
user = no-such-user-here

[good]
plugin = hello

[dangling]
plugin = hello
requires = nosuchjob
on_failure = alsonothing

[cycle-a]
plugin = hello
requires = cycle-b

[cycle-b]
plugin = hello
requires = cycle-a

this line is not ini
[unclosed
CONF
printf '[binary]\nplugin = hello\n\0\0garbage\n' >"$T/conf.d/20-binary.ini"
printf '[truncated]\nplugin = hel' >"$T/conf.d/30-truncated.ini"
{ printf '[long]\nplugin = exec\ncommand = echo '; head -c 70000 /dev/zero | tr '\0' x; printf '\n'; } \
	>"$T/conf.d/40-long.ini"
printf '[pw]\nplugin = hello\nwho = host=db password=secret\n\n[envpw]\nplugin = exec\ncommand = pg_dump app\nenv = PGHOST=db, PGPASSWORD=secret\n' \
	>"$T/conf.d/50-pw.ini"
chmod 644 "$T"/conf.d/*.ini

ct check
f="$T/conf.d/10-bad.ini"
check "check exits 78 on errors" rc_is 78
check "unknown key, with file:line and a did-you-mean hint" \
	eval 'err_has "^$f:3: error: unknown key .whom. for plugin .hello." && err_has "hint: did you mean .who.?"'
check "wrong type for an int" err_has "^$f:7: error: times: 'many' is not a whole number"
check "wrong type for a duration" err_has "^$f:8: error: timeout: '90x': unknown time unit 'x'"
check "an int out of the plugin's range" err_has "^$f:12: error: times: 1000 is out of range 1-100"
check "a missing required key, at the section" \
	err_has "^$f:14: error: required key 'command' (string) is missing for plugin 'exec'"
check "an unknown plugin" err_has "^$f:18: error: plugin 'nosuchplugin': no such plugin"
check "a user that does not exist" err_has "^$f:19: error: user 'no-such-user-here' does not exist"
check "a duplicate job names both places" \
	err_has "^$f:21: error: duplicate section \[good\] (first defined at $T/caretaker.ini:6)"
check "requires naming no job" err_has "^$f:26: error: requires names no job: 'nosuchjob'"
check "on_failure naming no job" err_has "^$f:27: error: on_failure names no job: 'alsonothing'"
check "a requires cycle is named" err_has "requires forms a cycle: cycle-a -> cycle-b -> cycle-a"
check "a line that is not ini" err_has "^$f:37: error: expected 'key = value' or '\[section\]'"
check "an unclosed section header" err_has "^$f:38: error: malformed section header"
check "a binary file" err_has "20-binary.ini:3: error: binary data (a NUL byte)"
check "a truncated file" err_has "30-truncated.ini:2: error: the last line has no newline"
check "a line longer than the buffer is an error, not cut" \
	err_has "40-long.ini:3: error: line is 70015 bytes long, the limit is 65534"
check "a password in a world-readable file is a warning" \
	err_has "50-pw.ini:3: warning: 'who' holds a password in a file others can read"
check "PGPASSWORD= in the env list of a world-readable file is a warning too" \
	err_has "50-pw.ini:8: warning: 'env' holds a password in a file others can read"
check "all errors are reported, not only the first" \
	eval '[ "$(grep -c ": error:" "$err")" -ge 15 ]'

chmod 600 "$T/conf.d/50-pw.ini"
ct check
check "no password warning when only the owner can read the file" \
	eval '! err_has "50-pw.ini:[0-9]*: warning"'

rm "$T/conf.d/20-binary.ini"
ct run typo
check "run of a job with a configuration error fails it, exits 78, names the place" \
	eval 'rc_is 78 && out_has "^failed .*typo .*configuration error: $f:3: unknown key"'

rm -f "$T"/conf.d/*.ini
printf '[caretaker]\nstate_dir = x\n' >"$T/conf.d/60-settings.ini"
chmod 644 "$T/conf.d/60-settings.ini"
ct run good
check "a global error stops run with exit 78" \
	eval 'rc_is 78 && err_has "60-settings.ini:1: error: the \[caretaker\] section belongs in the main file"'

# Schedules that parse but never elapse again, or stop: said by check and
# by every other command, with file:line.
rm -f "$T"/conf.d/*.ini
write_config <<'CONF'
[good]
plugin = hello
schedule = daily

[feb30]
plugin = hello
schedule = *-02-30

[leap2100]
plugin = hello
schedule = 2100-02-29

[cron-feb30]
plugin = hello
schedule = 0 0 30 2 *

[dst-loop]
plugin = hello
schedule = *-03/8-25 Europe/Berlin

[ends]
plugin = hello
schedule = 2025..2090-*-01 06:00 UTC
CONF
ini="$T/caretaker.ini"
at() { echo "$ini:$(grep -n -F -- "$1" "$ini" | cut -d: -f1)"; }
ct check
check "check exits 78 for schedules that never elapse again" rc_is 78
check "*-02-30 never elapses again: an error at its line" \
	err_has "^$(at '*-02-30'): error: schedule '\*-02-30' never elapses again"
check "2100-02-29 never elapses again (2100 is no leap year)" \
	err_has "^$(at '2100-02-29'): error: schedule '2100-02-29' never elapses again"
check "cron 0 0 30 2 * never elapses again" \
	err_has "^$(at '0 0 30 2 *'): error: schedule '0 0 30 2 \*' never elapses again"
check "*-03/8-25 in a zone with DST is named: never again, or its last elapse" \
	eval 'err_has "^$(at "*-03/8-25"): error: schedule .* never elapses again" ||
	      err_has "^$(at "*-03/8-25"): warning: schedule .* elapses for the last time at"'
check "a schedule that stops is a warning naming its last elapse" \
	err_has "^$(at '2025..2090'): warning: schedule '.*' elapses for the last time at 2090-12-01 06:00:00 UTC"
check "a daily schedule is not named" eval '! err_has "schedule .daily."'
for cmd in list status "next" "run --due" "next feb30"; do
	ct $cmd
	check "$cmd names a schedule that never elapses again" \
		err_has "^$(at '*-02-30'): error: schedule '\*-02-30' never elapses again"
done
ct run good
check "run of another job runs it without following every schedule (start-up time)" \
	eval 'rc_is 0 && out_has "^ok .*good" && ! err_has "never elapses again"'
ct -q list
check "-q keeps the errors and drops the warnings" \
	eval 'err_has "never elapses again" && ! err_has "elapses for the last time"'
ct run feb30
check "run of a job whose schedule never elapses again fails it with the reason" \
	eval 'rc_is 78 && out_has "^failed .*feb30 .*never elapses again"'

done_testing
