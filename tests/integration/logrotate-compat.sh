#!/bin/bash
# The runbook's logrotate file, run by logrotate(8) and, imported by
# `caretaker import-logrotate`, by the logrotate plugin, on copies of the
# same logs over simulated days: both leave the same files with the same
# contents (decompressed).
. "$top_srcdir/tests/integration/lib.sh"

command -v logrotate >/dev/null || skip_all "logrotate(8) is not installed (apt-get install logrotate)"
install_plugins
write_config </dev/null
export CARETAKER_EXEC_PATH="$top_builddir/plugins/logrotate:${CARETAKER_EXEC_PATH:-}"
user=$(id -un)
group=$(id -gn)

# The runbook's file as maintenance/logging.py writes it.
cat >"$T/patient_input" <<'LR'
    /var/log/patient_input/*.log {
        daily
        missingok
        rotate 14
        compress
        delaycompress
        notifempty
        create 0640 www-data www-data
        sharedscripts
        postrotate
            systemctl reload gunicorn
        endscript
    }
LR

ct import-logrotate "$T/patient_input" -o "$T/imported.ini"
check "the runbook's logrotate file imports without a warning" \
	eval 'rc_is 0 && [ ! -s "$err" ]'
check "the imported job keeps every directive of the runbook's file" \
	eval 'grep -qx "schedule = daily" "$T/imported.ini" && grep -qx "rotate = 14" "$T/imported.ini" &&
		grep -qx "compress = gzip" "$T/imported.ini" && grep -qx "delaycompress = yes" "$T/imported.ini" &&
		grep -qx "notifempty = yes" "$T/imported.ini" && grep -qx "missingok = yes" "$T/imported.ini" &&
		grep -qx "create = 0640 www-data www-data" "$T/imported.ini" &&
		grep -qx "postrotate = systemctl reload gunicorn" "$T/imported.ini"'

# The same file for both, pointed at a folder each, with a user and group
# that exist here and a harmless command for the reload.
mkdir -p "$T/a" "$T/b"
sed -e "s#/var/log/patient_input#$T/a#" -e "s#www-data www-data#$user $group#" \
	-e "s#systemctl reload gunicorn#touch $T/a-reloaded#" "$T/patient_input" >"$T/lr.conf"
sed -e "s#/var/log/patient_input#$T/b#" -e "s#www-data www-data#$user $group#" \
	-e "s#systemctl reload gunicorn#touch $T/b-reloaded#" "$T/imported.ini" >>"$T/caretaker.ini"
job=$(sed -n 's/^\[\(.*\)\]$/\1/p' "$T/imported.ini")

# Day D: app.log gets lines every day, worker.log on odd days only (so
# notifempty skips it on the others), and debug.log stays empty.
write_day() {
	local dir=$1 day=$2
	seq -f "day $day app line %g" 1 $((200 + day * 37)) >>"$dir/app.log"
	[ $((day % 2)) -eq 1 ] && seq -f "day $day worker line %g" 1 50 >>"$dir/worker.log"
	touch "$dir/debug.log"
}

# Every file of a folder with its decompressed contents' checksum.
inventory() {
	local f
	(cd "$1" && for f in *; do
		case "$f" in
		*.gz) printf '%s %s\n' "$f" "$(gzip -dc "$f" | md5sum | cut -d' ' -f1)" ;;
		*) printf '%s %s\n' "$f" "$(md5sum <"$f" | cut -d' ' -f1)" ;;
		esac
	done)
}

days=17
lr_failed=0
for day in $(seq 1 $days); do
	write_day "$T/a" "$day"
	write_day "$T/b" "$day"
	logrotate -f -s "$T/lr.state" "$T/lr.conf" 2>>"$T/lr.err" || lr_failed=1
	ct run "$job"
	[ "$rc" -eq 0 ] || break
done
check "logrotate(8) runs the runbook's file for $days days" eval '[ $lr_failed -eq 0 ]'
check "the imported job runs for $days days" rc_is 0

inventory "$T/a" >"$T/a.list"
inventory "$T/b" >"$T/b.list"
check "both leave the same file names with the same contents (decompressed)" \
	eval 'diff "$T/a.list" "$T/b.list" >"$T/diff" || { cat "$T/diff" >"$out"; false; }'
check "14 copies are kept: app.log.1 plain, app.log.2.gz to app.log.14.gz" \
	eval '[ -f "$T/b/app.log.1" ] && [ -f "$T/b/app.log.14.gz" ] && [ ! -e "$T/b/app.log.15.gz" ] &&
		[ ! -e "$T/b/app.log.2" ]'
check "the new log has create's mode" eval '[ "$(stat -c %a "$T/b/app.log")" = 640 ]'
check "postrotate ran" eval '[ -e "$T/b-reloaded" ] && [ -e "$T/a-reloaded" ]'
check "the gzip files read with gunzip" eval 'gzip -t "$T"/b/*.gz'

done_testing
