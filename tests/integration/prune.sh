#!/bin/bash
# The prune plugin on real files: older_than, keep_min, max_total_size,
# globs below a folder, links and other files left alone, --dry-run, and
# the ok, warn and fail paths.
. "$top_srcdir/tests/integration/lib.sh"

install_plugins
D="$T/data"
# The jobs that must meet a folder they cannot read or write run as nobody
# when the tests run as root (root reads and writes everything).
as_nobody=
[ "$(id -u)" -ne 0 ] || as_nobody="user = nobody"

# mkfile PATH AGE_DAYS [BYTES]: a regular file last written AGE_DAYS ago.
mkfile() {
	mkdir -p "$(dirname "$1")"
	head -c "${3:-10}" /dev/zero >"$1"
	touch -d "$2 days ago" "$1"
}

# present PATH...: every path still exists (links not followed).
present() { for p in "$@"; do [ -e "$p" ] || [ -L "$p" ] || return 1; done; }
# metric JOB NAME: the value of NAME in JOB's newest run ("" when absent).
metric() {
	report_json "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["runs"][0]
print(next(("%.17g" % m["value"] for m in r["metrics"] if m["name"] == sys.argv[1]), ""))' "$2"
}
absent() { for p in "$@"; do { [ -e "$p" ] || [ -L "$p" ]; } && return 1; done; return 0; }

write_config <<CONF
[age]
plugin = prune
paths = $D/age/*.log.*
older_than = 30d

[keep]
plugin = prune
paths = $D/keep/*.gz
older_than = 30d
keep_min = 3

[size]
plugin = prune
paths = $D/size
max_total_size = 3000
keep_min = 1

[links]
plugin = prune
paths = $D/links/*
older_than = 30d

[nested]
plugin = prune
paths = $D/nested/*/*.log
older_than = 30d

