#!/bin/bash
# treewalk-race.sh — a soak test of the safe tree walk (plugins/lib/treewalk.c)
# under a hostile tree: while a racer flips tree/sub between a real folder
# and a link to a folder outside the tree as fast as it can, the prune jobs
# (a glob through sub, and the whole tree) and a perms fix (recursive, mode
# 0644) run ROUNDS times each.  Outside the tree, 50 old files of mode 0600
# must stay, and stay 0600: nothing reached only through the link may be
# deleted or changed.  Old files are planted in sub/ before every round so
# there is always something to delete or change there.
#
#   tests/bench/treewalk-race.sh      (top_builddir defaults to ./_build)
#
# Not part of make check: it runs for a minute or two and a pass proves
# nothing for certain (a race may simply not be hit); a failure names the
# round.  Needs root for perms fix.  Environment: ROUNDS (default 100).
set -euo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/_build}
CARETAKER=${CARETAKER:-$top_builddir/caretaker}
ROUNDS=${ROUNDS:-100}
[ -x "$CARETAKER" ] || { echo "treewalk-race: build caretaker first ($CARETAKER)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/treewalk-race.XXXXXX")
chmod 755 "$work"
racer=
trap '[ -z "$racer" ] || kill "$racer" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/plugins" "$work/state" "$work/tree/sub" "$work/outside"
cp "$top_builddir"/plugins/prune/.libs/prune.so "$top_builddir"/plugins/perms/.libs/perms.so \
	"$work/plugins/"
for i in $(seq 1 50); do
	echo x >"$work/outside/o$i.log"
	chmod 600 "$work/outside/o$i.log"
	touch -d "100 days ago" "$work/outside/o$i.log"
done
cat >"$work/caretaker.ini" <<CONF
[caretaker]
plugin_path = plugins
state_dir = state
timeout = 60s

[glob]
plugin = prune
paths = $work/tree/*/*.log
older_than = 30d

[whole]
plugin = prune
paths = $work/tree
older_than = 30d

[fix]
plugin = perms
paths = $work/tree
mode = 0644
recursive = yes
fix = yes
CONF

python3 - "$work/tree" "$work/outside" <<'PY' &
import os, signal, sys
tree, outside = sys.argv[1], sys.argv[2]
sub, real = os.path.join(tree, "sub"), os.path.join(tree, "sub.real")
flips = 0
def bye(*_):
    print("treewalk-race: %d flips" % flips, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
while True:
    try:
        os.rename(sub, real)
        os.symlink(outside, sub)
        os.unlink(sub)
        os.rename(real, sub)
        flips += 1
    except OSError:
        pass
PY
racer=$!

# plant: 300 old files of mode 0600 in whichever name the folder has now,
# never through the link.
plant() {
	python3 - "$work/tree" <<'PY'
import os, sys, time
tree = sys.argv[1]
t = time.time() - 100 * 86400
for name in ("sub", "sub.real"):
    d = os.path.join(tree, name)
    if os.path.islink(d) or not os.path.isdir(d):
        continue
    try:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        continue
    for j in range(300):
        try:
            f = os.open("f%d.log" % j, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600, dir_fd=fd)
            os.close(f)
            os.utime("f%d.log" % j, (t, t), dir_fd=fd, follow_symlinks=False)
        except OSError:
            pass
    os.close(fd)
    break
PY
}

outside_state() { stat -c '%n %a' "$work"/outside/* | sort; }
expected=$(outside_state)
for r in $(seq 1 "$ROUNDS"); do
	plant
	for job in glob whole fix; do
		"$CARETAKER" -c "$work/caretaker.ini" run "$job" >/dev/null 2>&1 || true
	done
	if [ "$(outside_state)" != "$expected" ]; then
		echo "treewalk-race: FAILED in round $r: outside the tree changed" >&2
		diff <(echo "$expected") <(outside_state) >&2 || true
		exit 1
	fi
done
kill "$racer"
wait "$racer" || true
racer=
echo "treewalk-race: $ROUNDS rounds of prune (glob, whole tree) and perms fix: nothing outside the tree deleted or changed"
