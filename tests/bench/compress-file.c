/*
 * compress-file.c — a small driver of libctcompress for
 * tests/bench/compress-bench.sh: compress stdin to stdout, or verify stdin,
 * the way the backup and verify plugins do.
 *
 *   compress-file compress KIND [LEVEL [THREADS [BLOCK_KIB]]] < in > out
 *   compress-file verify KIND [THREADS] < file
 *   compress-file zstd-mt LEVEL THREADS < in > out
 *
 * `verify` also checks that the SQL ends with pg_dump's completion line, as
 * the verify plugin does.  `zstd-mt` is zstd's own multithreading
 * (ZSTD_c_nbWorkers, one frame), kept only to compare against our
 * per-block frames.  A summary goes to stderr; exit status 0 on success.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include <caretaker/errors.h>

#include "compress.h"

#define READ_BYTES ((size_t)256 << 10)

static const char dump_complete[] = "-- PostgreSQL database dump complete\n--\n";

/* Keeps the last bytes of the stream, to look for the completion line. */
struct tail {
	char buf[256];
	size_t len;
};

/* The completion block, then only blank lines and (PostgreSQL 15.14,
 * 16.10, 17.6 and later) one `\unrestrict KEY` line. */
static int
tail_is_complete(const struct tail *t)
{
	const char *p = NULL, *end = t->buf + t->len;

	for (const char *q = t->buf;
	     (q = memmem(q, (size_t)(end - q), dump_complete, sizeof(dump_complete) - 1)) != NULL;
	     q++)
		p = q;
	if (p == NULL)
		return 0;
	for (p += sizeof(dump_complete) - 1; p < end; p++) {
		if (*p == '\n')
			continue;
		if ((size_t)(end - p) < 12 || memcmp(p, "\\unrestrict ", 12) != 0)
			return 0;
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			return 0;
	}
	return 1;
}

static int
tail_cb(const void *buf, size_t len, void *ctx)
{
	struct tail *t = ctx;
	const char *p = buf;
	size_t keep = sizeof(t->buf);

	if (len >= keep) {
		memcpy(t->buf, p + len - keep, keep);
		t->len = keep;
		return 0;
	}
	if (t->len + len > keep) {
		memmove(t->buf, t->buf + (t->len + len - keep), keep - len);
		t->len = keep - len;
	}
	memcpy(t->buf + t->len, p, len);
	t->len += len;
	return 0;
}

static int
parse_int(const char *s, int fallback)
{
	char *end;
	long v;

	if (s == NULL)
		return fallback;
	v = strtol(s, &end, 10);
	return *end == '\0' && v >= 0 && v < 1 << 20 ? (int)v : -1;
}

static void
print_stats(const char *what, const struct compress_stats *st)
{
	fprintf(stderr,
	        "%s raw_bytes=%llu stored_bytes=%llu blocks=%zu raw_sha256=%s stored_sha256=%s\n",
	        what, (unsigned long long)st->raw_bytes, (unsigned long long)st->stored_bytes,
	        st->n_blocks, st->raw_sha256, st->stored_sha256);
}

static int
run_compress(enum compress_kind kind, int level, int threads, int block_kib)
{
	struct compress_writer *w = NULL;
	struct compress_stats st = {0};
	char err[512] = "", *buf = NULL;
	ssize_t n;
	int rc;

	/* As the backup plugin should: a 1 MiB pipe lets pg_dump run ahead while
	 * the writer waits for a block, where 64 KiB would stall it.  Fails
	 * harmlessly when stdin is no pipe. */
	(void)fcntl(0, F_SETPIPE_SZ, 1 << 20);
	buf = malloc(READ_BYTES);
	rc = buf == NULL ? CT_ENOMEM : 0;
	if (rc == 0)
		rc = compress_writer_new(
		    1,
		    &(struct compress_writer_params){.kind = kind,
		                                     .level = level,
		                                     .n_threads = threads,
		                                     .block_bytes = (size_t)block_kib << 10},
		    &w, err, sizeof(err));
	while (rc == 0 && (n = read(0, buf, READ_BYTES)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, sizeof(err), "read stdin: %s", strerror(errno));
			rc = CT_EIO;
			break;
		}
		rc = compress_writer_write(w, buf, (size_t)n, err, sizeof(err));
	}
	if (rc == 0)
		rc = compress_writer_finish(w, &st, err, sizeof(err));
	if (rc == 0)
		print_stats("compressed", &st);
	else
		fprintf(stderr, "compress-file: %s\n", err);
	compress_stats_free(&st);
	compress_writer_free(w);
	free(buf);
	return rc;
}

static int
run_verify(enum compress_kind kind, int threads)
{
	struct compress_stats st = {0};
	struct tail t = {.len = 0};
	char err[512] = "";
	int rc;

	rc = compress_file_verify(
	    0,
	    &(struct compress_verify_params){
	        .kind = kind, .n_threads = threads, .data_cb = tail_cb, .data_ctx = &t},
	    &st, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "compress-file: %s\n", err);
		return rc;
	}
	print_stats("verified", &st);
	compress_stats_free(&st);
	if (!tail_is_complete(&t)) {
		fprintf(stderr, "compress-file: no pg_dump completion line at the end\n");
		return CT_ECORRUPT;
	}
	return 0;
}

/* zstd's own multithreaded single-frame mode, for comparison only. */
static int
run_zstd_mt(int level, int threads)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t out_cap = ZSTD_CStreamOutSize(), r;
	char *in = malloc(READ_BYTES), *out = malloc(out_cap);
	ZSTD_EndDirective mode;
	ssize_t n;
	int rc = c && in && out ? 0 : 1;

	if (rc == 0 && (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) ||
	                ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, threads))))
		rc = 1;
	while (rc == 0) {
		n = read(0, in, READ_BYTES);
		mode = n > 0 ? ZSTD_e_continue : ZSTD_e_end;
		ZSTD_inBuffer ib = {in, n > 0 ? (size_t)n : 0, 0};
		do {
			ZSTD_outBuffer ob = {out, out_cap, 0};
			r = ZSTD_compressStream2(c, &ob, &ib, mode);
			if (ZSTD_isError(r) || write(1, out, ob.pos) != (ssize_t)ob.pos)
				rc = 1;
		} while (rc == 0 && (mode == ZSTD_e_end ? r != 0 : ib.pos < ib.size));
		if (n <= 0)
			break;
	}
	ZSTD_freeCCtx(c);
	free(in);
	free(out);
	return rc;
}

int
main(int argc, char **argv)
{
	enum compress_kind kind;
	char err[256];

	if (argc >= 4 && strcmp(argv[1], "zstd-mt") == 0)
		return run_zstd_mt(parse_int(argv[2], 1), parse_int(argv[3], 2));
	if (argc < 3 || compress_kind_parse(argv[2], &kind, err, sizeof(err)) != 0) {
		fprintf(stderr, "usage: compress-file compress|verify none|gzip|zstd [ARGS]\n");
		return 2;
	}
	if (strcmp(argv[1], "compress") == 0)
		return run_compress(kind, parse_int(argc > 3 ? argv[3] : NULL, 0),
		                    parse_int(argc > 4 ? argv[4] : NULL, 0),
		                    parse_int(argc > 5 ? argv[5] : NULL, 0)) != 0;
	if (strcmp(argv[1], "verify") == 0)
		return run_verify(kind, parse_int(argc > 3 ? argv[3] : NULL, 0)) != 0;
	fprintf(stderr, "usage: compress-file compress|verify none|gzip|zstd [ARGS]\n");
	return 2;
}
