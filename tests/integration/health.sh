#!/bin/bash
# The health plugin against the real host and a throwaway cluster: every
# threshold (disk, inodes, memory, load) made to pass, warn and fail by
# setting it around the value measured here; the database answering, down
# and too slow; systemd units (and a machine without systemd); the newest
# verified backup of a real backup job, young, old, unverified and absent;
# certificates made by openssl with long, short and no validity; and the
# job's status as the worst of its findings.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/backuplib.sh"
command -v openssl >/dev/null || skip_all "openssl is not installed"

# finding_of JOB OBJECT: the findings of JOB's newest run about OBJECT.
finding_of() { findings "$1" | grep -F -- " $2: " | grep -E "^[a-z]+ $(printf '%s' "$2" | sed 's/[][\.*^$/]/\\&/g'): "; }

# The values measured here, in percent (load: per CPU over 5 minutes).
disk_pct=$(df -B1 --output=used,avail / | tail -1 | awk '{ printf "%.4f", 100 * $1 / ($1 + $2) }')
inodes_pct=$(df --output=iused,itotal / | tail -1 | awk '{ printf "%.4f", 100 * $1 / $2 }')
mem_pct=$(awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { printf "%.4f", 100 * (1 - a / t) }' /proc/meminfo)
load_per_cpu=$(awk -v n="$(grep -c '^cpu[0-9]' /proc/stat)" '{ printf "%.4f", $2 / n }' /proc/loadavg)

# limits LEVEL X: "WARN FAIL" percents (1 to 100) around X that make the
# check end at LEVEL, with two points of room for what moves meanwhile.
limits() {
	python3 -c '
import math, sys
level, x = sys.argv[1], float(sys.argv[2])
lo = max(1, math.floor(x) - 1)
hi = min(100, math.ceil(x) + 2)
print({"ok": "%d %d" % (hi, min(100, hi + 1)), "warn": "%d %d" % (lo, hi), "fail": "1 %d" % lo}[level])' "$1" "$2"
}
# load_limits LEVEL X: the same for the load, which is a number.
load_limits() {
	python3 -c '
import sys
level, x = sys.argv[1], float(sys.argv[2])
print({"ok": "%g %g" % (x * 4 + 1, x * 4 + 2), "warn": "%g %g" % (x / 4, x * 4 + 2),
       "fail": "%g %g" % (x / 8, x / 4)}[level])' "$1" "$2"
}

# Every job checks only "/", and whatever it does not test never trips.
quiet='database = no
mounts = /
disk_warn = 100
disk_fail = 100
inodes_warn = 100
inodes_fail = 100
memory_warn = 100
memory_fail = 100
load_warn = 999
load_fail = 1000'
# quiet_but CHECK: $quiet without CHECK's lines, for a job that sets them.
quiet_but() { grep -v "^$1[_ ]" <<<"$quiet"; }

jobs=""
for level in ok warn fail; do
	read -r dw df <<<"$(limits "$level" "$disk_pct")"
	read -r iw if <<<"$(limits "$level" "$inodes_pct")"
	read -r mw mf <<<"$(limits "$level" "$mem_pct")"
	read -r lw lf <<<"$(load_limits "$level" "$load_per_cpu")"
	jobs+="
[disk-$level]
plugin = health
$(quiet_but disk)
disk_warn = $dw
disk_fail = $df

[inodes-$level]
plugin = health
$(quiet_but inodes)
inodes_warn = $iw
inodes_fail = $if

[memory-$level]
plugin = health
$(quiet_but memory)
memory_warn = $mw
memory_fail = $mf

[load-$level]
plugin = health
$(quiet_but load)
load_warn = $lw
load_fail = $lf
"
done
printf '%s\n' "$jobs" | config

# status_is JOB WORD: the run line of JOB says ok, warn or failed.
status_is() { grep -Eq "^$2 +$1 " "$out" || { echo "# no '$2 $1' line in: $(cat "$out")"; return 1; }; }
declare -A run_word=([ok]=ok [warn]=warn [fail]=failed)
declare -A sev_word=([ok]=info [warn]=warning [fail]=error)
declare -A exit_code=([ok]=0 [warn]=0 [fail]=1)

for level in ok warn fail; do
	ct run "disk-$level"
	check "a disk ${level}s when its use is on that side of disk_warn and disk_fail (measured ${disk_pct}%)" eval '
		rc_is ${exit_code[$level]} && status_is disk-$level ${run_word[$level]} &&
		finding_of disk-$level / | grep -q "^${sev_word[$level]} /: $level[a-z]*: disk [0-9.]*% used (warn [0-9]*%, fail [0-9]*%), [0-9.]* GiB free of [0-9.]* GiB$"'
	ct run "inodes-$level"
	check "inodes ${level} the same way with inodes_warn and inodes_fail (measured ${inodes_pct}%)" eval '
		rc_is ${exit_code[$level]} && status_is inodes-$level ${run_word[$level]} &&
		finding_of inodes-$level / | grep -q "^${sev_word[$level]} /: $level[a-z]*: inodes [0-9.]*% used"'
	ct run "memory-$level"
	check "memory ${level}s with memory_warn and memory_fail (measured ${mem_pct}%)" eval '
		rc_is ${exit_code[$level]} && status_is memory-$level ${run_word[$level]} &&
		finding_of memory-$level memory | grep -q "^${sev_word[$level]} memory: $level[a-z]*: [0-9.]*% used (warn [0-9]*%, fail [0-9]*%), [0-9.]* GiB available of [0-9.]* GiB$"'
	ct run "load-$level"
	check "the load per CPU ${level}s with load_warn and load_fail (measured ${load_per_cpu})" eval '
		rc_is ${exit_code[$level]} && status_is load-$level ${run_word[$level]} &&
		finding_of load-$level load | grep -q "^${sev_word[$level]} load: $level[a-z]*: [0-9.]* per CPU over 5 minutes"'
done
check "every passing check is a finding too, so the report lists what was checked" eval '
	[ "$(findings disk-ok | wc -l)" -eq 4 ] && [ "$(findings disk-ok | grep -c "^info ")" -eq 4 ]'

# ---- the database, services ----
config <<CONF
[db-ok]
plugin = health
$(quiet_but database)
database = yes

[db-down]
plugin = health
$(quiet_but database)
database = yes
conninfo = host=$T port=1

[db-slow]
plugin = health
$(quiet_but database)
database = yes
database_timeout = 1ms

[svc]
plugin = health
$quiet
services = caretaker-test-no-such-unit.service

[svc-fail]
plugin = health
$quiet
services = postgresql
no_systemd = fail

[svc-ok]
plugin = health
$quiet
services = postgresql
no_systemd = ok
CONF
ct run db-ok
check "a database that answers SELECT 1 in time is ok" eval 'rc_is 0 && status_is db-ok ok &&
	finding_of db-ok database | grep -q "^info database: ok: answered SELECT 1 in [0-9.]* s (server 15"'
ct run db-down
check "a database that cannot be reached fails the job" eval 'rc_is 1 && status_is db-down failed &&
	finding_of db-down database | grep -q "^error database: failed: cannot connect"'
ct run db-slow
check "a database slower than database_timeout fails the job" eval 'rc_is 1 && status_is db-slow failed &&
	finding_of db-slow database | grep -Eq "^error database: failed: (answered SELECT 1 after [0-9.]* s, over database_timeout \(0.001 s\)|no answer to SELECT 1)"'

if [ -d /run/systemd/system ]; then
	config <<CONF
[svc-real]
plugin = health
$quiet
services = systemd-journald.service, caretaker-test-no-such-unit.service
CONF
	ct run svc-real
	check "where systemd runs, an active unit is ok and an inactive one fails" eval 'rc_is 1 &&
		finding_of svc-real systemd-journald.service | grep -q "^info .*: ok: unit is active$" &&
		finding_of svc-real caretaker-test-no-such-unit.service | grep -q "^error .*: failed: unit is inactive$"'
	skip_test_inapplicable "without systemd, services are a finding of no_systemd's level" "systemd runs here"
else
	skip_test_inapplicable "where systemd runs, an active unit is ok and an inactive one fails" "systemd is not running here"
	ct run svc
	check "without systemd, services are a warning that says so (no_systemd = warn)" eval 'rc_is 0 && status_is svc warn &&
		[ "$(findings svc | grep -c "^warning systemd: warning: systemd is not running here (no /run/systemd/system), so 1 service(s) were not checked$")" = 1 ]'
	ct run svc-fail
	check "no_systemd = fail makes it a failure" eval 'rc_is 1 && status_is svc-fail failed && findings svc-fail | grep -q "^error systemd: failed: systemd is not running"'
	ct run svc-ok
	check "no_systemd = ok makes it an ok finding" eval 'rc_is 0 && status_is svc-ok ok && findings svc-ok | grep -q "^info systemd: ok: systemd is not running"'
fi

# How the check reads systemctl's answer, on any machine where root may
# make a private mount namespace: systemd's runtime folder made there, and
# a stand-in systemctl first in PATH that answers as systemctl does (its
# word on stdout, exit status 0 only for active).
mkdir -p "$T/fakebin"
cat >"$T/fakebin/systemctl" <<'SH'
#!/bin/sh
[ "$1 $2" = "is-active --" ] && [ $# -eq 3 ] || { echo "unexpected: $*" >&2; exit 9; }
case $3 in
up.service) echo active; exit 0 ;;
starting.service) echo activating; exit 3 ;;
broken.service) echo failed; exit 3 ;;
*) echo inactive; exit 3 ;;
esac
SH
chmod 755 "$T/fakebin" "$T/fakebin/systemctl"
config <<CONF
[svc-answers]
plugin = health
$quiet
services = up.service, starting.service, down.service, broken.service
CONF
runtime=/run/systemd
[ -d "$runtime" ] || runtime=/run
if [ "$(id -u)" -eq 0 ] && unshare --mount --propagation private true 2>/dev/null; then
	unshare --mount --propagation private sh -c 'mount -t tmpfs none "$1" && mkdir -p /run/systemd/system &&
		PATH="$2:$PATH" exec "$3" -c "$4" run svc-answers' sh "$runtime" "$T/fakebin" "$CARETAKER" "$T/caretaker.ini" >"$out" 2>"$err"
	rc=$?
	check "where systemd runs, systemctl's answer decides: active ok, activating warns, inactive and failed fail" eval 'rc_is 1 &&
		[ "$(findings svc-answers | grep -c "^info up.service: ok: unit is active$")" = 1 ] &&
		[ "$(findings svc-answers | grep -c "^warning starting.service: warning: unit is activating$")" = 1 ] &&
		[ "$(findings svc-answers | grep -c "^error down.service: failed: unit is inactive$")" = 1 ] &&
		[ "$(findings svc-answers | grep -c "^error broken.service: failed: unit is failed$")" = 1 ]'
