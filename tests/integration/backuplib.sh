# backuplib.sh — helpers for backup.sh and verify.sh, sourced after lib.sh.
#
# Starts a throwaway cluster seeded with the tiny data model, installs the
# built plugins, and offers: a [caretaker] header with the cluster's
# conninfo, fake pg_dump folders (for pg_bindir) that misbehave in one way
# each, findings of a run as text, and manifest edits.

command -v python3 >/dev/null || skip_all "python3 is not installed"
start_cluster
"$top_srcdir/tests/harness/seed.sh" --scale tiny --quiet 2>"$T/seed.err" ||
	skip_all "could not seed the cluster: $(tail -n 3 "$T/seed.err" | tr '\n' ' ')"
install_plugins
REAL_BINDIR=${PG_HARNESS_BINDIR:-/usr/lib/postgresql/15/bin}
CONNINFO="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER"

# config JOBS...: [caretaker] with the cluster's conninfo, then the job
# sections on stdin.
config() {
	{
		printf 'conninfo = %s\n\n' "$CONNINFO"
		cat
	} | write_config
}

# findings JOB: "severity object: message" per finding of JOB's newest run.
findings() {
	report_json "$1" | python3 -c '
import json, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
for r in json.load(sys.stdin)["runs"]:
    for f in r["findings"]:
        print("%s %s: %s" % (f["severity"], f["object"], f["message"]))'
}

# fake_pg_dump NAME SCRIPT: a folder $T/NAME holding a pg_dump that answers
# --version like the real one and otherwise runs SCRIPT (sh, with "$@" the
# arguments and $REAL the real pg_dump).  Prints the folder.
fake_pg_dump() {
	mkdir -p "$T/$1"
	cat >"$T/$1/pg_dump" <<SH
#!/bin/sh
REAL=$REAL_BINDIR/pg_dump
[ "\$1" = --version ] && exec "\$REAL" --version
$2
SH
	chmod 755 "$T/$1" "$T/$1/pg_dump"
	echo "$T/$1"
}

# manifest_edit FILE PYTHON: runs PYTHON with `m` the parsed manifest and
# writes it back.
manifest_edit() {
	python3 - "$1" "$2" <<'PY'
import json, sys
path, code = sys.argv[1], sys.argv[2]
m = json.load(open(path))
exec(code)
json.dump(m, open(path, "w"), indent=2)
PY
}

# only FOLDER GLOB: the single file matching GLOB in FOLDER.
only() {
	local files=("$1"/$2)
	[ ${#files[@]} -eq 1 ] && [ -e "${files[0]}" ] && echo "${files[0]}"
}

# sql QUERY: one value from the seeded database.
sql() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
