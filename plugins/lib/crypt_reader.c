/*
 * crypt_reader.c — decrypting a file made by crypt_writer.c, pulled from a
 * source one chunk at a time, and crypt_decrypt_fd() on top of it.
 *
 * A chunk's plaintext is handed out only after crypto_secretstream's pull
 * authenticated it, and the end of the plaintext is reported only after the
 * FINAL chunk authenticated and the file ended right behind it; everything
 * the reader sees goes through one of three steps (header, chunk, end
 * check), chosen by where in the file it stands.
 */
#include "crypt_format.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

enum reader_phase {
	PHASE_HEADER,      /* nothing read yet */
	PHASE_CHUNKS,      /* between chunks */
	PHASE_AFTER_FINAL, /* the FINAL chunk read: the file must end */
	PHASE_DONE
};

struct crypt_reader {
	crypto_secretstream_xchacha20poly1305_state state; /* the key material */
	const struct crypt_secret_key *sk;
	enum reader_phase phase;
	unsigned char header[CRYPT_HEADER_BYTES];
	uint32_t chunk_bytes;
	char key_id[CRYPT_KEY_ID_HEX_SIZE];
	unsigned char *cipher; /* one chunk as stored */
	unsigned char *plain;  /* its authenticated plaintext */
	size_t plain_len, plain_pos;
	uint64_t offset; /* file bytes read so far */
	uint64_t n_chunks, plain_bytes;
	int rc; /* first error; sticky, with its words in err */
	char err[320];
};