else
	skip_test_inapplicable "where systemd runs, systemctl's answer decides: active ok, activating warns, inactive and failed fail" \
		"needs root and a private mount namespace"
fi

# ---- the newest verified backup, from a real backup job ----
config <<CONF
[nightly]
plugin = backup
dest = $T/backups

[bk-ok]
plugin = health
$quiet
backup_dir = $T/backups

[bk-warn]
plugin = health
$quiet
backup_dir = $T/backups
backup_warn_age = 1s
backup_fail_age = 1h

[bk-fail]
plugin = health
$quiet
backup_dir = $T/backups
backup_name = nightly
backup_warn_age = 1s
backup_fail_age = 1s

[bk-other]
plugin = health
$quiet
backup_dir = $T/backups
backup_name = weekly
CONF
ct run bk-ok
check "without any backup the check fails" eval 'rc_is 1 && status_is bk-ok failed &&
	findings bk-ok | grep -q "^error $T/backups: failed: no verified backup (0 backup(s) not verified to L2)$"'
ct run nightly
check "the backup job makes a verified backup" eval 'rc_is 0 && grep -q "verified L2" "$out"'
backup_file=$(only "$T/backups" 'nightly-*.sql.gz')
ct run bk-ok
check "a backup verified moments ago is ok, named by its file" eval 'rc_is 0 && status_is bk-ok ok &&
	findings bk-ok | grep -q "^info $backup_file: ok: newest verified backup is [0-9]s old (warn 1d 2h, fail 2d 2h), verified to L2$"'
