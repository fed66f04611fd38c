#!/bin/bash
# The logrotate plugin on real files: a kill -9 at every step of a rotation
# loses no line and the next run completes it; each option's behaviour; a
# failure of one file is that file's finding and the others still rotate.
. "$top_srcdir/tests/integration/lib.sh"

install_plugins
# The build with fault points: CARETAKER_LOGROTATE_KILL_AT=N kills the run
# with SIGKILL at its N-th step.  Without the variable it is the plugin.
cp "$top_builddir/tests/faults/.libs/logrotate_faults.so" "$T/plugins/logrotate.so"
chmod 644 "$T/plugins/logrotate.so"
L="$T/logs"

# job NAME KEY=VALUE...: a logrotate job section on stdout.
job() {
	local name=$1
	shift
	printf '[%s]\nplugin = logrotate\n' "$name"
	printf '%s\n' "$@"
	printf '\n'
}

# Every file of a folder (hidden ones too) with its mode and its
# decompressed checksum.
inventory() {
	local f
	(cd "$1" && for f in $(ls -A); do
		case "$f" in
		*.gz) printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(gzip -dc "$f" | md5sum | cut -d' ' -f1)" ;;
		*) printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(md5sum <"$f" | cut -d' ' -f1)" ;;
		esac
	done)
}
sum_of() { md5sum <"$1" | cut -d' ' -f1; }
gz_sum_of() { gzip -dc "$1" | md5sum | cut -d' ' -f1; }

# ---- kill -9 at every step ----

# A log with three rotated copies, as rotate = 3 with delaycompress leaves
# them: the next rotation drops .3.gz, shifts the others, renames, creates,
# runs postrotate and compresses .1 into .2.gz.
kill_setup() {
	rm -rf "$L" "$T/state/jobs/killed"
	mkdir -p "$L"
	seq -f "current line %g" 1 5000 >"$L/app.log"
	seq -f "day-1 line %g" 1 4000 >"$L/app.log.1"
	seq -f "day-2 line %g" 1 3000 | gzip >"$L/app.log.2.gz"
	seq -f "day-3 line %g" 1 2000 | gzip >"$L/app.log.3.gz"
	chmod 644 "$L"/*
	# The new log has create's mode (the copytruncate job keeps the log's).
	{
		echo "app.log $1 d41d8cd98f00b204e9800998ecf8427e"
		echo "app.log.1 644 $(sum_of "$L/app.log")"
		echo "app.log.2.gz 644 $(sum_of "$L/app.log.1")"
		echo "app.log.3.gz 644 $(gz_sum_of "$L/app.log.2.gz")"
	} >"$T/expected"
}

# The same with dateext: the log becomes app.log-TODAY (kept as it is:
# delaycompress) and the older dated copy is compressed.
kill_setup_dated() {
	rm -rf "$L" "$T/state/jobs/killed-dated"
	mkdir -p "$L"
	seq -f "current line %g" 1 5000 >"$L/app.log"
	seq -f "older line %g" 1 4000 >"$L/app.log-20200101"
	chmod 644 "$L"/*
	{
		echo "app.log 640 d41d8cd98f00b204e9800998ecf8427e"
		echo "app.log-20200101.gz 644 $(sum_of "$L/app.log-20200101")"
		echo "app.log-$(date +%Y%m%d) 644 $(sum_of "$L/app.log")"
	} >"$T/expected"
}

write_config <<CONF
$(job killed-dated "files = $L/*.log" "dateext = yes" "compress = gzip" "delaycompress = yes" \
	"notifempty = yes" "create = 0640")
$(job killed "files = $L/*.log" "rotate = 3" "compress = gzip" "delaycompress = yes" \
	"notifempty = yes" "create = 0640" "postrotate = touch $T/reloaded")
$(job killed-copy "files = $L/*.log" "rotate = 3" "compress = gzip" "delaycompress = yes" \
	"notifempty = yes" "copytruncate = yes")
CONF

# kill_every_step JOB WHAT SETUP: kill the run at step 1, 2, ... until a run passes
# every step; after each kill, a normal run must leave $T/expected.
kill_every_step() {
	local job=$1 step=1 what=$2 setup=$3 name
	while [ "$step" -le 30 ]; do
		$setup
		rm -f "$T/reloaded"
		CARETAKER_LOGROTATE_KILL_AT=$step ct run "$job"
		if [ "$rc" -eq 0 ]; then
			check "$what: a run with no kill among its $((step - 1)) steps leaves the rotation done" \
				eval 'inventory "$L" | diff "$T/expected" - >"$out"'
			break
		fi
		name=$(sed -n "s/.*fault point $step (\(.*\)).*/\1/p" "$err" | head -1)
		[ -n "$name" ] || { not_ok "$what: step $step was not a kill" "$(cat "$err")"; break; }
		ct run "$job"
		check "$what: killed at step $step ($name), the next run completes the rotation and no line is lost" \
			eval 'rc_is 0 && inventory "$L" | diff "$T/expected" - >"$out"'
		step=$((step + 1))
	done
}
kill_every_step killed "rename + create" "kill_setup 640"
check "postrotate runs in the run that completes a killed rotation" eval '[ -e "$T/reloaded" ]'
kill_every_step killed-copy "copytruncate" "kill_setup 644"
kill_every_step killed-dated "dateext" kill_setup_dated

