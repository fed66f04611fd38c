/*
 * test_backupcheck.c — the L2 check that follows a backup file while it is
 * written (plugins/lib/backupcheck_follow.c), in the mode the backup plugin
 * uses for gzip and zstd: the writer leaves both SHA-256 digests to the
 * check, so the check alone must notice a file that is not what the writer
 * wrote, through the block list and each block's own checksum.
 *
 * Files are real (mkdtemp); the check runs its real threads.  The stream
 * is SQL-like text that ends with pg_dump's completion line, so that a
 * pass is L2's whole pass.
 */
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

#include <openssl/evp.h>

#include <caretaker/errors.h>

#include "backupcheck.h"
#include "compress.h"
#include "manifest.h"

#define BLOCK COMPRESS_BLOCK_MIN_BYTES

static const char completion[] = "\n--\n-- PostgreSQL database dump complete\n--\n\n";

struct fixture {
	char dir[64];
	char path[96];
};

/* SQL-like text of about `len` bytes, `seed` making it differ, ending with
 * pg_dump's completion line.  Sets *out_len. */
static unsigned char *
make_dump(size_t len, uint32_t seed, size_t *out_len)
{
	unsigned char *p = malloc(len + sizeof(completion));
	size_t i = 0;
	uint32_t x = seed;

	assert_non_null(p);
	while (i + 64 < len) {
		x = x * 1103515245u + 12345u;
		i += (size_t)sprintf((char *)p + i, "%u\tpatient %u\t2024-05-%02u\n", x >> 8,
		                     x % 5000, x % 28 + 1);
	}
	memcpy(p + i, completion, sizeof(completion) - 1);
	*out_len = i + sizeof(completion) - 1;
	return p;
}

