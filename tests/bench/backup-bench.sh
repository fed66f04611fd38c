#!/bin/bash
# backup-bench.sh — the backup plugin against plain pg_dump, in one run, on
# the harness's ~1 GB `bench` data (tests/harness/seed.sh --scale bench).
#
#   make bench-backup                  (from the build folder)
#   tests/bench/backup-bench.sh        (top_builddir defaults to ./_build)
#
# Prints wall time and size of: pg_dump > /dev/null (the anchor),
# pg_dump | gzip (gzip -6, the size reference), pg_dump -Fc, and
# `caretaker run` of backup jobs with gzip (levels 1-3) and zstd, each as a
# ratio to the anchor's time and to gzip -6's size; then L2 verification
# (`caretaker run` of a verify job) against `gzip -t` of the same file.
# Every caretaker time is the whole job: snapshot and row counts, dump,
# compression, fsync, L2 verification, manifest.
#
# Targets on 2 cores: gzip-compatible backup <= 1.5x the anchor at <= 1.05x
# gzip -6's size; zstd <= 1.3x; L2 <= 0.5x gzip -t.  The machine may be
# shared: the load average is printed before and after.
#
# Environment: SCALE (seed.sh scale, default bench); BENCH_CLUSTER=DIR
# uses an already seeded harness cluster instead of starting one.
set -euo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/_build}
CARETAKER=${CARETAKER:-$top_builddir/caretaker}
SCALE=${SCALE:-bench}
[ -x "$CARETAKER" ] || { echo "backup-bench: build caretaker first ($CARETAKER)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/backup-bench.XXXXXX")
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
export PG_HARNESS_QUIET=1

if [ -n "${BENCH_CLUSTER:-}" ]; then
	eval "$("$top_srcdir/tests/harness/pg.sh" env "$BENCH_CLUSTER")"
else
	eval "$("$top_srcdir/tests/harness/pg.sh" start --owner $$)"
	echo "seeding (seed.sh --scale $SCALE) ..."
	"$top_srcdir/tests/harness/seed.sh" --scale "$SCALE" --quiet
fi
bindir=${PG_HARNESS_BINDIR:-/usr/lib/postgresql/15/bin}

mkdir -p "$work/plugins"
cp "$top_builddir"/plugins/*/.libs/*.so "$work/plugins/"
chmod 755 "$work/plugins"
chmod 644 "$work"/plugins/*.so
{
	printf '[caretaker]\nplugin_path = plugins\nstate_dir = state\ntimeout = 1h\n'
	printf 'conninfo = host=%s port=%s dbname=%s user=%s\n' "$PGHOST" "$PGPORT" "$PGDATABASE" "$PGUSER"
	for job in gzip:1 gzip:2 gzip:3 zstd:1; do
		printf '\n[%s-%s]\nplugin = backup\ndest = %s/out\ncompress = %s\nlevel = %s\n' \
			"${job%:*}" "${job#*:}" "$work" "${job%:*}" "${job#*:}"
	done
	printf '\n[l2]\nplugin = verify\ndest = %s/out\nname = gzip-3\n' "$work"
} >"$work/caretaker.ini"
chmod 644 "$work/caretaker.ini"

# timed LABEL CMD...: runs CMD, sets $secs.
timed() {
	local t0=$EPOCHREALTIME
	"$@"
	secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
}

ct() { "$CARETAKER" -c "$work/caretaker.ini" "$@" >"$work/ct.out" 2>&1 || { cat "$work/ct.out" >&2; exit 1; }; }

newest() { ls -t "$work"/out/"$1"-*."$2" | head -1; }

rows=()
row() { rows+=("$(printf '%-34s %8s %9s %13s %9s' "$@")"); }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
dump_to_null() { "$bindir/pg_dump" -d "$PGDATABASE" >/dev/null; }
timed dump_to_null
anchor=$secs
raw=$("$bindir/pg_dump" -d "$PGDATABASE" | wc -c)
timed bash -c "'$bindir/pg_dump' -d '$PGDATABASE' | gzip -6 >'$work/plain.sql.gz'"
gzip_secs=$secs
gzip6=$(stat -c %s "$work/plain.sql.gz")
timed "$bindir/pg_dump" -Fc -d "$PGDATABASE" -f "$work/custom.dump"
fc_secs=$secs
fc=$(stat -c %s "$work/custom.dump")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row "what" "wall s" "x anchor" "bytes" "x gzip-6"
row "pg_dump > /dev/null (anchor)" "$anchor" "1.00" "$raw" "-"
row "pg_dump | gzip -6" "$gzip_secs" "$(ratio "$gzip_secs" "$anchor")" "$gzip6" "1.000"
row "pg_dump -Fc" "$fc_secs" "$(ratio "$fc_secs" "$anchor")" "$fc" \
	"$(awk -v a="$fc" -v b="$gzip6" 'BEGIN { printf "%.3f", a / b }')"
for job in gzip-3 zstd-1 gzip-2 gzip-1; do
	timed ct run "$job"
	ext=sql.gz
	[ "${job%-*}" = zstd ] && ext=sql.zst
	size=$(stat -c %s "$(newest "$job" "$ext")")
	row "caretaker backup $job" "$secs" "$(ratio "$secs" "$anchor")" "$size" \
		"$(awk -v a="$size" -v b="$gzip6" 'BEGIN { printf "%.3f", a / b }')"
done
printf '%s\n' "${rows[@]}"

file=$(newest gzip-3 sql.gz)
timed ct run l2
l2=$secs
timed gzip -t "$file"
gz_t=$secs
echo
echo "L2 of the gzip-3 backup ($(stat -c %s "$file") bytes): caretaker verify job $l2 s," \
	"gzip -t $gz_t s: $(ratio "$l2" "$gz_t")x"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "targets: gzip-compatible <= 1.50x anchor at <= 1.050x gzip-6; zstd <= 1.30x; L2 <= 0.50x gzip -t"
