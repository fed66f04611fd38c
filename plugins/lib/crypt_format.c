/*
 * crypt_format.c — the encrypted file's header, key ids, and the whole-read
 * and whole-write helpers of libctcrypt.  The format is in crypt.h.
 */
#include "crypt_format.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/errors.h>

/* 0x89 and CR LF, as PNG does: a transfer that strips the high bit or
 * rewrites line ends breaks the magic, not some chunk far inside. */
static const unsigned char crypt_magic[8] = {0x89, 'C', 'T', 'E', 'N', 'C', '\r', '\n'};

/* Offsets of the header fields. */
enum {
	HDR_VERSION = 8,
	HDR_FLAGS = 9,
	HDR_RESERVED = 10,
	HDR_CHUNK = 12,
	HDR_KEY_ID = 16,
	HDR_SEALED = HDR_KEY_ID + CRYPT_KEY_ID_BYTES,
	HDR_STREAM = HDR_SEALED + CRYPT_SEALED_KEY_BYTES,
	HDR_END = HDR_STREAM + CRYPT_STREAM_HEADER_BYTES
};

_Static_assert(HDR_END == CRYPT_HEADER_BYTES, "crypt.h's header layout");
_Static_assert(CRYPT_ABYTES + 4 == CRYPT_CHUNK_OVERHEAD_BYTES, "crypt.h's chunk overhead");

int
crypt_sodium_init(char *err, size_t err_size)
{
	if (sodium_init() < 0) {
		fdio_errf(err, err_size, "libsodium failed to start");
		return CT_ESYS;
	}
	return 0;
}

void
crypt_le32_put(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

uint32_t
crypt_le32_get(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void
crypt_header_encode(const struct crypt_header *h, unsigned char out[CRYPT_HEADER_BYTES])
{
	memset(out, 0, CRYPT_HEADER_BYTES);
	memcpy(out, crypt_magic, sizeof(crypt_magic));
	out[HDR_VERSION] = CRYPT_FORMAT_VERSION;
	crypt_le32_put(out + HDR_CHUNK, h->chunk_bytes);
	memcpy(out + HDR_KEY_ID, h->key_id, CRYPT_KEY_ID_BYTES);
	memcpy(out + HDR_SEALED, h->sealed_key, CRYPT_SEALED_KEY_BYTES);
	memcpy(out + HDR_STREAM, h->stream_header, CRYPT_STREAM_HEADER_BYTES);
}

int
crypt_header_parse(const unsigned char buf[CRYPT_HEADER_BYTES], struct crypt_header *h, char *err,
                   size_t err_size)
{
	if (memcmp(buf, crypt_magic, sizeof(crypt_magic)) != 0) {
		fdio_errf(err, err_size, "not a caretaker encrypted file (bad magic)");
		return CT_ECORRUPT;
	}
	if (buf[HDR_VERSION] != CRYPT_FORMAT_VERSION) {
		fdio_errf(err, err_size, "header: format version %u, this build reads only %d",
		          buf[HDR_VERSION], CRYPT_FORMAT_VERSION);
		return CT_ECORRUPT;
	}
	if (buf[HDR_FLAGS] != 0 || buf[HDR_RESERVED] != 0 || buf[HDR_RESERVED + 1] != 0) {
		fdio_errf(err, err_size, "header: unknown flags or reserved bytes set");
		return CT_ECORRUPT;
	}
	h->chunk_bytes = crypt_le32_get(buf + HDR_CHUNK);
	if (h->chunk_bytes < CRYPT_CHUNK_MIN_BYTES || h->chunk_bytes > CRYPT_CHUNK_MAX_BYTES) {
		fdio_errf(err, err_size, "header: implausible chunk size %u",
		          (unsigned)h->chunk_bytes);
		return CT_ECORRUPT;
	}
	memcpy(h->key_id, buf + HDR_KEY_ID, CRYPT_KEY_ID_BYTES);
	memcpy(h->sealed_key, buf + HDR_SEALED, CRYPT_SEALED_KEY_BYTES);
	memcpy(h->stream_header, buf + HDR_STREAM, CRYPT_STREAM_HEADER_BYTES);
	return 0;
}

void
crypt_key_id(const unsigned char public_key[CRYPT_PUBLIC_KEY_BYTES],
             unsigned char id[CRYPT_KEY_ID_BYTES])
{
	unsigned char hash[crypto_generichash_BYTES];

	crypto_generichash(hash, sizeof(hash), public_key, CRYPT_PUBLIC_KEY_BYTES, NULL, 0);
	memcpy(id, hash, CRYPT_KEY_ID_BYTES);
}

void
crypt_key_id_hex(const unsigned char id[CRYPT_KEY_ID_BYTES], char hex[CRYPT_KEY_ID_HEX_SIZE])
{
	sodium_bin2hex(hex, CRYPT_KEY_ID_HEX_SIZE, id, CRYPT_KEY_ID_BYTES);
}

int
crypt_fd_source_pull_cb(void *ctx, void *buf, size_t len, size_t *got, char *err, size_t err_size)
{
	struct crypt_fd_source *src = ctx;
	int rc;

	rc = fdio_read_full(src->fd, buf, len, got, src->offset, err, err_size);
	if (rc == 0)
		src->offset += *got;
	return rc;
}