static int reader_fail(struct crypt_reader *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
reader_fail(struct crypt_reader *r, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->rc = rc;
	return rc;
}

/* Reads up to `len` bytes of the file; *got is short only at its end. */
static int
reader_read(struct crypt_reader *r, const struct compress_source *src, void *buf, size_t len,
            size_t *got)
{
	int rc;

	*got = 0;
	rc = src->pull(src->ctx, buf, len, got, r->err, sizeof(r->err));
	if (rc != 0) {
		r->rc = rc;
		return rc;
	}
	r->offset += *got;
	return 0;
}

/* Opens the sealed file key.  A key that does not open it is named. */
static int
reader_open_key(struct crypt_reader *r, const struct crypt_header *h)
{
	unsigned char key[CRYPT_FILE_KEY_BYTES];
	int rc = 0;

	crypt_key_id_hex(h->key_id, r->key_id);
	if (crypto_box_seal_open(key, h->sealed_key, sizeof(h->sealed_key), r->sk->public,
	                         r->sk->secret) != 0) {
		if (strcmp(r->key_id, r->sk->id) != 0)
			return reader_fail(
			    r, CT_EPERM, "the file is encrypted for key %s; this secret key is %s",
			    r->key_id, r->sk->id);
		return reader_fail(r, CT_ECORRUPT,
		                   "header: the sealed file key does not open (header damaged)");
	}
	if (crypto_secretstream_xchacha20poly1305_init_pull(&r->state, h->stream_header, key) != 0)
		rc = reader_fail(r, CT_ECORRUPT, "header: invalid stream header");
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int
reader_step_header(struct crypt_reader *r, const struct compress_source *src)
{
	struct crypt_header h;
	size_t got;
	int rc;

	rc = reader_read(r, src, r->header, sizeof(r->header), &got);
	if (rc == 0 && got == 0)
		return reader_fail(r, CT_ECORRUPT, "empty file: no encryption header");
	if (rc == 0 && got < sizeof(r->header))
		return reader_fail(r, CT_ECORRUPT, "truncated: file ends inside the header, at %zu",
		                   got);
	if (rc == 0 && crypt_header_parse(r->header, &h, r->err, sizeof(r->err)) != 0)
		rc = r->rc = CT_ECORRUPT;
	if (rc == 0)
		rc = reader_open_key(r, &h);
	if (rc != 0)
		return rc;
	r->chunk_bytes = h.chunk_bytes;
	r->cipher = malloc(CRYPT_CIPHER_BYTES(h.chunk_bytes));
	r->plain = malloc(h.chunk_bytes);
	if (r->cipher == NULL || r->plain == NULL)
		return reader_fail(r, CT_ENOMEM, "out of memory for %u-byte chunks",
		                   (unsigned)h.chunk_bytes);
	r->phase = PHASE_CHUNKS;
	return 0;
}

/* Reads chunk n_chunks's length prefix and stored bytes into r->cipher. */
static int
reader_read_chunk(struct crypt_reader *r, const struct compress_source *src, size_t *cipher_len)
{
	uint64_t at = r->offset;
	unsigned char prefix[4];
	size_t got, len;
	int rc;

	rc = reader_read(r, src, prefix, sizeof(prefix), &got);
	if (rc == 0 && got == 0 && r->n_chunks == 0)
		return reader_fail(r, CT_ECORRUPT,
		                   "truncated: file ends after the header, no chunks");
	if (rc == 0 && got == 0)
		return reader_fail(
		    r, CT_ECORRUPT,
		    "truncated: file ends at offset %llu after chunk %llu, without the "
		    "final chunk",
		    (unsigned long long)at, (unsigned long long)r->n_chunks - 1);
	if (rc == 0 && got < sizeof(prefix))
		return reader_fail(
		    r, CT_ECORRUPT,
		    "truncated: chunk %llu at offset %llu: file ends inside its length",
		    (unsigned long long)r->n_chunks, (unsigned long long)at);
	if (rc != 0)
		return rc;
	len = crypt_le32_get(prefix);
	if (len < CRYPT_ABYTES || len > CRYPT_CIPHER_BYTES(r->chunk_bytes))
		return reader_fail(r, CT_ECORRUPT,
		                   "chunk %llu at offset %llu: implausible length %zu",
		                   (unsigned long long)r->n_chunks, (unsigned long long)at, len);
	rc = reader_read(r, src, r->cipher, len, &got);
	if (rc == 0 && got < len)
		return reader_fail(
		    r, CT_ECORRUPT,
		    "truncated: chunk %llu at offset %llu: file ends after %zu of its "
		    "%zu bytes",
		    (unsigned long long)r->n_chunks, (unsigned long long)at, got, len);
	*cipher_len = len;
	return rc;
}

static int
reader_step_chunk(struct crypt_reader *r, const struct compress_source *src)
{
	uint64_t at = r->offset;
	unsigned long long plain_len = 0;
	unsigned char tag = 0;
	size_t cipher_len = 0;
	int rc;

	rc = reader_read_chunk(r, src, &cipher_len);
	if (rc != 0)
		return rc;
	/* Chunk 0 carries the header as additional data: see crypt.h. */
	if (crypto_secretstream_xchacha20poly1305_pull(
	        &r->state, r->plain, &plain_len, &tag, r->cipher, cipher_len,
	        r->n_chunks == 0 ? r->header : NULL, r->n_chunks == 0 ? sizeof(r->header) : 0) != 0)
		return reader_fail(
		    r, CT_ECORRUPT,
		    "chunk %llu at offset %llu: authentication failed (%s altered or "
		    "damaged)",
		    (unsigned long long)r->n_chunks, (unsigned long long)at,
		    r->n_chunks == 0 ? "the header or the chunk" : "the chunk");
	if (tag != 0 && tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)
		return reader_fail(r, CT_ECORRUPT, "chunk %llu at offset %llu: unexpected tag %u",
		                   (unsigned long long)r->n_chunks, (unsigned long long)at, tag);
	r->plain_len = (size_t)plain_len;
	r->plain_pos = 0;
	r->n_chunks++;
	r->plain_bytes += plain_len;
	if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
		r->phase = PHASE_AFTER_FINAL;
	return 0;
}

/* After FINAL the file must end: bytes behind it were not written by us. */
static int
reader_step_end(struct crypt_reader *r, const struct compress_source *src)
{
	unsigned char byte;
	size_t got;
	int rc;

	rc = reader_read(r, src, &byte, 1, &got);
	if (rc == 0 && got > 0)
		return reader_fail(r, CT_ECORRUPT,
		                   "unexpected data after the final chunk at offset %llu",
		                   (unsigned long long)(r->offset - 1));
	if (rc == 0)
		r->phase = PHASE_DONE;
	return rc;
}

typedef int reader_step_fn(struct crypt_reader *r, const struct compress_source *src);

/* What to do next, by phase. */
static reader_step_fn *const reader_steps[] = {
    [PHASE_HEADER] = reader_step_header,
    [PHASE_CHUNKS] = reader_step_chunk,
    [PHASE_AFTER_FINAL] = reader_step_end,
};

int
crypt_reader_pull(struct crypt_reader *r, void *buf, size_t len, size_t *got,
                  const struct compress_source *from, char *err, size_t err_size)
{
	unsigned char *p = buf;
	size_t n = 0, take;

	while (n < len && r->rc == 0 && r->phase != PHASE_DONE) {
		if (r->plain_pos == r->plain_len) {
			(void)reader_steps[r->phase](r, from);
			continue;
		}
		take = r->plain_len - r->plain_pos;
		take = take < len - n ? take : len - n;
		memcpy(p + n, r->plain + r->plain_pos, take);
		r->plain_pos += take;
		n += take;
	}
	if (r->rc != 0) {
		fdio_errf(err, err_size, "%s", r->err);
		return r->rc;
	}
	*got = n;
	return 0;
}

int
crypt_reader_new(const struct crypt_secret_key *sk, struct crypt_reader **out, char *err,
                 size_t err_size)
{
	struct crypt_reader *r;
	int rc;

	rc = crypt_sodium_init(err, err_size);
	if (rc != 0)
		return rc;
	r = sodium_malloc(sizeof(*r));
	if (r == NULL) {
		fdio_errf(err, err_size, "out of memory for the decryption reader");
		return CT_ENOMEM;
	}
	memset(r, 0, sizeof(*r));
	r->sk = sk;
	r->phase = PHASE_HEADER;
	*out = r;
	return 0;
}

void
crypt_reader_stats(const struct crypt_reader *r, struct crypt_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->file_bytes = r->offset;
	st->plain_bytes = r->plain_bytes;
	st->n_chunks = r->n_chunks;
	st->chunk_bytes = r->chunk_bytes;
	memcpy(st->key_id, r->key_id, sizeof(st->key_id));
}

void
crypt_reader_free(struct crypt_reader *r)
{
	if (r == NULL)
		return;
	if (r->plain != NULL)
		sodium_memzero(r->plain, r->chunk_bytes);
	free(r->plain);
	free(r->cipher);
	sodium_free(r); /* wipes the stream state */
}

/* The compress_in_stage face of the reader. */
static int
reader_stage_pull(void *ctx, void *buf, size_t len, size_t *got, const struct compress_source *from,
                  char *err, size_t err_size)
{
	return crypt_reader_pull(ctx, buf, len, got, from, err, err_size);
}

void
crypt_reader_in_stage(struct crypt_reader *r, struct compress_in_stage *stage)
{
	stage->ctx = r;
	stage->pull = reader_stage_pull;
}

/* Pulls the whole plaintext through `cb`, a chunk at a time. */
static int
decrypt_run(struct crypt_reader *r, int in_fd, crypt_data_cb *cb, void *ctx, char *err,
            size_t err_size)
{
	struct crypt_fd_source src = {in_fd, 0};
	const struct compress_source from = {crypt_fd_source_pull_cb, &src};
	unsigned char *buf = malloc(CRYPT_CHUNK_BYTES);
	size_t got = CRYPT_CHUNK_BYTES;
	int rc = buf == NULL ? CT_ENOMEM : 0;

	if (rc != 0)
		fdio_errf(err, err_size, "out of memory");
	while (rc == 0 && got == CRYPT_CHUNK_BYTES) {
		rc = crypt_reader_pull(r, buf, CRYPT_CHUNK_BYTES, &got, &from, err, err_size);
		if (rc == 0 && got > 0)
			rc = cb(ctx, buf, got);
		if (rc != 0 && r->rc == 0)
			fdio_errf(err, err_size, "stopped by the output after chunk %llu (%d)",
			          (unsigned long long)r->n_chunks, rc);
	}
	if (buf != NULL)
		sodium_memzero(buf, CRYPT_CHUNK_BYTES);
	free(buf);
	return rc;
}

int
crypt_decrypt_fd_key(int in_fd, const struct crypt_secret_key *sk, crypt_data_cb *cb, void *ctx,
                     char *err, size_t err_size)
{
	struct crypt_reader *r = NULL;
	int rc;

	rc = crypt_reader_new(sk, &r, err, err_size);
	if (rc == 0)
		rc = decrypt_run(r, in_fd, cb, ctx, err, err_size);
	crypt_reader_free(r);
	return rc;
}

int
crypt_decrypt_fd(int in_fd, const char *secret_key_path, crypt_data_cb *cb, void *ctx, char *err,
                 size_t err_size)
{
	struct crypt_secret_key *sk = NULL;
	int rc;

	rc = crypt_secret_key_load(secret_key_path, &sk, err, err_size);
	if (rc == 0)
		rc = crypt_decrypt_fd_key(in_fd, sk, cb, ctx, err, err_size);
	crypt_secret_key_free(sk);
	return rc;
}
