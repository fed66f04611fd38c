/*
 * backupcheck_follow.c — L1 and L2 of a backup file while it is being
 * written (see backupcheck.h).
 *
 * Two threads.  The feeder sends the file back with sendfile() as fstat()
 * shows it growing, the bytes in order, into a socket (its send buffer
 * sized to one feed); once the writer is done it sends up to the final size
 * and closes its end.  The checker runs the same read as backupcheck_run()
 * on the other end of the socket.  The digests and
 * blocks the writer recorded are known only at the end, so the checker reads
 * without them and finish compares.
 *
 * Bytes below the size fstat() reports have been copied into the page cache
 * by the writer's write(), so they are the file's; the same bytes a re-read
 * after the fsync would see.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "backupcheck.h"
#include "backupcheck_read.h"
#include "fdio.h"
#include "monotonic.h"

#define FEED_BYTES ((size_t)1 << 20)
/* Between looks at a file that has not grown by a whole feed.  Each look
 * wakes this thread, and each small send the checker: on 2 cores every
 * wake-up is taken from the dump.  A compressed dump grows by ~30 MB/s,
 * a feed every ~35 ms. */
#define FEED_WAIT_NS 10000000L

struct backupcheck_follow {
	struct backupcheck_opts o; /* a copy whose m is m0 */
	struct manifest m0;        /* format, kind, encryption: no expectations */
	int file_fd;
	int sock[2]; /* [0] the checker reads, [1] the feeder sends */
	pthread_t feeder, checker;
	int has_feeder, has_checker;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int is_done, is_abort; /* under mu */
	uint64_t final_size;   /* under mu, once is_done */
	uint64_t sent;
	int feed_rc;
	char feed_err[256];
	int check_rc;
	struct backupcheck_result r;
	struct compress_stats got;
};

/* ---- the feeder ---- */

/* How far the feeder may read, and whether that is the end. */
static uint64_t
feed_limit(struct backupcheck_follow *f, int *is_end, int *is_abort)
{
	struct stat sb;
	uint64_t limit;

	pthread_mutex_lock(&f->mu);
	*is_end = f->is_done;
	*is_abort = f->is_abort;
	limit = f->final_size;
	pthread_mutex_unlock(&f->mu);
	if (!*is_end)
		limit = fstat(f->file_fd, &sb) == 0 ? (uint64_t)sb.st_size : f->sent;
	return limit;
}

static void
feed_wait(struct backupcheck_follow *f)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += FEED_WAIT_NS;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->mu);
	if (!f->is_done && !f->is_abort)
		pthread_cond_timedwait(&f->cv, &f->mu, &until);
	pthread_mutex_unlock(&f->mu);
}

/* sendfile(): the bytes go from the page cache to the socket without a
 * copy through this thread. */
static int
feed_some(struct backupcheck_follow *f, uint64_t limit)
{
	size_t want = limit - f->sent < FEED_BYTES ? (size_t)(limit - f->sent) : FEED_BYTES;
	off_t off = (off_t)f->sent;
	ssize_t n = sendfile(f->sock[1], f->file_fd, &off, want);

	if (n < 0 && errno == EINTR)
		return 0;
	/* EPIPE, ECONNRESET: the checker stopped first; it says why. */
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		return CT_EIO;
	if (n <= 0) {
		snprintf(f->feed_err, sizeof(f->feed_err), "reading %s back at offset %llu: %s",
		         f->o.path, (unsigned long long)f->sent,
		         n < 0 ? strerror(errno) : "it shrank");
		return CT_EIO;
	}
	f->sent += (uint64_t)n;
	return 0;
}

static void *
feeder_main(void *arg)
{
	struct backupcheck_follow *f = arg;
	int is_end = 0, is_abort = 0, rc = 0;
	uint64_t limit;

	/* sendfile() has no MSG_NOSIGNAL: a checker that stopped early raises
	 * SIGPIPE for this thread, which started with every signal blocked
	 * (fdio_thread_start): it stays pending and is dropped when it ends. */
	while (rc == 0) {
		limit = feed_limit(f, &is_end, &is_abort);
		if (is_abort || (is_end && f->sent >= limit))
			break;
		if (limit - f->sent >= FEED_BYTES || (is_end && f->sent < limit))
			rc = feed_some(f, limit);
		else
			feed_wait(f);
	}
	if (rc != 0 && f->feed_err[0] != '\0')
		f->feed_rc = rc;
	shutdown(f->sock[1], SHUT_WR);
	return NULL;
}

/* ---- the checker ---- */

static void *
checker_main(void *arg)
{
	struct backupcheck_follow *f = arg;

	f->check_rc = backupcheck_read(&f->o, f->sock[0], &f->r, &f->got);
	/* A check that stopped early must not leave the feeder blocked. */
	shutdown(f->sock[0], SHUT_RDWR);
	return NULL;
}

/* ---- start, finish, abandon ---- */

