#!/bin/bash
# The update chain of conf.d/50-update.ini against a throwaway cluster, with
# the shipped rollback script: a migration step changes the database after
# the pre-update backup and then fails on purpose.  The steps after it are
# skipped, the rollback is handed the failure and the chain's artifacts,
# restores the database from that backup and puts the Python packages
# back, and the history has every step.  As root the apt step is the apt
# plugin upgrading a test package from version 1 to 2 in a private
# repository (aptlib.sh), and the rollback reinstalls version 1; otherwise
# it is an exec stand-in that records an empty versions list.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/backuplib.sh"

PKG=caretaker-test-chain-pkg
is_real_apt=0
if [ "$(id -u)" -eq 0 ]; then
	. "$top_srcdir/tests/integration/aptlib.sh"
	is_real_apt=1
	build_deb 1
	build_deb 2
	publish "$T/repo" 1
	{ apt_private -q update && apt_private -q -y install "$PKG"; } >"$T/setup.log" 2>&1
	publish "$T/repo" 2
	apt_job="plugin = apt
upgrade = all
apt_options = $JOB_APT_OPTIONS
reboot_required_file = $T/reboot-required"
	rollback_apt="ROLLBACK_APT_OPTIONS=${APT_OPTS[*]}"
else
	apt_job="plugin = exec
command = sh -c ': > $T/versions.list'
artifacts = package-versions=$T/versions.list"
	rollback_apt="ROLLBACK_APT_OPTIONS="
fi

# A virtualenv's pip that only says what it was asked.
mkdir -p "$T/venv/bin" "$T/app"
printf '#!/bin/sh\necho "$*" >>%s/pip.log\n' "$T" >"$T/venv/bin/pip"
chmod 755 "$T/venv/bin/pip"
touch "$T/app/requirements.txt"

config <<CONF
[update-backup]
plugin = backup
dest = $T/backups
on_failure = update-rollback

[update-apt]
$apt_job
requires = update-backup
on_failure = update-rollback

[update-pip-freeze]
plugin = exec
command = sh -c 'echo six==1.16.0 > $T/freeze.txt'
artifacts = pip-freeze=$T/freeze.txt
requires = update-apt
on_failure = update-rollback

[update-pip]
plugin = exec
command = $T/venv/bin/pip install --upgrade -r requirements.txt
cwd = $T/app
requires = update-pip-freeze
on_failure = update-rollback

[update-migrate]
plugin = exec
command = sh -c 'psql -X -q -c "CREATE TABLE migration_0042 (id int)" && echo "migration 0042 failed half-way" && exit 1'
requires = update-pip
on_failure = update-rollback

[update-restart]
plugin = exec
command = touch $T/restarted
requires = update-migrate
on_failure = update-rollback

[update-rollback]
plugin = exec
command = $top_srcdir/conf.d/update-rollback
env = ROLLBACK_DATABASE=$PGDATABASE, ROLLBACK_DB_JOBS=update-migrate update-restart, ROLLBACK_VENV=$T/venv, $rollback_apt
enabled = no
CONF

rows_before=$(sql "SELECT count(*) FROM auth_user")
ct run update-restart
check "the chain runs in order, the failed step's rollback right after it, the rest skipped" \
	eval 'rc_is 1 && [ "$(awk "{print \$1, \$2}" "$out" | tr "\n" ",")" = "ok update-backup,ok update-apt,ok update-pip-freeze,ok update-pip,failed update-migrate,ok update-rollback,skipped update-restart," ]'
check "the step after the failed one did not run" \
	eval '[ ! -e "$T/restarted" ] && out_has "requires update-migrate, which did not succeed"'

backup=$(report_json update-backup | python3 -c 'import json, sys
r = json.load(sys.stdin)["runs"][0]
print(next(a["path"] for a in r["artifacts"] if a["kind"] == "backup"))')
report_json update-rollback >"$T/rollback.json"
rollback_out() { python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
print(r.get("output", {}).get("stdout", ""))' "$T/rollback.json"; }
check "the rollback was handed the failed job and its words" \
	eval 'rollback_out | grep -q "^rollback: update-migrate failed: sh exited 1: migration 0042 failed half-way$"'
check "the rollback restored the database from this run's backup ($(basename "$backup"))" \
	eval '[ -f "$backup" ] && rollback_out | grep -qF "database $PGDATABASE restored from $backup"'
check "the change made after the backup is gone, the data from before it is there" \
	eval '[ -z "$(sql "SELECT to_regclass('\''migration_0042'\'')")" ] &&
	[ "$(sql "SELECT count(*) FROM auth_user")" = "$rows_before" ]'
check "the database as the failed step left it is kept under another name" \
	eval '[ "$(sql "SELECT count(*) FROM pg_database WHERE datname LIKE '\''${PGDATABASE}_failed_%'\''")" = 1 ]'
check "the rollback put the recorded Python packages back" \
	eval 'tail -n 1 "$T/pip.log" | grep -qx -- "install -q -r $T/freeze.txt"'

if [ "$is_real_apt" = 1 ]; then
	check "the apt step upgraded the package from 1 to 2" \
		eval 'report_json update-apt | grep -q "upgraded 1 -> 2"'
	check "the rollback reinstalled the package versions the apt step recorded" \
		eval '[ "$(installed)" = 1 ] && rollback_out | grep -q "^rollback: packages reinstalled at the versions in $T/state/jobs/update-apt/versions-"'
else
	skip_test_inapplicable "the apt step upgraded the package from 1 to 2" "installs a package: needs root"
	skip_test_inapplicable "the rollback reinstalled the package versions" "installs a package: needs root"
fi

hist="$T/state/history.jsonl"
check "the history has every step with its status, the rollback after the failure" \
	eval 'python3 - "$hist" <<'\''PY'\''
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
got = [(r["job"], r["status"]) for r in runs]
want = [("update-backup", "ok"), ("update-apt", "ok"), ("update-pip-freeze", "ok"),
        ("update-pip", "ok"), ("update-migrate", "failed"), ("update-rollback", "ok"),
        ("update-restart", "skipped")]
sys.exit(0 if got == want else "history: %s" % got)
PY'
ct report update-rollback
check "caretaker report shows the rollback's words" \
	eval 'rc_is 0 && out_has "restored from"'

done_testing
