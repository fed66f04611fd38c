/*
 * compress_writer.c — the streaming writer: cut the stream into blocks,
 * compress them on the ring's workers, write them in order.
 *
 * The pipeline, in the caller's thread unless said otherwise:
 *   1. write() copies bytes into the slot being filled and hashes them
 *      (SHA-256 of the stream is sequential, so it cannot move to workers;
 *      compress_writer_leave_digests() skips it, and the file's digest);
 *   2. a full slot goes to the ring, where a worker compresses it and takes
 *      the CRC-32 of the stored block (parallel, any order);
 *   3. writer_output() takes finished blocks back in order, hashes and
 *      writes them.  This is the only place that sees the stored bytes in
 *      file order, so an output stage (encryption: libsodium secretstream
 *      chains its state from one message to the next, so it cannot run on
 *      the workers) runs here, in front of the digest and the write, which
 *      then see the file as it lands on disk (writer_emit_cb()).
 * Step 3 also tells the writeback thread (writeback.h) how far the file
 * has been written.
 * Step 3 runs when the ring is full, so the caller waits for the oldest
 * block exactly when memory would otherwise grow.  There is no writer thread
 * of its own: a blocked write() to the file then also slows the producer,
 * which is the back-pressure we want.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>

#include <caretaker/errors.h>

#include "compress.h"
#include "compress_codec.h"
#include "compress_io.h"
#include "fdio.h"
#include "compress_ring.h"
#include "compress_stats.h"
#include "writeback.h"

struct compress_writer {
	int fd;
	struct writeback *wb; /* NULL unless fd is a regular file */
	enum compress_kind kind;
	int level;
	size_t block_bytes;
	struct compress_ring *ring;
	struct compress_slot *fill; /* the slot being filled: sequence next_seq */
	uint64_t next_seq;          /* blocks submitted so far */
	uint64_t next_emit;         /* blocks written so far */
	struct compress_tally tally;
	/* Compressed bytes so far (the file's too when there is no stage), and
	 * the output stage (push NULL: none). */
	uint64_t stream_bytes;
	struct compress_out_stage stage;
	int rc; /* first error; sticky */
	int is_finished;
	char err[320];
	char io_err[200]; /* words of the last failed write or stage call */
};

/* Runs on a worker: compress one block and checksum what will be stored. */
static void
writer_job(struct compress_slot *slot, void **state, void *ctx)
{
	const struct compress_writer *w = ctx;

	slot->rc = compress_codec_encode(state, w->kind, w->level, slot);
	if (slot->rc == 0)
		slot->crc32 = libdeflate_crc32(0, slot->out, slot->out_len);
	else if (slot->err[0] == '\0')
		snprintf(slot->err, sizeof(slot->err), "%s",
		         slot->rc == CT_ENOMEM ? "out of memory" : "compression failed");
}

/* Records the first error; every later call reports it again. */
static int
writer_fail(struct compress_writer *w, int rc, char *err, size_t err_size)
{
	if (w->rc == 0)
		w->rc = rc;
	fdio_errf(err, err_size, "%s", w->err);
	return w->rc;
}

/* Writes bytes of the file and adds them to its digest; a failure leaves
 * its words in w->io_err. */
static int
writer_emit_cb(void *ctx, const void *buf, size_t len)
{
	struct compress_writer *w = ctx;
	int rc;

	rc = fdio_write_all(w->fd, buf, len, w->tally.stored_bytes, w->io_err, sizeof(w->io_err));
	if (rc == 0)
		rc = compress_tally_add_stored(&w->tally, buf, len);
	if (rc != 0 && w->io_err[0] == '\0')
		snprintf(w->io_err, sizeof(w->io_err), "digest failed");
	if (rc == 0)
		writeback_note(w->wb, w->tally.stored_bytes);
	return rc;
}

/* Sends stored bytes to the file, through the stage if there is one;
 * is_end flushes the stage after the last block. */
static int
writer_send(struct compress_writer *w, const void *buf, size_t len, int is_end)
{
	const struct compress_sink to = {writer_emit_cb, w};

	w->io_err[0] = '\0';
	w->stream_bytes += len;
	if (w->stage.push == NULL)
		return writer_emit_cb(w, buf, len);
	return w->stage.push(w->stage.ctx, buf, len, is_end, &to, w->io_err, sizeof(w->io_err));
}

static int
writer_output(struct compress_writer *w, const struct compress_slot *slot)
{
	int rc;

	rc = writer_send(w, slot->out, slot->out_len, 0);
	if (rc != 0)
		snprintf(w->err, sizeof(w->err), "block %llu: %s", (unsigned long long)slot->index,
		         w->io_err[0] ? w->io_err : "output stage failed");
	return rc;
}

