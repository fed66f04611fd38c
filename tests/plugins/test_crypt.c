/*
 * test_crypt.c — tests of plugins/lib/crypt*.c (libctcrypt): round trips,
 * the ways an encrypted backup goes bad (wrong key, truncation, a flipped
 * byte anywhere, a changed header), the key files and their permissions,
 * the keyless framing check, and encryption as a stage of the compression
 * writer and of the verifying reader.
 *
 * Keys and files live in one temp folder per test group, removed at the
 * end; encrypted files are anonymous (mkstemp, then unlink).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "compress.h"
#include "crypt.h"

#define CHUNK CRYPT_CHUNK_BYTES
#define HEADER CRYPT_HEADER_BYTES
#define FULL_CHUNK (CHUNK + CRYPT_CHUNK_OVERHEAD_BYTES)

static char dir[] = "/tmp/ct-test-crypt-XXXXXX";
static char pub_path[64], sec_path[64], other_pub_path[64], other_sec_path[64];

struct bytes {
	unsigned char *data;
	size_t len, cap;
};

static void
bytes_append(struct bytes *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2 + 64;
		b->data = realloc(b->data, b->cap);
		assert_non_null(b->data);
	}
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
}

static int
collect_cb(void *ctx, const void *buf, size_t len)
{
	bytes_append(ctx, buf, len);
	return 0;
}

static int
collect_data_cb(const void *buf, size_t len, void *ctx)
{
	return collect_cb(ctx, buf, len);
}

#define assert_err_contains(err, needle)                                                           \
	do {                                                                                       \
		if (strstr((err), (needle)) == NULL) {                                             \
			print_error("expected a message containing \"%s\", got \"%s\"\n",          \
			            (needle), (err));                                              \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

static unsigned char *
make_input(size_t len)
{
	unsigned char *p = malloc(len + 1);
	uint32_t x = 2463534242u;

	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

static int
temp_fd(void)
{
	char path[] = "/tmp/ct-test-crypt-file-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static int
fd_with(const void *data, size_t len)
{
	int fd = temp_fd();

	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Encrypts `len` bytes to the test key; the file's bytes land in *file. */
static void
encrypt_bytes(const char *key, const void *data, size_t len, struct bytes *file)
{
	struct crypt_public_key pk;
	char err[256] = "";
	int in = fd_with(data, len), out = temp_fd();
	off_t size;

	assert_int_equal(crypt_public_key_load(key, &pk, err, sizeof(err)), 0);
	assert_int_equal(crypt_encrypt_fd(in, out, &pk, err, sizeof(err)), 0);
	size = lseek(out, 0, SEEK_END);
	file->data = malloc((size_t)size + 1);
	file->len = file->cap = (size_t)size;
	assert_int_equal(pread(out, file->data, (size_t)size, 0), size);
	close(in);
	close(out);
}

/* Decrypts `len` bytes of `file` with `key`; plaintext into *out. */
static int
decrypt_bytes(const char *key, const void *file, size_t len, struct bytes *out, char *err,
              size_t err_size)
{
	int fd = fd_with(file, len);
	int rc = crypt_decrypt_fd(fd, key, collect_cb, out, err, err_size);

	close(fd);
	return rc;
}

