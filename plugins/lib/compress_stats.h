/*
 * compress_stats.h — building a struct compress_stats: the growing block
 * list and the two running digests (internal to libctcompress).
 */
#ifndef CARETAKER_PLUGINS_COMPRESS_STATS_H
#define CARETAKER_PLUGINS_COMPRESS_STATS_H

#include "compress.h"

struct digest_sha256;

struct compress_tally {
	struct digest_sha256 *raw_sha;    /* of the uncompressed stream; NULL: dropped,
	                                     and then stored_sha too */
	struct digest_sha256 *stored_sha; /* of the file; NULL for passthrough or dropped */
	uint64_t raw_bytes;
	uint64_t stored_bytes;
	struct compress_block *blocks;
	size_t n_blocks, blocks_cap;
};

/* Starts the digests.  With `is_passthrough` (kind none) the file is the
 * stream, so only one digest runs and both hex results are that one.
 * Returns 0 or CT_ENOMEM; on failure the tally still needs
 * compress_tally_free(). */
int compress_tally_init(struct compress_tally *t, int is_passthrough);

/* Stops hashing (the bytes are still counted); compress_tally_finish()
 * then leaves both digests empty.  Only before the first byte. */
void compress_tally_drop_digests(struct compress_tally *t);

/* Count and hash bytes of the uncompressed stream / of the file.  Return 0
 * or CT_EIO. */
int compress_tally_add_raw(struct compress_tally *t, const void *buf, size_t len);
int compress_tally_add_stored(struct compress_tally *t, const void *buf, size_t len);

/* Appends one block.  Returns 0 or CT_ENOMEM. */
int compress_tally_add_block(struct compress_tally *t, const struct compress_block *b);

/* Finishes the digests into *st and moves the block list there (the tally
 * no longer owns it).  Returns 0 or CT_EIO. */
int compress_tally_finish(struct compress_tally *t, struct compress_stats *st);

/* Frees what the tally still owns; the struct itself is the caller's.
 * Accepts NULL. */
void compress_tally_free(struct compress_tally *t);

#endif
