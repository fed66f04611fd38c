#!/bin/bash
# The verify plugin against a throwaway cluster: a backup restored by hand
# equals its source table by table; the restore test passes and drops its
# scratch database; each kind of damage (a truncated file, a flipped byte, a
# missing manifest, manifests that lie about size, digests or row counts, a
# stream cut short, a cut custom archive) is detected, named and recorded.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/backuplib.sh"

config <<CONF
[nightly]
plugin = backup
dest = $T/good

[custom]
plugin = backup
dest = $T/custom
format = custom
compress = none

[check]
plugin = verify
dest = $T/good
restore_test = yes
CONF
ct run nightly custom
file=$(only "$T/good" 'nightly-*.sql.gz')
manifest=${file%.sql.gz}.manifest.json
cfile=$(only "$T/custom" 'custom-*.dump')
cmanifest=${cfile%.dump}.manifest.json
check "backups to verify (plain gzip, custom uncompressed)" \
	eval 'rc_is 0 && [ -n "$file" ] && [ -n "$cfile" ]'

# ---- restore by hand: every table equals its source ----
# md5 of every row in primary key order (the seed's tables all have it first).
table_sums() {
	local t
	for t in auth_user django_migrations django_session patient_input_patient \
		patient_input_auditlog patient_input_securityevent; do
		printf '%s ' "$t"
		psql -X -At -d "$1" -c "SELECT count(*), md5(string_agg(x::text, E'\n' ORDER BY 1)) FROM (SELECT * FROM $t ORDER BY 1) x"
	done
}
psql -X -q -c "CREATE DATABASE restored" 2>"$err"
gunzip -c "$file" | psql -X -q -v ON_ERROR_STOP=1 -d restored >/dev/null 2>"$err"
restore_rc=$?
check "the backup restores into a new database with psql" eval '[ "$restore_rc" -eq 0 ]'
table_sums "$PGDATABASE" >"$T/source.sums"
table_sums restored >"$T/restored.sums"
check "every table's rows equal the source's (count and ordered md5)" \
	eval 'diff "$T/source.sums" "$T/restored.sums" && [ "$(wc -l <"$T/source.sums")" -eq 6 ]'
psql -X -q -c "DROP DATABASE restored"

# ---- the restore test ----
ct run check
check "verify with restore_test passes at L3" \
	eval 'rc_is 0 && grep -q "^ok .*check .*1 backup(s) verified at L3" "$out" &&
		findings check | grep -q "info $file: L3 ok: restored into caretaker_verify_check in .*; 6 tables, 6527 rows match the manifest"'
check "the result is recorded in the manifest" \
	eval 'python3 -c "
