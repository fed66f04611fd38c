#!/bin/bash
# The perms plugin on real files, users and groups: the rule (exact and
# at-most modes, owner, group, recursive), the scans (world-writable,
# setuid/setgid, secrets readable by group or others), fix changing only
# what the rule names, links never followed, and the ok, warn and fail
# paths.
. "$top_srcdir/tests/integration/lib.sh"
[ "$(id -u)" -eq 0 ] ||
	skip_all_inapplicable "owners, groups and fixes of other users' files need root"

install_plugins
D="$T/data"
mkdir -p "$D"
chmod 755 "$T" "$D"

# mk PATH MODE [OWNER[:GROUP]] [CONTENT]: a regular file.
mk() {
	mkdir -p "$(dirname "$1")"
	printf '%s' "${4:-x}" >"$1"
	chown "${3:-root:root}" "$1"
	chmod "$2" "$1"
}

# snapshot: owner, group, mode and type of every entry below $D, links
# not followed, one line each.
snapshot() { find "$D" -printf '%p %u %g %m %y\n' | sort; }

describes() { for k in "$@"; do out_has "^ *$k" || return 1; done; }

write_config <<CONF
[exact-ok]
plugin = perms
paths = $D/exact/ok.conf
owner = root
mode = 0640

[exact-bad]
plugin = perms
paths = $D/exact/bad.conf
mode = 0640

[atmost]
plugin = perms
paths = $D/atmost
max_mode = 0640
recursive = yes

[shallow]
plugin = perms
paths = $D/atmost
max_mode = 0640

[owners]
plugin = perms
paths = $D/owners/log
owner = nobody
group = nogroup

[fix]
plugin = perms
paths = $D/app
owner = nobody
max_mode = 0640
recursive = yes
fix = yes

[fix-dry]
plugin = perms
paths = $D/dry/key
mode = 0600
fix = yes

[rootlink]
plugin = perms
paths = $D/rootlink
mode = 0600
fix = yes

[scan-clean]
plugin = perms
scan = $D/clean

[scan-setuid]
plugin = perms
scan = $D/setuid

[scan-group-secret]
plugin = perms
scan = $D/groupsecret

[scan-bad]
plugin = perms
scan = $D/bad
exclude = skipped/

[both-modes]
plugin = perms
paths = $D/exact
mode = 0640
max_mode = 0640
CONF

mk "$D/exact/ok.conf" 640
mk "$D/exact/bad.conf" 644
ct run exact-ok
check "a file matching an exact rule is ok" eval 'rc_is 0 && out_has "^ok .*exact-ok"'
ct run exact-bad
check "a file whose mode differs from an exact rule is a warning naming both modes" \
	eval 'rc_is 0 && out_has "^warn .*exact-bad" &&
		report_json exact-bad | grep -q "mode 0644 -> 0640"'

mkdir -p "$D/atmost/sub"
chmod 750 "$D/atmost" "$D/atmost/sub"
mk "$D/atmost/fewer" 600
mk "$D/atmost/sub/more" 664
ct run atmost
check "max_mode allows fewer bits and flags more, below the folder when recursive" \
	eval 'out_has "^warn .*atmost" && report_json atmost | grep -q "sub/more" &&
		! report_json atmost | grep -q "atmost/fewer\"" &&
		[ "$(report_json atmost | grep -c "does not match")" = 1 ]'
ct run shallow
check "a rule without recursive checks only its path" \
	eval 'rc_is 0 && out_has "^ok .*shallow" && out_has "0 of 1 checked"'

mk "$D/owners/log" 640 root:root
ct run owners
check "an owner and a group other than the rule's are a finding naming them" \
	eval 'out_has "^warn .*owners" && report_json owners | grep -q "owner root -> nobody" &&
		report_json owners | grep -q "group root -> nogroup"'

