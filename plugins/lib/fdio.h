/*
 * fdio.h — whole reads and whole writes on a file descriptor or socket,
 * and one line of error text: what libctcompress, libctcrypt, libcttartree
 * and libctbackup all need.
 *
 * Header-only on purpose.  They are separate convenience libraries: the
 * core links libctcrypt (keygen, decrypt) without the compression libraries
 * behind libctcompress, and a plugin links several; a shared object file
 * would be linked into such a plugin more than once.  Errors are the negative CT_* codes of
 * <caretaker/errors.h>; `err` may be NULL.
 */
#ifndef CT_PLUGINS_LIB_FDIO_H
#define CT_PLUGINS_LIB_FDIO_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/errors.h>

/* Formats one line into `err` (NULL or err_size 0: nothing); truncates. */
static inline void fdio_errf(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void
fdio_errf(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

/* For a message: the offset is not known. */
#define FDIO_NO_OFFSET UINT64_MAX

/*
 * One write() with SIGPIPE blocked in this thread.  A write to a pipe whose
 * reader has gone raises SIGPIPE in the writing thread, and its default
 * action would kill the whole process instead of giving us EPIPE to report.
 * The kernel raises it both for a write that fails with EPIPE and for one
 * cut short when the reader leaves halfway, so look at what is pending
 * afterwards rather than at the result, and take back a SIGPIPE that this
 * write raised (one that was pending before belongs to someone else).
 */
/*
 * pthread_create() of a helper thread (compression workers, writeback, the
 * check that follows a file) with every signal blocked in it, so that
 * signals meant for the plugin (the runner's SIGTERM on timeout) reach the
 * thread that called into it.  Returns 0 or pthread_create()'s error.
 */
static inline int
fdio_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e;
}

static inline ssize_t
fdio_write_without_sigpipe(int fd, const void *buf, size_t len)
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

/* "read"/"write" failed, at `offset` when known, with errno `e`'s words. */
static inline void
fdio_failed(char *err, size_t err_size, const char *what, uint64_t offset, int e)
{
	if (offset == FDIO_NO_OFFSET)
		fdio_errf(err, err_size, "%s failed: %s", what, strerror(e));
	else
		fdio_errf(err, err_size, "%s at offset %llu: %s", what, (unsigned long long)offset,
		          strerror(e));
}

/* Writes all `len` bytes, retrying short writes and EINTR, SIGPIPE kept
 * from the process.  `offset` (where the bytes go, or FDIO_NO_OFFSET) is for
 * the message only.  Returns 0, CT_ENOSPC (ENOSPC, EDQUOT) or CT_EIO. */
static inline int
fdio_write_all(int fd, const void *buf, size_t len, uint64_t offset, char *err, size_t err_size)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = fdio_write_without_sigpipe(fd, p, len > SSIZE_MAX ? SSIZE_MAX : len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* write() returning 0 for a non-empty buffer makes no
			 * progress; an I/O error, not a retry. */
			int e = n < 0 ? errno : EIO;

			fdio_failed(err, err_size, "write", offset, e);
			return e == ENOSPC || e == EDQUOT ? CT_ENOSPC : CT_EIO;
		}
		p += n;
		len -= (size_t)n;
		if (offset != FDIO_NO_OFFSET)
			offset += (uint64_t)n;
	}
	return 0;
}

/* Reads up to `len` bytes, short only at EOF, retrying EINTR; *got says how
 * many.  `offset` (where the read starts) is for the message.  Returns 0 or
 * CT_EIO. */
static inline int
fdio_read_full(int fd, void *buf, size_t len, size_t *got, uint64_t offset, char *err,
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
			fdio_failed(err, err_size, "read",
			            offset == FDIO_NO_OFFSET ? offset : offset + done, errno);
			return CT_EIO;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*got = done;
	return 0;
}

/* Sends all `len` bytes on a socket (MSG_NOSIGNAL: a reader that has gone
 * is EPIPE, not a signal), retrying short sends and EINTR.  0 or CT_EIO. */
static inline int
fdio_send_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CT_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