[dry]
plugin = prune
paths = $D/dry/*.log
older_than = 30d

[rootlink]
plugin = prune
paths = $D/rootlink/*.log
older_than = 1d

[locked]
plugin = prune
paths = $D/locked
older_than = 30d
$as_nobody

[undeletable]
plugin = prune
paths = $D/undeletable/*.log
older_than = 30d
$as_nobody

[no-limit]
plugin = prune
paths = $D/age
CONF

mkfile "$D/age/app.log.1" 2
mkfile "$D/age/app.log.2" 29
mkfile "$D/age/app.log.3" 31
mkfile "$D/age/app.log.4" 90
mkfile "$D/age/app.log" 100
ct run age
check "files older than older_than go, younger ones and those the glob misses stay" \
	eval 'rc_is 0 && absent "$D/age/app.log.3" "$D/age/app.log.4" &&
		present "$D/age/app.log.1" "$D/age/app.log.2" "$D/age/app.log"'
check "the report counts the removed files and the bytes freed" \
	eval '[ "$(metric age files_removed)" = 2 ] && [ "$(metric age bytes_freed)" = 20 ] &&
		[ "$(metric age files_kept)" = 2 ]'

for i in 1 2 3 4 5; do mkfile "$D/keep/k$i.gz" $((40 + i)); done
ct run keep
check "keep_min keeps the newest files whatever their age" \
	eval 'rc_is 0 && present "$D/keep/k1.gz" "$D/keep/k2.gz" "$D/keep/k3.gz" &&
		absent "$D/keep/k4.gz" "$D/keep/k5.gz" && out_has "3 among the keep_min newest"'

# Newest first: s1 (1000), s2 (1000), s3 (1000) fill the 3000 bytes; s4 and
# s5 are past it.  In sub/ too: a folder without a glob is walked whole.
mkfile "$D/size/s1" 1 1000
mkfile "$D/size/sub/s2" 2 1000
mkfile "$D/size/s3" 3 1000
mkfile "$D/size/s4" 4 1
mkfile "$D/size/sub/s5" 5 1000
ct run size
check "max_total_size removes the oldest files past the limit, counting from the newest" \
	eval 'rc_is 0 && present "$D/size/s1" "$D/size/sub/s2" "$D/size/s3" &&
		absent "$D/size/s4" "$D/size/sub/s5"'

mkdir -p "$D/size2"
mkfile "$D/size2/big-new" 1 5000
mkfile "$D/size2/old" 2 10
cat >>"$T/caretaker.ini" <<CONF
[size-keep]
plugin = prune
paths = $D/size2
max_total_size = 3000
keep_min = 1
CONF
ct run size-keep
check "keep_min is honoured even when the newest alone pass max_total_size" \
	eval 'rc_is 0 && present "$D/size2/big-new" && absent "$D/size2/old"'

# A link in the tree pointing out of it, to a folder of old files and to an
# old file; a FIFO and a folder the glob matches.
mkfile "$D/outside/victim.log" 100
mkfile "$D/outside/dir/deep.log" 100
mkdir -p "$D/links"
ln -s "$D/outside" "$D/links/out"
ln -s "$D/outside/victim.log" "$D/links/victim.log"
touch -h -d "100 days ago" "$D/links/out" "$D/links/victim.log"
mkfifo "$D/links/fifo"
touch -d "100 days ago" "$D/links/fifo"
mkdir "$D/links/folder"
touch -d "100 days ago" "$D/links/folder"
mkfile "$D/links/real.log" 100
ct run links
check "a link out of the tree is neither followed nor deleted, nor what it points to" \
	eval 'rc_is 0 && present "$D/outside/victim.log" "$D/outside/dir/deep.log" \
		"$D/links/out" "$D/links/victim.log"'
check "a FIFO and a folder the glob matches stay; the regular file goes" \
	eval '[ -p "$D/links/fifo" ] && [ -d "$D/links/folder" ] && absent "$D/links/real.log"'
check "the report counts what it left alone as not regular" \
	eval 'out_has "4 not regular files left alone"'

mkfile "$D/nested/a/old.log" 40
mkfile "$D/nested/a/new.log" 1
mkfile "$D/nested/old.log" 40
mkfile "$D/nested/a/b/old.log" 40
ct run nested
check "a glob with a folder part matches one level below, '*' not crossing '/'" \
	eval 'rc_is 0 && absent "$D/nested/a/old.log" &&
		present "$D/nested/a/new.log" "$D/nested/old.log" "$D/nested/a/b/old.log"'

mkfile "$D/dry/old.log" 40
mkfile "$D/dry/new.log" 1
ct run --dry-run dry
check "--dry-run deletes nothing and lists what would go" \
	eval 'rc_is 0 && present "$D/dry/old.log" "$D/dry/new.log" && out_has "would remove 1 file" &&
		report_json dry | grep -q "would remove (older than older_than) $D/dry/old.log"'

mkfile "$D/target/precious.log" 40
ln -s "$D/target" "$D/rootlink"
ct run rootlink
check "a walked folder that is a link is not followed: a warning, nothing deleted" \
	eval 'rc_is 0 && out_has "^warn .*rootlink" && present "$D/target/precious.log" &&
		report_json rootlink | grep -q "symbolic link: not followed"'

# The locked folder is unreadable to the job: root's and 0700 for nobody,
# 0000 for the user running the tests.
mkfile "$D/locked/old.log" 40
mkfile "$D/locked/secret/old.log" 40
chmod 755 "$D" "$T"
if [ -n "$as_nobody" ]; then
	chown -R nobody "$D/locked"
	chown root "$D/locked/secret"
	chmod 700 "$D/locked/secret"
else
	chmod 000 "$D/locked/secret"
fi
ct run locked
chmod 755 "$D/locked/secret"
check "an unreadable folder is a warning naming it, and the rest is pruned" \
	eval 'rc_is 0 && out_has "^warn .*locked" && absent "$D/locked/old.log" &&
		present "$D/locked/secret/old.log" && report_json locked | grep -q "Permission denied"'

# A folder the job cannot write to: the delete fails, the job fails.
mkfile "$D/undeletable/old.log" 40
if [ -n "$as_nobody" ]; then chmod 755 "$D/undeletable"; else chmod 555 "$D/undeletable"; fi
ct run undeletable
check "a file that cannot be deleted fails the job, with a finding naming it" \
	eval '[ "$rc" -ne 0 ] && out_has "^FAIL\|^fail" && present "$D/undeletable/old.log" &&
		report_json undeletable | grep -q "cannot delete"'
chmod 755 "$D/undeletable"

# A file system mounted below the walked folder: left alone by default.
mkfile "$D/mounts/old.log" 40
mkdir -p "$D/mounts/below"
cat >>"$T/caretaker.ini" <<CONF
[one-fs]
plugin = prune
paths = $D/mounts
older_than = 30d

[all-fs]
plugin = prune
paths = $D/mounts
older_than = 30d
one_file_system = no
CONF
if [ "$(id -u)" -ne 0 ]; then
	skip_test_inapplicable "one_file_system leaves a mount below the folder alone" "needs root to mount"
elif mount -t tmpfs caretaker-test "$D/mounts/below" 2>"$T/mount.err"; then
	mkfile "$D/mounts/below/old.log" 40
	ct run one-fs
	check "one_file_system leaves a file system mounted below the folder alone" \
		eval 'rc_is 0 && absent "$D/mounts/old.log" && present "$D/mounts/below/old.log"'
	ct run all-fs
	check "one_file_system = no prunes below a mount too" \
		eval 'rc_is 0 && absent "$D/mounts/below/old.log"'
	umount "$D/mounts/below"
else
	skip_test "one_file_system leaves a mount below the folder alone" "mount: $(cat "$T/mount.err")"
fi

# A bind mount of a folder of the same file system (same st_dev) from
# outside the tree: one_file_system must not enter it either.
mkfile "$D/bindout/victim.log" 40
mkfile "$D/bindtree/old.log" 40
mkdir -p "$D/bindtree/inner"
cat >>"$T/caretaker.ini" <<CONF
[bind]
plugin = prune
paths = $D/bindtree
older_than = 30d
CONF
if [ "$(id -u)" -ne 0 ]; then
	skip_test_inapplicable "one_file_system leaves a bind mount below the folder alone" "needs root to mount"
elif mount --bind "$D/bindout" "$D/bindtree/inner" 2>"$T/mount.err"; then
	ct run bind
	umount "$D/bindtree/inner"
	check "one_file_system leaves a bind mount from outside the tree alone" \
		eval 'rc_is 0 && absent "$D/bindtree/old.log" && present "$D/bindout/victim.log"'
else
	skip_test "one_file_system leaves a bind mount below the folder alone" "mount: $(cat "$T/mount.err")"
fi

ct run no-limit
check "a job with neither older_than nor max_total_size is refused before anything goes" \
	eval '[ "$rc" -ne 0 ] && present "$D/age/app.log.1" && grep -rq "neither older_than" "$out" "$err"'

# Spellings of the root folder, and globs the walk would not honour, are
# refused before anything is walked.
refused_path() {
	printf '[%s]\nplugin = prune\npaths = %s\nolder_than = 30d\n' "$1" "$2" >>"$T/caretaker.ini"
	ct run --dry-run "$1"
	[ "$rc" -ne 0 ] && grep -q -- "$3" "$out" "$err"
}
check "paths '//' is the root folder, refused" eval 'refused_path slashes // "would walk the root folder"'
check "paths '/*/*.log' would walk the root folder, refused" \
	eval 'refused_path rootglob "/*/*.log" "would walk the root folder"'
