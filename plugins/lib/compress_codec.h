/*
 * compress_codec.h — the on-disk block format of each compression kind, for
 * libctcompress (internal).  compress.h describes the format itself.
 *
 * Encoding and decoding run on worker threads, each with its own codec
 * contexts in a `void *` state that starts NULL and is released with
 * compress_codec_state_free().
 */
#ifndef CARETAKER_PLUGINS_COMPRESS_CODEC_H
#define CARETAKER_PLUGINS_COMPRESS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "compress.h"

struct compress_slot;

/* Block header flag: this block ends the file and holds no data. */
#define COMPRESS_FLAG_END 1u

struct compress_block_header {
	unsigned flags;
	uint32_t index;
	uint32_t stored_bytes; /* the whole block, this header included */
	uint32_t raw_bytes;
};

/* 1 if `kind` is inside the enum. */
int compress_codec_is_valid(enum compress_kind kind);

/* Checks `level` for `kind` and maps COMPRESS_LEVEL_DEFAULT to the measured
 * default.  Returns 0 and sets *resolved, or CT_EINVAL with a message. */
int compress_codec_level(enum compress_kind kind, int level, int *resolved, char *err,
                         size_t err_size);

/* Bytes at the start of each block that hold its header: 0 for an unframed
 * kind (none).  Never more than COMPRESS_CODEC_HEADER_MAX. */
size_t compress_codec_header_bytes(enum compress_kind kind);
#define COMPRESS_CODEC_HEADER_MAX 32

/* Parses the header at `buf` (header_bytes long).  Returns 0; CT_ENOENT
 * when the bytes do not start like a caretaker block at all (a file from
 * another tool); CT_ECORRUPT when they do but the header is invalid. */
int compress_codec_parse_header(enum compress_kind kind, const unsigned char *buf,
                                struct compress_block_header *h);

/* Compresses slot->in (in_len bytes, may be 0) into slot->out as one whole
 * block numbered slot->index with slot->flags, growing slot->out as needed.
 * Sets out_len.  Returns 0 or a CT_* code with a message in slot->err. */
int compress_codec_encode(void **state, enum compress_kind kind, int level,
                          struct compress_slot *slot);

/* Decompresses the whole stored block slot->in into slot->out, which must
 * come out exactly slot->raw_bytes long, checking what the format carries
 * (CRC-32 and ISIZE, zstd content checksum).  Returns 0 or CT_ECORRUPT /
 * CT_ENOMEM with a message in slot->err. */
int compress_codec_decode(void **state, enum compress_kind kind, struct compress_slot *slot);

/* Frees a worker's codec contexts.  Accepts NULL. */
void compress_codec_state_free(void *state);

#endif