sleep 2
ct run bk-warn
check "older than backup_warn_age it warns" eval 'rc_is 0 && status_is bk-warn warn &&
	findings bk-warn | grep -q "^warning $backup_file: warning: newest verified backup is [0-9]s old (warn 1s, fail 1h 0min)"'
ct run bk-fail
check "older than backup_fail_age it fails" eval 'rc_is 1 && status_is bk-fail failed &&
	findings bk-fail | grep -q "^error $backup_file: failed: newest verified backup is [0-9]s old"'
ct run bk-other
check "backup_name picks the backups of that name only" eval 'rc_is 1 &&
	findings bk-other | grep -q "^error $T/backups: failed: no verified backup named weekly"'
# A newer-looking file without a manifest, and the real backup's
# verification marked failed: file names make no backup.
touch "$T/backups/nightly-20991231T000000Z.sql.gz"
manifest_edit "$(only "$T/backups" 'nightly-*.manifest.json')" 'm["verified"]["outcome"] = "failed"'
ct run bk-ok
check "a backup whose verification failed, and a file without a manifest, do not count" eval 'rc_is 1 &&
	findings bk-ok | grep -q "^error $T/backups: failed: no verified backup (1 backup(s) not verified to L2)$"'

# ---- certificates ----
mkdir -p "$T/certs"
for d in 400 20 3; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/certs/$d.key" \
		-out "$T/certs/$d.pem" -days "$d" -subj "/CN=expires-in-$d" 2>/dev/null
