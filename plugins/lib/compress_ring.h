/*
 * compress_ring.h — a fixed ring of block slots and the worker threads that
 * process them, for libctcompress (internal).
 *
 * One owner thread (the writer's or reader's caller) fills slots in
 * sequence order and submits them; workers run the job on each slot, in any
 * order and in parallel; the owner waits for the slots in sequence order
 * again.  Memory is bounded by the number of slots, and order is kept by
 * construction: sequence number `seq` always lives in slot seq % n_slots,
 * and the owner takes a slot back before it refills it.
 */
#ifndef CARETAKER_PLUGINS_COMPRESS_RING_H
#define CARETAKER_PLUGINS_COMPRESS_RING_H

#include <stddef.h>
#include <stdint.h>

struct compress_block;

/* One block in flight.  Between submit and wait the slot belongs to a worker;
 * otherwise to the owner.  Buffers persist across uses and are freed with
 * the ring. */
struct compress_slot {
	unsigned char *in; /* job input: raw bytes (writer) or a stored block (reader) */
	size_t in_len, in_cap;
	unsigned char *out; /* job output: the other one */
	size_t out_len, out_cap;
	uint64_t index;                      /* block number in the file */
	uint64_t offset;                     /* where the block starts in the file */
	uint64_t stored_bytes;               /* the block's length in the file (reader) */
	uint64_t raw_bytes;                  /* uncompressed length the block must have (reader) */
	unsigned flags;                      /* block header flags */
	uint32_t crc32;                      /* CRC-32 of the stored block, set by the job */
	const struct compress_block *expect; /* manifest entry to match, or NULL */
	int rc;                              /* the job's result; on failure `err` says why */
	char err[256];
};

/* Runs on a worker thread.  *worker_state starts NULL for each thread, the
 * job may keep per-thread state there (codec contexts) and the ring frees it
 * with the state_free callback when the thread ends.  Sets slot->rc and
 * slot->err rather than returning. */
typedef void (*compress_ring_job_cb)(struct compress_slot *slot, void **worker_state, void *ctx);
typedef void (*compress_ring_state_free_cb)(void *worker_state);

struct compress_ring;

/* One thread per CPU the process may run on, at least 1, at most 64. */
int compress_ring_default_threads(void);

/* A ring's shape and its job, in one struct as the writer's parameters. */
struct compress_ring_params {
	size_t n_slots;
	int n_threads; /* 1 or more */
	compress_ring_job_cb job_cb;
	compress_ring_state_free_cb state_free_cb;
	void *ctx; /* the job's, passed to every call */
};

/* Starts p->n_threads workers over p->n_slots empty slots (`p` is copied).
 * Returns 0 and sets *out, or CT_ENOMEM / CT_ESYS with a message. */
int compress_ring_new(const struct compress_ring_params *p, struct compress_ring **out, char *err,
                      size_t err_size);

size_t compress_ring_size(const struct compress_ring *r);

/* The slot that holds sequence number `seq`. */
struct compress_slot *compress_ring_slot(struct compress_ring *r, uint64_t seq);

/* Hands the slot of `seq` to the workers.  The owner submits 0, 1, 2, ...
 * and must have taken back seq - n_slots first. */
void compress_ring_submit(struct compress_ring *r, uint64_t seq);

/* Blocks until the job of `seq` is done and gives its slot back. */
struct compress_slot *compress_ring_wait(struct compress_ring *r, uint64_t seq);

/* Stops the workers (jobs not yet started are dropped), joins them, frees
 * the slots.  Accepts NULL. */
void compress_ring_free(struct compress_ring *r);

#endif
