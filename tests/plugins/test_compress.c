/*
 * test_compress.c — tests of plugins/lib (libctcompress): the streaming
 * writer, the verifier, the on-disk format as the standard tools see it, and
 * the ways a backup file goes bad (truncation, flipped bytes, failed writes).
 *
 * Files are anonymous (mkstemp, then unlink), so a failing test leaves
 * nothing behind.  `gunzip` and `zstd` run as real child processes; a test
 * that needs a tool the machine lacks is skipped, not passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "compress.h"
#include "../skip.h"

#define BLOCK COMPRESS_BLOCK_MIN_BYTES
#define THREADS 2

/* A growing byte buffer, filled by the verifier's callback or a child. */
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
collect_cb(const void *buf, size_t len, void *ctx)
{
	bytes_append(ctx, buf, len);
	return 0;
}

/* SQL-like text: compressible, yet different in every block. */
static unsigned char *
make_input(size_t len)
{
	unsigned char *p = malloc(len + 1);
	uint32_t x = 12345;
	size_t i = 0;
	int n;

	assert_non_null(p);
	while (i < len) {
		x = x * 1103515245u + 12345u;
		n = snprintf((char *)p + i, len + 1 - i,
		             "%u\tpatient %u\t2024-05-%02u\t10.0.%u.%u\n", x >> 8, x % 5000,
		             x % 28 + 1, x % 250, (x >> 16) % 250);
		i += (size_t)n < len - i ? (size_t)n : len - i;
	}
	return p;
}

