#!/usr/bin/env bash
# compress-bench.sh — how fast and how small libctcompress (plugins/lib) is
# on ~600 MB of pg_dump-like SQL, side by side with the standard tools, in
# one run.  Wall times are medians of RUNS runs; every row is also given as
# a ratio to the anchor (`cat > /dev/null`, reading the input) and sizes as
# a ratio to `gzip -6`.  Verification is compared with `gzip -t`/`zstd -t`.
#
# usage: tests/bench/compress-bench.sh [SQL_FILE]
#   SQL_FILE      input; default: made once by gen-pgdump.py (SIZE_MB) and
#                 kept in BENCH_DIR
#   RUNS=3        runs per row (median)
#   SIZE_MB=600   size of the generated input
#   BENCH_DIR     scratch directory (default /tmp/caretaker-bench); needs
#                 about 2.5 times the input size
#   COMPRESS_FILE the driver binary; default: built here with cc
#   PGDUMP        optional command that prints a real dump, e.g.
#                 "pg_dump -d bench": adds `PGDUMP > /dev/null` as a second
#                 anchor and the real backup pipeline `PGDUMP | compress-file`
#
# The rows run one after another on an otherwise idle machine; anything
# else running on the cores shows up in the wall times (the CPU seconds,
# user + sys, are printed too and are steadier).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/caretaker-bench}
RUNS=${RUNS:-3}
SIZE_MB=${SIZE_MB:-600}
mkdir -p "$BENCH_DIR"

sql=${1:-$BENCH_DIR/dump-${SIZE_MB}MB.sql}
if [ ! -s "$sql" ]; then
	echo "generating $sql ($SIZE_MB MB of pg_dump-like SQL)..." >&2
	python3 "$top/tests/bench/gen-pgdump.py" "$SIZE_MB" > "$sql.tmp"
	mv "$sql.tmp" "$sql"
fi

cf=${COMPRESS_FILE:-$BENCH_DIR/compress-file}
if [ -z "${COMPRESS_FILE:-}" ]; then
	cc -std=gnu11 -O2 -I"$top/sdk/include" -I"$top/plugins/lib" \
		"$top"/plugins/lib/compress_*.c "$top"/plugins/lib/digest.c "$top/tests/bench/compress-file.c" -o "$cf" \
		-ldeflate -lzstd -lz -lcrypto -lpthread
fi

have() { command -v "$1" > /dev/null 2>&1; }

# measure NAME OUTPUT_FILE CMD...: runs CMD RUNS times with stdout to
# OUTPUT_FILE, keeps wall and CPU seconds of the median run.
declare -A wall cpu
order=()
measure() {
	local name=$1 out=$2 i t
	shift 2
	local times=()
	for ((i = 0; i < RUNS; i++)); do
		if ! t=$( { TIMEFORMAT='%3R %3U %3S'; time "$@" > "$out" 2> /dev/null; } 2>&1 ); then
			echo "$name: failed; run it by hand to see why: $*" >&2
			exit 1
		fi
		times+=("$t")
	done
	t=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
	wall[$name]=$(echo "$t" | awk '{print $1}')
	cpu[$name]=$(echo "$t" | awk '{printf "%.3f", $2 + $3}')
	order+=("$name")
	echo "  $name: ${wall[$name]} s" >&2
}

f() { echo "$BENCH_DIR/$1"; }
# from FILE CMD...: CMD with FILE as stdin, opened anew for every run.
from() { local file=$1; shift; "$@" < "$file"; }

echo "input: $sql ($(stat -L -c %s "$sql") bytes), runs: $RUNS, cores: $(nproc)" >&2
measure "cat > /dev/null (anchor)" /dev/null from "$sql" cat
measure "gzip -6" "$(f gzip6.gz)" from "$sql" gzip -6
measure "gzip -1" "$(f gzip1.gz)" from "$sql" gzip -1
if have pigz; then measure "pigz -6 -p 2" "$(f pigz.gz)" from "$sql" pigz -6 -p 2; fi
have zstd && measure "zstd -1 -T2 (tool)" "$(f tool.zst)" from "$sql" zstd -q -1 -T2
measure "libctcompress gzip (default)" "$(f ct.gz)" from "$sql" "$cf" compress gzip
measure "libctcompress zstd (default)" "$(f ct.zst)" from "$sql" "$cf" compress zstd
measure "libctcompress none" "$(f ct.none)" from "$sql" "$cf" compress none