# fix: app/ is the rule's; outside/ is reached only through links in app/.
mkdir -p "$D/app/sub" "$D/outside"
chmod 755 "$D/app" "$D/app/sub" "$D/outside"
mk "$D/app/settings.py" 644
mk "$D/app/right" 600 nobody:root
mk "$D/app/sub/exec" 4755
mk "$D/outside/target" 666
mk "$D/outside/deeper" 644
ln -s "$D/outside/target" "$D/app/link-to-file"
ln -s "$D/outside" "$D/app/link-to-dir"
mkfifo -m 666 "$D/app/fifo"
before=$(snapshot)
ct run fix
after=$(snapshot)
expected_changes=$(printf '%s\n' \
	"$D/app nobody root 750 d" \
	"$D/app/settings.py nobody root 640 f" \
	"$D/app/sub nobody root 750 d" \
	"$D/app/sub/exec nobody root 640 f" | sort)
changed=$(diff <(echo "$before") <(echo "$after") | sed -n 's/^> //p' | sort)
check "fix changes exactly the owner and mode of what the rule names, and nothing else" \
	eval '[ "$changed" = "$expected_changes" ]'
check "fix leaves links, what they point to and special files as they were" \
	eval '[ "$(stat -c %U.%a "$D/outside/target")" = root.666 ] &&
		[ "$(stat -c %U.%a "$D/outside/deeper")" = root.644 ] &&
		[ -L "$D/app/link-to-file" ] && [ "$(stat -c %U "$D/app/link-to-file")" = root ] &&
		[ "$(stat -c %U.%a "$D/app/fifo")" = root.666 ]'
check "fix lists every change and the job is ok once they are made" \
	eval 'rc_is 0 && out_has "^ok .*fix" && [ "$(report_json fix | grep -c "^changed ")" = 0 ] &&
		[ "$(report_json fix | grep -o "changed $D[^:]*:" | sort -u | wc -l)" = 4 ]'
ct run fix
check "a second fix run finds nothing to change" eval 'rc_is 0 && out_has "0 of 5 checked"'

mk "$D/dry/key" 644
ct run --dry-run fix-dry
check "--dry-run with fix lists the change and makes none" \
	eval '[ "$(stat -c %a "$D/dry/key")" = 644 ] && out_has "would change 1" &&
		report_json fix-dry | grep -q "would change $D/dry/key: mode 0644 -> 0600"'

mk "$D/linked/target" 644
ln -s "$D/linked/target" "$D/rootlink"
ct run rootlink
check "a rule path that is a link is a warning and its target is not changed" \
	eval 'out_has "^warn .*rootlink" && [ "$(stat -c %a "$D/linked/target")" = 644 ]'

mkdir -p "$D/clean/sticky"
chmod 1777 "$D/clean/sticky"
mk "$D/clean/app.env" 600
mk "$D/clean/readme" 644
mk "$D/clean/settings.py" 644 root:root "DEBUG = False"
ct run scan-clean
check "a clean tree scans ok: a sticky world-writable folder, private secrets, no SECRET_KEY" \
	eval 'rc_is 0 && out_has "^ok .*scan-clean"'

mk "$D/setuid/tool" 4755
ct run scan-setuid
check "a setuid file is a warning" \
	eval 'rc_is 0 && out_has "^warn .*scan-setuid" && report_json scan-setuid | grep -q "setuid file"'

mk "$D/groupsecret/.pgpass" 640
ct run scan-group-secret
check "a secret readable by its group is a warning" \
	eval 'out_has "^warn .*scan-group-secret" &&
		report_json scan-group-secret | grep -q "readable by its group"'

