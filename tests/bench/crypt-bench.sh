#!/usr/bin/env bash
# crypt-bench.sh — what encryption at rest costs (plugins/lib/crypt*.c) on
# ~600 MB of pg_dump-like SQL: encryption alone, compression with and
# without the encryption stage, decryption, the verifier through the
# decryption stage, and the keyless framing check.  Wall times are medians
# of RUNS runs; MB/s are of the stream each row takes in.
#
# usage: tests/bench/crypt-bench.sh [SQL_FILE]
#   SQL_FILE      input; default: made once by gen-pgdump.py (SIZE_MB) and
#                 kept in BENCH_DIR
#   RUNS=3        runs per row (median)
#   SIZE_MB=600   size of the generated input
#   BENCH_DIR     scratch directory (default /tmp/caretaker-bench)
#   CRYPT_FILE    the driver binary (`make bench-crypt` passes the built one)
#   CARETAKER     the caretaker binary, for the `decrypt` row (optional)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/caretaker-bench}
RUNS=${RUNS:-3}
SIZE_MB=${SIZE_MB:-600}
cf=${CRYPT_FILE:?set CRYPT_FILE to the built tests/bench/crypt-file (make bench-crypt does)}
mkdir -p "$BENCH_DIR"

sql=${1:-$BENCH_DIR/dump-${SIZE_MB}MB.sql}
if [ ! -s "$sql" ]; then
	echo "generating $sql ($SIZE_MB MB of pg_dump-like SQL)..." >&2
	python3 "$top/tests/bench/gen-pgdump.py" "$SIZE_MB" >"$sql.tmp"
	mv "$sql.tmp" "$sql"
fi
keys=$BENCH_DIR/crypt-keys
if [ ! -s "$keys/k.sec" ]; then
	mkdir -p "$keys"
	rm -f "$keys/k.pub" "$keys/k.sec"
	"${CARETAKER:-$(dirname "$cf")/../../caretaker}" keygen --public "$keys/k.pub" \
		--secret "$keys/k.sec" >/dev/null
fi

# row NAME INPUT_BYTES IN_FILE OUT_FILE CMD...: median wall seconds of CMD
# with stdin IN_FILE and stdout OUT_FILE, printed with MB/s of INPUT_BYTES.
row() {
	local name=$1 bytes=$2 in=$3 outf=$4 i t
	shift 4
	local times=()
	for ((i = 0; i < RUNS; i++)); do
		if ! t=$( { TIMEFORMAT='%3R %3U %3S'; time "$@" <"$in" >"$outf" 2>/dev/null; } 2>&1 ); then
			echo "$name: failed; run it by hand: $* < $in" >&2
			exit 1
		fi
		times+=("$t")
	done
	t=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
	read -r wall user sys <<<"$t"
	printf '%-34s %8.3f s  %7.0f MB/s   cpu %6.3f s\n' "$name" "$wall" \
		"$(echo "$bytes / 1000000 / $wall" | bc -l)" "$(echo "$user + $sys" | bc -l)"
}

raw=$(stat -c %s "$sql")
echo "input: $sql, $raw bytes, $(nproc) CPUs, median of $RUNS runs"
row "cat (anchor)" "$raw" "$sql" /dev/null cat
row "encrypt (no compression)" "$raw" "$sql" "$BENCH_DIR/raw.enc" "$cf" encrypt "$keys/k.pub"
row "decrypt (caretaker decrypt)" "$raw" "$BENCH_DIR/raw.enc" /dev/null \
	"${CARETAKER:-$(dirname "$cf")/../../caretaker}" decrypt --key "$keys/k.sec" "$BENCH_DIR/raw.enc"
for kind in zstd gzip; do
	row "$kind" "$raw" "$sql" "$BENCH_DIR/plain.$kind" "$cf" compress "$kind"
	row "$kind + encrypt" "$raw" "$sql" "$BENCH_DIR/enc.$kind" \
		"$cf" compress-encrypt "$keys/k.pub" "$kind"
	row "verify $kind + decrypt (with key)" "$raw" "$BENCH_DIR/enc.$kind" /dev/null \
		"$cf" verify "$keys/k.sec" "$kind"
	row "framing check $kind (no key)" "$(stat -c %s "$BENCH_DIR/enc.$kind")" \
		"$BENCH_DIR/enc.$kind" /dev/null "$cf" check
	echo "  sizes: $(stat -c %s "$BENCH_DIR/plain.$kind") compressed," \
		"$(stat -c %s "$BENCH_DIR/enc.$kind") encrypted"
done
rm -f "$BENCH_DIR/raw.enc" "$BENCH_DIR"/plain.* "$BENCH_DIR"/enc.*
