/*
 * crypt-file.c — a small driver of libctcrypt (with libctcompress) for
 * tests/integration/decrypt.sh and tests/bench/crypt-bench.sh: encrypt,
 * compress-and-encrypt, verify and check files the way the backup and
 * verify plugins do.
 *
 *   crypt-file encrypt PUBLIC_KEY < in > out
 *   crypt-file compress-encrypt PUBLIC_KEY KIND [THREADS] < in > out
 *   crypt-file compress KIND [THREADS] < in > out         (no encryption)
 *   crypt-file verify SECRET_KEY KIND [FILE_SHA256] < file
 *   crypt-file check < file
 *
 * A summary (bytes, SHA-256s, seconds, MB/s of the input) goes to stderr
 * as key=value lines; exit status 0 on success, 1 with the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "compress.h"
#include "crypt.h"

#define READ_BYTES ((size_t)1 << 20)

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
fail(const char *what, const char *err)
{
	fprintf(stderr, "crypt-file: %s: %s\n", what, err);
	return 1;
}

static void
report(const char *what, unsigned long long bytes, double seconds)
{
	fprintf(stderr, "%s_bytes=%llu\nseconds=%.3f\nmb_per_s=%.0f\n", what, bytes, seconds,
	        seconds > 0 ? (double)bytes / 1e6 / seconds : 0.0);
}

static int
cmd_encrypt(const char *pub_path)
{
	struct crypt_public_key pk;
	char err[256];
	double t0;

	if (crypt_public_key_load(pub_path, &pk, err, sizeof(err)) != 0)
		return fail("key", err);
	t0 = now_s();
	if (crypt_encrypt_fd(STDIN_FILENO, STDOUT_FILENO, &pk, err, sizeof(err)) != 0)
		return fail("encrypt", err);
	fprintf(stderr, "key_id=%s\n", pk.id);
	/* Bytes taken from stdin, where it is a file. */
	report("raw", (unsigned long long)lseek(STDIN_FILENO, 0, SEEK_CUR), now_s() - t0);
	return 0;
}

/* Feeds stdin to a compression writer, with an encryption stage or not. */
static int
run_compress(const struct compress_out_stage *stage, enum compress_kind kind, int threads)
{
	struct compress_writer *w = NULL;
	struct compress_stats st = {0};
	unsigned char *buf = malloc(READ_BYTES);
	char err[320];
	double t0 = now_s();
	ssize_t n;
	int rc;

	rc = compress_writer_new(
	    STDOUT_FILENO,
	    &(struct compress_writer_params){.kind = kind, .n_threads = threads, .stage = stage},
	    &w, err, sizeof(err));
	while (rc == 0 && buf != NULL && (n = read(STDIN_FILENO, buf, READ_BYTES)) > 0)
		rc = compress_writer_write(w, buf, (size_t)n, err, sizeof(err));
	if (rc == 0)
		rc = compress_writer_finish(w, &st, err, sizeof(err));
	compress_writer_free(w);
	free(buf);
	if (rc != 0)
		return fail("compress", err);
	fprintf(stderr, "raw_sha256=%s\nstored_sha256=%s\nstored_bytes=%llu\nblocks=%zu\n",
	        st.raw_sha256, st.stored_sha256, (unsigned long long)st.stored_bytes, st.n_blocks);
	report("raw", st.raw_bytes, now_s() - t0);
	compress_stats_free(&st);
	return 0;
}

static int
cmd_compress(const char *pub_path, const char *kind_name, const char *threads)
{
	struct compress_out_stage stage;
	struct crypt_writer *cw = NULL;
	struct crypt_public_key pk;
	enum compress_kind kind;
	char err[256];
	int rc;

	if (compress_kind_parse(kind_name, &kind, err, sizeof(err)) != 0)
		return fail("kind", err);
	if (pub_path == NULL)
		return run_compress(NULL, kind,
		                    threads != NULL ? (int)strtol(threads, NULL, 10) : 0);
	if (crypt_public_key_load(pub_path, &pk, err, sizeof(err)) != 0 ||
	    crypt_writer_new(&pk, &cw, err, sizeof(err)) != 0)
		return fail("key", err);
	crypt_writer_out_stage(cw, &stage);
	rc = run_compress(&stage, kind, threads != NULL ? (int)strtol(threads, NULL, 10) : 0);
	crypt_writer_free(cw);
	return rc;
}

static int
cmd_verify(const char *sec_path, const char *kind_name, const char *file_sha256)
{
	struct compress_expect expect = {0};
	struct crypt_secret_key *sk = NULL;
	struct crypt_reader *r = NULL;
	struct compress_in_stage stage;
	struct compress_stats st = {0};
	enum compress_kind kind;
	char err[320];
	double t0;
	int rc;

	expect.stored_sha256 = file_sha256;
	expect.raw_sha256 = NULL;
	if (compress_kind_parse(kind_name, &kind, err, sizeof(err)) != 0 ||
	    crypt_secret_key_load(sec_path, &sk, err, sizeof(err)) != 0 ||
	    crypt_reader_new(sk, &r, err, sizeof(err)) != 0)
		return fail("setup", err);
	crypt_reader_in_stage(r, &stage);
	t0 = now_s();
	rc = compress_file_verify(
	    STDIN_FILENO,
	    &(struct compress_verify_params){.kind = kind, .expect = &expect, .stage = &stage}, &st,
	    err, sizeof(err));
	crypt_reader_free(r);
	crypt_secret_key_free(sk);
	if (rc != 0)
		return fail("verify", err);
	fprintf(stderr, "raw_sha256=%s\nstored_sha256=%s\nstored_bytes=%llu\nblocks=%zu\n",
	        st.raw_sha256, st.stored_sha256, (unsigned long long)st.stored_bytes, st.n_blocks);
	report("raw", st.raw_bytes, now_s() - t0);
	compress_stats_free(&st);
	return 0;
}

static int
cmd_check(void)
{
	struct crypt_stats st;
	char err[256];
	double t0 = now_s();

	if (crypt_check_framing(STDIN_FILENO, &st, err, sizeof(err)) != 0)
		return fail("check", err);
	fprintf(stderr, "key_id=%s\nchunks=%llu\nplain_bytes=%llu\nfile_sha256=%s\n", st.key_id,
	        (unsigned long long)st.n_chunks, (unsigned long long)st.plain_bytes,
	        st.file_sha256);
	report("file", st.file_bytes, now_s() - t0);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "encrypt") == 0)
		return cmd_encrypt(argv[2]);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "compress-encrypt") == 0)
		return cmd_compress(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "compress") == 0)
		return cmd_compress(NULL, argv[2], argc == 4 ? argv[3] : NULL);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "verify") == 0)
		return cmd_verify(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if (argc == 2 && strcmp(argv[1], "check") == 0)
		return cmd_check();
	fprintf(stderr, "usage: crypt-file encrypt PUBLIC_KEY | compress-encrypt PUBLIC_KEY KIND "
	                "[THREADS] | compress KIND [THREADS] | verify SECRET_KEY KIND [SHA256] | "
	                "check\n");
	return 2;
}
