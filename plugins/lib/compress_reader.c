/*
 * compress_reader.c — compress_file_verify(): read a file block by block,
 * decompress and check the blocks on the ring's workers, and hand the
 * uncompressed stream to the caller in order.
 *
 * The caller's thread reads the file sequentially (one read() per block,
 * after the header that says how long the block is), hashes the stored
 * bytes as they come off the file (compress_input_read(), which also runs an
 * input stage such as decryption), and takes finished blocks back in order
 * to hash the uncompressed bytes and pass them on.  Workers take the CRC-32 of the stored block,
 * compare it with the manifest, and decompress.  Files from other tools have
 * no block headers and go to compress_stream.c instead.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libdeflate.h>

#include <caretaker/errors.h>

#include "compress.h"
#include "compress_codec.h"
#include "compress_io.h"
#include "compress_ring.h"
#include "compress_stats.h"
#include "compress_stream.h"

struct reader {
	int fd;
	struct compress_input in;        /* fd, an optional stage, and the file's digest */
	struct compress_verify_params p; /* the caller's, with p.expect never NULL */
	size_t header_bytes;
	struct compress_ring *ring;
	uint64_t next_seq;                             /* blocks submitted so far */
	uint64_t next_take;                            /* blocks handed back to the caller so far */
	uint64_t offset;                               /* file bytes read so far */
	unsigned char head[COMPRESS_CODEC_HEADER_MAX]; /* a header read ahead */
	size_t head_len;
	struct compress_tally tally;
	char err[320];
};

static const struct compress_expect no_expect;

/* Sets the message for a damaged block and returns CT_ECORRUPT. */
static int
reader_corrupt(struct reader *r, uint64_t index, uint64_t offset, const char *what)
{
	snprintf(r->err, sizeof(r->err), "block %llu at offset %llu: %s", (unsigned long long)index,
	         (unsigned long long)offset, what);
	return CT_ECORRUPT;
}

/* Compares a block with its manifest entry (worker thread). */
static int
reader_match_expect(struct compress_slot *slot)
{
	const struct compress_block *e = slot->expect;

	if (e->offset != slot->offset || e->stored_bytes != slot->in_len ||
	    e->raw_bytes != slot->raw_bytes) {
		snprintf(slot->err, sizeof(slot->err),
		         "manifest says offset %llu, %llu stored and %llu raw bytes; file has "
		         "%llu, %zu, %llu",
		         (unsigned long long)e->offset, (unsigned long long)e->stored_bytes,
		         (unsigned long long)e->raw_bytes, (unsigned long long)slot->offset,
		         slot->in_len, (unsigned long long)slot->raw_bytes);
		return CT_ECORRUPT;
	}
	if (e->crc32 != slot->crc32) {
		snprintf(slot->err, sizeof(slot->err),
		         "stored bytes damaged: CRC-32 %08x, manifest says %08x",
		         (unsigned)slot->crc32, (unsigned)e->crc32);
		return CT_ECORRUPT;
	}
	return 0;
}

/* Runs on a worker: checksum the stored block, then decompress it. */
static void
reader_job(struct compress_slot *slot, void **state, void *ctx)
{
	const struct reader *r = ctx;

	slot->crc32 = libdeflate_crc32(0, slot->in, slot->in_len);
	slot->rc = slot->expect != NULL ? reader_match_expect(slot) : 0;
	if (slot->rc == 0)
		slot->rc = compress_codec_decode(state, r->p.kind, slot);
	if (slot->rc == CT_ENOMEM)
		snprintf(slot->err, sizeof(slot->err), "out of memory");
}

/* Hashes a checked block's uncompressed bytes and hands them on. */
static int
reader_pass_on(struct reader *r, const struct compress_slot *slot)
{
	int rc;

	rc = compress_tally_add_raw(&r->tally, slot->out, slot->out_len);
	if (rc != 0) {
		snprintf(r->err, sizeof(r->err), "SHA-256 of the stream failed");
		return rc;
	}
	if (r->p.data_cb == NULL)
		return 0;
	rc = r->p.data_cb(slot->out, slot->out_len, r->p.data_ctx);
	if (rc != 0)
		snprintf(r->err, sizeof(r->err), "block %llu: stopped by the data callback (%d)",
		         (unsigned long long)slot->index, rc);
	return rc;
}