mkdir -p "$D/bad/open" "$D/bad/skipped"
chmod 777 "$D/bad/open"
mk "$D/bad/world" 666
mk "$D/bad/prod.env" 644
mk "$D/bad/server.txt" 644 root:root "$(printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n')"
mk "$D/bad/settings.py" 644 root:root "SECRET_KEY = 'x'"
mk "$D/bad/skipped/world" 666
mk "$D/elsewhere/world" 666
ln -s "$D/elsewhere" "$D/bad/link"
ct run scan-bad
check "world-writable files and folders and secrets readable by others fail the job" \
	eval '[ "$rc" -ne 0 ] && report_json scan-bad | grep -q "world-writable file" &&
		report_json scan-bad | grep -q "world-writable folder" &&
		report_json scan-bad | grep -q "prod.env" &&
		report_json scan-bad | grep -q "a private key, readable by others" &&
		report_json scan-bad | grep -q "settings holding SECRET_KEY"'
check "a scan follows no link out of its tree and leaves out what exclude names" \
	eval '! report_json scan-bad | grep -q "elsewhere\|skipped/world"'

mk "$D/scanned/world" 666
ln -s "$D/scanned" "$D/scanlink"
mkdir -p "$D/locked/inner"
mk "$D/locked/inner/world" 666
chmod 700 "$D/locked/inner"
cat >>"$T/caretaker.ini" <<CONF
[scan-link]
plugin = perms
scan = $D/scanlink

[scan-locked]
plugin = perms
scan = $D/locked
user = nobody
CONF
ct run scan-link
check "a scan tree that is a link is a warning and is not scanned" \
	eval 'rc_is 0 && out_has "^warn .*scan-link" && ! report_json scan-link | grep -q "world-writable file"'
ct run scan-locked
check "a folder the scan cannot read is a warning naming it, and the scan goes on" \
	eval 'rc_is 0 && out_has "^warn .*scan-locked" &&
		report_json scan-locked | grep -q "inner" && report_json scan-locked | grep -q "Permission denied"'

# A file in the rule's tree that is also a hard link to a file outside it:
# changing the one changes the other, so fix leaves it alone by default.
mkdir -p "$D/hl/tree" "$D/hl/outside"
chmod 755 "$D/hl" "$D/hl/tree" "$D/hl/outside"
mk "$D/hl/outside/shadow" 600
ln "$D/hl/outside/shadow" "$D/hl/tree/alias"
mk "$D/hl/tree/plain" 600
cat >>"$T/caretaker.ini" <<CONF
[fix-hardlink]
plugin = perms
paths = $D/hl/tree
mode = 0644
recursive = yes
fix = yes

[fix-hardlink-allowed]
plugin = perms
paths = $D/hl/tree
mode = 0644
recursive = yes
fix = yes
fix_hard_links = yes
CONF
ct run fix-hardlink
check "fix does not change a file with another name (hard link) outside the tree, and says so" \
	eval '[ "$(stat -c %a "$D/hl/outside/shadow")" = 600 ] &&
		[ "$(stat -c %a "$D/hl/tree/plain")" = 644 ] && out_has "^warn .*fix-hardlink" &&
		out_has "1 hard-linked not changed" &&
		report_json fix-hardlink | grep -q "has 2 names (hard links)"'
ct run fix-hardlink-allowed
check "fix_hard_links = yes changes a hard-linked file too" \
	eval 'rc_is 0 && [ "$(stat -c %a "$D/hl/outside/shadow")" = 644 ]'

ct run both-modes
check "mode and max_mode together are refused" \
	eval '[ "$rc" -ne 0 ] && grep -q "exact or at most" "$out" "$err"'

cat >>"$T/caretaker.ini" <<CONF
[no-such-owner]
plugin = perms
paths = $D/exact/ok.conf
owner = caretaker-no-such-user
CONF
ct run no-such-owner
check "an owner that does not exist on the host is refused, naming it" \
	eval '[ "$rc" -ne 0 ] && grep -q "no such user on this host: caretaker-no-such-user" "$out" "$err"'

cat >>"$T/caretaker.ini" <<CONF
[owner-minus-one]
plugin = perms
paths = $D/exact/ok.conf
owner = 4294967295
fix = yes

[owner-negative]
plugin = perms
paths = $D/exact/ok.conf
owner = -1
fix = yes

