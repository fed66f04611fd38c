#!/bin/bash
# bootstrap.sh — set up a Debian 12 machine, build caretaker, and either run
# the embedded default or the whole test suite.
#
#   tests/bootstrap.sh demo    install what is missing, build, start a throwaway
#                              PostgreSQL seeded with the patient-records data
#                              model, run the shipped jobs, print the report
#   tests/bootstrap.sh check   the same set-up, then every test: unit and
#                              integration tests under AddressSanitizer and
#                              UBSan, make distcheck, each fuzzer for
#                              FUZZ_SECONDS (60) under both, the Debian
#                              packages (tests/packaging.sh), and make check
#                              (its summary comes last)
#
# Builds happen out of tree in _build/ (and _build-asan/, _build-fuzz/), so
# the source tree stays clean.  Needs root only to install packages.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

# Debian 12 packages: build tools, the libraries of docs/architecture.md, and
# the PostgreSQL server the tests start.
packages=(
	build-essential autoconf automake libtool pkgconf
	libltdl-dev libinih-dev libjansson-dev libpq-dev libcmocka-dev
	libdeflate-dev libzstd-dev libssl-dev libarchive-dev libsodium-dev
	postgresql-15 postgresql-client-15 python3 systemd
)
# backup tests read zstd backups with the zstd tool; the schedule tests
# need the time zones; tests/coverage.sh reports through gcovr
packages+=(zstd tzdata gcovr)
# the fuzzers: clang with libFuzzer and the sanitizer runtimes
packages+=(clang-14 libclang-rt-14-dev)
# style.sh checks the tree's .clang-format and the link with nm
packages+=(clang-format binutils)
# apt.sh builds a private package repository (dpkg-scanpackages)
packages+=(dpkg-dev)
# health.sh makes certificates with openssl; tests/bench/metrics-bench.sh
# runs the runbook's psutil function (Debian's python3)
packages+=(openssl python3-psutil python3-psycopg2)
# logrotate-compat.sh runs logrotate(8) beside the logrotate plugin
packages+=(logrotate)
# tests/packaging.sh builds the Debian packages and the plugin template
packages+=(debhelper lintian meson ninja-build)
# logscan: PCRE2, Hyperscan (amd64 only; PCRE2 serves elsewhere), sd-journal,
# and journal files for its test written by systemd-journal-remote
packages+=(libpcre2-dev libsystemd-dev systemd-journal-remote)
[ "$(dpkg --print-architecture)" != amd64 ] || packages+=(libhyperscan-dev)

say() { printf '\n== %s\n' "$*"; }