static int
group_setup(void **state)
{
	char err[256];

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(pub_path, sizeof(pub_path), "%s/k.pub", dir);
	snprintf(sec_path, sizeof(sec_path), "%s/k.sec", dir);
	snprintf(other_pub_path, sizeof(other_pub_path), "%s/other.pub", dir);
	snprintf(other_sec_path, sizeof(other_sec_path), "%s/other.sec", dir);
	if (crypt_keygen_files(pub_path, sec_path, NULL, err, sizeof(err)) != 0 ||
	    crypt_keygen_files(other_pub_path, other_sec_path, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "keygen: %s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
round_trip(size_t len)
{
	unsigned char *in = make_input(len);
	struct bytes file = {0}, out = {0};
	char err[256] = "";

	encrypt_bytes(pub_path, in, len, &file);
	/* Every chunk but the last is full; the last is short: crypt.h. */
	assert_int_equal(file.len, HEADER + (len / CHUNK) * FULL_CHUNK + (len % CHUNK) +
	                               CRYPT_CHUNK_OVERHEAD_BYTES);
	assert_int_equal(decrypt_bytes(sec_path, file.data, file.len, &out, err, sizeof(err)), 0);
	assert_int_equal(out.len, len);
	assert_true(len == 0 || memcmp(out.data, in, len) == 0);
	free(in);
	free(file.data);
	free(out.data);
}

#define ROUND_TRIP_TEST(name, len)                                                                 \
	static void name(void **state)                                                             \
	{                                                                                          \
		(void)state;                                                                       \
		round_trip(len);                                                                   \
	}

ROUND_TRIP_TEST(test_round_trips_empty_input, 0)
ROUND_TRIP_TEST(test_round_trips_one_byte, 1)
ROUND_TRIP_TEST(test_round_trips_one_byte_short_of_a_chunk, CHUNK - 1)
ROUND_TRIP_TEST(test_round_trips_exactly_one_chunk, CHUNK)
ROUND_TRIP_TEST(test_round_trips_many_chunks, 40 * CHUNK + 4321)

static void
test_same_input_encrypts_differently_each_time(void **state)
{
	unsigned char *in = make_input(1000);
	struct bytes a = {0}, b = {0};

	(void)state;
	encrypt_bytes(pub_path, in, 1000, &a);
	encrypt_bytes(pub_path, in, 1000, &b);
	assert_int_equal(a.len, b.len);
	/* A fresh file key (and so a fresh sealed key) for every file. */
	assert_memory_not_equal(a.data + 24, b.data + 24, a.len - 24);
	free(in);
	free(a.data);
	free(b.data);
}

static void
test_wrong_key_fails_naming_both_key_ids(void **state)
{
	unsigned char *in = make_input(5000);
	struct bytes file = {0}, out = {0};
	struct crypt_public_key pk, other;
	char err[256] = "";

	(void)state;
	encrypt_bytes(pub_path, in, 5000, &file);
	assert_int_equal(decrypt_bytes(other_sec_path, file.data, file.len, &out, err, sizeof(err)),
	                 CT_EPERM);
	assert_int_equal(crypt_public_key_load(pub_path, &pk, err + 200, 56), 0);
	assert_int_equal(crypt_public_key_load(other_pub_path, &other, err + 200, 56), 0);
	assert_err_contains(err, pk.id);
	assert_err_contains(err, other.id);
	assert_int_equal(out.len, 0);
	free(in);
	free(file.data);
}

/* Cuts the file at `cut` bytes and expects a failure saying `what`. */
static void
expect_truncation_caught(size_t cut, const char *what)
{
	unsigned char *in = make_input(3 * CHUNK + 100);
	struct bytes file = {0}, out = {0};
	char err[256] = "";

	encrypt_bytes(pub_path, in, 3 * CHUNK + 100, &file);
	assert_true(cut < file.len);
	assert_int_equal(decrypt_bytes(sec_path, file.data, cut, &out, err, sizeof(err)),
	                 CT_ECORRUPT);
	assert_err_contains(err, what);
	/* What came out authenticated: a prefix of the input, whole chunks. */
	assert_int_equal(out.len % CHUNK, 0);
	assert_true(out.len == 0 || memcmp(out.data, in, out.len) == 0);
	free(in);
	free(file.data);
	free(out.data);
}

static void
test_truncation_inside_the_header_fails(void **state)
{
	(void)state;
	expect_truncation_caught(HEADER / 2, "inside the header");
}

static void
test_truncation_right_after_the_header_fails(void **state)
{
	(void)state;
	expect_truncation_caught(HEADER, "no chunks");
}

static void
test_truncation_inside_a_chunk_fails_naming_it(void **state)
{
	(void)state;
	expect_truncation_caught(HEADER + FULL_CHUNK + 1000, "chunk 1 at offset");
}

static void
test_truncation_at_a_chunk_boundary_fails(void **state)
{
	(void)state;
	/* Three whole chunks, the short FINAL one gone. */
	expect_truncation_caught(HEADER + 3 * FULL_CHUNK, "without the final chunk");
}

static void
test_empty_file_fails(void **state)
{
	struct bytes out = {0};
	char err[256] = "";

	(void)state;
	assert_int_equal(decrypt_bytes(sec_path, "", 0, &out, err, sizeof(err)), CT_ECORRUPT);
	assert_err_contains(err, "empty file");
}

static void
test_data_after_the_final_chunk_fails(void **state)
{
	unsigned char *in = make_input(100);
	struct bytes file = {0}, out = {0};
	char err[256] = "";

	(void)state;
	encrypt_bytes(pub_path, in, 100, &file);
	bytes_append(&file, "x", 1);
	assert_int_equal(decrypt_bytes(sec_path, file.data, file.len, &out, err, sizeof(err)),
	                 CT_ECORRUPT);
	assert_err_contains(err, "after the final chunk");
	free(in);
	free(file.data);
	free(out.data);
}

/* Flips one byte at `at` and expects chunk `chunk` to be named. */
static void
expect_flip_caught(const struct bytes *file, const unsigned char *in, size_t at, size_t chunk)
{
	struct bytes out = {0};
	char err[256] = "", want[64];

	file->data[at] ^= 0x20;
	assert_int_equal(decrypt_bytes(sec_path, file->data, file->len, &out, err, sizeof(err)),
	                 CT_ECORRUPT);
	file->data[at] ^= 0x20;
	snprintf(want, sizeof(want), "chunk %zu at offset %zu", chunk, HEADER + chunk * FULL_CHUNK);
	assert_err_contains(err, want);
	/* Only the chunks before the damaged one came out. */
	assert_int_equal(out.len, chunk * CHUNK);
	assert_true(out.len == 0 || memcmp(out.data, in, out.len) == 0);
	free(out.data);
}

static void
test_a_flipped_byte_in_any_chunk_fails_naming_the_chunk(void **state)
{
	size_t n_chunks = 6, len = (n_chunks - 1) * CHUNK + 777;
	unsigned char *in = make_input(len);
	struct bytes file = {0};
	size_t start;

	(void)state;
	encrypt_bytes(pub_path, in, len, &file);
	for (size_t c = 0; c < n_chunks; c++) {
		start = HEADER + c * FULL_CHUNK;
		expect_flip_caught(&file, in, start + 4, c);       /* first ciphertext byte */
		expect_flip_caught(&file, in, start + 4 + 500, c); /* inside */
		expect_flip_caught(&file, in,
		                   c + 1 < n_chunks ? start + FULL_CHUNK - 1 : file.len - 1,
		                   c); /* its MAC */
	}
	free(in);
	free(file.data);
}

static void
test_a_changed_length_prefix_fails(void **state)
{
	unsigned char *in = make_input(2 * CHUNK + 10);
	struct bytes file = {0}, out = {0};
	char err[256] = "";

	(void)state;
	encrypt_bytes(pub_path, in, 2 * CHUNK + 10, &file);
	file.data[HEADER + FULL_CHUNK] ^= 0x01; /* chunk 1's length, low byte */
	assert_int_equal(decrypt_bytes(sec_path, file.data, file.len, &out, err, sizeof(err)),
	                 CT_ECORRUPT);
	assert_err_contains(err, "chunk 1");
	assert_int_equal(out.len, CHUNK);
	free(in);
	free(file.data);
	free(out.data);
}

static void
test_any_changed_header_byte_fails(void **state)
{
	unsigned char *in = make_input(300);
	struct bytes file = {0}, out = {0};
	char err[256];
	int rc;

	(void)state;
	encrypt_bytes(pub_path, in, 300, &file);
	for (size_t at = 0; at < HEADER; at++) {
		file.data[at] ^= 0x04;
		err[0] = '\0';
		out.len = 0;
		rc = decrypt_bytes(sec_path, file.data, file.len, &out, err, sizeof(err));
		file.data[at] ^= 0x04;
		if (rc == 0 || out.len != 0) {
			print_error("header byte %zu changed, yet decrypt gave %d and %zu bytes\n",
			            at, rc, out.len);
			fail();
		}
	}
	free(in);
	free(file.data);
	free(out.data);
}

static void
test_changed_magic_says_not_an_encrypted_file(void **state)
{
	unsigned char *in = make_input(10);
	struct bytes file = {0}, out = {0};
	char err[256] = "";

	(void)state;
	encrypt_bytes(pub_path, in, 10, &file);
	file.data[1] = 'X';
	assert_int_equal(decrypt_bytes(sec_path, file.data, file.len, &out, err, sizeof(err)),
	                 CT_ECORRUPT);
	assert_err_contains(err, "not a caretaker encrypted file");
	free(in);
	free(file.data);
}

static void
test_secret_key_readable_by_others_is_refused(void **state)
{
	struct crypt_secret_key *sk = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(chmod(sec_path, 0644), 0);
	assert_int_equal(crypt_secret_key_load(sec_path, &sk, err, sizeof(err)), CT_EPERM);
	assert_int_equal(chmod(sec_path, 0600), 0);
	assert_null(sk);
	assert_err_contains(err, sec_path);
	assert_err_contains(err, "0644");
	assert_err_contains(err, "hint: chmod 600");
}

static void
test_secret_key_readable_by_group_is_refused(void **state)
{
	struct crypt_secret_key *sk = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(chmod(sec_path, 0640), 0);
	assert_int_equal(crypt_secret_key_load(sec_path, &sk, err, sizeof(err)), CT_EPERM);
	assert_int_equal(chmod(sec_path, 0600), 0);
}

static void
test_keygen_writes_secret_0600_and_public_0644(void **state)
{
	struct stat pub, sec;

	(void)state;
	assert_int_equal(stat(pub_path, &pub), 0);
	assert_int_equal(stat(sec_path, &sec), 0);
	assert_int_equal(sec.st_mode & 07777, 0600);
	assert_int_equal(pub.st_mode & 07777, 0644);
}

static void
test_keygen_refuses_to_overwrite_and_leaves_nothing(void **state)
{
	char fresh[96], err[256] = "";
	struct stat st;

	(void)state;
	snprintf(fresh, sizeof(fresh), "%s/fresh.pub", dir);
	assert_int_equal(crypt_keygen_files(fresh, sec_path, NULL, err, sizeof(err)), CT_EINVAL);
	assert_err_contains(err, "refusing to overwrite");
	assert_int_equal(stat(fresh, &st), -1); /* the half that was made is gone */
	assert_int_equal(crypt_keygen_files(pub_path, fresh, NULL, err, sizeof(err)), CT_EINVAL);
	assert_int_equal(stat(fresh, &st), -1);
}

static void
test_public_key_given_as_secret_is_named(void **state)
{
	struct crypt_secret_key *sk = NULL;
	char copy[96], cmd[256], err[512] = "";

	(void)state;
	snprintf(copy, sizeof(copy), "%s/pub-as-sec", dir);
	snprintf(cmd, sizeof(cmd), "install -m 600 '%s' '%s'", pub_path, copy);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(crypt_secret_key_load(copy, &sk, err, sizeof(err)), CT_EINVAL);
	assert_err_contains(err, "this is a public key");
	assert_int_equal(
	    crypt_public_key_load(sec_path, &(struct crypt_public_key){0}, err, sizeof(err)),
	    CT_EINVAL);
	assert_err_contains(err, "this is a secret key");
}

static void
test_damaged_key_file_is_refused(void **state)
{
	struct crypt_public_key pk;
	char path[96], err[256] = "";
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/short.pub", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("caretaker-public-key-v1 AAAA\n", f);
	fclose(f);
	assert_int_equal(crypt_public_key_load(path, &pk, err, sizeof(err)), CT_EINVAL);
	assert_err_contains(err, "not 32 bytes");
}

/* ---- without the key ---- */

static int
check_bytes(const struct bytes *file, size_t len, struct crypt_stats *st, char *err)
{
	int fd = fd_with(file->data, len);
	int rc = crypt_check_framing(fd, st, err, 256);

	close(fd);
	return rc;
}

static void
test_framing_check_passes_a_whole_file(void **state)
{
	unsigned char *in = make_input(5 * CHUNK + 9);
	struct bytes file = {0};
	struct crypt_public_key pk;
	struct crypt_stats st;
	char err[256] = "";

	(void)state;
	encrypt_bytes(pub_path, in, 5 * CHUNK + 9, &file);
	assert_int_equal(check_bytes(&file, file.len, &st, err), 0);
	assert_int_equal(st.n_chunks, 6);
	assert_int_equal(st.plain_bytes, 5 * CHUNK + 9);
	assert_int_equal(st.file_bytes, file.len);
	assert_int_equal(crypt_public_key_load(pub_path, &pk, err, sizeof(err)), 0);
	assert_string_equal(st.key_id, pk.id);
	assert_int_equal(strlen(st.file_sha256), 64);
	free(in);
	free(file.data);
}

static void
test_framing_check_catches_truncation_anywhere(void **state)
{
	unsigned char *in = make_input(2 * CHUNK + 9);
	struct bytes file = {0};
	struct crypt_stats st;
	char err[256] = "";

	(void)state;
	encrypt_bytes(pub_path, in, 2 * CHUNK + 9, &file);
	for (size_t cut = 0; cut < file.len; cut += cut < 2 * HEADER ? 1 : 997)
		if (check_bytes(&file, cut, &st, err) != CT_ECORRUPT) {
			print_error("cut at %zu passed the framing check\n", cut);
			fail();
		}
	assert_int_equal(check_bytes(&file, HEADER + 2 * FULL_CHUNK, &st, err), CT_ECORRUPT);
	assert_err_contains(err, "final one is missing");
	free(in);
	free(file.data);
}

static void
test_framing_check_cannot_see_a_flipped_byte_but_the_sha256_does(void **state)
{
	unsigned char *in = make_input(CHUNK + 9);
	struct bytes file = {0};
	struct crypt_stats good, bad;
	char err[256] = "";

	(void)state;
	encrypt_bytes(pub_path, in, CHUNK + 9, &file);
	assert_int_equal(check_bytes(&file, file.len, &good, err), 0);
	file.data[HEADER + 100] ^= 1;
	assert_int_equal(check_bytes(&file, file.len, &bad, err), 0);
	assert_string_not_equal(good.file_sha256, bad.file_sha256);
	free(in);
	free(file.data);
}

/* ---- as stages of the compression writer and the verifier ---- */

/* Compresses and encrypts `len` bytes into a temp file (at offset 0). */
static int
compress_encrypt(enum compress_kind kind, const void *data, size_t len, struct compress_stats *st)
{
	struct compress_writer *w = NULL;
	struct crypt_writer *cw = NULL;
	struct compress_out_stage stage;
	struct crypt_public_key pk;
	char err[320] = "";
	int fd = temp_fd();

	assert_int_equal(crypt_public_key_load(pub_path, &pk, err, sizeof(err)), 0);
	assert_int_equal(crypt_writer_new(&pk, &cw, err, sizeof(err)), 0);
	crypt_writer_out_stage(cw, &stage);
	assert_int_equal(compress_writer_new(fd,
	                                     &(struct compress_writer_params){
	                                         .kind = kind,
	                                         .n_threads = 2,
	                                         .block_bytes = COMPRESS_BLOCK_MIN_BYTES,
	                                         .stage = &stage},
	                                     &w, err, sizeof(err)),
	                 0);
	assert_int_equal(compress_writer_write(w, data, len, err, sizeof(err)), 0);
	assert_int_equal(compress_writer_finish(w, st, err, sizeof(err)), 0);
	compress_writer_free(w);
	crypt_writer_free(cw);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static int
verify_encrypted(int fd, enum compress_kind kind, const struct compress_expect *expect,
                 struct bytes *out, char *err)
{
	struct crypt_secret_key *sk = NULL;
	struct crypt_reader *r = NULL;
	struct compress_in_stage stage;
	int rc;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(crypt_secret_key_load(sec_path, &sk, err, 320), 0);
	assert_int_equal(crypt_reader_new(sk, &r, err, 320), 0);
	crypt_reader_in_stage(r, &stage);
	rc = compress_file_verify(fd,
	                          &(struct compress_verify_params){.kind = kind,
	                                                           .n_threads = 2,
	                                                           .expect = expect,
	                                                           .stage = &stage,
	                                                           .data_cb = collect_data_cb,
	                                                           .data_ctx = out},
	                          NULL, err, 320);
	crypt_reader_free(r);
	crypt_secret_key_free(sk);
	return rc;
}

static void
staged_round_trip(enum compress_kind kind)
{
	size_t len = 5 * COMPRESS_BLOCK_MIN_BYTES + 17;
	unsigned char *in = make_input(len);
	struct compress_stats st = {0};
	struct crypt_stats framing;
	struct bytes out = {0};
	char err[320] = "";
	int fd = compress_encrypt(kind, in, len, &st);
	struct compress_expect expect = {st.raw_sha256, st.stored_sha256, st.blocks, st.n_blocks};

	/* The writer's file digest is of the file on disk: the ciphertext. */
	assert_int_equal(crypt_check_framing(fd, &framing, err, sizeof(err)), 0);
	assert_string_equal(st.stored_sha256, framing.file_sha256);
	assert_int_equal(st.stored_bytes, framing.file_bytes);
	assert_int_equal(verify_encrypted(fd, kind, &expect, &out, err), 0);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, in, len);
	compress_stats_free(&st);
	free(out.data);
	free(in);
	close(fd);
}

static void
test_zstd_then_encryption_round_trips_through_the_verifier(void **state)
{
	(void)state;
	staged_round_trip(COMPRESS_ZSTD);
}

static void
test_gzip_then_encryption_round_trips_through_the_verifier(void **state)
{
	(void)state;
	staged_round_trip(COMPRESS_GZIP);
}

static void
test_none_then_encryption_round_trips_through_the_verifier(void **state)
{
	(void)state;
	staged_round_trip(COMPRESS_NONE);
}

static void
test_verifier_names_the_damaged_chunk_of_an_encrypted_file(void **state)
{
	size_t len = 3 * COMPRESS_BLOCK_MIN_BYTES;
	unsigned char *in = make_input(len), byte;
	struct compress_stats st = {0};
	struct bytes out = {0};
	char err[320] = "";
	int fd = compress_encrypt(COMPRESS_ZSTD, in, len, &st);
	off_t at = HEADER + FULL_CHUNK + 10;

	(void)state;
	assert_int_equal(pread(fd, &byte, 1, at), 1);
	byte ^= 0x80;
	assert_int_equal(pwrite(fd, &byte, 1, at), 1);
	assert_int_equal(verify_encrypted(fd, COMPRESS_ZSTD, NULL, &out, err), CT_ECORRUPT);
	assert_err_contains(err, "chunk 1 at offset");
	compress_stats_free(&st);
	free(out.data);
	free(in);
	close(fd);
}

static void
test_verifier_compares_the_manifest_digest_with_the_ciphertext(void **state)
{
	unsigned char *in = make_input(1000);
	struct compress_stats st = {0};
	struct compress_expect expect = {0};
	struct bytes out = {0};
	char err[320] = "";
	int fd = compress_encrypt(COMPRESS_GZIP, in, 1000, &st);

	(void)state;
	expect.stored_sha256 = st.raw_sha256; /* the wrong one */
	assert_int_equal(verify_encrypted(fd, COMPRESS_GZIP, &expect, &out, err), CT_ECORRUPT);
	assert_err_contains(err, "SHA-256 of the file");
	compress_stats_free(&st);
	free(out.data);
	free(in);
	close(fd);
}

static void
test_writer_refuses_bytes_after_the_end(void **state)
{
	struct crypt_writer *w = NULL;
	struct crypt_public_key pk;
	struct bytes file = {0};
	const struct compress_sink to = {collect_cb, &file};
	char err[256] = "";

	(void)state;
	assert_int_equal(crypt_public_key_load(pub_path, &pk, err, sizeof(err)), 0);
	assert_int_equal(crypt_writer_new(&pk, &w, err, sizeof(err)), 0);
	assert_int_equal(crypt_writer_push(w, "abc", 3, 1, &to, err, sizeof(err)), 0);
	assert_int_equal(crypt_writer_push(w, "d", 1, 0, &to, err, sizeof(err)), CT_EINVAL);
	assert_err_contains(err, "after the end");
	crypt_writer_free(w);
	free(file.data);
}

static void
test_free_functions_accept_null(void **state)
{
	(void)state;
	crypt_writer_free(NULL);
	crypt_reader_free(NULL);
	crypt_secret_key_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trips_empty_input),
	    cmocka_unit_test(test_round_trips_one_byte),
	    cmocka_unit_test(test_round_trips_one_byte_short_of_a_chunk),
	    cmocka_unit_test(test_round_trips_exactly_one_chunk),
	    cmocka_unit_test(test_round_trips_many_chunks),
	    cmocka_unit_test(test_same_input_encrypts_differently_each_time),
	    cmocka_unit_test(test_wrong_key_fails_naming_both_key_ids),
	    cmocka_unit_test(test_truncation_inside_the_header_fails),
	    cmocka_unit_test(test_truncation_right_after_the_header_fails),
	    cmocka_unit_test(test_truncation_inside_a_chunk_fails_naming_it),
	    cmocka_unit_test(test_truncation_at_a_chunk_boundary_fails),
	    cmocka_unit_test(test_empty_file_fails),
	    cmocka_unit_test(test_data_after_the_final_chunk_fails),
	    cmocka_unit_test(test_a_flipped_byte_in_any_chunk_fails_naming_the_chunk),
	    cmocka_unit_test(test_a_changed_length_prefix_fails),
	    cmocka_unit_test(test_any_changed_header_byte_fails),
	    cmocka_unit_test(test_changed_magic_says_not_an_encrypted_file),
	    cmocka_unit_test(test_secret_key_readable_by_others_is_refused),
	    cmocka_unit_test(test_secret_key_readable_by_group_is_refused),
	    cmocka_unit_test(test_keygen_writes_secret_0600_and_public_0644),
	    cmocka_unit_test(test_keygen_refuses_to_overwrite_and_leaves_nothing),
	    cmocka_unit_test(test_public_key_given_as_secret_is_named),
	    cmocka_unit_test(test_damaged_key_file_is_refused),
	    cmocka_unit_test(test_framing_check_passes_a_whole_file),
	    cmocka_unit_test(test_framing_check_catches_truncation_anywhere),
	    cmocka_unit_test(test_framing_check_cannot_see_a_flipped_byte_but_the_sha256_does),
	    cmocka_unit_test(test_zstd_then_encryption_round_trips_through_the_verifier),
	    cmocka_unit_test(test_gzip_then_encryption_round_trips_through_the_verifier),
	    cmocka_unit_test(test_none_then_encryption_round_trips_through_the_verifier),
	    cmocka_unit_test(test_verifier_names_the_damaged_chunk_of_an_encrypted_file),
	    cmocka_unit_test(test_verifier_compares_the_manifest_digest_with_the_ciphertext),
	    cmocka_unit_test(test_writer_refuses_bytes_after_the_end),
	    cmocka_unit_test(test_free_functions_accept_null),
	};

	return cmocka_run_group_tests_name("crypt", tests, group_setup, group_teardown);
}
