# lib.sh — shared helpers for the integration tests (TAP output).
#
# Each test script sources this, builds a throwaway configuration in $T
# (plugins copied from the build tree, state under $T/state), drives the
# built caretaker binary, and reports one TAP line per behaviour.  $T is
# removed on exit whatever happens.

set -u

: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"
: "${CARETAKER:=$top_builddir/caretaker}"

T=$(mktemp -d "${TMPDIR:-/tmp}/caretaker-test.XXXXXX")
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
tap_n=0
tap_failed=0

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=1
	echo "not ok $tap_n - $1"
	shift
	for line in "$@"; do printf '%s\n' "$line" | sed 's/^/#   /'; done
}

skip_all() { echo "1..0 # SKIP $1"; exit 0; }

done_testing() { echo "1..$tap_n"; exit 0; }

# Copy built plugins (bundled and, if asked, fault plugins) into $T/plugins.
install_plugins() {
	mkdir -p "$T/plugins"
	chmod 755 "$T/plugins"
	for so in "$top_builddir"/plugins/*/.libs/*.so; do
		cp "$so" "$T/plugins/"
	done
	for name in "$@"; do
		if [ "$name" = notelf ]; then
			cp "$top_srcdir/tests/faults/notelf.txt" "$T/plugins/notelf.so"
		else
			cp "$top_builddir/tests/faults/.libs/$name.so" "$T/plugins/"
		fi
	done
	chmod 644 "$T"/plugins/*.so
}

# Write $T/caretaker.ini: [caretaker] settings for tests plus whatever is
# on stdin (job sections).
write_config() {
	mkdir -p "$T/conf.d"
	{
		printf '[caretaker]\nplugin_path = plugins\nstate_dir = state\n'
		printf 'timeout = 20s\nkill_grace = 1s\n'
		cat
	} >"$T/caretaker.ini"
	chmod 644 "$T/caretaker.ini"
}

# Run caretaker; sets $rc, $out (stdout file), $err (stderr file).
out="$T/stdout"
err="$T/stderr"
ct() {
	"$CARETAKER" -c "$T/caretaker.ini" "$@" >"$out" 2>"$err"
	rc=$?
}

# check NAME COMMAND...: one TAP line; on failure show what came.
check() {
	local name=$1
	shift
	if "$@"; then
		ok "$name"
	else
		not_ok "$name" "expected: $*" "exit status: ${rc:-?}" \
			"stdout: $(head -c 3000 "$out" 2>/dev/null)" \
			"stderr: $(head -c 3000 "$err" 2>/dev/null)"
	fi
}

rc_is() { [ "$rc" -eq "$1" ]; }
out_has() { grep -q -- "$1" "$out"; }
err_has() { grep -q -- "$1" "$err"; }
out_lacks() { ! grep -q -- "$1" "$out"; }
# report_json JOB: the newest run of JOB as JSON on stdout.
report_json() { "$CARETAKER" -c "$T/caretaker.ini" report "$1" --format json -n 1; }