import json; v = json.load(open(\"$manifest\"))[\"verified\"]
assert v[\"level\"] == 3 and v[\"outcome\"] == \"ok\" and v[\"at\"].endswith(\"Z\"), v"'
check "the scratch database is gone" \
	eval '[ "$(sql "SELECT count(*) FROM pg_database WHERE datname LIKE '"'caretaker_verify%'"'")" = 0 ]'

psql -X -q -c "CREATE DATABASE caretaker_verify_check"
ct run check
check "a scratch database a killed run left behind is dropped first" \
	eval 'rc_is 0 && [ "$(sql "SELECT count(*) FROM pg_database WHERE datname LIKE '"'caretaker_verify%'"'")" = 0 ]'

sleep 1
ct run nightly
config <<CONF
[two]
plugin = verify
dest = $T/good
newest = 2

[other-server]
plugin = verify
dest = $T/good
restore_test = yes
restore_conninfo = host=$PGHOST port=$PGPORT dbname=postgres user=$PGUSER
CONF
ct run two
check "newest = 2 verifies the two newest backups" \
	eval 'rc_is 0 && grep -q "2 backup(s) verified at L2" "$out" && [ "$(findings two | grep -c "L2 ok")" -eq 2 ]'
ct run other-server
check "restore_conninfo names the server of the scratch database" \
	eval 'rc_is 0 && grep -q "verified at L3" "$out"'
ct run --dry-run two
check "dry run: names what it would verify and records nothing" \
	eval 'rc_is 0 && [ "$(findings two | grep -c "would verify (L2)")" -eq 2 ] &&
		python3 -c "import json; assert json.load(open(\"$manifest\"))[\"verified\"][\"level\"] == 2"'

# ---- damage, each on its own copy: case NAME; then break $T/NAME/* ----
case_dir() {
	rm -rf "$T/$1"
	mkdir -p "$T/$1"
	cp "$file" "$manifest" "$T/$1/"
	CASE_FILE=$T/$1/$(basename "$file")
	CASE_MANIFEST=$T/$1/$(basename "$manifest")
	printf '\n[%s]\nplugin = verify\ndest = %s\nrestore_test = %s\n' "$1" "$T/$1" "${2:-no}" \
		>>"$T/caretaker.ini"
}
# damaged NAME TEXT: verify fails, a finding on the file says TEXT, and the
# manifest records the failure.
damaged() {
	ct run "$1"
	dm_name=$1 dm_want=$2
	check "detected and named: $1" \
		eval 'rc_is 1 && findings "$dm_name" | grep -q "critical $CASE_FILE: .*$dm_want"'
	check "recorded as failed: $1" \
		eval 'python3 -c "import json; v = json.load(open(\"$CASE_MANIFEST\"))[\"verified\"]; assert v[\"outcome\"] == \"failed\", v"'
}

case_dir truncated
truncate -s $(($(stat -c %s "$CASE_FILE") / 2)) "$CASE_FILE"
damaged truncated "L1 failed: the file is [0-9]* bytes, the manifest says [0-9]* (truncated)"

case_dir flipped
python3 - "$CASE_FILE" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x40
open(p, "wb").write(b)
PY
damaged flipped "L1 failed: SHA-256 of the file is .*block 0 at offset 0: stored bytes damaged: CRC-32"

case_dir no-manifest
rm "$CASE_MANIFEST"
ct run no-manifest
check "detected and named: a backup file without its manifest" \
	eval 'rc_is 1 && grep -q "no complete backup in $T/no-manifest" "$out" &&
		findings no-manifest | grep -q "warning $CASE_FILE: backup file without a manifest: incomplete"'

case_dir lying-size
manifest_edit "$CASE_MANIFEST" "m['stored_bytes'] += 1"
damaged lying-size "L1 failed: the file is [0-9]* bytes, the manifest says [0-9]* (truncated)"

case_dir lying-sha
manifest_edit "$CASE_MANIFEST" "m['stored_sha256'] = '0' * 64"
damaged lying-sha "L1 failed: .*SHA-256 of the file is [0-9a-f]*, the manifest says 0000"

case_dir lying-stream
manifest_edit "$CASE_MANIFEST" "m['raw_sha256'] = 'f' * 64"
damaged lying-stream "L2 failed: SHA-256 of the uncompressed stream is [0-9a-f]*, the manifest says ffff"

case_dir lying-rows yes
manifest_edit "$CASE_MANIFEST" "m['tables']['public.auth_user'] += 1"
damaged lying-rows "L3 failed: 1 table(s) differ from the manifest's row counts"
check "the table that differs is named" \
	eval 'findings lying-rows | grep -q "error public.auth_user: restored 20 rows, the manifest says 21"'
check "and the scratch database is gone after a failed restore test" \
	eval '[ "$(sql "SELECT count(*) FROM pg_database WHERE datname LIKE '"'caretaker_verify%'"'")" = 0 ]'

# A stream cut short inside a file whose manifest matches it: only L2's
# completion line can tell.  (A file from plain gzip: one member, no blocks.)
case_dir cut-stream
gunzip -c "$file" | head -c 500000 | gzip -c >"$CASE_FILE"
manifest_edit "$CASE_MANIFEST" "
import hashlib, gzip
d = open('$CASE_FILE', 'rb').read()
m['stored_bytes'] = len(d); m['stored_sha256'] = hashlib.sha256(d).hexdigest()
r = gzip.decompress(d); m['raw_bytes'] = len(r); m['raw_sha256'] = hashlib.sha256(r).hexdigest()
del m['blocks']"
damaged cut-stream "L2 failed: the SQL does not end with pg_dump's completion line"

# A cut custom archive with a matching manifest: pg_restore --list would
# pass it; reading it to the end does not.
size=$(stat -c %s "$cfile")
truncate -s $((size - size / 4)) "$cfile"
manifest_edit "$cmanifest" "
import hashlib
d = open('$cfile', 'rb').read()
m['stored_bytes'] = m['raw_bytes'] = len(d)
m['stored_sha256'] = m['raw_sha256'] = hashlib.sha256(d).hexdigest()
m['blocks'] = []"
printf '\n[custom-check]\nplugin = verify\ndest = %s\n' "$T/custom" >>"$T/caretaker.ini"
CASE_FILE=$cfile CASE_MANIFEST=$cmanifest
check "pg_restore --list passes the cut archive" eval '"$REAL_BINDIR/pg_restore" --list "$cfile" >/dev/null'
damaged custom-check "L2 failed: pg_restore could not read the archive to its end"

# ---- encrypted backups ----
"$CARETAKER" keygen --public "$T/k.pub" --secret "$T/k.sec" >/dev/null 2>&1
printf '\n[enc]\nplugin = backup\ndest = %s\nencrypt_to = %s\n' "$T/enc" "$T/k.pub" >>"$T/caretaker.ini"
printf '\n[enc-l1]\nplugin = verify\ndest = %s\n' "$T/enc" >>"$T/caretaker.ini"
printf '\n[enc-l3]\nplugin = verify\ndest = %s\ndecrypt_key = %s\nrestore_test = yes\n' \
	"$T/enc" "$T/k.sec" >>"$T/caretaker.ini"
ct run enc
efile=$(only "$T/enc" 'enc-*.sql.gz.enc')
ct run enc-l1
check "an encrypted backup without the key: L1 (size, SHA-256, chunk framing)" \
	eval 'rc_is 0 && grep -q "verified at L1" "$out" && findings enc-l1 | grep -q "L1 ok: size, SHA-256 and the framing"'
ct run enc-l3
check "with decrypt_key: decrypted, checked and restored (L3)" \
	eval 'rc_is 0 && grep -q "verified at L3" "$out" && findings enc-l3 | grep -q "L3 ok: .*6 tables"'
python3 - "$efile" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x01
open(p, "wb").write(b)
PY
ct run enc-l3
check "a flipped byte in an encrypted backup is named, with the key" \
	eval 'rc_is 1 && findings enc-l3 | grep -q "critical $efile: L1 failed: SHA-256 of the file"'

# ---- file trees ----
mkdir -p "$T/tree/sub"
echo "one" >"$T/tree/a.txt"
echo "two" >"$T/tree/sub/b.txt"
printf '\n[tree]\nplugin = backup\ndest = %s\npaths = %s\n' "$T/trees" "$T/tree" >>"$T/caretaker.ini"
printf '\n[tree-check]\nplugin = verify\ndest = %s\nrestore_test = yes\n' "$T/trees" >>"$T/caretaker.ini"
ct run tree
tree=$(only "$T/trees" 'tree-*.tar.gz')
ct run tree-check
check "a file archive is checked entry by entry (L2); the restore test says it does not apply" \
	eval 'rc_is 0 && grep -q "verified at L2" "$out" && findings tree-check | grep -q "no L3: a file archive"'
gunzip -c "$tree" | head -c 1536 | gzip -c >"$tree.cut"
mv "$tree.cut" "$tree"
manifest_edit "${tree%.tar.gz}.manifest.json" "
import hashlib, gzip
d = open('$tree', 'rb').read()
m['stored_bytes'] = len(d); m['stored_sha256'] = hashlib.sha256(d).hexdigest()
r = gzip.decompress(d); m['raw_bytes'] = len(r); m['raw_sha256'] = hashlib.sha256(r).hexdigest()
del m['blocks']"
ct run tree-check
check "a tar stream cut short behind a matching manifest is named" \
	eval 'rc_is 1 && findings tree-check | grep -q "critical $tree: L2 failed: the tar stream"'

done_testing