static int
temp_fd(void)
{
	char path[] = "/tmp/ct-test-compress-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

#define assert_err_contains(err, needle)                                                           \
	do {                                                                                       \
		if (strstr((err), (needle)) == NULL) {                                             \
			print_error("expected a message containing \"%s\", got \"%s\"\n",          \
			            (needle), (err));                                              \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

/* A writer of `kind` into `fd` with the tests' THREADS and BLOCK. */
static int
writer_new(int fd, enum compress_kind kind, struct compress_writer **w, char *err, size_t err_size)
{
	const struct compress_writer_params p = {
	    .kind = kind, .n_threads = THREADS, .block_bytes = BLOCK};

	return compress_writer_new(fd, &p, w, err, err_size);
}

/* Compresses `len` bytes into a new temp file; returns its fd at offset 0. */
static int
compress_to_fd(enum compress_kind kind, const void *data, size_t len, struct compress_stats *st)
{
	struct compress_writer *w = NULL;
	const unsigned char *p = data;
	char err[256] = "";
	size_t piece;
	int fd = temp_fd();

	assert_int_equal(writer_new(fd, kind, &w, err, sizeof(err)), 0);
	/* Odd-sized writes, so that blocks fill across write calls. */
	for (size_t done = 0; done < len; done += piece) {
		piece = len - done < 7777 ? len - done : 7777;
		assert_int_equal(compress_writer_write(w, p + done, piece, err, sizeof(err)), 0);
	}
	assert_int_equal(compress_writer_finish(w, st, err, sizeof(err)), 0);
	compress_writer_free(w);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static int
verify_fd(int fd, enum compress_kind kind, const struct compress_expect *expect, struct bytes *out,
          char *err, size_t err_size)
{
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return compress_file_verify(fd,
	                            &(struct compress_verify_params){.kind = kind,
	                                                             .n_threads = THREADS,
	                                                             .expect = expect,
	                                                             .data_cb = collect_cb,
	                                                             .data_ctx = out},
	                            NULL, err, err_size);
}

static void
round_trip(enum compress_kind kind, size_t len)
{
	struct compress_stats st = {0};
	struct bytes out = {0};
	char err[256] = "";
	unsigned char *in = make_input(len);
	int fd = compress_to_fd(kind, in, len, &st);

	assert_int_equal(verify_fd(fd, kind, NULL, &out, err, sizeof(err)), 0);
	assert_int_equal(out.len, len);
	assert_true(len == 0 || memcmp(out.data, in, len) == 0);
	assert_int_equal(st.raw_bytes, len);
	assert_int_equal(st.n_blocks, (len + BLOCK - 1) / BLOCK);
	assert_int_equal(st.stored_bytes, lseek(fd, 0, SEEK_END));
	compress_stats_free(&st);
	free(out.data);
	free(in);
	close(fd);
}

/* Each round trip is its own test, so a failure names kind and size. */
#define ROUND_TRIP_TEST(name, kind, len)                                                           \
	static void name(void **state)                                                             \
	{                                                                                          \
		(void)state;                                                                       \
		round_trip((kind), (len));                                                         \
	}

ROUND_TRIP_TEST(test_none_round_trips_empty_input, COMPRESS_NONE, 0)
ROUND_TRIP_TEST(test_none_round_trips_tiny_input, COMPRESS_NONE, 5)
ROUND_TRIP_TEST(test_none_round_trips_one_exact_block, COMPRESS_NONE, BLOCK)
ROUND_TRIP_TEST(test_none_round_trips_many_blocks, COMPRESS_NONE, 7 * BLOCK + 123)
ROUND_TRIP_TEST(test_gzip_round_trips_empty_input, COMPRESS_GZIP, 0)
ROUND_TRIP_TEST(test_gzip_round_trips_tiny_input, COMPRESS_GZIP, 5)
ROUND_TRIP_TEST(test_gzip_round_trips_one_exact_block, COMPRESS_GZIP, BLOCK)
ROUND_TRIP_TEST(test_gzip_round_trips_many_blocks, COMPRESS_GZIP, 7 * BLOCK + 123)
ROUND_TRIP_TEST(test_zstd_round_trips_empty_input, COMPRESS_ZSTD, 0)
ROUND_TRIP_TEST(test_zstd_round_trips_tiny_input, COMPRESS_ZSTD, 5)
ROUND_TRIP_TEST(test_zstd_round_trips_one_exact_block, COMPRESS_ZSTD, BLOCK)
ROUND_TRIP_TEST(test_zstd_round_trips_many_blocks, COMPRESS_ZSTD, 7 * BLOCK + 123)

static void
test_stats_describe_contiguous_blocks(void **state)
{
	struct compress_stats st = {0};
	unsigned char *in = make_input(3 * BLOCK + 1);
	uint64_t offset = 0, raw = 0;
	int fd = compress_to_fd(COMPRESS_GZIP, in, 3 * BLOCK + 1, &st);

	(void)state;
	assert_int_equal(st.n_blocks, 4);
	for (size_t i = 0; i < st.n_blocks; i++) {
		assert_int_equal(st.blocks[i].offset, offset);
		offset += st.blocks[i].stored_bytes;
		raw += st.blocks[i].raw_bytes;
	}
	assert_int_equal(raw, st.raw_bytes);
	assert_true(offset < st.stored_bytes); /* the end marker follows */
	assert_int_equal(strlen(st.raw_sha256), 64);
	compress_stats_free(&st);
	free(in);
	close(fd);
}

/* Runs argv with `in_fd` as stdin and collects its stdout; returns the exit
 * status, or -1 when the program is not installed. */
static int
run_tool(char *const argv[], int in_fd, struct bytes *out)
{
	unsigned char buf[65536];
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in_fd, 0);
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], buf, sizeof(buf))) > 0)
		bytes_append(out, buf, (size_t)n);
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void
tool_reads_output(enum compress_kind kind, char *const argv[])
{
	struct compress_stats st = {0};
	struct bytes out = {0};
	size_t len = 5 * BLOCK + 999;
	unsigned char *in = make_input(len);
	int fd = compress_to_fd(kind, in, len, &st), status;

	status = run_tool(argv, fd, &out);
	if (status == -1) {
		free(in);
		close(fd);
		skip_outside_ci("%s is not installed", argv[0]);
	}
	assert_int_equal(status, 0);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, in, len);
	compress_stats_free(&st);
	free(out.data);
	free(in);
	close(fd);
}

static void
test_gunzip_reads_gzip_output(void **state)
{
	char *argv[] = {"gunzip", "-c", NULL};

	(void)state;
	tool_reads_output(COMPRESS_GZIP, argv);
}

static void
test_zstd_tool_reads_zstd_output(void **state)
{
	char *argv[] = {"zstd", "-q", "-d", "-c", NULL};

	(void)state;
	tool_reads_output(COMPRESS_ZSTD, argv);
}

