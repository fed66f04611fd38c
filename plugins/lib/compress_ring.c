/*
 * compress_ring.c — worker threads over a ring of block slots.
 *
 * One mutex guards the whole ring.  That is cheap enough: it is taken a few
 * times per block, and a block is megabytes of compression work.  Workers
 * take jobs in submission order, so the oldest block (the one the owner
 * waits for next) is always started first.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#include "compress_ring.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "compress_io.h"

enum slot_state { SLOT_OWNED, SLOT_QUEUED, SLOT_DONE };

struct compress_ring {
	pthread_mutex_t lock;
	pthread_cond_t work_cv; /* a job was submitted, or stop */
	pthread_cond_t done_cv; /* a job finished */
	struct compress_slot *slots;
	enum slot_state *states;
	size_t n_slots;
	uint64_t submitted; /* jobs submitted so far */
	uint64_t started;   /* jobs taken by workers so far */
	int is_stopping;
	pthread_t *threads;
	int n_threads; /* threads actually started */
	compress_ring_job_cb job_cb;
	compress_ring_state_free_cb state_free_cb;
	void *ctx;
};

/* Counts the CPUs this process may run on (a systemd CPUAffinity= or a
 * cpuset can allow fewer than are online), falling back to online CPUs. */
int
compress_ring_default_threads(void)
{
	cpu_set_t set;
	long n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n < 1)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > 64 ? 64 : (int)n;
}

/* Takes the next job, or returns NULL when the ring is stopping. */
static struct compress_slot *
worker_take(struct compress_ring *r)
{
	struct compress_slot *slot = NULL;

	pthread_mutex_lock(&r->lock);
	while (!r->is_stopping && r->started == r->submitted)
		pthread_cond_wait(&r->work_cv, &r->lock);
	if (!r->is_stopping)
		slot = &r->slots[r->started++ % r->n_slots];
	pthread_mutex_unlock(&r->lock);
	return slot;
}

static void *
worker_main(void *arg)
{
	struct compress_ring *r = arg;
	struct compress_slot *slot;
	void *state = NULL;

	while ((slot = worker_take(r)) != NULL) {
		r->job_cb(slot, &state, r->ctx);
		pthread_mutex_lock(&r->lock);
		r->states[slot - r->slots] = SLOT_DONE;
		pthread_cond_broadcast(&r->done_cv);
		pthread_mutex_unlock(&r->lock);
	}
	if (r->state_free_cb != NULL)
		r->state_free_cb(state);
	return NULL;
}

static int
ring_start_threads(struct compress_ring *r, int n_threads, char *err, size_t err_size)
{
	int e = 0;

	while (r->n_threads < n_threads) {
		e = fdio_thread_start(&r->threads[r->n_threads], worker_main, r);
		if (e != 0)
			break;
		r->n_threads++;
	}
	if (e != 0) {
		fdio_errf(err, err_size, "cannot start compression thread: %s", strerror(e));
		return CT_ESYS;
	}
	return 0;
}

int
compress_ring_new(const struct compress_ring_params *p, struct compress_ring **out, char *err,
                  size_t err_size)
{
	struct compress_ring *r;
	int rc;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto nomem;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->work_cv, NULL);
	pthread_cond_init(&r->done_cv, NULL);
	r->n_slots = p->n_slots;
	r->job_cb = p->job_cb;
	r->state_free_cb = p->state_free_cb;
	r->ctx = p->ctx;
	r->slots = calloc(p->n_slots, sizeof(*r->slots));
	r->states = calloc(p->n_slots, sizeof(*r->states));
	r->threads = calloc((size_t)p->n_threads, sizeof(*r->threads));
	if (r->slots == NULL || r->states == NULL || r->threads == NULL)
		goto nomem;
	rc = ring_start_threads(r, p->n_threads, err, err_size);
	if (rc != 0) {
		compress_ring_free(r);
		return rc;
	}
	*out = r;
	return 0;
nomem:
	compress_ring_free(r);
	fdio_errf(err, err_size, "out of memory for compression slots");
	return CT_ENOMEM;
}

size_t
compress_ring_size(const struct compress_ring *r)
{
	return r->n_slots;
}

struct compress_slot *
compress_ring_slot(struct compress_ring *r, uint64_t seq)
{
	return &r->slots[seq % r->n_slots];
}

void
compress_ring_submit(struct compress_ring *r, uint64_t seq)
{
	pthread_mutex_lock(&r->lock);
	r->states[seq % r->n_slots] = SLOT_QUEUED;
	r->submitted++;
	pthread_cond_signal(&r->work_cv);
	pthread_mutex_unlock(&r->lock);
}

struct compress_slot *
compress_ring_wait(struct compress_ring *r, uint64_t seq)
{
	size_t i = seq % r->n_slots;

	pthread_mutex_lock(&r->lock);
	while (r->states[i] != SLOT_DONE)
		pthread_cond_wait(&r->done_cv, &r->lock);
	r->states[i] = SLOT_OWNED;
	pthread_mutex_unlock(&r->lock);
	return &r->slots[i];
}

void
compress_ring_free(struct compress_ring *r)
{
	size_t i;
	int t;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->is_stopping = 1;
	pthread_cond_broadcast(&r->work_cv);
	pthread_mutex_unlock(&r->lock);
	for (t = 0; t < r->n_threads; t++)
		pthread_join(r->threads[t], NULL);
	for (i = 0; r->slots != NULL && i < r->n_slots; i++) {
		free(r->slots[i].in);
		free(r->slots[i].out);
	}
	free(r->slots);
	free(r->states);
	free(r->threads);
	pthread_cond_destroy(&r->done_cv);
	pthread_cond_destroy(&r->work_cv);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