/* Takes the oldest block back from the ring and writes it. */
static int
writer_emit_next(struct compress_writer *w)
{
	struct compress_slot *slot = compress_ring_wait(w->ring, w->next_emit);
	struct compress_block b;
	int rc;

	w->next_emit++;
	if (slot->rc != 0) {
		snprintf(w->err, sizeof(w->err), "block %llu: %s", (unsigned long long)slot->index,
		         slot->err);
		return slot->rc;
	}
	b.offset = w->stream_bytes;
	b.stored_bytes = slot->out_len;
	b.raw_bytes = slot->raw_bytes;
	b.crc32 = slot->crc32;
	rc = writer_output(w, slot);
	if (rc == 0 && (slot->flags & COMPRESS_FLAG_END) == 0)
		rc = compress_tally_add_block(&w->tally, &b);
	if (rc == CT_ENOMEM)
		snprintf(w->err, sizeof(w->err), "out of memory for the block list");
	return rc;
}

/* Makes the slot of next_seq the one being filled, writing out its
 * previous block first if the ring is full. */
static int
writer_next_fill(struct compress_writer *w)
{
	int rc;

	if (w->next_seq - w->next_emit == compress_ring_size(w->ring)) {
		rc = writer_emit_next(w);
		if (rc != 0)
			return rc;
	}
	w->fill = compress_ring_slot(w->ring, w->next_seq);
	w->fill->in_len = 0;
	if (compress_io_reserve(&w->fill->in, &w->fill->in_cap, w->block_bytes) != 0) {
		snprintf(w->err, sizeof(w->err), "out of memory for a %zu-byte block",
		         w->block_bytes);
		return CT_ENOMEM;
	}
	return 0;
}

/* Hands the slot being filled to the workers as block next_seq. */
static int
writer_submit(struct compress_writer *w, unsigned flags)
{
	struct compress_slot *slot = w->fill;
	int rc;

	rc = compress_tally_add_raw(&w->tally, slot->in, slot->in_len);
	if (rc != 0) {
		snprintf(w->err, sizeof(w->err), "SHA-256 of the stream failed");
		return rc;
	}
	slot->index = w->next_seq;
	slot->flags = flags;
	slot->raw_bytes = slot->in_len;
	slot->rc = 0;
	slot->err[0] = '\0';
	compress_ring_submit(w->ring, w->next_seq);
	w->next_seq++;
	if (flags & COMPRESS_FLAG_END)
		return 0; /* nothing more to fill: writer_drain() writes the rest */
	return writer_next_fill(w);
}

static int
writer_check_params(const struct compress_writer_params *p, int *resolved_level, char *err,
                    size_t err_size)
{
	if (!compress_codec_is_valid(p->kind)) {
		fdio_errf(err, err_size, "unknown compression kind %d", (int)p->kind);
		return CT_EINVAL;
	}
	if (p->n_threads < 0 || p->n_threads > 64) {
		fdio_errf(err, err_size, "compression threads %d out of range 0..64", p->n_threads);
		return CT_EINVAL;
	}
	if (p->block_bytes != 0 && (p->block_bytes < COMPRESS_BLOCK_MIN_BYTES ||
	                            p->block_bytes > COMPRESS_BLOCK_MAX_BYTES)) {
		fdio_errf(err, err_size, "block size %zu out of range %zu..%zu", p->block_bytes,
		          COMPRESS_BLOCK_MIN_BYTES, COMPRESS_BLOCK_MAX_BYTES);
		return CT_EINVAL;
	}
	return compress_codec_level(p->kind, p->level, resolved_level, err, err_size);
}

/* The digests, the ring of workers and the first block to fill. */
static int
writer_start(struct compress_writer *w, int n_threads, char *err, size_t err_size)
{
	struct compress_ring_params ring = {
	    .job_cb = writer_job, .state_free_cb = compress_codec_state_free, .ctx = w};
	int rc;

	if (n_threads == 0)
		n_threads = compress_ring_default_threads();
	/* Through a stage the file differs from the stream even for "none". */
	rc = compress_tally_init(&w->tally, w->kind == COMPRESS_NONE && w->stage.push == NULL);
	if (rc != 0) {
		fdio_errf(err, err_size, "out of memory for SHA-256 state");
		return rc;
	}
	/* Two slots per thread keep every worker busy while the caller fills
	 * one more and waits for the oldest. */
	ring.n_slots = 2 * (size_t)n_threads + 1;
	ring.n_threads = n_threads;
	rc = compress_ring_new(&ring, &w->ring, err, err_size);
	if (rc != 0)
		return rc;
	rc = writer_next_fill(w);
	if (rc != 0)
		fdio_errf(err, err_size, "%s", w->err);
	return rc;
}

int
compress_writer_new(int out_fd, const struct compress_writer_params *p,
                    struct compress_writer **out, char *err, size_t err_size)
{
	struct compress_writer *w = NULL;
	int rc;

	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		fdio_errf(err, err_size, "out of memory for the compression writer");
		return CT_ENOMEM;
	}
	rc = writer_check_params(p, &w->level, err, err_size);
	if (rc != 0)
		goto out;
	w->fd = out_fd;
	w->kind = p->kind;
	if (p->stage != NULL)
		w->stage = *p->stage;
	w->block_bytes = p->block_bytes != 0 ? p->block_bytes : COMPRESS_BLOCK_DEFAULT_BYTES;
	rc = writer_start(w, p->n_threads, err, err_size);
	if (rc == 0)
		w->wb = writeback_start(out_fd);