/* Compresses with a standard tool, then verifies with the library. */
static void
reader_reads_tool_output(enum compress_kind kind, char *const argv[])
{
	struct bytes packed = {0}, out = {0};
	size_t len = 3 * BLOCK + 17;
	unsigned char *in = make_input(len);
	char err[256] = "";
	int in_fd = temp_fd(), fd = temp_fd(), status;

	assert_int_equal(write(in_fd, in, len), (ssize_t)len);
	assert_int_equal(lseek(in_fd, 0, SEEK_SET), 0);
	status = run_tool(argv, in_fd, &packed);
	close(in_fd);
	if (status == -1) {
		free(in);
		close(fd);
		skip_outside_ci("%s is not installed", argv[0]);
	}
	assert_int_equal(status, 0);
	assert_int_equal(write(fd, packed.data, packed.len), (ssize_t)packed.len);
	assert_int_equal(verify_fd(fd, kind, NULL, &out, err, sizeof(err)), 0);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, in, len);
	free(packed.data);
	free(out.data);
	free(in);
	close(fd);
}

static void
test_reader_accepts_plain_gzip_file(void **state)
{
	char *argv[] = {"gzip", "-c", NULL};

	(void)state;
	reader_reads_tool_output(COMPRESS_GZIP, argv);
}

static void
test_reader_accepts_zstd_tool_file(void **state)
{
	char *argv[] = {"zstd", "-q", "-c", NULL};

	(void)state;
	reader_reads_tool_output(COMPRESS_ZSTD, argv);
}

/* Compresses 4 blocks, damages the file, then verifies it with or without
 * the manifest; the verifier's result and message end up in here. */
struct damaged {
	struct compress_stats st;
	char err[512];
	int rc;
};

typedef void (*damage_fn)(int fd, const struct compress_stats *st);

static void
verify_damaged(enum compress_kind kind, damage_fn damage, int use_manifest, struct damaged *d)
{
	struct compress_expect expect = {0};
	struct bytes out = {0};
	unsigned char *in = make_input(4 * BLOCK);
	int fd = compress_to_fd(kind, in, 4 * BLOCK, &d->st);

	damage(fd, &d->st);
	if (use_manifest) {
		expect.raw_sha256 = d->st.raw_sha256;
		expect.stored_sha256 = d->st.stored_sha256;
		expect.blocks = d->st.blocks;
		expect.n_blocks = d->st.n_blocks;
	}
	d->err[0] = '\0';
	d->rc = verify_fd(fd, kind, &expect, &out, d->err, sizeof(d->err));
	free(out.data);
	free(in);
	close(fd);
}

static void
flip_byte_in_block_2(int fd, const struct compress_stats *st)
{
	off_t at = (off_t)(st->blocks[2].offset + st->blocks[2].stored_bytes / 2);
	unsigned char byte;

	assert_int_equal(pread(fd, &byte, 1, at), 1);
	byte ^= 0x10;
	assert_int_equal(pwrite(fd, &byte, 1, at), 1);
}

static void
cut_inside_block_3(int fd, const struct compress_stats *st)
{
	assert_int_equal(ftruncate(fd, (off_t)(st->blocks[3].offset + 10)), 0);
}

static void
cut_after_block_1(int fd, const struct compress_stats *st)
{
	assert_int_equal(ftruncate(fd, (off_t)(st->blocks[2].offset)), 0);
}

static void
append_garbage(int fd, const struct compress_stats *st)
{
	assert_int_equal(pwrite(fd, "x", 1, (off_t)st->stored_bytes), 1);
}

static void
expect_damage(enum compress_kind kind, damage_fn damage, int use_manifest, const char *needle)
{
	struct damaged d = {0};
	char where[64];

	verify_damaged(kind, damage, use_manifest, &d);
	assert_int_equal(d.rc, CT_ECORRUPT);
	if (damage == flip_byte_in_block_2) {
		snprintf(where, sizeof(where), "block 2 at offset %llu",
		         (unsigned long long)d.st.blocks[2].offset);
		assert_err_contains(d.err, where);
	}
	assert_err_contains(d.err, needle);
	compress_stats_free(&d.st);
}

static void
test_gzip_flipped_byte_names_block(void **state)
{
	(void)state;
	expect_damage(COMPRESS_GZIP, flip_byte_in_block_2, 0, "CRC-32");
}

