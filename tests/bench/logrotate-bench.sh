#!/usr/bin/env bash
# logrotate-bench.sh — rotate + compress of one ~500 MB application log by
# the logrotate plugin and by logrotate(8) with `compress` (gzip -6, one
# thread), side by side in one run: wall time (median of RUNS) and the size
# of the compressed copy.  Targets: the plugin at most 0.3 times
# logrotate's wall time at most 1.05 times its output size.
#
# usage: tests/bench/logrotate-bench.sh
#   BUILD=_build      the build folder (caretaker, plugins/*/.libs)
#   RUNS=3            runs per row (median)
#   SIZE=500M         size of the generated log (tests/harness/gen-logs.sh:
#                     gunicorn/Django lines with tracebacks)
#   LEVEL=5           the plugin's gzip level (libdeflate 1..12; 5 is the
#                     plugin's default for logs: the cheapest within 1.05 of
#                     gzip -6's size here); ZSTD=1 adds a zstd row
#   BENCH_DIR         scratch folder (default /tmp/caretaker-bench-logrotate);
#                     needs about three times SIZE
#
# Both start from a copy of the log made just before (so in the page
# cache) and rotate with `rotate 2`, `compress`, no delaycompress, so the
# rotated copy is compressed in the same run.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/_build}
RUNS=${RUNS:-3}
SIZE=${SIZE:-500M}
LEVEL=${LEVEL:-5}
BENCH_DIR=${BENCH_DIR:-/tmp/caretaker-bench-logrotate}
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
command -v logrotate >/dev/null || { echo "logrotate(8) is not installed" >&2; exit 1; }
mkdir -p "$BENCH_DIR"
cd "$BENCH_DIR"

src=$BENCH_DIR/src-$SIZE/error.log
if [ ! -s "$src" ]; then
	echo "generating $src ($SIZE)..." >&2
	bash "$top/tests/harness/gen-logs.sh" --size "$SIZE" --access-size 1K "$BENCH_DIR/src-$SIZE" >/dev/null
fi

rm -rf ct lr plugins state
mkdir -p ct lr plugins
cp "$BUILD"/plugins/*/.libs/*.so plugins/
cat >caretaker.ini <<CONF
[caretaker]
plugin_path = plugins
state_dir = state
timeout = 10min

[bench-gzip]
plugin = logrotate
files = $BENCH_DIR/ct/app.log
rotate = 2
compress = gzip
compress_level = $LEVEL
create = 0640

[bench-zstd]
plugin = logrotate
files = $BENCH_DIR/ct/app.log
rotate = 2
compress = zstd
create = 0640
CONF
cat >lr.conf <<CONF
$BENCH_DIR/lr/app.log {
    rotate 2
    compress
    create 0640 root root
}
CONF

# times COMMAND...: "WALL CPU" seconds of one run (CPU: user + sys of the
# command and its children, steadier than the wall time on a busy machine).
times() {
	/usr/bin/time -f "%e %U %S" -o "$BENCH_DIR/time.out" "$@" >/dev/null 2>&1
	awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$BENCH_DIR/time.out"
}
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", v[int((NR + 1) / 2)] }'; }

# row NAME DIR OUTPUT COMMAND...: RUNS times, each from a fresh copy.
row() {
	local name=$1 dir=$2 output=$3 i
	shift 3
	for i in $(seq 1 "$RUNS"); do
		rm -f "$dir"/app.log*
		cp "$src" "$dir/app.log"
		sync
		times "$@"
	done >"$name.runs"
	cut -d' ' -f1 "$name.runs" | median >"$name.time"
	cut -d' ' -f2 "$name.runs" | median >"$name.cpu"
	stat -c %s "$dir/$output" >"$name.size"
}

row logrotate lr app.log.1.gz logrotate -f -s "$BENCH_DIR/lr.state" "$BENCH_DIR/lr.conf"
row caretaker-gzip ct app.log.1.gz "$BUILD/caretaker" -c "$BENCH_DIR/caretaker.ini" run bench-gzip
gzip -dc ct/app.log.1.gz | cmp -s - "$src" || { echo "the plugin's copy differs from the log" >&2; exit 1; }
[ -n "${ZSTD:-}" ] && row caretaker-zstd ct app.log.1.zst "$BUILD/caretaker" -c "$BENCH_DIR/caretaker.ini" run bench-zstd

lr_t=$(cat logrotate.time)
lr_s=$(cat logrotate.size)
printf 'log: %s (%s bytes), %s CPU(s), median of %s runs\n' "$src" "$(stat -c %s "$src")" "$(nproc)" "$RUNS"
printf '%-34s %9s %8s %8s %13s %8s\n' row wall_s x_lr cpu_s bytes x_lr
for r in logrotate caretaker-gzip ${ZSTD:+caretaker-zstd}; do
	t=$(cat "$r.time")
	s=$(cat "$r.size")
	label=$r
	[ "$r" = caretaker-gzip ] && label="caretaker gzip level $LEVEL"
	[ "$r" = logrotate ] && label="logrotate(8) compress (gzip -6)"
	printf '%-34s %9s %8.2f %8s %13s %8.3f\n' "$label" "$t" "$(echo "$t / $lr_t" | bc -l)" \
		"$(cat "$r.cpu")" "$s" "$(echo "$s / $lr_s" | bc -l)"
done
