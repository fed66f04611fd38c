/*
 * crypt_format.h — the pieces of libctcrypt that the writer, the reader,
 * the framing check and the key files share: the file header, key ids, the
 * secret key's layout, and whole reads and writes (internal; callers include
 * crypt.h only).  crypt.h describes the format.
 */
#ifndef CARETAKER_PLUGINS_CRYPT_FORMAT_H
#define CARETAKER_PLUGINS_CRYPT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "crypt.h"
#include "fdio.h"

#define CRYPT_FORMAT_VERSION 1
#define CRYPT_KEY_ID_BYTES 8
#define CRYPT_FILE_KEY_BYTES crypto_secretstream_xchacha20poly1305_KEYBYTES
#define CRYPT_SEALED_KEY_BYTES (crypto_box_SEALBYTES + CRYPT_FILE_KEY_BYTES)
#define CRYPT_STREAM_HEADER_BYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define CRYPT_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
/* The ciphertext length of a chunk of `plain` bytes, prefix excluded. */
#define CRYPT_CIPHER_BYTES(plain) ((size_t)(plain) + CRYPT_ABYTES)

/* The header's fields; crypt.h gives their places. */
struct crypt_header {
	uint32_t chunk_bytes;
	unsigned char key_id[CRYPT_KEY_ID_BYTES];
	unsigned char sealed_key[CRYPT_SEALED_KEY_BYTES];
	unsigned char stream_header[CRYPT_STREAM_HEADER_BYTES];
};

/* Lives in sodium_malloc()ed memory: guard pages, locked, wiped on free. */
struct crypt_secret_key {
	unsigned char secret[crypto_box_SECRETKEYBYTES];
	unsigned char public[crypto_box_PUBLICKEYBYTES];
	char id[CRYPT_KEY_ID_HEX_SIZE];
};

/* sodium_init(), once per process (it is safe to call again).  Returns 0
 * or CT_ESYS with a message. */
int crypt_sodium_init(char *err, size_t err_size);

/* Writes the 128 header bytes of format version 1. */
void crypt_header_encode(const struct crypt_header *h, unsigned char out[CRYPT_HEADER_BYTES]);

/* Parses and checks (magic, version, flags, reserved bytes, chunk size)
 * the 128 bytes at `buf`.  Returns 0 or CT_ECORRUPT with a message. */
int crypt_header_parse(const unsigned char buf[CRYPT_HEADER_BYTES], struct crypt_header *h,
                       char *err, size_t err_size);

/* The key id of `public_key`: raw, and as hex. */
void crypt_key_id(const unsigned char public_key[CRYPT_PUBLIC_KEY_BYTES],
                  unsigned char id[CRYPT_KEY_ID_BYTES]);
void crypt_key_id_hex(const unsigned char id[CRYPT_KEY_ID_BYTES], char hex[CRYPT_KEY_ID_HEX_SIZE]);

void crypt_le32_put(unsigned char *p, uint32_t v);
uint32_t crypt_le32_get(const unsigned char *p);

/* A compress_pull_cb over a file descriptor, counting what it read. */
struct crypt_fd_source {
	int fd;
	uint64_t offset;
};
int crypt_fd_source_pull_cb(void *ctx, void *buf, size_t len, size_t *got, char *err,
                            size_t err_size);

#endif