static void
test_zstd_flipped_byte_names_block(void **state)
{
	(void)state;
	expect_damage(COMPRESS_ZSTD, flip_byte_in_block_2, 0, "zstd");
}

static void
test_flipped_byte_is_named_by_manifest_crc(void **state)
{
	(void)state;
	expect_damage(COMPRESS_GZIP, flip_byte_in_block_2, 1, "manifest says");
}

static void
test_none_flipped_byte_is_named_by_manifest_crc(void **state)
{
	(void)state;
	expect_damage(COMPRESS_NONE, flip_byte_in_block_2, 1, "stored bytes damaged");
}

static void
test_gzip_truncated_inside_block_is_detected(void **state)
{
	(void)state;
	expect_damage(COMPRESS_GZIP, cut_inside_block_3, 0, "block 3");
}

static void
test_zstd_truncated_inside_block_is_detected(void **state)
{
	(void)state;
	expect_damage(COMPRESS_ZSTD, cut_inside_block_3, 0, "truncated");
}

static void
test_gzip_cut_between_blocks_is_detected(void **state)
{
	(void)state;
	expect_damage(COMPRESS_GZIP, cut_after_block_1, 0, "without the end marker");
}

static void
test_none_truncation_is_detected_by_manifest(void **state)
{
	(void)state;
	expect_damage(COMPRESS_NONE, cut_after_block_1, 1, "truncated");
}

static void
test_data_after_end_marker_is_detected(void **state)
{
	(void)state;
	expect_damage(COMPRESS_ZSTD, append_garbage, 0, "after the end marker");
}

static void
test_manifest_sha256_mismatch_is_reported(void **state)
{
	struct compress_stats st = {0};
	struct compress_expect expect = {0};
	unsigned char *in = make_input(1000);
	char err[512] = "";
	int fd = compress_to_fd(COMPRESS_GZIP, in, 1000, &st);

	(void)state;
	expect.raw_sha256 = "00000000000000000000000000000000000000000000000000000000000000ff";
	assert_int_equal(
	    compress_file_verify(fd,
	                         &(struct compress_verify_params){
	                             .kind = COMPRESS_GZIP, .n_threads = 1, .expect = &expect},
	                         NULL, err, sizeof(err)),
	    CT_ECORRUPT);
	assert_err_contains(err, "SHA-256 of the uncompressed stream");
	compress_stats_free(&st);
	free(in);
	close(fd);
}

static void
test_plain_gzip_truncated_is_detected(void **state)
{
	char *argv[] = {"gzip", "-c", NULL};
	struct bytes packed = {0};
	unsigned char *in = make_input(BLOCK);
	char err[512] = "";
	int in_fd = temp_fd(), fd = temp_fd();

	(void)state;
	assert_int_equal(write(in_fd, in, BLOCK), (ssize_t)BLOCK);
	assert_int_equal(lseek(in_fd, 0, SEEK_SET), 0);
	assert_int_equal(run_tool(argv, in_fd, &packed), 0);
	assert_int_equal(write(fd, packed.data, packed.len / 2), (ssize_t)(packed.len / 2));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(
	    compress_file_verify(
	        fd, &(struct compress_verify_params){.kind = COMPRESS_GZIP, .n_threads = 1}, NULL,
	        err, sizeof(err)),
	    CT_ECORRUPT);
	assert_err_contains(err, "truncated");
	free(packed.data);
	free(in);
	close(in_fd);
	close(fd);
}

static int
failing_cb(const void *buf, size_t len, void *ctx)
{
	(void)buf;
	(void)len;
	(void)ctx;
	return CT_ECANCELED;
}

static void
test_data_callback_error_stops_verify(void **state)
{
	struct compress_stats st = {0};
	unsigned char *in = make_input(3 * BLOCK);
	char err[512] = "";
	int fd = compress_to_fd(COMPRESS_ZSTD, in, 3 * BLOCK, &st);

	(void)state;
	assert_int_equal(
	    compress_file_verify(fd,
	                         &(struct compress_verify_params){.kind = COMPRESS_ZSTD,
	                                                          .n_threads = THREADS,
	                                                          .data_cb = failing_cb},
	                         NULL, err, sizeof(err)),
	    CT_ECANCELED);
	assert_err_contains(err, "callback");
	compress_stats_free(&st);
	free(in);
	close(fd);
}

