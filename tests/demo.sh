#!/bin/bash
# demo.sh SRC BUILD — the embedded default, run by `tests/bootstrap.sh demo`
# inside `tests/harness/pg.sh run`, which exports PGHOST, PGPORT, PGUSER,
# PGDATABASE and PG_HARNESS_DIR for a seeded throwaway cluster.
# demo.sh SRC --installed — the same from the Debian packages' files
# (tests/packaging.sh): /usr/sbin/caretaker, the compiled-in plugin folder,
# the examples under /usr/share/doc/caretaker.
#
# Builds a configuration in a temporary folder from the shipped conf.d and
# the built plugins, checks it, runs every job, and prints the report.
set -euo pipefail

src=$1
build=$2
demo=$(mktemp -d "${TMPDIR:-/tmp}/caretaker-demo.XXXXXX")
chmod 755 "$demo"
trap 'rm -rf "$demo"' EXIT

mkdir -p "$demo/plugins" "$demo/conf.d"
if [ "$build" = --installed ]; then
	caretaker=/usr/sbin/caretaker
	plugin_path=
	cp /usr/share/doc/caretaker/examples/conf.d/*.ini "$demo/conf.d/"
else
	caretaker=$build/caretaker
	plugin_path="plugin_path = plugins"
	cp "$build"/plugins/*/.libs/*.so "$demo/plugins/"
	chmod 644 "$demo"/plugins/*.so
	cp "$src"/conf.d/*.ini "$demo/conf.d/"
fi
# Backups and archives go to a folder of the demo, not to /var/backups.
sed -i "s#^\(dest\|archive_to\|backup_dir\) = /var/backups/caretaker#\1 = $demo/backups#" "$demo"/conf.d/*.ini
# The security audit's file baseline watches the demo's own plugins (a
# machine without nginx has nothing at the shipped paths).
sed -i "s#^baseline_paths = .*#baseline_paths = $demo/plugins#" "$demo"/conf.d/*.ini
# prune and perms work on a demo tree: rotated logs of every age, and the
# application's settings and .env readable by their group.
mkdir -p "$demo/log" "$demo/srv/patient_input/patient_input"
for age in 1 2 5 9 14 29 33 41 60 95; do
	head -c $((age * 4096)) /dev/urandom >"$demo/log/error.log.$age"
	touch -d "$age days ago" "$demo/log/error.log.$age"
done
printf "SECRET_KEY = 'demo-only'\n" >"$demo/srv/patient_input/patient_input/settings.py"
printf 'DATABASE_URL=postgres://demo\n' >"$demo/srv/patient_input/.env"
chmod 640 "$demo/srv/patient_input/patient_input/settings.py" "$demo/srv/patient_input/.env"
sed -i "/^\(paths\|scan\) = /{s#/var/log/patient_input#$demo/log#g;s#/srv/patient_input#$demo/srv/patient_input#g}" \
	"$demo"/conf.d/*.ini
# A busy build machine's load is not the demo's point: the health check
# warns about it but does not fail.
sed -i "s#^backup_name = db-backup#&\nload_fail = 1000#" "$demo"/conf.d/45-host.ini
# The log rotation rotates logs of the demo's own (tests/harness/gen-logs.sh:
# live logs and two rotated days), as the demo's user, with a harmless reload.
mkdir -p "$demo/logs/rotate"
bash "$src/tests/harness/gen-logs.sh" --size 256K --rotated 2 "$demo/logs/rotate" >/dev/null
sed -i -e "/^\[rotate-app-logs\]/,/^\[/ {
	s#/var/log/patient_input#$demo/logs/rotate#
	s#www-data www-data#$(id -un) $(id -gn)#
	s#^postrotate = .*#postrotate = true#
}" "$demo"/conf.d/*.ini
# The error-log scan reads logs of the demo's own (tests/harness/gen-logs.sh:
# a day of gunicorn/Django lines with errors and tracebacks).
mkdir -p "$demo/logs/scan"
bash "$src/tests/harness/gen-logs.sh" --size 2M --rotated 2 "$demo/logs/scan" >/dev/null
sed -i "/^\[error-log-scan\]/,/^\[/ s#/var/log/patient_input#$demo/logs/scan#" "$demo"/conf.d/*.ini
chmod 644 "$demo"/conf.d/*.ini
cat >"$demo/caretaker.ini" <<CONF
[caretaker]
$plugin_path
state_dir = state
conninfo = host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER
timeout = 10min

; Always present, so the demo shows a plugin's report end to end.
[hello]
description = the example plugin
plugin = hello
who = the patient-records team

; What apt could upgrade, from the package lists as they are: changes
; nothing (the update chain of conf.d/50-update.ini upgrades).
[apt-available]
description = upgradable system packages, security updates counted
plugin = apt
upgrade = none
update = no
CONF
chmod 644 "$demo/caretaker.ini"

ct() { "$caretaker" -c "$demo/caretaker.ini" "$@"; }

echo "== caretaker check"
ct check
echo
echo "== caretaker list"
ct list
echo
echo "== caretaker run --all"
status=0
ct run --all || status=$?
echo
echo "== caretaker report"
ct report
echo
echo "(exit status of run --all: $status)"
exit "$status"
