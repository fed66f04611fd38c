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

# A skip is green, so it must not hide a broken set-up.  Under CI=true
# tests/bootstrap.sh has installed everything the suites need, and a suite
# or test that cannot start what it needs (a PostgreSQL cluster, a tool)
# fails the run with the reason.  What does not apply to the machine at all
# (root-only checks when not root) skips everywhere: the *_inapplicable
# forms.
is_ci() { case "${CI:-}" in true | TRUE | 1 | yes) return 0 ;; esac; return 1; }

# skip_all REASON: the whole suite cannot run (fails under CI=true).
skip_all() {
	if is_ci; then
		echo "Bail out! cannot run under CI=true: $1"
		exit 1
	fi
	echo "1..0 # SKIP $1"
	exit 0
}

# skip_all_inapplicable REASON: the suite does not apply here; skips even
# under CI=true.
skip_all_inapplicable() { echo "1..0 # SKIP $1"; exit 0; }

# skip_test NAME REASON: one test cannot run (fails under CI=true).
skip_test() {
	if is_ci; then
		not_ok "$1" "cannot run under CI=true: $2"
	else
		ok "$1 # SKIP $2"
	fi
}

# skip_test_inapplicable NAME REASON: one test does not apply here.
skip_test_inapplicable() { ok "$1 # SKIP $2"; }

# The plan, and an exit status that says whether every test passed (the
# TAP driver reads the lines; a script run by hand has its status).
done_testing() {
	echo "1..$tap_n"
	exit "$tap_failed"
}

# start_cluster [ARGS...]: a throwaway PostgreSQL cluster bound to this
# script (tests/harness/pg.sh start ARGS), its PG* variables exported.  A
# suite that cannot have one skips, or under CI=true fails, with the reason
# pg.sh gave.
start_cluster() {
	local bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin} env
	[ -x "$bindir/initdb" ] ||
		skip_all "no PostgreSQL 15 server: $bindir/initdb is missing (apt-get install postgresql-15)"
	export PG_HARNESS_QUIET=1
	env=$("$top_srcdir/tests/harness/pg.sh" start --owner $$ "$@" 2>"$T/pg-start.err") ||
		skip_all "could not start a throwaway cluster: $(tail -n 3 "$T/pg-start.err" | tr '\n' ' ')"
	eval "$env"
}

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