/* Writes `len` bytes of input to a writer on `fd` and returns the first
 * error from write or finish. */
static int
write_until_error(int fd, size_t len, char *err, size_t err_size)
{
	struct compress_writer *w = NULL;
	struct compress_stats st = {0};
	unsigned char *in = make_input(len);
	int rc;

	assert_int_equal(writer_new(fd, COMPRESS_GZIP, &w, err, err_size), 0);
	rc = compress_writer_write(w, in, len, err, err_size);
	if (rc == 0)
		rc = compress_writer_finish(w, &st, err, err_size);
	compress_stats_free(&st);
	compress_writer_free(w);
	free(in);
	return rc;
}

static void
test_write_to_full_disk_fails_with_enospc(void **state)
{
	char err[512] = "";
	int fd = open("/dev/full", O_WRONLY);

	(void)state;
	if (fd < 0)
		skip_outside_ci("/dev/full cannot be opened");
	assert_int_equal(write_until_error(fd, 3 * BLOCK, err, sizeof(err)), CT_ENOSPC);
	assert_err_contains(err, "No space left on device");
	assert_err_contains(err, "block 0");
	close(fd);
}

/* SIGPIPE keeps its default action here: the library, not the test, must
 * keep it from killing the process. */
static void
test_write_to_closed_pipe_fails_with_eio(void **state)
{
	char err[512] = "";
	int pipefd[2];

	(void)state;
	assert_int_equal(signal(SIGPIPE, SIG_DFL) != SIG_ERR, 1);
	assert_int_equal(pipe(pipefd), 0);
	close(pipefd[0]);
	assert_int_equal(write_until_error(pipefd[1], 20 * BLOCK, err, sizeof(err)), CT_EIO);
	assert_err_contains(err, "Broken pipe");
	close(pipefd[1]);
}

/* The reader leaves while a 1 MiB block is half written: the kernel cuts the
 * write short and raises SIGPIPE then, before any write fails with EPIPE. */
static void
test_reader_leaving_mid_write_fails_with_eio(void **state)
{
	struct compress_writer *w = NULL;
	struct compress_stats st = {0};
	size_t len = 4 << 20;
	unsigned char *in = make_input(len), buf[1000];
	char err[512] = "";
	int pipefd[2], rc, status;
	pid_t pid;

	(void)state;
	assert_true(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[1]);
		usleep(100 * 1000); /* let the writer fill the pipe and block */
		_exit(read(pipefd[0], buf, sizeof(buf)) > 0 ? 0 : 1);
	}
	close(pipefd[0]);
	assert_int_equal(
	    compress_writer_new(pipefd[1],
	                        &(struct compress_writer_params){.kind = COMPRESS_NONE,
	                                                         .n_threads = THREADS,
	                                                         .block_bytes = 1 << 20},
	                        &w, err, sizeof(err)),
	    0);
	rc = compress_writer_write(w, in, len, err, sizeof(err));
	if (rc == 0)
		rc = compress_writer_finish(w, &st, err, sizeof(err));
	assert_int_equal(rc, CT_EIO);
	assert_err_contains(err, "Broken pipe");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	compress_stats_free(&st);
	compress_writer_free(w);
	close(pipefd[1]);
	free(in);
}

static void
test_writer_error_is_sticky(void **state)
{
	struct compress_writer *w = NULL;
	struct compress_stats st = {0};
	unsigned char *in = make_input(20 * BLOCK);
	char err[512] = "", again[512] = "";
	int fd = open("/dev/full", O_WRONLY);

	(void)state;
	if (fd < 0)
		skip_outside_ci("/dev/full cannot be opened");
	assert_int_equal(writer_new(fd, COMPRESS_ZSTD, &w, err, sizeof(err)), 0);
	assert_int_equal(compress_writer_write(w, in, 20 * BLOCK, err, sizeof(err)), CT_ENOSPC);
	assert_int_equal(compress_writer_write(w, in, 10, again, sizeof(again)), CT_ENOSPC);
	assert_string_equal(again, err);
	assert_int_equal(compress_writer_finish(w, &st, again, sizeof(again)), CT_ENOSPC);
	assert_null(st.blocks);
	compress_writer_free(w);
	free(in);
	close(fd);
}

