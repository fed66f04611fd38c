/*
 * compress_stream.c — gzip and zstd files without caretaker block headers
 * (from `gzip`, `pigz`, `zstd`, or an older backup), read as one stream.
 *
 * libdeflate only decompresses whole members whose size is known, and a
 * plain gzip file is one member of any size, so gzip goes through zlib's
 * streaming inflate here.  Slower than the block path and single-threaded,
 * but it reads anything `gunzip` reads, and its checks (CRC-32 and ISIZE of
 * each member, zstd's frame checksums) still catch damage; only the offset,
 * not a block, can be named.
 */
#include "compress_stream.h"

#include <stdio.h>
#include <stdlib.h>

#include <zlib.h>
#include <zstd.h>

#include <caretaker/errors.h>

#include "compress_io.h"
#include "compress_stats.h"

#define STREAM_CHUNK_BYTES ((size_t)1 << 20)

struct stream {
	struct compress_input *input;
	const unsigned char *prefix; /* bytes read before we were called */
	size_t prefix_len;
	uint64_t offset; /* stream bytes taken so far, the prefix included */
	struct compress_tally *tally;
	compress_data_cb data_cb;
	void *cb_ctx;
	unsigned char *in, *out;
	char *err;
	size_t err_size;
};

/* Gets the next piece of the stream (the prefix first; the input hashes
 * the file as it reads it); *len is 0 at EOF. */
static int
stream_next_input(struct stream *s, const unsigned char **buf, size_t *len)
{
	int rc;

	if (s->prefix_len > 0) {
		*buf = s->prefix;
		*len = s->prefix_len;
		s->prefix_len = 0;
	} else {
		rc = compress_input_read(s->input, s->in, STREAM_CHUNK_BYTES, len, s->err,
		                         s->err_size);
		if (rc != 0)
			return rc;
		*buf = s->in;
	}
	s->offset += *len;
	return 0;
}

/* Hashes, counts and hands on uncompressed bytes. */
static int
stream_emit(struct stream *s, size_t len)
{
	int rc;

	if (len == 0)
		return 0;
	rc = compress_tally_add_raw(s->tally, s->out, len);
	if (rc != 0)
		return rc;
	if (s->data_cb == NULL)
		return 0;
	rc = s->data_cb(s->out, len, s->cb_ctx);
	if (rc != 0)
		fdio_errf(s->err, s->err_size, "stopped by the data callback (%d)", rc);
	return rc;
}

static int
stream_truncated(struct stream *s)
{
	if (s->offset == 0)
		fdio_errf(s->err, s->err_size, "empty file: no compressed data");
	else
		fdio_errf(s->err, s->err_size,
		          "truncated: file ends at offset %llu inside compressed data",
		          (unsigned long long)s->offset);
	return CT_ECORRUPT;
}

static int
stream_corrupt(struct stream *s, size_t unread, const char *what)
{
	fdio_errf(s->err, s->err_size, "damaged data near offset %llu: %s",
	          (unsigned long long)(s->offset - unread), what);
	return CT_ECORRUPT;
}

/* One inflate() step.  A member that ends with more input behind it is
 * followed by another member (RFC 1952, section 2.2). */
static int
stream_inflate_step(struct stream *s, z_stream *zs, int *is_member_end)
{
	int zrc;

	if (*is_member_end && zs->avail_in > 0) {
		inflateReset(zs);
		*is_member_end = 0;
	}
	zs->next_out = s->out;
	zs->avail_out = (uInt)STREAM_CHUNK_BYTES;
	zrc = inflate(zs, Z_NO_FLUSH);
	if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR)
		return stream_corrupt(s, zs->avail_in, zs->msg != NULL ? zs->msg : "gzip error");
	*is_member_end = zrc == Z_STREAM_END;
	return stream_emit(s, STREAM_CHUNK_BYTES - zs->avail_out);
}

static int
stream_gzip(struct stream *s)
{
	z_stream zs = {0};
	const unsigned char *buf;
	size_t len;
	int rc = 0, is_member_end = 0;

	/* 16 + 15: a gzip wrapper around a 32 KiB window. */
	if (inflateInit2(&zs, 16 + 15) != Z_OK)
		return CT_ENOMEM;
	for (;;) {
		if (zs.avail_in == 0 && zs.avail_out != 0) {
			rc = stream_next_input(s, &buf, &len);
			if (rc != 0 || len == 0)
				break;
			zs.next_in = (unsigned char *)buf; /* zlib does not write it */
			zs.avail_in = (uInt)len;
		}
		rc = stream_inflate_step(s, &zs, &is_member_end);
		if (rc != 0)
			break;
	}
	if (rc == 0 && !is_member_end)
		rc = stream_truncated(s);
	inflateEnd(&zs);
	return rc;
}

static int
stream_zstd(struct stream *s, ZSTD_DCtx *d)
{
	ZSTD_inBuffer in = {NULL, 0, 0};
	ZSTD_outBuffer out = {s->out, STREAM_CHUNK_BYTES, 0};
	size_t zr = 1, len; /* zr 0: the last frame is complete */
	const unsigned char *buf;
	int rc = 0;

	for (;;) {
		if (in.pos == in.size && out.pos < out.size) {
			rc = stream_next_input(s, &buf, &len);
			if (rc != 0 || len == 0)
				break;
			in.src = buf;
			in.size = len;
			in.pos = 0;
		}
		out.pos = 0;
		zr = ZSTD_decompressStream(d, &out, &in);
		if (ZSTD_isError(zr))
			return stream_corrupt(s, in.size - in.pos, ZSTD_getErrorName(zr));
		rc = stream_emit(s, out.pos);
		if (rc != 0)
			break;
	}
	if (rc == 0 && zr != 0)
		rc = stream_truncated(s);
	return rc;
}

int
compress_stream_verify(struct compress_input *in, const struct compress_verify_params *p,
                       const unsigned char *prefix, size_t prefix_len, char *err, size_t err_size)
{
	struct stream s = {.input = in,
	                   .prefix = prefix,
	                   .prefix_len = prefix_len,
	                   .tally = in->tally,
	                   .data_cb = p->data_cb,
	                   .cb_ctx = p->data_ctx,
	                   .err = err,
	                   .err_size = err_size};
	enum compress_kind kind = p->kind;
	ZSTD_DCtx *d = NULL;
	int rc = CT_ENOMEM;

	s.in = malloc(STREAM_CHUNK_BYTES);
	s.out = malloc(STREAM_CHUNK_BYTES);
	if (kind == COMPRESS_ZSTD)
		d = ZSTD_createDCtx();
	if (s.in == NULL || s.out == NULL || (kind == COMPRESS_ZSTD && d == NULL)) {
		fdio_errf(err, err_size, "out of memory for stream buffers");
		goto out;
	}
	rc = kind == COMPRESS_ZSTD ? stream_zstd(&s, d) : stream_gzip(&s);
out:
	ZSTD_freeDCtx(d);
	free(s.in);
	free(s.out);
	return rc;
}
