#!/bin/bash
# prune-bench.sh — the prune plugin against `find -mtime +30 -delete` on the
# same tree, in one run: FILES files (default 200,000) in one folder, their
# ages spread over 0-59 days, so about half go.  Also the prune job under
# --dry-run (the walk, the choice and the report without the deletes), and
# the peak memory of each (GNU time's maximum resident set size: for
# caretaker that of its largest process, the job's child).
#
#   tests/bench/prune-bench.sh        (top_builddir defaults to ./_build)
#
# find's -mtime +30 counts whole days ("more than 30 full days"), prune's
# older_than = 30d an exact 30 days, so find removes somewhat fewer files;
# both counts are printed.  The machine may be shared: the load average is
# printed before and after; ROUNDS (default 3) rounds, medians shown.
#
# Environment: FILES (default 200000), ROUNDS (default 3), TMPDIR (where
# the trees are built; needs about 1 GB per 1,000,000 files).
set -euo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/_build}
CARETAKER=${CARETAKER:-$top_builddir/caretaker}
FILES=${FILES:-200000}
ROUNDS=${ROUNDS:-3}
[ -x "$CARETAKER" ] || { echo "prune-bench: build caretaker first ($CARETAKER)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "prune-bench: needs GNU time (/usr/bin/time)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/prune-bench.XXXXXX")
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/plugins" "$work/state"
cp "$top_builddir"/plugins/prune/.libs/prune.so "$work/plugins/"
cat >"$work/caretaker.ini" <<CONF
[caretaker]
plugin_path = plugins
state_dir = state
timeout = 1h

[bench]
plugin = prune
paths = $work/tree
older_than = 30d
CONF

# build DIR: FILES files of 100 bytes, ages 0-59 days (i mod 60).
build() {
	python3 - "$1" "$FILES" <<'PY'
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
now = time.time()
for i in range(n):
    p = os.path.join(d, "f%07d.log" % i)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"x" * 100)
    os.close(fd)
    t = now - (i % 60) * 86400 - 3600
    os.utime(p, (t, t))
PY
}

# timed NAME CMD...: "seconds maxrss_kb" of CMD appended to $work/NAME.times.
timed() {
	local name=$1
	shift
	# The tree was just written: let its writeback finish first, so that
	# neither command pays for the other's (or the build's) dirty pages.
	sync
	/usr/bin/time -f "%e %M" -o "$work/time.out" "$@" >/dev/null 2>"$work/$name.err" ||
		{ cat "$work/$name.err" >&2; exit 1; }
	cat "$work/time.out" >>"$work/$name.times"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "prune-bench: $FILES files in one folder, $ROUNDS round(s); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
	rm -rf "$work/tree"
	build "$work/tree"
	timed dry "$CARETAKER" -c "$work/caretaker.ini" run --dry-run bench
	timed prune "$CARETAKER" -c "$work/caretaker.ini" run bench
	prune_left=$(find "$work/tree" -type f | wc -l)
	rm -rf "$work/tree"
	build "$work/tree"
	timed find find "$work/tree" -type f -mtime +30 -delete
	find_left=$(find "$work/tree" -type f | wc -l)
done
printf '%-34s %10s %10s %12s\n' "" "seconds" "max KB" "files gone"
for n in find dry prune; do
	gone=-
	[ "$n" = find ] && gone=$((FILES - find_left))
	[ "$n" = prune ] && gone=$((FILES - prune_left))
	label=$n
	case $n in
	find) label="find -mtime +30 -delete (anchor)" ;;
	dry) label="caretaker run --dry-run (prune)" ;;
	prune) label="caretaker run (prune)" ;;
	esac
	printf '%-34s %10s %10s %12s\n' "$label" "$(cut -d' ' -f1 "$work/$n.times" | median)" \
		"$(cut -d' ' -f2 "$work/$n.times" | median)" "$gone"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