static void
sha256_hex(const void *buf, size_t len, char out[COMPRESS_SHA256_HEX_SIZE])
{
	unsigned char md[32];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* Writes `data` to `path` as `kind`; *st gets the writer's record.  As in
 * the backup plugin while a check follows, the writer leaves its digests
 * for gzip and zstd, and keeps them for none. */
static void
write_backup(const char *path, enum compress_kind kind, const unsigned char *data, size_t len,
             struct compress_stats *st)
{
	struct compress_writer *w = NULL;
	char err[256] = "";
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(compress_writer_new(fd,
	                                     &(struct compress_writer_params){.kind = kind,
	                                                                      .n_threads = 2,
	                                                                      .block_bytes = BLOCK},
	                                     &w, err, sizeof(err)),
	                 0);
	if (kind != COMPRESS_NONE)
		assert_int_equal(compress_writer_leave_digests(w, err, sizeof(err)), 0);
	assert_int_equal(compress_writer_write(w, data, len, err, sizeof(err)), 0);
	assert_int_equal(compress_writer_finish(w, st, err, sizeof(err)), 0);
	compress_writer_free(w);
	assert_int_equal(fsync(fd), 0);
	close(fd);
}

static struct manifest
manifest_of(enum compress_kind kind, const struct compress_stats *st)
{
	struct manifest m = {.name = "t",
	                     .file = "t.sql",
	                     .format = "plain",
	                     .compress = kind,
	                     .block_bytes = BLOCK,
	                     .raw_bytes = st->raw_bytes,
	                     .stored_bytes = st->stored_bytes,
	                     .blocks = st->blocks,
	                     .n_blocks = st->n_blocks};

	memcpy(m.raw_sha256, st->raw_sha256, sizeof(m.raw_sha256));
	memcpy(m.stored_sha256, st->stored_sha256, sizeof(m.stored_sha256));
	return m;
}

/* Starts a check that follows `path` (complete by now) and finishes it
 * against the writer's record `st`. */
static int
follow(const char *path, enum compress_kind kind, const struct compress_stats *st,
       struct backupcheck_result *r)
{
	struct manifest m0 = {.format = "plain", .compress = kind}, m = manifest_of(kind, st);
	struct backupcheck_opts o = {.path = path, .m = &m0, .n_threads = 1};
	struct backupcheck_follow *f = NULL;
	char err[256] = "";

	assert_int_equal(backupcheck_follow_start(&o, &f, err, sizeof(err)), 0);
	assert_true(backupcheck_follow_gives_digests(f));
	return backupcheck_follow_finish(f, &m, r);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/ct-test-backupcheck-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/backup.partial", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Each case below runs for gzip and for zstd, as its own test, so that a
 * failure names the kind. */
#define BOTH_KINDS(name, fn)                                                                       \
	static void test_gzip_##name(void **state)                                                 \
	{                                                                                          \
		fn(state, COMPRESS_GZIP);                                                          \
	}                                                                                          \
	static void test_zstd_##name(void **state)                                                 \
	{                                                                                          \
		fn(state, COMPRESS_ZSTD);                                                          \
	}

/* The check passes L2 and gives the digests of the stream and the file. */
static void
passes_and_gives_digests(void **state, enum compress_kind kind)
{
	struct fixture *fx = *state;
	struct compress_stats st = {0};
	struct backupcheck_result r;
	size_t len;
	unsigned char *dump = make_dump(9 * BLOCK, 7, &len), *file;
	char want_raw[COMPRESS_SHA256_HEX_SIZE], want_file[COMPRESS_SHA256_HEX_SIZE];
	struct stat sb;
	int fd;

	write_backup(fx->path, kind, dump, len, &st);
	assert_string_equal(st.raw_sha256, "");
	assert_int_equal(follow(fx->path, kind, &st, &r), 0);
	assert_int_equal(r.passed, MANIFEST_L2);
	sha256_hex(dump, len, want_raw);
	assert_string_equal(r.raw_sha256, want_raw);
	assert_int_equal(stat(fx->path, &sb), 0);
	file = malloc((size_t)sb.st_size);
	fd = open(fx->path, O_RDONLY);
	assert_int_equal(read(fd, file, (size_t)sb.st_size), sb.st_size);
	close(fd);
	sha256_hex(file, (size_t)sb.st_size, want_file);
	assert_string_equal(r.stored_sha256, want_file);
	free(file);
	free(dump);
	compress_stats_free(&st);
}

BOTH_KINDS(follow_passes_and_gives_digests, passes_and_gives_digests)

/* A file that is a whole, valid backup of the same shape, but not the one
 * the writer wrote: every block decompresses and the dump is complete, so
 * only the block list can tell.  The record's size is made to match, so
 * that the size check does not catch it first. */
static void
another_valid_file_is_caught(void **state, enum compress_kind kind)
{
	struct fixture *fx = *state;
	struct compress_stats st = {0}, other = {0};
	struct backupcheck_result r;
	size_t len, len2;
	/* Both streams stay under 6 blocks: the same number of blocks. */
	unsigned char *dump = make_dump(6 * BLOCK - 1000, 1, &len),
	              *dump2 = make_dump(6 * BLOCK - 1000, 2, &len2);

	write_backup(fx->path, kind, dump, len, &st);      /* what the writer wrote */
	write_backup(fx->path, kind, dump2, len2, &other); /* what is on disk */
	assert_int_equal(st.n_blocks, other.n_blocks);
	st.stored_bytes = other.stored_bytes;
	assert_int_equal(follow(fx->path, kind, &st, &r), CT_ECORRUPT);
	assert_non_null(strstr(r.detail, "another block than the writer wrote"));
	free(dump);
	free(dump2);
	compress_stats_free(&st);
	compress_stats_free(&other);
}

BOTH_KINDS(follow_catches_another_valid_file, another_valid_file_is_caught)

/* One byte changed inside the third block after the writer was done. */
static void
flipped_byte_is_caught(void **state, enum compress_kind kind)
{
	struct fixture *fx = *state;
	struct compress_stats st = {0};
	struct backupcheck_result r;
	size_t len;
	unsigned char *dump = make_dump(6 * BLOCK, 3, &len), byte;
	off_t at;
	int fd;

	write_backup(fx->path, kind, dump, len, &st);
	assert_true(st.n_blocks >= 3);
	at = (off_t)(st.blocks[2].offset + st.blocks[2].stored_bytes / 2);
	fd = open(fx->path, O_RDWR);
	assert_int_equal(pread(fd, &byte, 1, at), 1);
	byte ^= 0x10;
	assert_int_equal(pwrite(fd, &byte, 1, at), 1);
	close(fd);
	assert_int_equal(follow(fx->path, kind, &st, &r), CT_ECORRUPT);
	assert_non_null(strstr(r.detail, "block 2"));
	free(dump);
	compress_stats_free(&st);
}

BOTH_KINDS(follow_catches_flipped_byte, flipped_byte_is_caught)

/* An uncompressed file has no block checksums: the writer's digests are
 * required, and a record without them is refused, not passed. */
static void
test_follow_refuses_missing_digests_without_block_checksums(void **state)
{
	struct fixture *fx = *state;
	struct compress_stats st = {0};
	struct backupcheck_result r;
	struct backupcheck_follow *f = NULL;
	struct manifest m0 = {.format = "plain", .compress = COMPRESS_NONE}, m;
	struct backupcheck_opts o = {.path = fx->path, .m = &m0, .n_threads = 1};
	size_t len;
	unsigned char *dump = make_dump(2 * BLOCK, 4, &len);
	char err[256] = "";

	write_backup(fx->path, COMPRESS_NONE, dump, len, &st);
	m = manifest_of(COMPRESS_NONE, &st);
	m.raw_sha256[0] = m.stored_sha256[0] = '\0';
	assert_int_equal(backupcheck_follow_start(&o, &f, err, sizeof(err)), 0);
	assert_false(backupcheck_follow_gives_digests(f));
	assert_int_equal(backupcheck_follow_finish(f, &m, &r), CT_EINVAL);
	assert_non_null(strstr(r.detail, "recorded no SHA-256"));
	free(dump);
	compress_stats_free(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_gzip_follow_passes_and_gives_digests, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_zstd_follow_passes_and_gives_digests, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_gzip_follow_catches_another_valid_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_zstd_follow_catches_another_valid_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_gzip_follow_catches_flipped_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zstd_follow_catches_flipped_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_follow_refuses_missing_digests_without_block_checksums, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