[group-empty]
plugin = perms
paths = $D/exact/ok.conf
group =
CONF
ct run owner-minus-one
check "an owner number fchownat takes as 'unchanged' is refused, not reported as a change" \
	eval '[ "$rc" -ne 0 ] && grep -q "owner: .4294967295. is not a user number" "$out" "$err"'
ct run owner-negative
check "a negative owner number is refused, naming it" \
	eval '[ "$rc" -ne 0 ] && grep -q "owner: no such user on this host: -1" "$out" "$err"'
cat >>"$T/caretaker.ini" <<CONF
[rule-without-paths]
plugin = perms
paths =
owner = root
scan = $D/clean
CONF
ct run rule-without-paths
check "a rule whose paths is empty is refused, not silently dropped beside a scan" \
	eval '[ "$rc" -ne 0 ] && grep -q "but paths is empty" "$out" "$err"'
cat >>"$T/caretaker.ini" <<CONF
[fix-root]
plugin = perms
paths = //
mode = 0640
recursive = yes
fix = yes

[dotdot]
plugin = perms
paths = $D/exact/..
mode = 0640
CONF
ct run --dry-run fix-root
check "a recursive fix of the root folder, in any spelling, is refused before anything is walked" \
	eval '[ "$rc" -ne 0 ] && grep -q "paths: ./\/. would walk the root folder" "$out" "$err"'
ct run dotdot
check "a '..' in the rule's paths is refused, naming it" \
	eval '[ "$rc" -ne 0 ] && grep -q "has a .\.. or .\.\.. component" "$out" "$err"'
ct run group-empty
check "an empty group is refused, naming the option" \
	eval '[ "$rc" -ne 0 ] && grep -q "group is empty" "$out" "$err"'

# A world-writable file below max_depth: the scan does not reach it, and
# says so instead of reporting a clean tree.
deep="$D/deepscan"
for i in 1 2 3; do deep="$deep/d$i"; done
mk "$deep/world" 666
cat >>"$T/caretaker.ini" <<CONF
[scan-deep]
plugin = perms
scan = $D/deepscan
max_depth = 2
CONF
ct run scan-deep
check "a scan that stops at max_depth is a warning naming the folder it did not enter" \
	eval 'out_has "^warn .*scan-deep .*1 folder(s) past max_depth" &&
		report_json scan-deep | grep -q "max_depth (2) reached" && report_json scan-deep | grep -q "deepscan/d1/d2\""'

# A changes list longer than the host's output_limit: the host keeps its
# head and tail, and the tail still says how many changes there were.
mkdir -p "$D/many"
chmod 750 "$D/many"
python3 - "$D/many" <<'PY'
import os, sys
for i in range(3000):
    p = os.path.join(sys.argv[1], "upload-%04d.dat" % i)
    open(p, "wb").close()
    os.chmod(p, 0o644)
PY
cat >>"$T/caretaker.ini" <<CONF
[many]
plugin = perms
paths = $D/many
max_mode = 0640
recursive = yes
fix = yes
CONF
ct run many
many_changes() {
	report_json many | python3 -c 'import json, sys; print(json.load(sys.stdin)["runs"][0]["output"]["changes"], end="")'
}
check "a changes list past output_limit is cut in the middle and its last line counts every change" \
	eval 'rc_is 0 && [ "$(find "$D/many" -type f -perm 640 | wc -l)" = 3000 ] &&
		[ "$(many_changes | wc -c)" -lt 70000 ] && many_changes | grep -q "bytes dropped" &&
		[ "$(many_changes | tail -n 1)" = "(3000 change(s) in this list)" ]'

ct describe perms
check "describe perms documents every option" \
	eval 'rc_is 0 && describes paths owner group mode max_mode dir_mode dir_max_mode recursive fix fix_hard_links scan secret_names settings_files exclude max_depth one_file_system'

done_testing
