/*
 * compress_io.c — the few I/O helpers libctcompress needs: whole writes that
 * never lose an error, whole reads, buffer growth, and error text.
 */
#include "compress_io.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "compress_stats.h"

void
compress_errf(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

/*
 * One write() with SIGPIPE blocked in this thread.  A write to a pipe whose
 * reader has gone raises SIGPIPE in the writing thread, and its default
 * action would kill the whole plugin process instead of giving us EPIPE to
 * report.  The kernel raises it both for a write that fails with EPIPE and
 * for one cut short when the reader leaves halfway, so look at what is
 * pending afterwards rather than at the result, and take back a SIGPIPE that
 * this write raised (one that was pending before belongs to someone else).
 */
static ssize_t
write_without_sigpipe(int fd, const void *buf, size_t len)
{
	static const struct timespec no_wait = {0, 0};
	sigset_t pipe_set, old_set, pending;
	int was_pending, saved_errno;
	ssize_t n;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	n = write(fd, buf, len);
	saved_errno = errno;
	sigpending(&pending);
	if (!was_pending && sigismember(&pending, SIGPIPE))
		while (sigtimedwait(&pipe_set, NULL, &no_wait) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	errno = saved_errno;
	return n;
}

int
compress_io_write_all(int fd, const void *buf, size_t len, uint64_t offset, char *err,
                      size_t err_size)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write_without_sigpipe(fd, p, len > SSIZE_MAX ? SSIZE_MAX : len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* write() returning 0 for a non-empty buffer makes no
			 * progress; treat it as an I/O error, not a retry. */
			int e = n < 0 ? errno : EIO;

			compress_errf(err, err_size, "write at offset %llu: %s",
			              (unsigned long long)offset, strerror(e));
			return e == ENOSPC || e == EDQUOT ? CT_ENOSPC : CT_EIO;
		}
		p += n;
		len -= (size_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}

int
compress_io_read_full(int fd, void *buf, size_t len, size_t *got, uint64_t offset, char *err,
                      size_t err_size)
{
	unsigned char *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, p + done, len - done > SSIZE_MAX ? SSIZE_MAX : len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			compress_errf(err, err_size, "read at offset %llu: %s",
			              (unsigned long long)(offset + done), strerror(errno));
			return CT_EIO;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*got = done;
	return 0;
}

int
compress_io_reserve(unsigned char **buf, size_t *cap, size_t need)
{
	unsigned char *p;

	if (need <= *cap)
		return 0;
	p = realloc(*buf, need);
	if (p == NULL)
		return CT_ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

/* The file itself, counted and hashed: the source an input stage reads. */
static int
input_file_pull_cb(void *ctx, void *buf, size_t len, size_t *got, char *err, size_t err_size)
{
	struct compress_input *in = ctx;
	int rc;

	rc = compress_io_read_full(in->fd, buf, len, got, in->tally->stored_bytes, err, err_size);
	if (rc == 0)
		rc = compress_tally_add_stored(in->tally, buf, *got);
	if (rc != 0 && rc != CT_EIO)
		compress_errf(err, err_size, "SHA-256 of the file failed");
	return rc;
}

int
compress_input_read(struct compress_input *in, void *buf, size_t len, size_t *got, char *err,
                    size_t err_size)
{
	if (in->stage.pull == NULL)
		return input_file_pull_cb(in, buf, len, got, err, err_size);
	return in->stage.pull(in->stage.ctx, buf, len, got, input_file_pull_cb, in, err, err_size);
}