/* Takes block `next_take` back from the workers, in order. */
static int
reader_take_next(struct reader *r)
{
	struct compress_slot *slot = compress_ring_wait(r->ring, r->next_take);
	struct compress_block b;
	int rc;

	r->next_take++;
	if (slot->rc != 0) {
		snprintf(r->err, sizeof(r->err), "block %llu at offset %llu: %s",
		         (unsigned long long)slot->index, (unsigned long long)slot->offset,
		         slot->err);
		return slot->rc;
	}
	if (slot->flags & COMPRESS_FLAG_END)
		return 0;
	rc = reader_pass_on(r, slot);
	if (rc != 0)
		return rc;
	b.offset = slot->offset;
	b.stored_bytes = slot->stored_bytes;
	b.raw_bytes = slot->out_len;
	b.crc32 = slot->crc32;
	rc = compress_tally_add_block(&r->tally, &b);
	if (rc != 0)
		snprintf(r->err, sizeof(r->err), "out of memory for the block list");
	return rc;
}

/* Reads up to `len` more bytes of a block into `slot`. */
static int
reader_read_into(struct reader *r, struct compress_slot *slot, size_t len, size_t *got)
{
	int rc;

	if (compress_io_reserve(&slot->in, &slot->in_cap, slot->in_len + len) != 0) {
		snprintf(r->err, sizeof(r->err), "out of memory for a %zu-byte block", len);
		return CT_ENOMEM;
	}
	*got = 0;
	rc = compress_input_read(&r->in, slot->in + slot->in_len, len, got, r->err, sizeof(r->err));
	slot->in_len += *got;
	return rc;
}

/* Fills r->head with the next block header, or leaves it short at EOF. */
static int
reader_read_head(struct reader *r)
{
	size_t got = 0;
	int rc;

	if (r->head_len == r->header_bytes)
		return 0;
	rc = compress_input_read(&r->in, r->head + r->head_len, r->header_bytes - r->head_len, &got,
	                         r->err, sizeof(r->err));
	r->head_len += got;
	return rc;
}

/* Checks a parsed header against where the block stands in the file.  The
 * length limits keep a damaged header from asking for gigabytes. */
static int
reader_check_header(struct reader *r, uint64_t seq, const struct compress_block_header *h)
{
	int is_end = (h->flags & COMPRESS_FLAG_END) != 0;
	char what[96];

	if (h->index != seq) {
		snprintf(what, sizeof(what), "header says block %u (blocks lost or out of order)",
		         (unsigned)h->index);
		return reader_corrupt(r, seq, r->offset, what);
	}
	if (is_end ? h->raw_bytes != 0
	           : (h->raw_bytes == 0 || h->raw_bytes > COMPRESS_BLOCK_MAX_BYTES))
		return reader_corrupt(r, seq, r->offset, "implausible uncompressed length");
	if (h->stored_bytes < r->header_bytes ||
	    h->stored_bytes > 2 * (uint64_t)h->raw_bytes + 4096)
		return reader_corrupt(r, seq, r->offset, "implausible block length");
	return 0;
}

static int
reader_truncated_at_header(struct reader *r, uint64_t seq)
{
	if (r->head_len > 0)
		return reader_corrupt(r, seq, r->offset,
		                      "truncated: file ends inside the block header");
	if (seq == 0)
		snprintf(r->err, sizeof(r->err), "empty file: no %s data",
		         compress_kind_name(r->p.kind));
	else
		snprintf(
		    r->err, sizeof(r->err),
		    "truncated: file ends at offset %llu after block %llu, without the end marker",
		    (unsigned long long)r->offset, (unsigned long long)(seq - 1));
	return CT_ECORRUPT;
}

/* Reads block `seq` of a file with block headers into `slot`. */
static int
reader_frame_next(struct reader *r, uint64_t seq, struct compress_slot *slot)
{
	struct compress_block_header h;
	size_t want, got = 0;
	char what[96];
	int rc;

	rc = reader_read_head(r);
	if (rc == 0 && r->head_len < r->header_bytes)
		rc = reader_truncated_at_header(r, seq);
	if (rc == 0 && compress_codec_parse_header(r->p.kind, r->head, &h) != 0)
		rc = reader_corrupt(r, seq, r->offset, "bad block header");
	if (rc == 0)
		rc = reader_check_header(r, seq, &h);
	if (rc != 0)
		return rc;
	memcpy(slot->in, r->head, r->header_bytes);
	slot->in_len = r->header_bytes;
	r->head_len = 0;
	want = h.stored_bytes - r->header_bytes;
	rc = reader_read_into(r, slot, want, &got);
	if (rc == 0 && got < want) {
		snprintf(what, sizeof(what),
		         "truncated: file ends after %zu of the block's %u bytes", slot->in_len,
		         (unsigned)h.stored_bytes);
		rc = reader_corrupt(r, seq, r->offset, what);
	}
	slot->raw_bytes = h.raw_bytes;
	slot->flags = h.flags;
	return rc;
}

