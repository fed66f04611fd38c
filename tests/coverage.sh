#!/bin/bash
# coverage.sh — line coverage of `make check`, per folder.
#
#   tests/coverage.sh [BUILD_DIR]
#
# Builds caretaker for gcov (configure --enable-coverage, -O0) in BUILD_DIR
# (default _build-coverage beside the sources), runs make check there, and
# prints the share of lines run per folder: core/, plugins/lib/, each
# plugins/NAME/, and in all.  What runs in a job's child (core/task.c, the
# plugins) counts: the child writes its counts before _exit() (see
# proc_child_exit() in core/proc.c).  Left in BUILD_DIR: coverage.txt (per
# file, with the lines never run) and coverage/index.html.
#
# Needs gcc and gcovr (Debian package gcovr, in tests/bootstrap.sh's list),
# and what make check needs.  Exit status: make check's, or 1 when the
# build or the report fails.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-$top/_build-coverage}
jobs=$(nproc 2>/dev/null || echo 2)

command -v gcovr >/dev/null || {
	echo "coverage: gcovr is not installed" >&2
	echo "hint: apt-get install gcovr" >&2
	exit 1
}
[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null 2>&1)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
(cd "$dir" && "$top/configure" --enable-werror --enable-coverage CFLAGS="-g -O0" \
	>configure.out 2>&1) || { tail -30 "$dir/configure.out" >&2; exit 1; }
make -C "$dir" -j"$jobs" >"$dir/make.out" 2>&1 || { tail -50 "$dir/make.out" >&2; exit 1; }

# Counts of an earlier run would add to this one's.
find "$dir" -name '*.gcda' -delete
status=0
make -C "$dir" -j"$jobs" check >"$dir/check.out" 2>&1 || status=$?
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' "$dir/check.out" || true

mkdir -p "$dir/coverage"
gcovr --root "$top" --object-directory "$dir" -j "$jobs" \
	--filter "$top/core/" --filter "$top/plugins/" \
	--txt "$dir/coverage.txt" --html-details "$dir/coverage/index.html" \
	--json-summary "$dir/coverage.json" >"$dir/gcovr.out" 2>&1 ||
	{ tail -30 "$dir/gcovr.out" >&2; exit 1; }

# Per folder: core/ and plugins/lib/ whole, every other plugin by name.
python3 - "$dir/coverage.json" <<'PY'
import json, sys
folders = {}
for f in json.load(open(sys.argv[1]))["files"]:
    parts = f["filename"].split("/")
    key = "/".join(parts[:2] if parts[0] == "plugins" else parts[:1]) + "/"
    total, run = folders.get(key, (0, 0))
    folders[key] = (total + f["line_total"], run + f["line_covered"])
print("%-22s %8s %8s %7s" % ("folder", "lines", "run", "cover"))
def row(name, total, run):
    print("%-22s %8d %8d %6.1f%%" % (name, total, run, 100.0 * run / total if total else 0))
for key in sorted(folders):
    row(key, *folders[key])
row("in all", sum(t for t, _ in folders.values()), sum(r for _, r in folders.values()))
PY
echo "per file: $dir/coverage.txt; HTML: $dir/coverage/index.html"
exit "$status"