# ---- an application writing all the while ----

# The writer keeps its log open and reopens it on SIGHUP, as gunicorn does
# on reload; three rotations happen while it writes.
# It writes until $T/stop appears, then says how many lines it wrote.
cat >"$T/writer.sh" <<'SH'
f=$1
exec 3>>"$f"
trap 'exec 3>>"$f"' HUP
i=0
while [ ! -e "$2" ]; do
	for ((k = 0; k < 100; k++)); do i=$((i + 1)); echo "line $i" >&3; done
done
echo "$i" >"$2.count"
SH
rm -rf "$L" && mkdir -p "$L" && : >"$L/app.log"
rm -f "$T/stop" "$T/stop.count"
bash "$T/writer.sh" "$L/app.log" "$T/stop" &
writer=$!
write_config <<CONF
$(job live "files = $L/app.log" "rotate = 10" "compress = gzip" "delaycompress = yes" \
	"create = 0644" "postrotate = kill -HUP $writer")
CONF
live_rc=0
for i in 1 2 3; do
	sleep 0.3
	ct run live
	[ "$rc" -eq 0 ] || live_rc=$rc
done
touch "$T/stop"
wait "$writer"
(cd "$L" && for f in app.log*; do case "$f" in *.gz) gzip -dc "$f" ;; *) cat "$f" ;; esac; done) |
	sed 's/^line //' | sort -n >"$T/live.lines"
check "an application writing during three rotations (reopening on postrotate's SIGHUP) loses no line and none is doubled" \
	eval '[ $live_rc -eq 0 ] && [ -e "$L/app.log.3.gz" ] && seq 1 "$(cat "$T/stop.count")" | cmp -s - "$T/live.lines" ||
		{ echo "files: $(ls "$L"); written: $(cat "$T/stop.count"); found: $(wc -l <"$T/live.lines"), distinct $(uniq "$T/live.lines" | wc -l)" >"$out"; false; }'

# copytruncate under the same writer (it never reopens): no line is doubled
# and the lines keep their order; what the window between the last read
# and the truncate lost is counted (docs/logrotate.md), not asserted.
rm -rf "$L" && mkdir -p "$L" && : >"$L/app.log"
rm -f "$T/stop" "$T/stop.count"
bash "$T/writer.sh" "$L/app.log" "$T/stop" &
writer=$!
write_config <<CONF
$(job live-copy "files = $L/app.log" "rotate = 10" "copytruncate = yes")
CONF
live_rc=0
for i in 1 2 3; do
	sleep 0.3
	ct run live-copy
	[ "$rc" -eq 0 ] || live_rc=$rc