/* Reads block `seq` of an uncompressed file: the manifest's block length
 * when there is one, else a default-sized piece.  *is_eof at the end. */
static int
reader_plain_next(struct reader *r, uint64_t seq, struct compress_slot *slot, int *is_eof)
{
	size_t want = COMPRESS_BLOCK_DEFAULT_BYTES, got = 0;
	int rc;

	if (seq < r->p.expect->n_blocks && r->p.expect->blocks[seq].stored_bytes > 0 &&
	    r->p.expect->blocks[seq].stored_bytes <= COMPRESS_BLOCK_MAX_BYTES)
		want = (size_t)r->p.expect->blocks[seq].stored_bytes;
	slot->in_len = 0;
	rc = reader_read_into(r, slot, want, &got);
	slot->raw_bytes = got;
	slot->flags = 0;
	*is_eof = rc == 0 && got == 0;
	return rc;
}

/* Hands the stored block in `slot` (already hashed as it was read) to the
 * workers. */
static int
reader_submit(struct reader *r, uint64_t seq, struct compress_slot *slot)
{
	char what[96];

	slot->index = seq;
	slot->offset = r->offset;
	slot->stored_bytes = slot->in_len;
	slot->expect = NULL;
	slot->rc = 0;
	slot->err[0] = '\0';
	if (r->p.expect->n_blocks > 0 && (slot->flags & COMPRESS_FLAG_END) == 0) {
		if (seq >= r->p.expect->n_blocks) {
			snprintf(what, sizeof(what), "the manifest lists only %zu blocks",
			         r->p.expect->n_blocks);
			return reader_corrupt(r, seq, r->offset, what);
		}
		slot->expect = &r->p.expect->blocks[seq];
	}
	r->offset += slot->in_len;
	compress_ring_submit(r->ring, seq);
	r->next_seq++;
	return 0;
}

/* After the end marker the file must end. */
static int
reader_check_eof(struct reader *r)
{
	unsigned char byte;
	size_t got = 0;
	int rc;

	rc = compress_input_read(&r->in, &byte, 1, &got, r->err, sizeof(r->err));
	if (rc == 0 && got > 0) {
		snprintf(r->err, sizeof(r->err),
		         "unexpected data after the end marker at offset %llu",
		         (unsigned long long)r->offset);
		rc = CT_ECORRUPT;
	}
	return rc;
}

/* Gives the slot of `seq`, handing back the block that held it first. */
static int
reader_slot_for(struct reader *r, uint64_t seq, struct compress_slot **slot)
{
	int rc;

	if (seq - r->next_take == compress_ring_size(r->ring)) {
		rc = reader_take_next(r);
		if (rc != 0)
			return rc;
	}
	*slot = compress_ring_slot(r->ring, seq);
	if (compress_io_reserve(&(*slot)->in, &(*slot)->in_cap, COMPRESS_CODEC_HEADER_MAX) != 0) {
		snprintf(r->err, sizeof(r->err), "out of memory for a block");
		return CT_ENOMEM;
	}
	return 0;
}

static int
reader_run_blocks(struct reader *r)
{
	struct compress_slot *slot;
	int rc = 0, is_eof = 0, is_end = 0;
	uint64_t seq;

	for (seq = 0; rc == 0 && !is_eof && !is_end; seq++) {
		rc = reader_slot_for(r, seq, &slot);
		if (rc == 0 && r->header_bytes > 0)
			rc = reader_frame_next(r, seq, slot);
		else if (rc == 0)
			rc = reader_plain_next(r, seq, slot, &is_eof);
		if (rc == 0 && !is_eof)
			rc = reader_submit(r, seq, slot);
		is_end = rc == 0 && !is_eof && (slot->flags & COMPRESS_FLAG_END) != 0;
	}
	if (rc == 0 && is_end)
		rc = reader_check_eof(r);
	while (rc == 0 && r->next_take < r->next_seq)
		rc = reader_take_next(r);
	return rc;
}