out:
	if (rc != 0) {
		compress_writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int
compress_writer_leave_digests(struct compress_writer *w, char *err, size_t err_size)
{
	if (w->kind == COMPRESS_NONE) {
		fdio_errf(err, err_size,
		          "an uncompressed stream has no block checksums to stand "
		          "in for its SHA-256");
		return CT_EINVAL;
	}
	if (w->next_seq > 0 || w->fill->in_len > 0) {
		fdio_errf(err, err_size,
		          "the SHA-256 digests can only be left before the first byte");
		return CT_EINVAL;
	}
	compress_tally_drop_digests(&w->tally);
	return 0;
}

int
compress_writer_write(struct compress_writer *w, const void *buf, size_t len, char *err,
                      size_t err_size)
{
	const unsigned char *p = buf;
	size_t n;
	int rc;

	if (w->rc == 0 && w->is_finished)
		snprintf(w->err, sizeof(w->err), "write after the compression writer finished");
	if (w->rc != 0 || w->is_finished)
		return writer_fail(w, w->rc != 0 ? w->rc : CT_EINVAL, err, err_size);
	while (len > 0) {
		n = w->block_bytes - w->fill->in_len;
		n = n < len ? n : len;
		memcpy(w->fill->in + w->fill->in_len, p, n);
		w->fill->in_len += n;
		p += n;
		len -= n;
		if (w->fill->in_len == w->block_bytes) {
			rc = writer_submit(w, 0);
			if (rc != 0)
				return writer_fail(w, rc, err, err_size);
		}
	}
	return 0;
}

int
compress_writer_space(struct compress_writer *w, void **buf, size_t *len)
{
	if (w->rc != 0 || w->is_finished)
		return w->rc != 0 ? w->rc : CT_EINVAL;
	*buf = w->fill->in + w->fill->in_len;
	*len = w->block_bytes - w->fill->in_len;
	return 0;
}

int
compress_writer_commit(struct compress_writer *w, size_t len, char *err, size_t err_size)
{
	int rc;

	if (w->rc == 0 && (w->is_finished || len > w->block_bytes - w->fill->in_len))
		snprintf(w->err, sizeof(w->err), "commit after finish or beyond the space given");
	if (w->rc != 0 || w->is_finished || len > w->block_bytes - w->fill->in_len)
		return writer_fail(w, w->rc != 0 ? w->rc : CT_EINVAL, err, err_size);
	w->fill->in_len += len;
	if (w->fill->in_len == w->block_bytes) {
		rc = writer_submit(w, 0);
		if (rc != 0)
			return writer_fail(w, rc, err, err_size);
	}
	return 0;
}

/* Submits the partial last block and, for the framed kinds, the end
 * marker, then writes everything still in flight. */
static int
writer_drain(struct compress_writer *w)
{
	int rc = 0;

	if (w->fill->in_len > 0)
		rc = writer_submit(w, 0);
	if (rc == 0 && compress_codec_header_bytes(w->kind) > 0)
		rc = writer_submit(w, COMPRESS_FLAG_END);
	while (rc == 0 && w->next_emit < w->next_seq)
		rc = writer_emit_next(w);
	if (rc == 0 && w->stage.push != NULL) {
		rc = writer_send(w, NULL, 0, 1);
		if (rc != 0)
			snprintf(w->err, sizeof(w->err), "end of file: %s",
			         w->io_err[0] ? w->io_err : "output stage failed");
	}
	return rc;
}

int
compress_writer_finish(struct compress_writer *w, struct compress_stats *st, char *err,
                       size_t err_size)
{
	int rc;

	if (w->rc != 0 || w->is_finished) {
		if (w->rc == 0)
			snprintf(w->err, sizeof(w->err), "compression writer already finished");
		return writer_fail(w, w->rc != 0 ? w->rc : CT_EINVAL, err, err_size);
	}
	w->is_finished = 1;
	rc = writer_drain(w);
	writeback_stop(w->wb); /* the caller's fsync does the rest */
	w->wb = NULL;
	if (rc != 0)
		return writer_fail(w, rc, err, err_size);
	rc = compress_tally_finish(&w->tally, st);
	if (rc != 0) {
		snprintf(w->err, sizeof(w->err), "SHA-256 finish failed");
		return writer_fail(w, rc, err, err_size);
	}
	return 0;
}

void
compress_writer_free(struct compress_writer *w)
{
	if (w == NULL)
		return;
	writeback_stop(w->wb);
	compress_ring_free(w->ring);
	compress_tally_free(&w->tally);
	free(w);
}