check "a '..' in paths is refused (it can name the root folder too)" \
	eval 'refused_path dotdot "$D/age/.." "a .\.. or .\.\.. component"'
check "an empty paths is refused rather than pruning nothing with an ok" \
	eval 'refused_path emptypaths "" "paths is empty"'
check "'**' in paths is refused: fnmatch would read it as '*'" \
	eval 'refused_path starstar "$D/age/**/*.log" "uses .\*\*., which is not supported"'

# A name with a newline that reads as another report line, an escape
# sequence and bytes that are not UTF-8: each stays on its own line,
# escaped, and is deleted all the same.
mkdir -p "$D/names"
python3 - "$D/names" <<'PY'
import os, sys, time
t = time.time() - 40 * 86400
for name in [b"evil\nremoved (older than older_than) FAKE 1 bytes 99.0 days",
             b"esc\x1b[31mred", b"bad\xff\xfeutf8"]:
    p = os.path.join(sys.argv[1].encode(), name)
    open(p, "wb").write(b"x")
    os.utime(p, (t, t))
PY
cat >>"$T/caretaker.ini" <<CONF
[names]
plugin = prune
paths = $D/names
older_than = 30d
CONF
ct run names
removed_stream() {
	report_json names | python3 -c 'import json, sys; print(json.load(sys.stdin)["runs"][0]["output"]["removed"], end="")'
}
check "a name with a newline, an escape or bytes that are not UTF-8 is listed escaped on one line" \
	eval 'rc_is 0 && [ -z "$(ls -A "$D/names")" ] && [ "$(removed_stream | wc -l)" = 4 ] && [ "$(removed_stream | tail -n 1)" = "(3 file(s) in this list)" ] &&
		removed_stream | grep -qF "names/evil\\nremoved (older than" &&
		removed_stream | grep -qF "names/esc\\x1b[31mred" &&
		removed_stream | grep -qF "names/bad\\xff\\xfeutf8" &&
		! removed_stream | grep -q "^removed (older than older_than) FAKE"'

