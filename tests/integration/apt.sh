#!/bin/bash
# The apt plugin against a private package repository: version 1 and then
# 2 of caretaker-test-pkg in a file: repository that apt reaches only
# through the job's own Dir:: and sources settings, so the machine's
# sources and package lists are never read or changed.  The package
# installs into the machine's dpkg database and is purged at the end.
. "$top_srcdir/tests/integration/lib.sh"

PKG=caretaker-test-pkg
[ "$(id -u)" -eq 0 ] || skip_all_inapplicable "installs a package: needs root"
. "$top_srcdir/tests/integration/aptlib.sh"
install_plugins

# A job per case; $T/reboot-required stands for /var/run/reboot-required.
write_config <<CONF
[upgrade-all]
plugin = apt
upgrade = all
apt_options = $JOB_APT_OPTIONS
reboot_required_file = $T/reboot-required
lock_timeout = 60s
timeout = 5min

[upgrade-security]
plugin = apt
upgrade = security
apt_options = $JOB_APT_OPTIONS
reboot_required_file = $T/reboot-required

[impatient]
plugin = apt
upgrade = all
apt_options = $JOB_APT_OPTIONS
reboot_required_file = $T/reboot-required
lock_timeout = 1s
CONF

build_deb 1
build_deb 2
publish "$T/repo" 1
apt_private -q update >"$T/setup.log" 2>&1 && apt_private -q -y install "$PKG" >>"$T/setup.log" 2>&1
rc=$?
check "version 1 installs from the private repository" eval '[ "$(installed)" = 1 ]'
publish "$T/repo" 2
apt_private -q update >>"$T/setup.log" 2>&1

ct describe apt
check "describe apt documents every option" eval 'rc_is 0 &&
	for k in upgrade update lock_timeout apt_options security_origins reboot_required_file keep_versions; do
		out_has "$k" || exit 1; done'

ct run --dry-run upgrade-all
check "a dry run plans the upgrade and changes nothing" \
	eval 'rc_is 0 && out_has "would upgrade 1 of 1 packages" && [ "$(installed)" = 1 ] &&
	[ -z "$(ls "$T/state/jobs/upgrade-all" 2>/dev/null)" ]'

ct run upgrade-security
check "upgrade = security takes nothing from an origin that is not a security one" \
	eval 'rc_is 0 && out_has "upgraded 0 of 1 packages (upgrade = security)" && [ "$(installed)" = 1 ] &&
	report_json upgrade-security | grep -q "not a security update"'

hold_lock "$A/lists/lock" 5
ct run impatient
check "a held lists lock fails the run after lock_timeout, naming the lock" \
	eval 'rc_is 1 && out_has "Could not get lock $A/lists/lock" && [ "$(installed)" = 1 ]'
kill "$lock_pid" 2>/dev/null
wait "$lock_pid" 2>/dev/null

# The dpkg lock is the machine's own: held for two seconds only.
hold_lock /var/lib/dpkg/lock-frontend 2
printf 'System restart required\n' >"$T/reboot-required"
printf 'linux-image-test\n' >"$T/reboot-required.pkgs"
start=$(date +%s)
ct run upgrade-all
took=$(($(date +%s) - start))
wait "$lock_pid" 2>/dev/null
check "upgrade = all upgrades the package to version 2" eval 'rc_is 0 && [ "$(installed)" = 2 ]'
check "it waited for the dpkg lock another process held (took ${took}s)" \
	eval '[ "$took" -ge 1 ] && "$CARETAKER" -c "$T/caretaker.ini" report upgrade-all --format json -n 1 |
	grep -q "Waiting for cache lock"'
report_json upgrade-all >"$T/report.json"
check "the report names the package with its old and new version" \
	grep -q "upgraded 1 -> 2" "$T/report.json"
check "a required reboot is reported, with its packages" \
	eval 'out_has "reboot required" && grep -q "a reboot is required by linux-image-test" "$T/report.json"'
versions=$(python3 -c 'import json, sys
r = json.load(sys.stdin)
r = r["runs"][0]
print(next(a["path"] for a in r["artifacts"] if a["kind"] == "package-versions"))' <"$T/report.json")
check "the versions before the upgrade are an artifact in the job's state" \
	eval '[ "${versions#"$T/state/jobs/upgrade-all/"}" != "$versions" ] && [ "$(cat "$versions")" = "$PKG=1" ]'

before=$(installed)
xargs -r -a "$versions" env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" -q -y \
	install --allow-downgrades >"$T/rollback.log" 2>&1
check "the recorded versions reinstall version 1" eval '[ "$before" = 2 ] && [ "$(installed)" = 1 ]'

hold_lock /var/lib/dpkg/lock-frontend 4
ct run impatient
kill "$lock_pid" 2>/dev/null
wait "$lock_pid" 2>/dev/null
check "a dpkg lock held past lock_timeout fails the run and upgrades nothing" \
	eval 'rc_is 1 && out_has "dpkg frontend lock" && [ "$(installed)" = 1 ]'

mark hold
ct run upgrade-all
mark unhold
check "a held package is reported and left alone" \
	eval 'rc_is 0 && out_has "1 held" && [ "$(installed)" = 1 ] &&
	report_json upgrade-all | grep -q "held: never upgraded"'

publish "$T/security" 2 "$(printf 'Origin: Debian\nLabel: Debian-Security\nSuite: stable-security\nCodename: bookworm-security')"
rm -f "$T/repo/${PKG}_2_all.deb" && publish "$T/repo" 1
echo "deb [trusted=yes] file:$T/security ./" >>"$A/sources.list"
rm -f "$T/reboot-required"
mark auto
ct run upgrade-security
check "upgrade = security takes the version a security origin offers" \
	eval 'rc_is 0 && out_has "upgraded 1 of 1 packages (upgrade = security)" && [ "$(installed)" = 2 ] &&
	report_json upgrade-security | grep -q "Debian-Security:stable-security"'
check "a package upgraded by name keeps its automatic mark" eval 'apt-mark showauto | grep -qx "$PKG"'

done_testing
