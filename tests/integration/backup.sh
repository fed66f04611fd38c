#!/bin/bash
# The backup plugin against a throwaway cluster: the file and its manifest,
# the connection in pg_dump's environment, the dump's own snapshot for the
# row counts, the maintenance lock, every fail-closed rule, a killed run,
# the version and free-space refusals, and retention (grandfather-father-
# son over backups dated in the past, dry run first).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/backuplib.sh"

spy=$(fake_pg_dump spy "printf '%s\n' \"\$@\" >$T/spy.argv; env >$T/spy.env; exec \"\$REAL\" \"\$@\"")
config <<CONF
[nightly]
plugin = backup
dest = $T/dest
conninfo = $CONNINFO password=not-in-argv
pg_bindir = $spy

[zst]
plugin = backup
dest = $T/zst
compress = zstd

[custom]
plugin = backup
dest = $T/custom
format = custom
CONF

# ---- a good backup ----
ct run nightly
check "a backup succeeds" eval 'rc_is 0 && grep -q "^ok .*nightly .*nightly-[0-9]\{8\}T[0-9]\{6\}Z.sql.gz: .*verified L2" "$out"'
file=$(only "$T/dest" 'nightly-*.sql.gz')
manifest=$(only "$T/dest" 'nightly-*.manifest.json')
check "dest holds the file and its manifest, nothing else" \
	eval '[ -n "$file" ] && [ -n "$manifest" ] && [ "$(ls "$T/dest" | wc -l)" -eq 2 ] && [ "${file%.sql.gz}.manifest.json" = "$manifest" ]'
check "the backup and the folder are private (0600, 0700)" \
	eval '[ "$(stat -c %a "$file")" = 600 ] && [ "$(stat -c %a "$T/dest")" = 700 ]'
check "plain gunzip reads it, and it ends with pg_dump's completion line" \
	eval 'gunzip -c "$file" | tail -n 5 | grep -q "^-- PostgreSQL database dump complete$"'

counts=$(sql "SELECT json_object_agg(t, n) FROM (
	SELECT 'public.auth_user' t, count(*) n FROM auth_user UNION ALL
	SELECT 'public.patient_input_patient', count(*) FROM patient_input_patient UNION ALL
	SELECT 'public.patient_input_auditlog', count(*) FROM patient_input_auditlog UNION ALL
	SELECT 'public.django_session', count(*) FROM django_session UNION ALL
	SELECT 'public.patient_input_securityevent', count(*) FROM patient_input_securityevent UNION ALL
	SELECT 'public.django_migrations', count(*) FROM django_migrations) x")
check "the manifest records what, how, checksums, blocks, row counts and the L2 result" \
	python3 - "$manifest" "$file" "$counts" <<'PY'
import gzip, hashlib, json, os, sys
m = json.load(open(sys.argv[1])); path = sys.argv[2]; counts = json.loads(sys.argv[3])
data = open(path, "rb").read()
assert m["caretaker_manifest"] == 1 and m["name"] == "nightly", m
assert m["file"] == os.path.basename(path)
assert m["database"] == "patient_input" and m["server_version_num"] >= 150000
assert m["pg_dump_version"].startswith("pg_dump (PostgreSQL) 15"), m["pg_dump_version"]
assert m["format"] == "plain" and m["compression"] == {"kind": "gzip", "level": 3, "block_bytes": 4194304}
assert m["stored_bytes"] == len(data) and m["stored_sha256"] == hashlib.sha256(data).hexdigest()
raw = gzip.decompress(data)
assert m["raw_bytes"] == len(raw) and m["raw_sha256"] == hashlib.sha256(raw).hexdigest()
assert len(m["blocks"]) >= 1 and m["blocks"][0]["offset"] == 0
assert sum(b["raw"] for b in m["blocks"]) == len(raw)
assert m["tables"] == counts, (m["tables"], counts)
assert m["caretaker_version"] and m["started_at"].endswith("Z") and m["snapshot"]
assert m["verified"]["level"] == 2 and m["verified"]["outcome"] == "ok", m["verified"]
PY
report_json nightly >"$T/report.json"
check "the report has bytes, ratio, duration, throughput and the backup artifact" \
	python3 - "$T/report.json" "$file" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