measure "gzip -t ct.gz (verify anchor)" /dev/null gzip -t "$(f ct.gz)"
measure "libctcompress verify ct.gz" /dev/null from "$(f ct.gz)" "$cf" verify gzip
measure "gzip -t gzip6.gz" /dev/null gzip -t "$(f gzip6.gz)"
measure "libctcompress verify gzip6.gz (zlib)" /dev/null from "$(f gzip6.gz)" "$cf" verify gzip
if have zstd; then
	measure "zstd -t ct.zst" /dev/null zstd -q -t "$(f ct.zst)"
fi
measure "libctcompress verify ct.zst" /dev/null from "$(f ct.zst)" "$cf" verify zstd

if [ -n "${PGDUMP:-}" ]; then
	measure "PGDUMP > /dev/null (pg anchor)" /dev/null sh -c "$PGDUMP"
	measure "PGDUMP | libctcompress gzip" "$(f pg.gz)" sh -c "$PGDUMP | '$cf' compress gzip"
	measure "PGDUMP | libctcompress zstd" "$(f pg.zst)" sh -c "$PGDUMP | '$cf' compress zstd"
	measure "PGDUMP | gzip -6" "$(f pg6.gz)" sh -c "$PGDUMP | gzip -6"
fi

# Every compressed output must decompress to the input.
"$cf" verify gzip < "$(f ct.gz)" 2> /dev/null
"$cf" verify zstd < "$(f ct.zst)" 2> /dev/null
gunzip -c "$(f ct.gz)" | cmp -s - "$sql" || { echo "gunzip output differs from the input" >&2; exit 1; }

size_of() {
	case "$1" in
	"gzip -6") stat -L -c %s "$(f gzip6.gz)" ;;
	"gzip -1") stat -L -c %s "$(f gzip1.gz)" ;;
	"pigz -6 -p 2") stat -L -c %s "$(f pigz.gz)" ;;
	"zstd -1 -T2 (tool)") stat -L -c %s "$(f tool.zst)" ;;
	"libctcompress gzip (default)") stat -L -c %s "$(f ct.gz)" ;;
	"libctcompress zstd (default)") stat -L -c %s "$(f ct.zst)" ;;
	"PGDUMP | libctcompress gzip") stat -L -c %s "$(f pg.gz)" ;;
	"PGDUMP | libctcompress zstd") stat -L -c %s "$(f pg.zst)" ;;
	"PGDUMP | gzip -6") stat -L -c %s "$(f pg6.gz)" ;;
	*) echo "" ;;
	esac
}

anchor=${wall["cat > /dev/null (anchor)"]}
g6=$(stat -L -c %s "$(f gzip6.gz)")
printf '%-40s %9s %10s %8s %12s %8s\n' case wall_s x_anchor cpu_s size_bytes x_gzip6
for name in "${order[@]}"; do
	size=$(size_of "$name")
	printf '%-40s %9s %10s %8s %12s %8s\n' "$name" "${wall[$name]}" \
		"$(awk -v a="${wall[$name]}" -v b="$anchor" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 0.001) }')" \
		"${cpu[$name]}" "${size:--}" \
		"$( [ -n "$size" ] && awk -v a="$size" -v b="$g6" 'BEGIN { printf "%.4f", a / b }' || echo -)"
done
ratio() { awk -v a="${wall[$1]}" -v b="${wall[$2]}" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "verify ct.gz / gzip -t ct.gz: $(ratio "libctcompress verify ct.gz" "gzip -t ct.gz (verify anchor)")  (target <= 0.5)"
if [ -n "${PGDUMP:-}" ]; then
	echo "backup gzip / pg_dump: $(ratio "PGDUMP | libctcompress gzip" "PGDUMP > /dev/null (pg anchor)")  (target <= 1.5)"
	echo "backup zstd / pg_dump: $(ratio "PGDUMP | libctcompress zstd" "PGDUMP > /dev/null (pg anchor)")  (target <= 1.3)"
fi
