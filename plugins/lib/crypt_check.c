/*
 * crypt_check.c — crypt_check_framing(): what can be checked of an
 * encrypted file without its secret key.
 *
 * Without the key no chunk can be authenticated and the FINAL tag cannot be
 * seen, so this walks the lengths only.  It leans on the writer's rule that
 * every chunk but the last holds exactly the header's chunk size and the
 * last holds less: then a file cut at a chunk boundary ends in a full chunk
 * and is caught too.  It also takes the SHA-256 of the file, for comparison
 * with the manifest, which is what catches a flipped byte inside a chunk.
 */
#include "crypt_format.h"

#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

struct framing {
	int fd;
	uint64_t offset;
	size_t full_len; /* the stored length of a full chunk, prefix excluded */
	struct crypt_stats st;
	crypto_hash_sha256_state sha;
	unsigned char *buf;
	char *err;
	size_t err_size;
};

/* Reads and hashes up to `len` bytes; *got is short only at EOF. */
static int
framing_read(struct framing *f, void *buf, size_t len, size_t *got)
{
	int rc;

	rc = fdio_read_full(f->fd, buf, len, got, f->offset, f->err, f->err_size);
	if (rc != 0)
		return rc;
	crypto_hash_sha256_update(&f->sha, buf, *got);
	f->offset += *got;
	return 0;
}

static int
framing_header(struct framing *f)
{
	unsigned char buf[CRYPT_HEADER_BYTES];
	struct crypt_header h;
	size_t got = 0;
	int rc;

	rc = framing_read(f, buf, sizeof(buf), &got);
	if (rc == 0 && got < sizeof(buf)) {
		fdio_errf(f->err, f->err_size, "%s",
		          got == 0 ? "empty file: no encryption header"
		                   : "truncated: file ends inside the header");
		return CT_ECORRUPT;
	}
	if (rc == 0)
		rc = crypt_header_parse(buf, &h, f->err, f->err_size);
	if (rc != 0)
		return rc;
	f->st.chunk_bytes = h.chunk_bytes;
	crypt_key_id_hex(h.key_id, f->st.key_id);
	f->full_len = CRYPT_CIPHER_BYTES(h.chunk_bytes);
	f->buf = malloc(f->full_len);
	if (f->buf == NULL) {
		fdio_errf(f->err, f->err_size, "out of memory");
		return CT_ENOMEM;
	}
	return 0;
}

static int
framing_bad(struct framing *f, uint64_t index, uint64_t at, const char *what, size_t len)
{
	fdio_errf(f->err, f->err_size,
	          "chunk %llu at offset %llu: %s (%zu bytes; a full chunk has %zu)",
	          (unsigned long long)index, (unsigned long long)at, what, len, f->full_len);
	return CT_ECORRUPT;
}

/* Reads the next chunk; *len is 0 at a clean end of file. */
static int
framing_chunk(struct framing *f, size_t *len)
{
	uint64_t at = f->offset;
	unsigned char prefix[4];
	size_t got = 0;
	int rc;

	*len = 0;
	rc = framing_read(f, prefix, sizeof(prefix), &got);
	if (rc != 0 || got == 0)
		return rc;
	if (got < sizeof(prefix))
		return framing_bad(f, f->st.n_chunks, at, "truncated: file ends inside the length",
		                   got);
	*len = crypt_le32_get(prefix);
	if (*len < CRYPT_ABYTES || *len > f->full_len)
		return framing_bad(f, f->st.n_chunks, at, "implausible length", *len);
	rc = framing_read(f, f->buf, *len, &got);
	if (rc == 0 && got < *len)
		return framing_bad(f, f->st.n_chunks, at, "truncated: file ends inside the chunk",
		                   got);
	return rc;
}

/* Every chunk but the last is full; the last is short; the file ends. */
static int
framing_chunks(struct framing *f)
{
	uint64_t last_at = 0;
	size_t len = 0, last_len = 0;
	int rc;

	for (;;) {
		rc = framing_chunk(f, &len);
		if (rc != 0 || len == 0)
			break;
		if (f->st.n_chunks > 0 && last_len != f->full_len)
			return framing_bad(f, f->st.n_chunks - 1, last_at,
			                   "short chunk that is not the last", last_len);
		last_at = f->offset - len - 4;
		last_len = len;
		f->st.n_chunks++;
		f->st.plain_bytes += len - CRYPT_ABYTES;
	}
	if (rc == 0 && f->st.n_chunks == 0) {
		fdio_errf(f->err, f->err_size, "truncated: file ends after the header, no chunks");
		return CT_ECORRUPT;
	}
	if (rc == 0 && last_len == f->full_len)
		return framing_bad(f, f->st.n_chunks - 1, last_at,
		                   "truncated: the last chunk is full, the final one is missing",
		                   last_len);
	return rc;
}

int
crypt_check_framing(int in_fd, struct crypt_stats *st, char *err, size_t err_size)
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	struct framing f;
	int rc;

	memset(&f, 0, sizeof(f));
	f.fd = in_fd;
	f.err = err;
	f.err_size = err_size;
	rc = crypt_sodium_init(err, err_size);
	if (rc == 0)
		crypto_hash_sha256_init(&f.sha);
	if (rc == 0)
		rc = framing_header(&f);
	if (rc == 0)
		rc = framing_chunks(&f);
	if (rc == 0 && st != NULL) {
		crypto_hash_sha256_final(&f.sha, digest);
		f.st.file_bytes = f.offset;
		sodium_bin2hex(f.st.file_sha256, sizeof(f.st.file_sha256), digest, sizeof(digest));
		*st = f.st;
	}
	free(f.buf);
	return rc;
}