names = {m["name"] for m in r["metrics"]}
assert {"bytes", "ratio", "duration_seconds", "throughput_bytes_per_second"} <= names, names
assert {"kind": "backup", "path": sys.argv[2]} in r["artifacts"], r["artifacts"]
PY
check "the password reaches pg_dump in PGPASSWORD, never in its arguments" \
	eval 'grep -qx "PGPASSWORD=not-in-argv" "$T/spy.env" && ! grep -q "not-in-argv" "$T/spy.argv" &&
		grep -qx "PGHOST=$PGHOST" "$T/spy.env" && grep -q "^--snapshot=" "$T/spy.argv"'

ct run zst custom
zfile=$(only "$T/zst" 'zst-*.sql.zst')
cfile=$(only "$T/custom" 'custom-*.dump.gz')
check "compress = zstd makes .sql.zst; format = custom makes .dump.gz" \
	eval 'rc_is 0 && [ -n "$zfile" ] && [ -n "$cfile" ]'
if command -v zstd >/dev/null; then
	check "zstd -d reads the zstd backup" eval 'zstd -dc "$zfile" | grep -q "dump complete"'
	# The writer leaves these digests to the L2 that follows the file.
	check "its manifest's SHA-256 digests are those of the file and of what zstd -d gives" \
		eval 'grep -q "\"raw_sha256\": \"$(zstd -dc "$zfile" | sha256sum | cut -d" " -f1)\"" \
		      "${zfile%.sql.zst}.manifest.json" &&
		      grep -q "\"stored_sha256\": \"$(sha256sum "$zfile" | cut -d" " -f1)\"" \
		      "${zfile%.sql.zst}.manifest.json"'
fi
check "pg_restore reads the custom backup after gunzip" \
	eval 'gunzip -c "$cfile" | "$REAL_BINDIR/pg_restore" -f /dev/null && gunzip -c "$cfile" | "$REAL_BINDIR/pg_restore" --list | grep -q "TABLE DATA public patient_input_patient"'

check "format = custom takes its row counts with count(*) in the dump's snapshot" \
	eval 'python3 -c "