static int
reader_compare_hex(struct reader *r, const char *what, const char *got, const char *want)
{
	if (want == NULL || strcasecmp(got, want) == 0)
		return 0;
	snprintf(r->err, sizeof(r->err), "SHA-256 of the %s is %s, the manifest says %.64s", what,
	         got, want);
	return CT_ECORRUPT;
}

/* The checks that need the whole file: block count and both digests. */
static int
reader_check_totals(struct reader *r, struct compress_stats *got)
{
	const struct compress_expect *e = r->p.expect;
	int rc;

	rc = compress_tally_finish(&r->tally, got);
	if (rc != 0) {
		snprintf(r->err, sizeof(r->err), "SHA-256 finish failed");
		return rc;
	}
	if (e->n_blocks > 0 && got->n_blocks != e->n_blocks) {
		snprintf(r->err, sizeof(r->err),
		         "truncated: the file has %zu blocks (%llu bytes), the manifest lists %zu",
		         got->n_blocks, (unsigned long long)got->stored_bytes, e->n_blocks);
		return CT_ECORRUPT;
	}
	rc = reader_compare_hex(r, "file", got->stored_sha256, e->stored_sha256);
	if (rc == 0)
		rc = reader_compare_hex(r, "uncompressed stream", got->raw_sha256, e->raw_sha256);
	return rc;
}

/* Files without our block headers (plain gzip, the zstd tool) are read as
 * one stream, unless a manifest says the file had blocks. */
static int
reader_run(struct reader *r)
{
	struct compress_block_header h;
	int rc;

	if (r->header_bytes == 0)
		return reader_run_blocks(r);
	rc = reader_read_head(r);
	if (rc != 0)
		return rc;
	if (r->head_len < r->header_bytes || r->p.expect->n_blocks > 0 ||
	    compress_codec_parse_header(r->p.kind, r->head, &h) != CT_ENOENT)
		return reader_run_blocks(r);
	return compress_stream_verify(&r->in, &r->p, r->head, r->head_len, r->err, sizeof(r->err));
}

static int
reader_init(struct reader *r, int n_threads)
{
	struct compress_ring_params ring = {
	    .job_cb = reader_job, .state_free_cb = compress_codec_state_free, .ctx = r};
	int rc;

	/* Through a stage the file differs from the stream even for "none". */
	rc = compress_tally_init(&r->tally, r->p.kind == COMPRESS_NONE && r->in.stage.pull == NULL);
	if (rc != 0) {
		snprintf(r->err, sizeof(r->err), "out of memory for SHA-256 state");
		return rc;
	}
	if (n_threads == 0)
		n_threads = compress_ring_default_threads();
	(void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	ring.n_slots = 2 * (size_t)n_threads + 1;
	ring.n_threads = n_threads;
	return compress_ring_new(&ring, &r->ring, r->err, sizeof(r->err));
}

int
compress_file_verify(int in_fd, const struct compress_verify_params *p, struct compress_stats *st,
                     char *err, size_t err_size)
{
	struct compress_stats got = {0};
	struct reader r = {.fd = in_fd, .p = *p};
	int rc;

	if (!compress_codec_is_valid(p->kind) || p->n_threads < 0 || p->n_threads > 64) {
		fdio_errf(err, err_size, "invalid compression kind %d or thread count %d",
		          (int)p->kind, p->n_threads);
		return CT_EINVAL;
	}
	r.in = (struct compress_input){.fd = in_fd, .tally = &r.tally};
	if (p->stage != NULL)
		r.in.stage = *p->stage;
	if (p->expect == NULL)
		r.p.expect = &no_expect;
	r.header_bytes = compress_codec_header_bytes(p->kind);
	rc = reader_init(&r, p->n_threads);
	if (rc == 0)
		rc = reader_run(&r);
	/* Stop the workers before anything they might touch goes away. */
	compress_ring_free(r.ring);
	if (rc == 0)
		rc = reader_check_totals(&r, &got);
	if (rc != 0)
		fdio_errf(err, err_size, "%s", r.err);
	if (rc == 0 && st != NULL)
		*st = got;
	else
		compress_stats_free(&got);
	compress_tally_free(&r.tally);
	return rc;
}
