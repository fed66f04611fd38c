#!/bin/bash
# Encrypted backups from the command line: keygen, then files encrypted the
# way the backup plugin does it (tests/bench/crypt-file drives libctcrypt
# and libctcompress), then `caretaker decrypt`: byte-identical round trips,
# and clear failures with the wrong key, a readable secret key, a cut file
# or a changed byte.
. "$top_srcdir/tests/integration/lib.sh"

cf="$top_builddir/tests/bench/crypt-file"
[ -x "$cf" ] || skip_all "tests/bench/crypt-file not built"
command -v gunzip >/dev/null || skip_all "gunzip not installed"

# decrypt ARGS...: caretaker decrypt with stdout to $out (a file, never a
# terminal), stderr to $err.
decrypt() { ct decrypt "$@"; }
size_of() { stat -c %s "$1"; }
mode_of() { stat -c %a "$1"; }

# ---- keygen ----
ct keygen --public "$T/k.pub" --secret "$T/k.sec"
check "keygen makes a key pair and names its id" \
	eval 'rc_is 0 && out_has "^key id [0-9a-f]\{16\}$"'
check "the secret key is mode 600, the public key 644" \
	eval '[ "$(mode_of "$T/k.sec")" = 600 ] && [ "$(mode_of "$T/k.pub")" = 644 ]'
check "the key files are one line of text each, with a comment" \
	eval 'grep -q "^caretaker-public-key-v1 [A-Za-z0-9+/=]\{44\}$" "$T/k.pub" &&
	      grep -q "^caretaker-secret-key-v1 [A-Za-z0-9+/=]\{44\}$" "$T/k.sec"'

cp "$T/k.sec" "$T/k.sec.before"
ct keygen --public "$T/new.pub" --secret "$T/k.sec"
check "keygen refuses to overwrite a key and leaves no half pair" \
	eval 'rc_is 1 && err_has "k.sec exists; refusing to overwrite" &&
	      cmp -s "$T/k.sec" "$T/k.sec.before" && [ ! -e "$T/new.pub" ]'

ct keygen --public "$T/only.pub"
check "keygen without --secret is a usage error" eval 'rc_is 2 && [ ! -e "$T/only.pub" ]'

ct keygen --help
check "keygen --help prints its usage and exits 0" eval 'rc_is 0 && out_has "^usage: caretaker keygen --public"'
ct decrypt --help
check "decrypt --help prints its usage and exits 0" eval 'rc_is 0 && out_has "^usage: caretaker decrypt --key"'

"$CARETAKER" keygen --public "$T/other.pub" --secret "$T/other.sec" >/dev/null

# ---- round trips ----
head -c 3000000 /dev/urandom >"$T/random.bin"
seq 1 400000 | sed 's/^/INSERT INTO patients VALUES (/; s/$/);/' >"$T/dump.sql"

"$cf" compress-encrypt "$T/k.pub" gzip <"$T/dump.sql" >"$T/dump.sql.gz.enc" 2>"$T/cf.err"
check "the writer's file SHA-256 is that of the encrypted file on disk" \
	eval 'grep -q "^stored_sha256=$(sha256sum "$T/dump.sql.gz.enc" | cut -d" " -f1)$" "$T/cf.err"'

"$CARETAKER" decrypt --key "$T/k.sec" "$T/dump.sql.gz.enc" | gunzip >"$T/dump.back" 2>"$err"
check "decrypt | gunzip gives back the dump byte for byte" cmp -s "$T/dump.sql" "$T/dump.back"

"$cf" encrypt "$T/k.pub" <"$T/random.bin" >"$T/random.enc" 2>/dev/null
decrypt --key "$T/k.sec" --output "$T/random.out" "$T/random.enc"
check "decrypt --output writes the file, mode 600, byte for byte" \
	eval 'rc_is 0 && cmp -s "$T/random.bin" "$T/random.out" &&
	      [ "$(mode_of "$T/random.out")" = 600 ] && [ ! -s "$out" ]'

decrypt --key "$T/k.sec" --output "$T/random.out" "$T/random.enc"
check "decrypt --output never replaces an existing file" \
	eval 'rc_is 1 && err_has "random.out exists" && cmp -s "$T/random.bin" "$T/random.out"'

: >"$T/empty.bin"
"$cf" encrypt "$T/k.pub" <"$T/empty.bin" >"$T/empty.enc" 2>/dev/null
decrypt --key "$T/k.sec" "$T/empty.enc"
check "an empty stream round-trips" eval 'rc_is 0 && [ ! -s "$out" ]'

# ---- the wrong key, and keys that are refused ----
decrypt --key "$T/other.sec" --output "$T/wrong.out" "$T/random.enc"
pub_id=$(sed -n 's/^# .*key id \([0-9a-f]*\).*/\1/p' "$T/k.pub")
other_id=$(sed -n 's/^# .*key id \([0-9a-f]*\).*/\1/p' "$T/other.pub")
check "another key fails, naming the file and both key ids, and writes nothing" \
	eval 'rc_is 1 && err_has "random.enc: the file is encrypted for key $pub_id" &&
	      err_has "this secret key is $other_id" && [ ! -e "$T/wrong.out" ] &&
	      [ ! -e "$T/wrong.out.partial" ]'

