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
# The machine may be shared and timings are noisy: the anchor and the
# caretaker jobs run interleaved, ROUNDS times, and the table shows medians
# (the ratio is the median of each round's job/anchor ratio).
#
# Environment: SCALE (seed.sh scale, default bench); ROUNDS (default 3);
# BENCH_CLUSTER=DIR uses an already seeded harness cluster instead of
# starting one.
set -euo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/_build}
CARETAKER=${CARETAKER:-$top_builddir/caretaker}
SCALE=${SCALE:-bench}
ROUNDS=${ROUNDS:-3}
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

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, $ROUNDS rounds"
# Each step starts with the writeback of the one before it done.
dump_to_null() { sync; "$bindir/pg_dump" -d "$PGDATABASE" >/dev/null; }
raw=$("$bindir/pg_dump" -d "$PGDATABASE" | wc -c)
sync
timed bash -c "'$bindir/pg_dump' -d '$PGDATABASE' | gzip -6 >'$work/plain.sql.gz'"
gzip_secs=$secs
gzip6=$(stat -c %s "$work/plain.sql.gz")
sync
timed "$bindir/pg_dump" -Fc -d "$PGDATABASE" -f "$work/custom.dump"
fc_secs=$secs
fc=$(stat -c %s "$work/custom.dump")
rm -f "$work/plain.sql.gz" "$work/custom.dump"

# Rounds: the anchor, then every caretaker job, so each job's ratio is to
# an anchor measured beside it; the table shows medians over the rounds.
jobs=(gzip-3 zstd-1 gzip-2 gzip-1)
declare -A walls ratios sizes
anchors=()
for ((r = 1; r <= ROUNDS; r++)); do
	timed dump_to_null
	anchor=$secs
	anchors+=("$anchor")
	for job in "${jobs[@]}"; do
		sync
		timed ct run "$job"
		ext=sql.gz
		[ "${job%-*}" = zstd ] && ext=sql.zst
		sizes[$job]=$(stat -c %s "$(newest "$job" "$ext")")
		walls[$job]+="$secs "
		ratios[$job]+="$(awk -v a="$secs" -v b="$anchor" 'BEGIN { printf "%.3f", a / b }') "
		# The last round keeps its backups for the L2 comparison below.
		[ "$r" -eq "$ROUNDS" ] || rm -f "$work"/out/"$job"-*
	done
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
anchor=$(median "${anchors[@]}")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row "what (median of $ROUNDS rounds)" "wall s" "x anchor" "bytes" "x gzip-6"
row "pg_dump > /dev/null (anchor)" "$anchor" "1.00" "$raw" "-"
row "pg_dump | gzip -6 (once)" "$gzip_secs" "$(ratio "$gzip_secs" "$anchor")" "$gzip6" "1.000"
row "pg_dump -Fc (once)" "$fc_secs" "$(ratio "$fc_secs" "$anchor")" "$fc" \
	"$(awk -v a="$fc" -v b="$gzip6" 'BEGIN { printf "%.3f", a / b }')"
for job in "${jobs[@]}"; do
	# shellcheck disable=SC2086 # the lists are words
	row "caretaker backup $job" "$(median ${walls[$job]})" "$(median ${ratios[$job]})" \
		"${sizes[$job]}" "$(awk -v a="${sizes[$job]}" -v b="$gzip6" 'BEGIN { printf "%.3f", a / b }')"
done
printf '%s\n' "${rows[@]}"
echo "anchor per round: ${anchors[*]}"
for job in "${jobs[@]}"; do
	echo "$job per round: wall ${walls[$job]}; x anchor ${ratios[$job]}"
done

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
