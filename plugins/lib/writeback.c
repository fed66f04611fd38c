/*
 * writeback.c — see writeback.h.  One thread per file, woken once per
 * WRITEBACK_BYTES: about twenty wake-ups for a 170 MB backup.
 */
#define _GNU_SOURCE /* sync_file_range */
#include "writeback.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"

/* Written bytes between two starts of their writeback. */
#define WRITEBACK_BYTES ((uint64_t)8 << 20)

struct writeback {
	int fd;
	off_t start; /* the file offset the writer started at */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t noted;  /* under mu: the writer's last note that was posted */
	uint64_t posted; /* writer's side only: `noted` as last posted */
	int is_stopping; /* under mu */
};

static void *
writeback_main(void *arg)
{
	struct writeback *wb = arg;
	uint64_t done = 0, upto;
	int is_ok = 1;

	pthread_mutex_lock(&wb->mu);
	for (;;) {
		while (wb->noted == done && !wb->is_stopping)
			pthread_cond_wait(&wb->cv, &wb->mu);
		if (wb->noted == done)
			break; /* stopping, and nothing new */
		upto = wb->noted;
		pthread_mutex_unlock(&wb->mu);
		if (is_ok && sync_file_range(wb->fd, wb->start + (off_t)done, (off_t)(upto - done),
		                             SYNC_FILE_RANGE_WRITE) != 0)
			is_ok = 0;
		done = upto;
		pthread_mutex_lock(&wb->mu);
		if (!is_ok)
			break;
	}
	pthread_mutex_unlock(&wb->mu);
	return NULL;
}

struct writeback *
writeback_start(int fd)
{
	struct writeback *wb;
	struct stat sb;
	off_t start;

	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (start = lseek(fd, 0, SEEK_CUR)) < 0)
		return NULL;
	wb = calloc(1, sizeof(*wb));
	if (wb == NULL)
		return NULL;
	wb->fd = fd;
	wb->start = start;
	pthread_mutex_init(&wb->mu, NULL);
	pthread_cond_init(&wb->cv, NULL);
	if (fdio_thread_start(&wb->thread, writeback_main, wb) != 0) {
		pthread_cond_destroy(&wb->cv);
		pthread_mutex_destroy(&wb->mu);
		free(wb);
		return NULL;
	}
	return wb;
}

void
writeback_note(struct writeback *wb, uint64_t written)
{
	if (wb == NULL || written - wb->posted < WRITEBACK_BYTES)
		return;
	wb->posted = written;
	pthread_mutex_lock(&wb->mu);
	wb->noted = written;
	pthread_cond_signal(&wb->cv);
	pthread_mutex_unlock(&wb->mu);
}

void
writeback_stop(struct writeback *wb)
{
	if (wb == NULL)
		return;
	pthread_mutex_lock(&wb->mu);
	wb->is_stopping = 1;
	pthread_cond_signal(&wb->cv);
	pthread_mutex_unlock(&wb->mu);
	pthread_join(wb->thread, NULL);
	pthread_cond_destroy(&wb->cv);
	pthread_mutex_destroy(&wb->mu);
	free(wb);
}