done
touch "$T/stop"
wait "$writer"
(cd "$L" && cat app.log.3 app.log.2 app.log.1 app.log) | sed 's/^line //' >"$T/live.order"
sort -n "$T/live.order" | uniq -d >"$T/live.doubled"
check "copytruncate under a writer that never reopens: three rotations, no line doubled, order kept" \
	eval '[ $live_rc -eq 0 ] && [ ! -s "$T/live.doubled" ] && sort -n -c "$T/live.order" 2>/dev/null ||
		{ echo "doubled: $(head -5 "$T/live.doubled")" >"$out"; false; }'
echo "# copytruncate's window lost $(($(cat "$T/stop.count") - $(wc -l <"$T/live.order"))) of $(cat "$T/stop.count") lines over three rotations"

# ---- options, one behaviour each ----

fresh() {
	rm -rf "$L" "$T"/state/jobs/*
	mkdir -p "$L"
}

write_config <<CONF
$(job size "files = $L/*.log" "size = 10K")
$(job minsize "files = $L/*.log" "minsize = 10K")
$(job maxsize "files = $L/*.log" "size = 1M" "maxsize = 10K")
$(job maxage "files = $L/*.log" "rotate = 10" "maxage = 7d")
$(job missing "files = $L/gone.log, $L/app.log")
$(job missingok "files = $L/gone.log, $L/none-*.log" "missingok = yes")
$(job notifempty "files = $L/*.log" "notifempty = yes")
$(job ifempty "files = $L/*.log")
$(job olddir "files = $L/*.log" "olddir = old" "compress = gzip")
$(job dateext "files = $L/*.log" "dateext = yes" "rotate = 2" "compress = gzip" "delaycompress = yes")
$(job copytruncate "files = $L/*.log" "copytruncate = yes")
$(job create "files = $L/*.log" "create = 0604 nobody nogroup")
$(job zstd "files = $L/*.log" "compress = zstd")
$(job scripts "files = $L/*.log" "prerotate = echo before the rotation" "postrotate = sh -c 'echo after; exit 3'")
$(job dry "files = $L/*.log" "rotate = 1" "compress = gzip")
$(job prefail "files = $L/*.log" "prerotate = sh -c 'echo once >>$T/pre-count; exit 1'")
$(job daemon "files = $L/*.log" "postrotate = sh -c 'echo started; sleep 30 & exit 0'")
CONF

fresh
seq 1 100 >"$L/small.log"
seq 1 10000 >"$L/big.log"
ct run size
check "size: a file smaller than size is not rotated, one at least as big is" \
	eval 'rc_is 0 && [ ! -e "$L/small.log.1" ] && [ -e "$L/big.log.1" ]'

fresh
seq 1 100 >"$L/small.log"
seq 1 10000 >"$L/big.log"
ct run minsize
check "minsize: a file smaller than minsize is not rotated, one at least as big is" \
	eval 'rc_is 0 && [ ! -e "$L/small.log.1" ] && [ -e "$L/big.log.1" ]'

fresh
seq 1 100 >"$L/small.log"
seq 1 10000 >"$L/big.log"
ct run maxsize
check "maxsize: a file bigger than maxsize is rotated though smaller than size" \
	eval 'rc_is 0 && [ ! -e "$L/small.log.1" ] && [ -e "$L/big.log.1" ]'

fresh
echo now >"$L/app.log"
echo old >"$L/app.log.2"
echo recent >"$L/app.log.3"
touch -d '10 days ago' "$L/app.log.2"
touch -d '3 days ago' "$L/app.log.3"
ct run maxage
check "maxage: a rotated copy older than maxage is removed, a younger one kept" \
	eval 'rc_is 0 && [ ! -e "$L/app.log.2" ] && [ "$(cat "$L/app.log.3")" = recent ] && [ -e "$L/app.log.1" ]'

fresh
echo line >"$L/app.log"
ct run missing
check "a missing file is its own finding and the other file is still rotated" \
	eval 'rc_is 1 && [ -e "$L/app.log.1" ] && report_json missing | grep -q "gone.log"'

fresh
ct run missingok
check "missingok: a missing file and a glob that matches nothing are no failure" rc_is 0

fresh
: >"$L/empty.log"
echo line >"$L/full.log"
ct run notifempty
check "notifempty: an empty file is not rotated, a non-empty one is" \
	eval 'rc_is 0 && [ ! -e "$L/empty.log.1" ] && [ -e "$L/full.log.1" ]'

fresh
: >"$L/empty.log"
ct run ifempty
check "without notifempty an empty file is rotated (logrotate's ifempty)" \
	eval 'rc_is 0 && [ -e "$L/empty.log.1" ]'

fresh
echo line >"$L/app.log"
ct run olddir
check "olddir: a missing olddir is the file's finding, the log stays" \
	eval 'rc_is 1 && [ -e "$L/app.log" ] && report_json olddir | grep -q "olddir"'
mkdir "$L/old"
ct run olddir
echo second >"$L/app.log"
ct run olddir
check "olddir: rotated copies go to olddir, relative to the log's folder" \
	eval 'rc_is 0 && [ -e "$L/old/app.log.1.gz" ] && [ -e "$L/old/app.log.2.gz" ] &&
		[ "$(gzip -dc "$L/old/app.log.2.gz")" = line ] && [ ! -e "$L/app.log.1" ]'

fresh
today=$(date +%Y%m%d)
echo today >"$L/app.log"
for d in 20200101 20200102 20200103; do echo "$d" >"$L/app.log-$d"; done
ct run dateext
check "dateext: the log becomes app.log-DATE, kept as it is (delaycompress), older ones compressed, past rotate removed" \
	eval 'rc_is 0 && [ "$(cat "$L/app.log-$today")" = today ] && [ -e "$L/app.log-20200103.gz" ] &&
		[ ! -e "$L/app.log-20200102" ] && [ ! -e "$L/app.log-20200102.gz" ] && [ ! -e "$L/app.log-20200101" ]'
echo again >"$L/app.log"
ct run dateext
check "dateext: a second rotation the same day is refused as the file's finding, the log kept" \
	eval 'rc_is 1 && [ "$(cat "$L/app.log")" = again ] && report_json dateext | grep -q "exists already"'

fresh
seq 1 1000 >"$L/app.log"
ino=$(stat -c %i "$L/app.log")
ct run copytruncate
check "copytruncate: the log keeps its inode and is empty, the copy holds its lines" \
	eval 'rc_is 0 && [ "$(stat -c %i "$L/app.log")" = "$ino" ] && [ ! -s "$L/app.log" ] &&
		[ "$(sum_of "$L/app.log.1")" = "$(seq 1 1000 | md5sum | cut -d" " -f1)" ]'

fresh
echo line >"$L/app.log"
ct run create
check "create: the new log gets create's mode, owner and group" \
	eval 'rc_is 0 && [ "$(stat -c "%a %U %G" "$L/app.log")" = "604 nobody nogroup" ]'

fresh
seq 1 1000 >"$L/app.log"
ct run zstd
if command -v zstd >/dev/null; then
	check "compress = zstd: the rotated copy is a .zst that zstd -d reads" \
		eval 'rc_is 0 && [ "$(zstd -dc "$L/app.log.1.zst" | md5sum | cut -d" " -f1)" = "$(seq 1 1000 | md5sum | cut -d" " -f1)" ]'
else
	skip_test "compress = zstd: the rotated copy is a .zst that zstd -d reads" "zstd is not installed"
fi

fresh
echo line >"$L/app.log"
ct run scripts
check "prerotate and postrotate run, their output is in the report, a failing postrotate is a finding" \
	eval 'rc_is 1 && [ -e "$L/app.log.1" ] && report_json scripts | grep -q "before the rotation" &&
		report_json scripts | grep -q "after" && report_json scripts | grep -q "exited 3"'

fresh
echo a >"$L/a.log"
echo b >"$L/b.log"
rm -f "$T/pre-count"
ct run prefail
check "a failing prerotate runs once and leaves every file unrotated, each a finding" \
	eval 'rc_is 1 && [ "$(cat "$T/pre-count")" = once ] && [ ! -e "$L/a.log.1" ] && [ ! -e "$L/b.log.1" ] &&
		[ "$(report_json prefail | grep -c "prerotate failed")" -ge 2 ]'

fresh
echo line >"$L/app.log"
SECONDS=0
ct run daemon
check "a postrotate that leaves a process holding its output does not hold up the run" \
	eval 'rc_is 0 && [ $SECONDS -lt 10 ] && report_json daemon | grep -q started'

fresh
seq 1 100 >"$L/app.log"
echo older >"$L/app.log.1"
echo oldest >"$L/app.log.2"
inventory "$L" >"$T/before"
ct run --dry-run dry
check "--dry-run lists what would be rotated, compressed and removed, and why, and changes nothing" \
	eval 'rc_is 0 && inventory "$L" | diff "$T/before" - &&
		report_json dry | grep -q "would rotate $L/app.log (292 bytes; the job" &&
		report_json dry | grep -q "would compress $L/app.log.1" &&
		report_json dry | grep -q "would remove $L/app.log.2 (past rotate = 1)"'
dry_plan() {
	report_json dry | python3 -c 'import json, sys; print(json.load(sys.stdin)["runs"][0]["output"]["plan"], end="")'
}
check "the plan ends with a line counting its actions" \
	eval '[ "$(dry_plan | tail -n 1)" = "($(dry_plan | grep -c "^would ") action(s) in this list)" ] &&
		[ "$(dry_plan | grep -c "^would ")" -ge 3 ]'

fresh
echo line >"$L/app.log"
mkdir -p "$T/state/jobs/ifempty"
printf 'not a journal\n\x01\x02' >"$T/state/jobs/ifempty/journal"
ct run --dry-run ifempty
check "a dry run reports a damaged journal and leaves it where it is" \
	eval 'rc_is 0 && [ -e "$T/state/jobs/ifempty/journal" ] && [ ! -e "$T/state/jobs/ifempty/journal.damaged" ] &&
		report_json ifempty | grep -q "would be set aside"'
ct run ifempty
check "a damaged journal is set aside as a finding and the file is still rotated" \
	eval 'rc_is 0 && [ -e "$L/app.log.1" ] && [ -e "$T/state/jobs/ifempty/journal.damaged" ] &&
		report_json ifempty | grep -q "journal of rotations under way is damaged"'

fresh
echo line >"$L/app.log"
# A journal that is a folder cannot be replaced, and its set-aside name is
# taken: no journal can be written.
mkdir -p "$T/state/jobs/ifempty/journal/x" "$T/state/jobs/ifempty/journal.damaged/y"
ct run ifempty
check "a journal that cannot be written is a warning and the file is still rotated" \
	eval 'rc_is 0 && out_has "^warn " && [ -e "$L/app.log.1" ] &&
		report_json ifempty | grep -q "rotating without the journal"'

# ---- the importer ----

cat >"$T/other.conf" <<'LR'
compress
/var/log/a.log "/var/log/b c.log" {
    weekly
    su root adm
    size 100k
    maxage 30
    mail ops@example.org
    postrotate
        if [ -f /run/app.pid ]; then
            kill -HUP "$(cat /run/app.pid)"
        fi
    endscript
}
LR
export CARETAKER_EXEC_PATH="$top_builddir/plugins/logrotate:${CARETAKER_EXEC_PATH:-}"
ct import-logrotate "$T/other.conf"
check "import-logrotate warns about each directive it cannot map, with its line" \
	eval 'rc_is 0 && err_has "other.conf:4: warning: .su. has no equivalent" &&
		err_has "other.conf:7: warning: .mail. has no equivalent" && err_has "postrotate is a shell script" &&
		err_has "other.conf:13: warning: neither create nor copytruncate"'
check "import-logrotate maps the rest, global defaults included" \
	eval 'out_has "^files = /var/log/a.log, /var/log/b c.log$" && out_has "^schedule = weekly$" &&
		out_has "^size = 100K$" && out_has "^maxage = 30d$" && out_has "^compress = gzip$" &&
		out_has "^postrotate = sh -c .if \[ -f /run/app.pid \]; then kill"'
ct import-logrotate "$T/nonexistent.conf"
check "import-logrotate fails on a file it cannot read" eval 'rc_is 1 && err_has "cannot read"'

done_testing