decrypt --key "$T/k.pub" "$T/random.enc"
check "the public key is no decryption key, and says so" \
	eval 'rc_is 1 && err_has "this is a public key" && [ ! -s "$out" ]'

cp "$T/k.sec" "$T/loose.sec"
chmod 644 "$T/loose.sec"
decrypt --key "$T/loose.sec" "$T/random.enc"
check "a secret key others can read is refused, with the fix" \
	eval 'rc_is 1 && err_has "loose.sec: secret key is accessible by others (mode 0644)" &&
	      err_has "hint: chmod 600" && [ ! -s "$out" ]'

decrypt "$T/random.enc"
check "decrypt without --key is a usage error" rc_is 2

decrypt --key "$T/k.sec" "$T/missing.enc"
check "a missing backup file is named" eval 'rc_is 1 && err_has "missing.enc: No such file"'

# ---- damage ----
size=$(size_of "$T/random.enc")
head -c $((size - 5000)) "$T/random.enc" >"$T/cut.enc"
decrypt --key "$T/k.sec" --output "$T/cut.out" "$T/cut.enc"
check "a cut file fails as truncated, leaving no output file" \
	eval 'rc_is 1 && err_has "cut.enc: truncated" && [ ! -e "$T/cut.out" ] &&
	      [ ! -e "$T/cut.out.partial" ]'

# flip_byte FILE OFFSET: invert every bit of one byte (an overwrite with a
# constant would change nothing when the byte already held it).
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	# shellcheck disable=SC2059
	printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Chunk 3 starts after the 128-byte header and three chunks of 65557 bytes.
cp "$T/random.enc" "$T/flipped.enc"
at=$((128 + 3 * 65557 + 1000))
flip_byte "$T/flipped.enc" $at
decrypt --key "$T/k.sec" "$T/flipped.enc"
check "a changed byte fails, naming the chunk and its offset" \
	eval 'rc_is 1 && err_has "flipped.enc: chunk 3 at offset $((128 + 3 * 65557)): authentication failed"'
check "stdout got only the chunks before the damage, and a hint says so" \
	eval '[ "$(size_of "$out")" = $((3 * 65536)) ] &&
	      cmp -s "$out" <(head -c $((3 * 65536)) "$T/random.bin") &&
	      err_has "hint: .* the stream is incomplete"'

cp "$T/random.enc" "$T/header.enc"
flip_byte "$T/header.enc" 20
decrypt --key "$T/k.sec" "$T/header.enc"
check "a changed header byte fails before any output" eval 'rc_is 1 && [ ! -s "$out" ]'

"$CARETAKER" decrypt --key "$T/k.sec" "$T/random.enc" 2>"$err" | head -c 10 >/dev/null
rc=${PIPESTATUS[0]}
check "a reader that leaves early is an error, not a silent death" \
	eval 'rc_is 1 && err_has "writing to stdout"'

# ---- without the key ----
"$cf" check <"$T/random.enc" 2>"$T/check.err"
check "the framing check passes a whole file and gives its SHA-256" \
	eval 'grep -q "^file_sha256=$(sha256sum "$T/random.enc" | cut -d" " -f1)$" "$T/check.err"'
head -c $((128 + 10 * 65557)) "$T/random.enc" >"$T/boundary.enc"
"$cf" check <"$T/boundary.enc" 2>"$T/check.err"
rc=$?
check "the framing check catches a file cut at a chunk boundary" \
	eval 'rc_is 1 && grep -q "final one is missing" "$T/check.err"'

# ---- through the backup plugin, where it is built ----
if [ -e "$top_builddir/plugins/backup/.libs/backup.so" ]; then
	install_plugins
	mkdir -p "$T/media/uploads"
	printf 'scan of a referral\n' >"$T/media/uploads/referral.txt"
	ln -s uploads/referral.txt "$T/media/latest"
	write_config <<CONF
[media-backup]
plugin = backup
paths = media
dest = backups
compress = gzip
encrypt_to = k.pub
CONF
	ct run media-backup
	enc=$(ls "$T"/backups/media-backup-*.tar.gz.enc 2>/dev/null | head -1)
	check "a backup job with encrypt_to writes only ciphertext" \
		eval 'rc_is 0 && [ -n "$enc" ] && ! gzip -t "$enc" 2>/dev/null'
	check "its manifest's SHA-256 is that of the file on disk" \
		eval 'grep -q "\"stored_sha256\": \"$(sha256sum "$enc" | cut -d" " -f1)\"" \
		      "${enc%.tar.gz.enc}.manifest.json"'
	mkdir "$T/restore"
	"$CARETAKER" decrypt --key "$T/k.sec" "$enc" 2>"$err" | tar -xzf - -C "$T/restore"
	check "decrypt | tar -xz restores the tree, link included" \
		eval 'cmp -s "$T/media/uploads/referral.txt" "$T/restore${T}/media/uploads/referral.txt" &&
		      [ "$(readlink "$T/restore${T}/media/latest")" = uploads/referral.txt ]'
else
	skip_test "a backup job with encrypt_to writes only ciphertext" "backup plugin not built"
fi

done_testing
