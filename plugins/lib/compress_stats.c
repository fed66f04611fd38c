/*
 * compress_stats.c — the tally that writer and reader keep while they run,
 * and its conversion into the public struct compress_stats.
 */
#include "compress_stats.h"

#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "digest.h"

int
compress_tally_init(struct compress_tally *t, int is_passthrough)
{
	int rc;

	memset(t, 0, sizeof(*t));
	rc = digest_sha256_new(&t->raw_sha);
	if (rc != 0 || is_passthrough)
		return rc;
	return digest_sha256_new(&t->stored_sha);
}

void
compress_tally_drop_digests(struct compress_tally *t)
{
	digest_sha256_free(t->raw_sha);
	digest_sha256_free(t->stored_sha);
	t->raw_sha = t->stored_sha = NULL;
}

int
compress_tally_add_raw(struct compress_tally *t, const void *buf, size_t len)
{
	t->raw_bytes += len;
	if (t->raw_sha == NULL)
		return 0;
	return digest_sha256_update(t->raw_sha, buf, len);
}

/* Hashing the same bytes twice would cost a third of a second per 600 MB,
 * so a passthrough tally hashes only the raw side. */
int
compress_tally_add_stored(struct compress_tally *t, const void *buf, size_t len)
{
	t->stored_bytes += len;
	if (t->stored_sha == NULL)
		return 0;
	return digest_sha256_update(t->stored_sha, buf, len);
}

int
compress_tally_add_block(struct compress_tally *t, const struct compress_block *b)
{
	struct compress_block *grown;
	size_t cap;

	if (t->n_blocks == t->blocks_cap) {
		cap = t->blocks_cap == 0 ? 64 : t->blocks_cap * 2;
		grown = realloc(t->blocks, cap * sizeof(*grown));
		if (grown == NULL)
			return CT_ENOMEM;
		t->blocks = grown;
		t->blocks_cap = cap;
	}
	t->blocks[t->n_blocks++] = *b;
	return 0;
}

int
compress_tally_finish(struct compress_tally *t, struct compress_stats *st)
{
	struct compress_stats out;
	int rc;

	memset(&out, 0, sizeof(out));
	/* Dropped digests stay empty: the caller's to fill. */
	rc = t->raw_sha != NULL ? digest_sha256_final_hex(t->raw_sha, out.raw_sha256) : 0;
	if (rc == 0 && t->stored_sha != NULL)
		rc = digest_sha256_final_hex(t->stored_sha, out.stored_sha256);
	else if (rc == 0 && t->raw_sha != NULL) /* passthrough: one digest, the file's */
		memcpy(out.stored_sha256, out.raw_sha256, sizeof(out.stored_sha256));
	if (rc != 0)
		return rc;
	out.raw_bytes = t->raw_bytes;
	out.stored_bytes = t->stored_bytes;
	out.blocks = t->blocks;
	out.n_blocks = t->n_blocks;
	t->blocks = NULL;
	t->n_blocks = t->blocks_cap = 0;
	*st = out;
	return 0;
}

void
compress_tally_free(struct compress_tally *t)
{
	if (t == NULL)
		return;
	digest_sha256_free(t->raw_sha);
	digest_sha256_free(t->stored_sha);
	free(t->blocks);
	memset(t, 0, sizeof(*t));
}

void
compress_stats_free(struct compress_stats *st)
{
	if (st == NULL)
		return;
	free(st->blocks);
	memset(st, 0, sizeof(*st));
}