done
echo "not a certificate" >"$T/certs/bad.pem"
config <<CONF
[cert-ok]
plugin = health
$quiet
certificates = $T/certs/400.pem

[cert-warn]
plugin = health
$quiet
certificates = $T/certs/20.pem

[cert-fail]
plugin = health
$quiet
certificates = $T/certs/3.pem

[cert-bad]
plugin = health
$quiet
certificates = $T/certs/bad.pem, $T/certs/missing.pem

[worst]
plugin = health
$quiet
certificates = $T/certs/400.pem, $T/certs/20.pem, $T/certs/3.pem
CONF
ct run cert-ok
check "a certificate valid for 400 days is ok (warn within 30, fail within 7)" eval 'rc_is 0 && status_is cert-ok ok &&
	findings cert-ok | grep -Eq "^info $T/certs/400.pem: ok: /CN=expires-in-400 expires in (399.9|400.0) days \(warn within 30, fail within 7\)$"'
ct run cert-warn
check "one expiring in 20 days warns" eval 'rc_is 0 && status_is cert-warn warn &&
	findings cert-warn | grep -Eq "^warning $T/certs/20.pem: warning: /CN=expires-in-20 expires in (19.9|20.0) days"'
ct run cert-fail
check "one expiring in 3 days fails" eval 'rc_is 1 && status_is cert-fail failed &&
	findings cert-fail | grep -Eq "^error $T/certs/3.pem: failed: /CN=expires-in-3 expires in (2.9|3.0) days"'
ct run cert-bad
check "a file that holds no certificate, or is missing, fails" eval 'rc_is 1 &&
	findings cert-bad | grep -q "^error $T/certs/bad.pem: failed: cannot read the certificate: no PEM certificate in the file$" &&
	findings cert-bad | grep -q "^error $T/certs/missing.pem: failed: cannot read the certificate: No such file or directory$"'
ct run worst
check "the job's status is its worst finding, and the summary names it" eval 'rc_is 1 && status_is worst failed &&
	grep -Eq "7 checks: 1 failed, 1 warning\(s\); $T/certs/3.pem: /CN=expires-in-3 expires in (2.9|3.0) days" "$out"'

# ---- a mount point that is not mounted ----
config <<CONF
[unmounted]
plugin = health
$(quiet_but mounts)
mounts = /, $T/not-a-mount
CONF
ct run unmounted
check "a mount point in mounts that is not mounted fails, the others are still checked" eval 'rc_is 1 &&
	findings unmounted | grep -q "^error $T/not-a-mount: failed: not mounted (or its file system type is in exclude_fs)$" &&
	findings unmounted | grep -q "^info /: ok: disk "'

# ---- mistakes, describe ----
config <<CONF
[inverted]
plugin = health
$(quiet_but disk)
disk_warn = 95
disk_fail = 90
CONF
ct run inverted
check "a warn threshold above its fail threshold is refused" eval 'rc_is 1 && grep -q "disk_warn (95%) is above disk_fail (90%)" "$out"'
ct describe health
describes_all() {
	local k
	rc_is 0 || return 1
	for k in disk_warn disk_fail inodes_warn inodes_fail memory_warn memory_fail load_warn load_fail \
		exclude_fs mounts database conninfo database_timeout services no_systemd backup_dir \
		backup_name backup_warn_age backup_fail_age certificates cert_warn_days cert_fail_days; do
		out_has "^  *$k " || { echo "# $k is not described"; return 1; }
	done
}
check "describe documents every option" describes_all

done_testing