install_packages() {
	local missing=() p
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "bootstrap: missing packages: ${missing[*]}" >&2
		echo "hint: run as root, or: sudo apt-get install ${missing[*]}" >&2
		exit 1
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# configure + make in a build folder: build DIR [configure args...]
build() {
	local dir=$1
	shift
	[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null 2>&1)
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" --enable-werror "$@" >configure.out 2>&1) ||
		{ cat "$dir/configure.out" "$dir/config.log" >&2; exit 1; }
	make -C "$dir" -j"$jobs" >"$dir/make.out" 2>&1 || { tail -50 "$dir/make.out" >&2; exit 1; }
}

# The embedded default: the shipped conf.d against a seeded throwaway cluster.
demo() {
	build "$top/_build"
	say "running the shipped jobs against a throwaway PostgreSQL"
	PG_HARNESS_QUIET=1 "$top/tests/harness/pg.sh" run --seed tiny --logs 256K -- \
		"$top/tests/demo.sh" "$top" "$top/_build"
}

# Sanitizer options for the runs below.  The fault plugins crash on
# purpose: the core must see their signals, not a sanitizer report
# (handle_segv=0 ...).  Leaks are looked for in every process that ends
# through exit(): caretaker and the unit tests (a job's child ends with
# _exit() and is not checked, its heap being caretaker's copy).  A test may
# preload a shim of its own (verify_asan_link_order=0).  Reports go to
# files, one per process, so that none is lost in a job's output or in a
# process whose failure a test expected: any report fails the run.
san_dir="$top/_build-asan/sanitizer-reports"
sanitized() {
	rm -rf "$san_dir"
	mkdir -p "$san_dir"
	ASAN_OPTIONS="detect_leaks=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:verify_asan_link_order=0:log_path=$san_dir/asan" \
		UBSAN_OPTIONS="print_stacktrace=1:log_path=$san_dir/ubsan" "$@"
}

# Fails when a sanitizer reported an error, showing the reports (a file
# may also hold only LeakSanitizer's list of suppressions used).
no_sanitizer_reports() {
	local reports f
	reports=$(grep -l -E "^(SUMMARY: |==[0-9]+==ERROR: )|runtime error: " "$san_dir"/* 2>/dev/null) ||
		return 0
	for f in $reports; do
		echo "---- $f" >&2
		head -80 "$f" >&2
	done
	echo "bootstrap: the sanitizers reported the errors above ($*)" >&2
	exit 1
}

check() {
	build "$top/_build"
	say "unit tests under AddressSanitizer and UBSan"
	build "$top/_build-asan" \
		CFLAGS="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
	sanitized make -C "$top/_build-asan" -j"$jobs" check TESTS="$(unit_tests)" ||
		{ show_failures "$top/_build-asan"; no_sanitizer_reports "unit tests"; exit 1; }
	no_sanitizer_reports "unit tests"
	say "integration tests against the sanitized build (caretaker and the plugins)"
	sanitized make -C "$top/_build-asan" -j"$jobs" check TESTS="$(integration_tests)" ||
		{ show_failures "$top/_build-asan"; no_sanitizer_reports "integration tests"; exit 1; }
	no_sanitizer_reports "integration tests"
	say "make distcheck"
	make -C "$top/_build" -j"$jobs" distcheck >"$top/_build/distcheck.out" 2>&1 ||
		{ tail -80 "$top/_build/distcheck.out" >&2; exit 1; }
	grep -E "^(=+|caretaker-.* archives ready)" "$top/_build/distcheck.out" | tail -3
	fuzz
	packaging
	say "make check"
	make -C "$top/_build" -j"$jobs" check || { show_failures "$top/_build"; exit 1; }
}

# Each libFuzzer harness for FUZZ_SECONDS (60) under ASan and UBSan; a
# crash, leak or hang fails the check (tests/fuzz/README.md).  Its own
# build folder: a fuzzing build instruments everything it compiles.
fuzz() {
	local dir=$top/_build-fuzz
	say "fuzzing, ${FUZZ_SECONDS:-60} s per harness"
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" --enable-werror --enable-fuzzing CC=clang-14 >configure.out 2>&1) ||
		{ cat "$dir/configure.out" "$dir/config.log" >&2; exit 1; }
	make -C "$dir" -j"$jobs" fuzz >"$dir/make.out" 2>&1 || { tail -50 "$dir/make.out" >&2; exit 1; }
	"$top/tests/fuzz/run.sh" "$dir" || exit 1
}

# The Debian packages built, installed, upgraded and purged on this machine
# (tests/packaging.sh).  It installs packages, so it needs root: outside CI
# a user's run says so and goes on; under CI=true (which runs as root) that
# is a failure, like any skip there (tests/README.md).
packaging() {
	say "Debian packages: build, lintian, install, upgrade, purge"
	if [ "$(id -u)" -ne 0 ]; then
		echo "packaging: SKIPPED: tests/packaging.sh installs packages and needs root" >&2
		[ "${CI:-}" != true ] || exit 1
		return 0
	fi
	"$top/tests/packaging.sh" >"$top/_build/packaging.out" 2>&1 ||
		{ cat "$top/_build/packaging.out" >&2; exit 1; }
	grep -E "^(ok|1\\.\\.)" "$top/_build/packaging.out"
}

unit_tests() {
	make -s -C "$top/_build" print-unit-tests
}

integration_tests() {
	make -s -C "$top/_build" print-integration-tests
}

# show_failures BUILD: what failed, from the test logs of BUILD.
show_failures() {
	grep -l -E "^(FAIL|ERROR)" "$1"/tests/*/*.log 2>/dev/null | while read -r log; do
		echo "---- $log" >&2
		grep -E -A12 "^(not ok|FAIL|ERROR|\[  (FAILED|ERROR))" "$log" >&2 || true
	done
}

case "${1:-}" in
demo) install_packages && demo ;;
check) install_packages && check ;;
*)
	echo "usage: tests/bootstrap.sh demo|check" >&2
	exit 2
	;;
esac