/* A writer that leaves the SHA-256 digests counts the bytes but leaves the
 * digests empty, and writes the same file; reading it back gives the
 * digests a writer that kept them records. */
static void
left_digests(enum compress_kind kind)
{
	struct compress_writer *w = NULL;
	struct compress_stats kept = {0}, left = {0}, read = {0};
	size_t len = 5 * BLOCK + 321;
	unsigned char *in = make_input(len);
	char err[256] = "";
	int fd_kept = compress_to_fd(kind, in, len, &kept), fd = temp_fd();

	assert_int_equal(writer_new(fd, kind, &w, err, sizeof(err)), 0);
	assert_int_equal(compress_writer_leave_digests(w, err, sizeof(err)), 0);
	assert_int_equal(compress_writer_write(w, in, len, err, sizeof(err)), 0);
	assert_int_equal(compress_writer_finish(w, &left, err, sizeof(err)), 0);
	compress_writer_free(w);
	assert_string_equal(left.raw_sha256, "");
	assert_string_equal(left.stored_sha256, "");
	assert_int_equal(left.raw_bytes, len);
	assert_int_equal(left.stored_bytes, kept.stored_bytes);
	assert_int_equal(left.n_blocks, kept.n_blocks);
	assert_int_equal(left.blocks[left.n_blocks - 1].crc32,
	                 kept.blocks[kept.n_blocks - 1].crc32);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(compress_file_verify(
	                     fd,
	                     &(struct compress_verify_params){.kind = kind, .n_threads = THREADS},
	                     &read, err, sizeof(err)),
	                 0);
	assert_string_equal(read.raw_sha256, kept.raw_sha256);
	assert_string_equal(read.stored_sha256, kept.stored_sha256);
	compress_stats_free(&kept);
	compress_stats_free(&left);
	compress_stats_free(&read);
	free(in);
	close(fd);
	close(fd_kept);
}

static void
test_gzip_writer_can_leave_digests_to_reader(void **state)
{
	(void)state;
	left_digests(COMPRESS_GZIP);
}

static void
test_zstd_writer_can_leave_digests_to_reader(void **state)
{
	(void)state;
	left_digests(COMPRESS_ZSTD);
}

/* Uncompressed blocks carry no checksum of their own to stand in for the
 * digest, and a digest already begun cannot be left. */
static void
test_leave_digests_refused_for_none_and_after_first_byte(void **state)
{
	struct compress_writer *w = NULL;
	char err[256] = "";
	int fd = temp_fd();

	(void)state;
	assert_int_equal(compress_writer_new(fd,
	                                     &(struct compress_writer_params){.kind = COMPRESS_NONE,
	                                                                      .n_threads = 1,
	                                                                      .block_bytes = BLOCK},
	                                     &w, err, sizeof(err)),
	                 0);
	assert_int_equal(compress_writer_leave_digests(w, err, sizeof(err)), CT_EINVAL);
	assert_err_contains(err, "uncompressed stream has no block checksums");
	compress_writer_free(w);
	assert_int_equal(compress_writer_new(fd,
	                                     &(struct compress_writer_params){.kind = COMPRESS_GZIP,
	                                                                      .n_threads = 1,
	                                                                      .block_bytes = BLOCK},
	                                     &w, err, sizeof(err)),
	                 0);
	assert_int_equal(compress_writer_write(w, "x", 1, err, sizeof(err)), 0);
	assert_int_equal(compress_writer_leave_digests(w, err, sizeof(err)), CT_EINVAL);
	assert_err_contains(err, "before the first byte");
	compress_writer_free(w);
	close(fd);
}

static void
test_writer_rejects_out_of_range_level(void **state)
{
	struct compress_writer *w = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(compress_writer_new(1,
	                                     &(struct compress_writer_params){.kind = COMPRESS_GZIP,
	                                                                      .level = 13,
	                                                                      .n_threads = 1},
	                                     &w, err, sizeof(err)),
	                 CT_EINVAL);
	assert_null(w);
	assert_err_contains(err, "gzip level 13");
}

