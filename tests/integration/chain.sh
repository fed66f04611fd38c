#!/bin/bash
# requires, on_failure, enabled, only_if_exists.
. "$top_srcdir/tests/integration/lib.sh"

install_plugins
mkdir -p "$T/marks"
write_config <<CONF
[backup]
plugin = exec
command = touch $T/marks/backup

[update]
plugin = exec
command = sh -c 'touch $T/marks/update; exit 1'
requires = backup
on_failure = rollback

[rollback]
plugin = exec
command = touch $T/marks/rollback
enabled = no

[after-update]
plugin = exec
command = touch $T/marks/after-update
requires = update

[never]
plugin = exec
command = touch $T/marks/never
enabled = no

[needs-project]
plugin = exec
command = touch $T/marks/needs-project
only_if_exists = $T/project/manage.py
CONF

ct run after-update
check "prerequisites run first, in order" \
	eval '[ -e "$T/marks/backup" ] && [ -e "$T/marks/update" ] && out_has "^ok .*backup" &&
		out_has "^failed .*update"'
check "a job whose prerequisite failed is skipped, not run" \
	eval '[ ! -e "$T/marks/after-update" ] && out_has "^skipped .*after-update .*requires update, which did not succeed"'
check "on_failure runs its job after a failure, even a disabled one" \
	eval '[ -e "$T/marks/rollback" ] && out_has "^ok .*rollback"'
check "the exit status says a job failed" rc_is 1
check "the order is backup, update, skipped, rollback" \
	eval '[ "$(awk "{print \$2}" "$out" | tr "\n" " ")" = "backup update rollback after-update " ]'

rm -f "$T"/marks/*
ct run --all
check "run --all runs the enabled jobs, skips disabled ones, and exits 1 for the failed one" \
	eval 'rc_is 1 && out_has "^ok .*backup" && out_has "^failed .*update" && [ -e "$T/marks/backup" ] &&
		[ ! -e "$T/marks/never" ] && out_lacks " never "'
check "only_if_exists skips (not fails) while the path is missing" \
	eval 'out_has "^skipped .*needs-project .*does not exist" && [ ! -e "$T/marks/needs-project" ]'
ct run needs-project
check "a job skipped by only_if_exists alone exits 0" \
	eval 'rc_is 0 && out_has "^skipped .*needs-project .*does not exist"'

mkdir -p "$T/project" && touch "$T/project/manage.py"
ct run needs-project
check "only_if_exists runs once the path exists" \
	eval 'rc_is 0 && [ -e "$T/marks/needs-project" ]'

done_testing
