#!/bin/bash
# demo.sh SRC BUILD — the embedded default, run by `tests/bootstrap.sh demo`
# inside `tests/harness/pg.sh run`, which exports PGHOST, PGPORT, PGUSER,
# PGDATABASE and PG_HARNESS_DIR for a seeded throwaway cluster.
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
cp "$build"/plugins/*/.libs/*.so "$demo/plugins/"
chmod 644 "$demo"/plugins/*.so
cp "$src"/conf.d/*.ini "$demo/conf.d/"
# Backups and archives go to a folder of the demo, not to /var/backups.
sed -i "s#^\(dest\|archive_to\) = /var/backups/caretaker#\1 = $demo/backups#" "$demo"/conf.d/*.ini
# The security audit's file baseline watches the demo's own plugins (a
# machine without nginx has nothing at the shipped paths).
sed -i "s#^baseline_paths = .*#baseline_paths = $demo/plugins#" "$demo"/conf.d/*.ini
# The error-log scan reads logs of the demo's own (tests/harness/gen-logs.sh:
# a day of gunicorn/Django lines with errors and tracebacks).
mkdir -p "$demo/logs/scan"
bash "$src/tests/harness/gen-logs.sh" --size 2M --rotated 2 "$demo/logs/scan" >/dev/null
sed -i "/^\[error-log-scan\]/,/^\[/ s#/var/log/patient_input#$demo/logs/scan#" "$demo"/conf.d/*.ini
chmod 644 "$demo"/conf.d/*.ini
cat >"$demo/caretaker.ini" <<CONF
[caretaker]
plugin_path = plugins
state_dir = state
conninfo = host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER
timeout = 10min

; Always present, so the demo shows a plugin's report end to end.
[hello]
description = the example plugin
plugin = hello
who = the patient-records team
CONF
chmod 644 "$demo/caretaker.ini"

ct() { "$build/caretaker" -c "$demo/caretaker.ini" "$@"; }

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