static void
follow_release(struct backupcheck_follow *f)
{
	if (f->has_feeder)
		pthread_join(f->feeder, NULL);
	if (f->has_checker)
		pthread_join(f->checker, NULL);
	for (int i = 0; i < 2; i++)
		if (f->sock[i] >= 0)
			close(f->sock[i]);
	if (f->file_fd >= 0)
		close(f->file_fd);
	compress_stats_free(&f->got);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static int
follow_open(struct backupcheck_follow *f, char *err, size_t err_size)
{
	int bytes = (int)FEED_BYTES;

	f->file_fd = open(f->o.path, O_RDONLY | O_CLOEXEC);
	if (f->file_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sock) != 0) {
		snprintf(err, err_size, "cannot follow %s: %s", f->o.path, strerror(errno));
		return CT_EIO;
	}
	(void)setsockopt(f->sock[1], SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
	return 0;
}

int
backupcheck_follow_start(const struct backupcheck_opts *o, struct backupcheck_follow **out,
                         char *err, size_t err_size)
{
	struct backupcheck_follow *f = calloc(1, sizeof(*f));
	int rc;

	if (f == NULL)
		return CT_ENOMEM;
	f->o = *o;
	f->m0 = (struct manifest){.format = o->m->format,
	                          .compress = o->m->compress,
	                          .encryption_key_id = o->m->encryption_key_id};
	f->o.m = &f->m0;
	f->file_fd = f->sock[0] = f->sock[1] = -1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	rc = follow_open(f, err, err_size);
	if (rc == 0 && fdio_thread_start(&f->checker, checker_main, f) == 0)
		f->has_checker = 1;
	if (rc == 0 && f->has_checker && fdio_thread_start(&f->feeder, feeder_main, f) == 0)
		f->has_feeder = 1;
	if (rc == 0 && !f->has_feeder) {
		snprintf(err, err_size, "cannot start the threads that follow %s", o->path);
		rc = CT_ESYS;
	}
	if (rc != 0) {
		backupcheck_follow_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int
backupcheck_follow_gives_digests(const struct backupcheck_follow *f)
{
	return !backupcheck_is_l1_only(&f->o) && f->m0.compress != COMPRESS_NONE;
}

/* The file as the writer described it: size, digests, every block. */
static int
compare_blocks(const struct compress_stats *got, const struct manifest *m,
               struct backupcheck_result *r)
{
	if (got->n_blocks != m->n_blocks) {
		backupcheck_detailf(r, "the file holds %zu blocks, the writer wrote %zu",
		                    got->n_blocks, m->n_blocks);
		return CT_ECORRUPT;
	}
	for (size_t i = 0; i < m->n_blocks; i++) {
		const struct compress_block *a = &got->blocks[i], *b = &m->blocks[i];

		if (a->offset != b->offset || a->stored_bytes != b->stored_bytes ||
		    a->raw_bytes != b->raw_bytes || a->crc32 != b->crc32) {
			backupcheck_detailf(r,
			                    "block %zu at offset %llu: the file has another block "
			                    "than the writer wrote",
			                    i, (unsigned long long)a->offset);
			return CT_ECORRUPT;
		}
	}
	return 0;
}

static int
compare(struct backupcheck_follow *f, const struct manifest *m, struct backupcheck_result *r)
{
	const struct compress_stats *got = &f->got;
	struct stat sb;

	if (fstat(f->file_fd, &sb) != 0 || (uint64_t)sb.st_size != m->stored_bytes) {
		backupcheck_detailf(r, "L1 failed: the file is %llu bytes, the writer wrote %llu",
		                    (unsigned long long)sb.st_size,
		                    (unsigned long long)m->stored_bytes);
		return CT_ECORRUPT;
	}
	if ((m->stored_sha256[0] == '\0' || m->raw_sha256[0] == '\0') &&
	    !backupcheck_follow_gives_digests(f)) {
		backupcheck_detailf(r, "the writer recorded no SHA-256 of the %s",
		                    m->stored_sha256[0] == '\0' ? "file" : "uncompressed stream");
		return CT_EINVAL;
	}
	if (m->stored_sha256[0] != '\0' && strcasecmp(got->stored_sha256, m->stored_sha256) != 0) {
		backupcheck_detailf(r, "SHA-256 of the file is %s, the manifest says %.64s",
		                    got->stored_sha256, m->stored_sha256);
		return CT_ECORRUPT;
	}
	if (backupcheck_is_l1_only(&f->o))
		return 0;
	if (m->raw_sha256[0] != '\0' && strcasecmp(got->raw_sha256, m->raw_sha256) != 0) {
		backupcheck_detailf(r,
		                    "SHA-256 of the uncompressed stream is %s, the manifest says "
		                    "%.64s",
		                    got->raw_sha256, m->raw_sha256);
		return CT_ECORRUPT;
	}
	return compare_blocks(got, m, r);
}

void
backupcheck_follow_writer_done(struct backupcheck_follow *f, uint64_t final_size)
{
	pthread_mutex_lock(&f->mu);
	f->is_done = 1;
	f->final_size = final_size;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

int
backupcheck_follow_finish(struct backupcheck_follow *f, const struct manifest *m,
                          struct backupcheck_result *r)
{
	struct backupcheck_opts o = f->o;
	double t0 = monotonic_seconds();
	int rc;

	backupcheck_follow_writer_done(f, m->stored_bytes);
	pthread_join(f->feeder, NULL);
	pthread_join(f->checker, NULL);
	f->has_feeder = f->has_checker = 0;
	*r = f->r;
	rc = f->check_rc;
	if (rc == 0 && f->feed_rc != 0) {
		backupcheck_detailf(r, "%s", f->feed_err);
		rc = f->feed_rc;
	}
	if (rc == 0)
		rc = compare(f, m, r);
	o.m = m;
	if (rc == CT_ECORRUPT && r->passed == 0 && !backupcheck_is_l1_only(&o))
		backupcheck_classify(&o, f->file_fd, r);
	if (rc == 0 && !backupcheck_is_l1_only(&o))
		backupcheck_describe_pass(&o, r);
	r->seconds = monotonic_seconds() - t0;
	follow_release(f);
	return rc;
}

void
backupcheck_follow_free(struct backupcheck_follow *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->is_abort = 1;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	for (int i = 0; i < 2; i++)
		if (f->sock[i] >= 0)
			shutdown(f->sock[i], SHUT_RDWR);
	follow_release(f);
}
