#!/bin/bash
# The apt plugin against a private package repository: version 1 and then
# 2 of caretaker-test-pkg in a file: repository that apt reaches only
# through the job's own Dir:: and sources settings, so the machine's
# sources and package lists are never read or changed.  The package
# installs into the machine's dpkg database and is purged at the end.
. "$top_srcdir/tests/integration/lib.sh"

PKG=caretaker-test-pkg
[ "$(id -u)" -eq 0 ] || skip_all_inapplicable "installs a package: needs root"
for tool in apt-get dpkg-deb dpkg-scanpackages python3; do
	command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/bootstrap.sh installs it)"
done
if dpkg-query -W -f '${Status}' "$PKG" 2>/dev/null | grep -q installed; then
	skip_all "$PKG is installed already: another run of this test is under way or was killed"
fi
# Others may run apt or dpkg on this machine meanwhile: every command of the
# test's own waits for their locks.
LOCK_WAIT=(-o DPkg::Lock::Timeout=300)
trap 'apt-get "${LOCK_WAIT[@]}" -y -q purge "$PKG" >/dev/null 2>&1; rm -rf "$T"' EXIT
install_plugins

# build_deb VERSION: $T/debs/PKG_VERSION_all.deb
build_deb() {
	local root="$T/build/$1"
	mkdir -p "$root/DEBIAN" "$root/usr/share/$PKG" "$T/debs"
	# Multi-Arch: same, as most libraries are: dpkg then names it
	# PKG:ARCH where apt-get names it PKG.
	printf 'Package: %s\nVersion: %s\nArchitecture: %s\nMulti-Arch: same\nMaintainer: caretaker tests <root@localhost>\nDescription: caretaker test package\n' \
		"$PKG" "$1" "$(dpkg --print-architecture)" >"$root/DEBIAN/control"
	echo "$1" >"$root/usr/share/$PKG/version"
	dpkg-deb --build --root-owner-group "$root" "$T/debs/${PKG}_$1_all.deb" >/dev/null
}

# publish DIR VERSION [RELEASE-LINES]: a flat repository holding VERSION,
# with a Release file when lines for it are given.
publish() {
	mkdir -p "$1"
	cp "$T/debs/${PKG}_$2_all.deb" "$1/"
	(cd "$1" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null)
	if [ -n "${3:-}" ]; then
		{
			printf '%s\n' "$3"
			echo "Date: $(date -Ru)"
			echo "SHA256:"
			echo " $(sha256sum "$1/Packages" | cut -d' ' -f1) $(stat -c %s "$1/Packages") Packages"
		} >"$1/Release"
	fi
}

A="$T/apt"
mkdir -p "$A/sources.list.d" "$A/preferences.d" "$A/lists/partial" "$A/cache/archives/partial"
echo "deb [trusted=yes] file:$T/repo ./" >"$A/sources.list"
APT_OPTS=(-o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=$A/sources.list.d"
	-o "Dir::Etc::PreferencesParts=$A/preferences.d" -o "Dir::State::Lists=$A/lists"
	-o "Dir::Cache=$A/cache" "${LOCK_WAIT[@]}")
JOB_APT_OPTIONS="Dir::Etc::SourceList=$A/sources.list, Dir::Etc::SourceParts=$A/sources.list.d, Dir::Etc::PreferencesParts=$A/preferences.d, Dir::State::Lists=$A/lists, Dir::Cache=$A/cache"
apt_private() { DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" "$@"; }
installed() { dpkg-query -W -f '${Version}' "$PKG" 2>/dev/null; }

# hold_lock FILE SECONDS: a real process holds apt's kind of lock (fcntl,
# as apt and dpkg take it; flock(1) would not be seen) for SECONDS.
hold_lock() {
	python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))' "$1" "$2" >"$T/lock.out" &
	lock_pid=$!
	for _ in $(seq 50); do grep -q held "$T/lock.out" && return; sleep 0.1; done
}

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

# mark hold|unhold: apt-mark fails while another dpkg holds its lock.
mark() {
	for _ in $(seq 300); do
		apt-mark "$1" "$PKG" >/dev/null 2>&1 && return
		sleep 1
	done
}
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
