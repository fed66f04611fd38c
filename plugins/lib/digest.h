/*
 * digest.h — streaming SHA-256 for libctcompress, with a hex result.
 *
 * A thin wrapper so that the choice of crypto library stays in digest.c.
 * Not constant-time and not for secrets: it checksums files.
 */
#ifndef CARETAKER_PLUGINS_DIGEST_H
#define CARETAKER_PLUGINS_DIGEST_H

#include <stddef.h>

/* 64 hex digits and a NUL. */
#define DIGEST_SHA256_HEX_SIZE 65

struct digest_sha256;

/* Starts a digest.  Returns 0 and sets *out (free with
 * digest_sha256_free()), or CT_ENOMEM. */
int digest_sha256_new(struct digest_sha256 **out);

/* Adds `len` bytes (`buf` may be NULL when len is 0).  Returns 0 or CT_EIO
 * if the crypto library refuses. */
int digest_sha256_update(struct digest_sha256 *d, const void *buf, size_t len);

/* Writes the digest of everything added as lowercase hex into `hex`.  The
 * digest cannot be updated afterwards.  Returns 0 or CT_EIO. */
int digest_sha256_final_hex(struct digest_sha256 *d, char hex[DIGEST_SHA256_HEX_SIZE]);

/* Accepts NULL. */
void digest_sha256_free(struct digest_sha256 *d);

#endif