import json, sys; m = json.load(open(\"${cfile%.dump.gz}.manifest.json\"))
assert m[\"tables\"] == json.loads(sys.argv[1]), m[\"tables\"]" "$counts"'

# ---- row counts: read from the dump, or counted on the server ----
sql 'CREATE SCHEMA "Big Schema";
	CREATE TABLE "Big Schema"."Odd ""Name"".x" (id int, note text);
	INSERT INTO "Big Schema"."Odd ""Name"".x" SELECT g, E'"'"'line\nbreak\\.'"'"' FROM generate_series(1, 7) g;
	CREATE TABLE public.nothing_yet (id int)' >/dev/null
config <<CONF
[bydump]
plugin = backup
dest = $T/bydump

[bysnap]
plugin = backup
dest = $T/bysnap
row_counts = snapshot

[bad-counts]
plugin = backup
dest = $T/bad-counts
format = custom
row_counts = dump
CONF
ct run bydump bysnap
check "row counts read from the dump and counted on the server agree, odd names and empty tables included" \
	eval 'rc_is 0 && python3 - "$(only "$T/bydump" "*.manifest.json")" "$(only "$T/bysnap" "*.manifest.json")" <<PY
import json, sys
a = json.load(open(sys.argv[1]))["tables"]; b = json.load(open(sys.argv[2]))["tables"]
assert a == b, (a, b)
assert a["Big Schema.Odd \"Name\".x"] == 7 and a["public.nothing_yet"] == 0, a
assert a["public.patient_input_auditlog"] > 0, a
PY'
ct run bad-counts
check "row_counts = dump with format = custom is refused with a hint" \
	eval 'rc_is 1 && grep -q "^failed .*bad-counts .*row_counts = dump reads the rows of a plain dump" "$out" &&
		grep -q "hint: row_counts = snapshot" "$out" && [ ! -e "$T/bad-counts" ]'
sql 'DROP SCHEMA "Big Schema" CASCADE; DROP TABLE public.nothing_yet' >/dev/null

# pg_dump writes a quoted name holding a newline over two lines of its COPY
# line, and a comment (anyone's words) as a string literal whose lines may
# look like its own TABLE DATA header and COPY line.  Any user who can
# create a table can write both: neither may stop the backups.
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE public."two
lines ""quoted""" ("col
umn" int);
INSERT INTO public."two
lines ""quoted""" SELECT g FROM generate_series(1, 5) g;
COMMENT ON TABLE public.auth_user IS '
-- Data for Name: fake; Type: TABLE DATA; Schema: public; Owner: x
--

COPY public.fake (a) FROM stdin;
';
SQL
config <<CONF
[nl-dump]
plugin = backup
dest = $T/nl-dump

[nl-snap]
plugin = backup
dest = $T/nl-snap
row_counts = snapshot
CONF
ct run nl-dump nl-snap
check "a table whose name holds a newline, and a comment that looks like pg_dump's own lines, are counted right" \
	eval 'rc_is 0 && python3 - "$(only "$T/nl-dump" "*.manifest.json")" "$(only "$T/nl-snap" "*.manifest.json")" <<PY
import json, sys
a = json.load(open(sys.argv[1]))["tables"]; b = json.load(open(sys.argv[2]))["tables"]
assert a == b, (a, b)
assert a["public.two\nlines \"quoted\""] == 5, a
PY'
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DROP TABLE public."two
lines ""quoted""";
COMMENT ON TABLE public.auth_user IS NULL;
SQL

# ---- the dump's own snapshot ----
slow=$(fake_pg_dump slow "sleep 2; exec \"\$REAL\" \"\$@\"")
config <<CONF
[snap]
plugin = backup
dest = $T/snap
pg_bindir = $slow
CONF
before=$(sql "SELECT count(*) FROM auth_user")
"$CARETAKER" -c "$T/caretaker.ini" run snap >"$out" 2>"$err" &
pid=$!
sleep 1
sql "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
	is_staff, is_active, date_joined) VALUES ('x', false, 'late-arrival', '', '', '', false, true, now())" >/dev/null
wait "$pid"
rc=$?
snapfile=$(only "$T/snap" 'snap-*.sql.gz')
check "rows added after the snapshot are in neither the dump nor the row counts" \
	eval 'rc_is 0 && python3 -c "
import json, sys; m = json.load(open(\"${snapfile%.sql.gz}.manifest.json\"))
assert m[\"tables\"][\"public.auth_user\"] == $before, m[\"tables\"]" &&
		! gunzip -c "$snapfile" | grep -q late-arrival'
sql "DELETE FROM auth_user WHERE username = 'late-arrival'" >/dev/null

# ---- the maintenance lock ----
hold=$(fake_pg_dump hold "sleep 3; exec \"\$REAL\" \"\$@\"")
config <<CONF
[locked]
plugin = backup
dest = $T/locked
pg_bindir = $hold
CONF
"$CARETAKER" -c "$T/caretaker.ini" run locked >"$out" 2>"$err" &
pid=$!
sleep 1.5
shared=$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ShareLock'
	AND classid = hashtext('caretaker')::oid AND objid = hashtext('maintenance')::oid AND objsubid = 2")
try=$(sql "SELECT pg_try_advisory_lock(hashtext('caretaker'), hashtext('maintenance'))")
wait "$pid"
rc=$?
check "during the dump the shared maintenance lock is held, and maintenance cannot take it" \
	eval '[ "$shared" = 1 ] && [ "$try" = f ] && rc_is 0'
check "after the dump the lock is free again" \
	eval '[ "$(sql "SELECT pg_try_advisory_lock(hashtext('"'caretaker'"'), hashtext('"'maintenance'"'))")" = t ]'

# ---- fail closed ----
# fail_case NAME SCRIPT EXPECTED [EXTRA OPTION LINE]: pg_dump misbehaves as
# SCRIPT says; the run must fail with EXPECTED and leave nothing in dest.
fail_case() {
	local dir
	dir=$(fake_pg_dump "fake-$1" "$2")
	config <<CONF
[$1]
plugin = backup
dest = $T/$1
pg_bindir = $dir
${4:-}
CONF
	ct run "$1"
	fc_name=$1 fc_want=$3
	check "fails closed: $1 ($3)" \
		eval 'rc_is 1 && grep -q "^failed .*$fc_name .*$fc_want" "$out" && [ -z "$(ls -A "$T/$fc_name")" ]'
}
fail_case exit-status '"$REAL" "$@" | head -c 20000; exit 1' "pg_dump exited with status 1"
fail_case error-line '"$REAL" "$@"; echo "pg_dump: error: query failed: ERROR:  boom" >&2' \
	"pg_dump exited 0 but reported 1 error(s): pg_dump: error: query failed"
fail_case no-trailer '"$REAL" "$@" | head -c 50000' "lacks its completion line"
fail_case too-small '"$REAL" "$@"' "less than min_size" "min_size = 50M"
fail_case crashed '"$REAL" "$@" | head -c 1000; kill -SEGV $$' "killed by SIGSEGV"
fail_case skipped-table '"$REAL" --exclude-table-data=public.django_migrations "$@"' \
	"no rows section (COPY) for table public.django_migrations, which the database has"

# ---- lock_wait_timeout: a table held by an exclusive lock ----
psql -X -q -c "BEGIN; LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)" \
	>/dev/null 2>&1 &
holder=$!
for _ in $(seq 100); do
	[ "$(sql "SELECT count(*) FROM pg_locks WHERE relation = 'django_session'::regclass
		AND mode = 'AccessExclusiveLock' AND granted")" = 1 ] && break
	sleep 0.1
done
config <<CONF
[lockwait]
plugin = backup
dest = $T/lockwait
lock_wait_timeout = 1s
CONF
t0=$SECONDS
ct run lockwait
waited=$((SECONDS - t0))
sql "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE relation = 'django_session'::regclass
	AND mode = 'AccessExclusiveLock'" >/dev/null
wait "$holder" 2>/dev/null
check "lock_wait_timeout: a table locked by another session fails the backup soon, saying so" \
	eval 'rc_is 1 && grep -q "^failed .*lockwait .*could not lock table public.django_session within lock_wait_timeout (1000 ms)" "$out" &&
	      [ "$waited" -lt 20 ] &&
	      [ -z "$(ls -A "$T/lockwait")" ]'

stuck=$(fake_pg_dump stuck '"$REAL" "$@" | head -c 100000; sleep 30')
config <<CONF
[stuck]
plugin = backup
dest = $T/stuck-dest
pg_bindir = $stuck
timeout = 2s
CONF
ct run stuck
check "a run stopped by its timeout fails and leaves nothing behind" \
	eval 'rc_is 1 && grep -q "^failed .*stuck" "$out" && [ -z "$(ls -A "$T/stuck-dest")" ]'

# ---- a killed run ----
config <<CONF
[killed]
plugin = backup
dest = $T/killed
pg_bindir = $stuck
timeout = 60s

[killed-verify]
plugin = verify
dest = $T/killed
CONF
"$CARETAKER" -c "$T/caretaker.ini" run killed >"$out" 2>"$err" &
pid=$!
for _ in $(seq 100); do
	partial=$(ls "$T"/killed/*.partial 2>/dev/null)
	[ -n "$partial" ] && [ "$(stat -c %s "$partial")" -gt 0 ] && break
	sleep 0.1
done
# A crash of the whole run (power loss, the OOM killer): the job's process
# group first, then caretaker.  Killing caretaker alone would let the job
# stop cleanly (it is told its supervisor died), and a crash is the point.
# The job's child leads its own group; caretaker's other children (what it
# reaps as a subreaper) do not.
job=$(ps -o pid=,pgid= --ppid "$pid" | awk '$1 == $2 { print $1; exit }')
exec 3>&2 2>/dev/null # no "Killed" notice from bash
[ -n "$job" ] && kill -KILL -- "-$job"
kill -KILL -- "$pid"
wait "$pid"
exec 2>&3 3>&-
sleep 0.3
check "SIGKILL mid-dump: a partial file, no manifest" \
	eval '[ -n "$job" ] && [ -n "$partial" ] && [ -z "$(ls "$T"/killed/*.manifest.json 2>/dev/null)" ] && [ -z "$(ls "$T"/killed/*.sql.gz 2>/dev/null)" ]'
ct run killed-verify
check "verify lists no backup and names the unfinished file" \
	eval 'rc_is 1 && grep -q "no complete backup in $T/killed" "$out" &&
		findings killed-verify | grep -q "warning $partial: unfinished backup file"'
sed -i "s|^pg_bindir = $stuck$||" "$T/caretaker.ini"
ct run killed
check "the next run removes the unfinished file, saying so, and succeeds" \
	eval 'rc_is 0 && [ ! -e "$partial" ] && findings killed | grep -q "warning $partial: removed an unfinished backup file"'

# ---- refusals ----
old=$(fake_pg_dump old 'exit 0')
sed -i 's|^\[ "\$1" = --version \].*|[ "$1" = --version ] \&\& { echo "pg_dump (PostgreSQL) 13.14"; exit 0; }|' "$old/pg_dump"
config <<CONF
[old]
plugin = backup
dest = $T/old-dest
pg_bindir = $old

[full]
plugin = backup
dest = $T/dest
min_free = 1000000T

[full-factor]
plugin = backup
dest = $T/dest
name = nightly
min_free_factor = 100000000
CONF
ct run old
check "an older pg_dump is refused, naming the package to install" \
	eval 'rc_is 1 && grep -q "pg_dump 13 is older than the server (PostgreSQL 15)" "$out" &&
		grep -q "hint: install postgresql-client-15" "$out" && [ -z "$(ls -A "$T/old-dest")" ]'
ct run full
check "min_free: refuses to start, naming the folder and the numbers" \
	eval 'rc_is 1 && grep -q "not enough free space in $T/dest: .* free, min_free is 1000000.0 TiB" "$out"'
ct run full-factor
check "min_free_factor: refuses below that many times the last backup" \
	eval 'rc_is 1 && grep -q "not enough free space in $T/dest: .* (100000000.00 x the last backup" "$out"'

# ---- encryption (encrypt_to) ----
"$CARETAKER" keygen --public "$T/backup.pub" --secret "$T/backup.sec" >/dev/null 2>&1
config <<CONF
[enc]
plugin = backup
dest = $T/enc
encrypt_to = $T/backup.pub
keep_daily = 3

[enc-checked]
plugin = backup
dest = $T/enc-checked
encrypt_to = $T/backup.pub
decrypt_key = $T/backup.sec
CONF
ct run enc
efile=$(only "$T/enc" 'enc-*.sql.gz.enc')
check "encrypt_to makes NAME-STAMP.sql.gz.enc, with no readable SQL in it" \
	eval 'rc_is 0 && [ -n "$efile" ] && ! grep -aq "PostgreSQL database dump" "$efile" && ! gunzip -t "$efile" 2>/dev/null'
check "the secret key decrypts it to a complete dump" \
	eval '"$CARETAKER" decrypt --key "$T/backup.sec" "$efile" | gunzip | grep -q "^-- PostgreSQL database dump complete"'
check "without the key the job checks it at L1, records that, and skips retention" \
	eval 'grep -q "verified L1" "$out" && python3 -c "
import json; m = json.load(open(\"${efile%.sql.gz.enc}.manifest.json\"))
assert len(m[\"encryption\"][\"key_id\"]) == 16 and m[\"verified\"][\"level\"] == 1, m" &&
		findings enc | grep -q "retention skipped: the new backup is encrypted and checked at L1"'
# Without the key the writer hashes the stream itself; with it, the L2
# that follows the file does.  Both must record the stream's own digest.
raw_sha_is() { # MANIFEST ENCRYPTED-FILE
	grep -q "\"raw_sha256\": \"$("$CARETAKER" decrypt --key "$T/backup.sec" "$2" | gunzip |
		sha256sum | cut -d" " -f1)\"" "$1"
}
check "without the key, the manifest's SHA-256 of the stream is the writer's, and right" \
	raw_sha_is "${efile%.sql.gz.enc}.manifest.json" "$efile"
ct run enc-checked
check "with decrypt_key the job checks the encrypted backup at L2" \
	eval 'rc_is 0 && grep -q "^ok .*enc-checked .*encrypted) .*verified L2" "$out"'
cfile_enc=$(only "$T/enc-checked" 'enc-checked-*.sql.gz.enc')
check "with it, both SHA-256 digests come from that L2, and are right" \
	eval 'raw_sha_is "${cfile_enc%.sql.gz.enc}.manifest.json" "$cfile_enc" &&
	      grep -q "\"stored_sha256\": \"$(sha256sum "$cfile_enc" | cut -d" " -f1)\"" \
	      "${cfile_enc%.sql.gz.enc}.manifest.json"'

# ---- file trees (paths) ----
mkdir -p "$T/app/media/photos" "$T/app/cache"
echo "scan" >"$T/app/media/photos/1.jpg"
echo "notes" >"$T/app/media/readme.txt"
echo "bytecode" >"$T/app/media/mod.pyc"
echo "cached" >"$T/app/cache/page"
ln -s readme.txt "$T/app/media/link"
config <<CONF
[files]
plugin = backup
dest = $T/files
paths = $T/app
exclude = *.pyc, cache/*
CONF
ct run files
tfile=$(only "$T/files" 'files-*.tar.gz')
check "paths makes NAME-STAMP.tar.gz, verified at L2" \
	eval 'rc_is 0 && [ -n "$tfile" ] && grep -q "verified L2" "$out"'
check "tar reads it: files and links in, excluded patterns out" \
	eval 'tar tzf "$tfile" >"$T/tar.list" && grep -q "app/media/photos/1.jpg$" "$T/tar.list" &&
		grep -q "app/media/link$" "$T/tar.list" && ! grep -q "mod.pyc" "$T/tar.list" &&
		grep -q "app/cache/$" "$T/tar.list" && ! grep -q "cache/page" "$T/tar.list"'
check "the manifest says tar and what went in" \
	eval 'python3 -c "
import json; m = json.load(open(\"${tfile%.tar.gz}.manifest.json\"))
assert m[\"format\"] == \"tar\" and m[\"archive\"][\"files\"] == 2 and m[\"archive\"][\"symlinks\"] == 1, m"'

# ---- retention ----
# Backups dated in the past: copies of a real one, renamed, their manifests
# rewritten to match.  The last one never passed verification.
mkdir -p "$T/ret"
chmod 700 "$T/ret"
for stamp in 20250101T010000Z 20250201T010000Z 20250301T010000Z 20250309T010000Z \
	20250310T010000Z 20250316T010000Z 20250317T010000Z 20250317T200000Z 20250318T010000Z; do
	cp "$file" "$T/ret/ret-$stamp.sql.gz"
	cp "$manifest" "$T/ret/ret-$stamp.manifest.json"
	manifest_edit "$T/ret/ret-$stamp.manifest.json" "
s = '$stamp'
m['name'] = 'ret'; m['file'] = 'ret-%s.sql.gz' % s
m['started_at'] = '%s-%s-%sT%s:%s:%sZ' % (s[0:4], s[4:6], s[6:8], s[9:11], s[11:13], s[13:15])"
done
manifest_edit "$T/ret/ret-20250201T010000Z.manifest.json" \
	"m['verified'] = {'level': 2, 'outcome': 'failed', 'at': '2025-02-02T00:00:00Z', 'detail': 'L2 failed: test'}"
config <<CONF
[ret]
plugin = backup
dest = $T/ret
keep_daily = 3
keep_weekly = 3
keep_monthly = 3
CONF
printf '\n[fresh]\nplugin = backup\ndest = %s\nkeep_daily = 1\n' "$T/not/yet" >>"$T/caretaker.ini"
ct run --dry-run fresh
check "dry run with a dest that does not exist yet: ok, and nothing is created" \
	eval 'rc_is 0 && grep -q "^ok .*fresh .*dry run: would dump" "$out" && [ ! -e "$T/not" ]'
ls "$T/ret" >"$T/ret.before"
ct run --dry-run ret
# Without a new backup: daily 03-18, 03-17 20:00, 03-16; weekly 03-18,
# 03-16 (Sunday ends ISO week 11), 03-09; monthly 03-18, 01-01 (February
# failed verification: it fills no slot).  Would go: 03-17 01:00, 03-10, 03-01.
check "dry run: lists what it would delete and why, deletes nothing, dumps nothing" \
	eval 'rc_is 0 && grep -q "^ok .*ret .*dry run: would dump patient_input" "$out" &&
		[ "$(findings ret | grep -c "would delete")" -eq 3 ] &&
		findings ret | grep -q "ret-20250310T010000Z.sql.gz: would delete: taken 2025-03-10T01:00:00Z" &&
		diff -q <(ls "$T/ret") "$T/ret.before" >/dev/null'
all_gone() {
	local s
	for s in "$@"; do
		[ ! -e "$T/ret/ret-$s.sql.gz" ] && [ ! -e "$T/ret/ret-$s.manifest.json" ] || return 1
	done
}
all_kept() {
	local s
	for s in "$@"; do
		[ -e "$T/ret/ret-$s.sql.gz" ] && [ -e "$T/ret/ret-$s.manifest.json" ] || return 1
	done
}
ct run ret
# With today's backup taking a slot of each rule: daily today, 03-18,
# 03-17 20:00; weekly today, 03-18, 03-16; monthly today, 03-18, 01-01.
check "retention keeps grandfather-father-son slots and deletes manifest and file together" \
	eval 'rc_is 0 && all_gone 20250317T010000Z 20250310T010000Z 20250309T010000Z 20250301T010000Z &&
		all_kept 20250101T010000Z 20250201T010000Z 20250316T010000Z 20250317T200000Z 20250318T010000Z &&
		[ "$(ls "$T"/ret/*.manifest.json | wc -l)" -eq 6 ] && grep -q "retention kept 6, deleted 4" "$out"'
check "a backup that failed verification is reported, neither counted nor deleted" \
	eval 'findings ret | grep -q "warning $T/ret/ret-20250201T010000Z.sql.gz: verification failed at L2"'

done_testing