static void
test_writer_rejects_tiny_block_size(void **state)
{
	struct compress_writer *w = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(compress_writer_new(1,
	                                     &(struct compress_writer_params){.kind = COMPRESS_ZSTD,
	                                                                      .n_threads = 1,
	                                                                      .block_bytes = 100},
	                                     &w, err, sizeof(err)),
	                 CT_EINVAL);
	assert_null(w);
	assert_err_contains(err, "block size 100");
}

static void
test_kind_parse_knows_the_three_kinds(void **state)
{
	enum compress_kind kind = COMPRESS__LAST;
	char err[256] = "";

	(void)state;
	assert_int_equal(compress_kind_parse("zstd", &kind, err, sizeof(err)), 0);
	assert_int_equal(kind, COMPRESS_ZSTD);
	assert_string_equal(compress_kind_suffix(COMPRESS_GZIP), ".gz");
	assert_int_equal(compress_kind_parse("lz4", &kind, err, sizeof(err)), CT_EINVAL);
	assert_err_contains(err, "unknown compression 'lz4'");
}

static void
test_free_functions_accept_null(void **state)
{
	(void)state;
	compress_writer_free(NULL);
	compress_stats_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_none_round_trips_empty_input),
	    cmocka_unit_test(test_none_round_trips_tiny_input),
	    cmocka_unit_test(test_none_round_trips_one_exact_block),
	    cmocka_unit_test(test_none_round_trips_many_blocks),
	    cmocka_unit_test(test_gzip_round_trips_empty_input),
	    cmocka_unit_test(test_gzip_round_trips_tiny_input),
	    cmocka_unit_test(test_gzip_round_trips_one_exact_block),
	    cmocka_unit_test(test_gzip_round_trips_many_blocks),
	    cmocka_unit_test(test_zstd_round_trips_empty_input),
	    cmocka_unit_test(test_zstd_round_trips_tiny_input),
	    cmocka_unit_test(test_zstd_round_trips_one_exact_block),
	    cmocka_unit_test(test_zstd_round_trips_many_blocks),
	    cmocka_unit_test(test_stats_describe_contiguous_blocks),
	    cmocka_unit_test(test_gunzip_reads_gzip_output),
	    cmocka_unit_test(test_zstd_tool_reads_zstd_output),
	    cmocka_unit_test(test_reader_accepts_plain_gzip_file),
	    cmocka_unit_test(test_reader_accepts_zstd_tool_file),
	    cmocka_unit_test(test_gzip_flipped_byte_names_block),
	    cmocka_unit_test(test_zstd_flipped_byte_names_block),
	    cmocka_unit_test(test_flipped_byte_is_named_by_manifest_crc),
	    cmocka_unit_test(test_none_flipped_byte_is_named_by_manifest_crc),
	    cmocka_unit_test(test_gzip_truncated_inside_block_is_detected),
	    cmocka_unit_test(test_zstd_truncated_inside_block_is_detected),
	    cmocka_unit_test(test_gzip_cut_between_blocks_is_detected),
	    cmocka_unit_test(test_none_truncation_is_detected_by_manifest),
	    cmocka_unit_test(test_data_after_end_marker_is_detected),
	    cmocka_unit_test(test_manifest_sha256_mismatch_is_reported),
	    cmocka_unit_test(test_plain_gzip_truncated_is_detected),
	    cmocka_unit_test(test_data_callback_error_stops_verify),
	    cmocka_unit_test(test_write_to_full_disk_fails_with_enospc),
	    cmocka_unit_test(test_write_to_closed_pipe_fails_with_eio),
	    cmocka_unit_test(test_reader_leaving_mid_write_fails_with_eio),
	    cmocka_unit_test(test_writer_error_is_sticky),
	    cmocka_unit_test(test_writer_rejects_out_of_range_level),
	    cmocka_unit_test(test_writer_rejects_tiny_block_size),
	    cmocka_unit_test(test_kind_parse_knows_the_three_kinds),
	    cmocka_unit_test(test_gzip_writer_can_leave_digests_to_reader),
	    cmocka_unit_test(test_zstd_writer_can_leave_digests_to_reader),
	    cmocka_unit_test(test_leave_digests_refused_for_none_and_after_first_byte),
	    cmocka_unit_test(test_free_functions_accept_null),
	};

	return cmocka_run_group_tests_name("compress", tests, NULL, NULL);
}
