# aptlib.sh — a private package repository for the tests of the apt
# plugin (apt.sh) and of the update chain (update-chain.sh), sourced after
# lib.sh with PKG set to a package name of the test's own.
#
# Versions of $PKG are built with dpkg-deb and published in flat file:
# repositories that apt reaches only through the Dir:: and sources
# settings in APT_OPTS (apt-get) and JOB_APT_OPTIONS (a job's apt_options),
# so the machine's sources and lists are never read or changed.  The
# package installs into the machine's dpkg database (root only) and is
# purged when the test ends.

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

# mark hold|unhold|auto: apt-mark fails while another dpkg holds its lock.
mark() {
	for _ in $(seq 300); do
		apt-mark "$1" "$PKG" >/dev/null 2>&1 && return
		sleep 1
	done
}