# A list longer than the host's output_limit: the host keeps its head and
# tail, and the tail still says how many files the list had.
mkdir -p "$D/many"
python3 - "$D/many" <<'PY'
import os, sys, time
t = time.time() - 40 * 86400
for i in range(3000):
    p = os.path.join(sys.argv[1], "rotated-%04d.log" % i)
    open(p, "wb").close()
    os.utime(p, (t, t))
PY
cat >>"$T/caretaker.ini" <<CONF
[many]
plugin = prune
paths = $D/many
older_than = 30d
CONF
ct run many
many_removed() {
	report_json many | python3 -c 'import json, sys; print(json.load(sys.stdin)["runs"][0]["output"]["removed"], end="")'
}
check "a list past output_limit is cut in the middle and its last line counts every file" \
	eval 'rc_is 0 && [ -z "$(ls -A "$D/many")" ] && [ "$(many_removed | wc -c)" -lt 70000 ] &&
		many_removed | grep -q "bytes dropped" &&
		[ "$(many_removed | tail -n 1)" = "(3000 file(s) in this list)" ]'

# A folder given without a glob is pruned down to max_depth; a folder
# there is not entered, and the run says so rather than passing over it.
deep="$D/deep"
for i in 1 2 3 4; do deep="$deep/d$i"; done
mkfile "$deep/old.log" 40
mkfile "$D/deep/d1/old.log" 40
cat >>"$T/caretaker.ini" <<CONF
[deep]
plugin = prune
paths = $D/deep
older_than = 30d
max_depth = 2
CONF
ct run deep
check "a folder at max_depth is not entered, and is a warning naming it" \
	eval 'out_has "^warn .*deep .*1 folder(s) past max_depth" && absent "$D/deep/d1/old.log" &&
		present "$deep/old.log" && report_json deep | grep -q "max_depth (2) reached" && report_json deep | grep -q "deep/d1/d2\""'

describes() { for k in "$@"; do out_has "^ *$k" || return 1; done; }
ct describe prune
check "describe prune documents every option" \
	eval 'rc_is 0 && describes paths older_than keep_min max_total_size max_depth one_file_system'

done_testing
