/*
 * fdio.c — whole reads and writes on descriptors, regular files only where
 * caretaker keeps files, helper threads (see fdio.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "fdio.h"

void
fdio_errf(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

int
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

/*
 * One write() with SIGPIPE blocked in this thread.  A write to a pipe whose
 * reader has gone raises SIGPIPE in the writing thread, and its default
 * action would kill the whole process instead of giving us EPIPE to report.
 * The kernel raises it both for a write that fails with EPIPE and for one
 * cut short when the reader leaves halfway, so look at what is pending
 * afterwards rather than at the result, and take back a SIGPIPE that this
 * write raised (one that was pending before belongs to someone else).
 */
ssize_t
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

void
fdio_failed(char *err, size_t err_size, const char *what, uint64_t offset, int e)
{
	if (offset == FDIO_NO_OFFSET)
		fdio_errf(err, err_size, "%s failed: %s", what, strerror(e));
	else
		fdio_errf(err, err_size, "%s at offset %llu: %s", what, (unsigned long long)offset,
		          strerror(e));
}

int
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

int
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

int
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

/* What a file that is not regular is, for messages. */
static const char *
fdio_file_kind(mode_t mode)
{
	static const struct {
		mode_t type;
		const char *word;
	} kinds[] = {
	    {S_IFIFO, "a fifo"},         {S_IFSOCK, "a socket"}, {S_IFCHR, "a character device"},
	    {S_IFBLK, "a block device"}, {S_IFDIR, "a folder"},  {S_IFLNK, "a symbolic link"},
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if ((mode & S_IFMT) == kinds[i].type)
			return kinds[i].word;
	return "not a regular file";
}

/* What to do about an open that failed, by errno. */
static const struct {
	int errnum;
	const char *hint;
} fdio_open_hints[] = {
    {EACCES, "run caretaker as the owner of the file (root for the shipped units), or fix "
             "its mode"},
    {EPERM, "run caretaker as the owner of the file (root for the shipped units)"},
    {ENOTDIR, "a part of the path is a file where a folder belongs"},
    {ELOOP, "caretaker does not follow symbolic links there: put the file itself in place"},
};

/* A failed open or fstat: "PATH: errno text" and a hint where one is
 * known; errno kept for the caller. */
static int
fdio_open_failed(const char *path, int fd, char *err, size_t err_size)
{
	int saved = errno;
	size_t n;

	if (saved == ELOOP) /* O_NOFOLLOW met a symbolic link */
		fdio_errf(err, err_size, "%s: is a symbolic link", path);
	else
		fdio_errf(err, err_size, "%s: %s", path, strerror(saved));
	n = err != NULL && err_size > 0 ? strlen(err) : 0;
	for (size_t i = 0; i < sizeof(fdio_open_hints) / sizeof(fdio_open_hints[0]); i++)
		if (fdio_open_hints[i].errnum == saved && n + 1 < err_size)
			fdio_errf(err + n, err_size - n, "\n  hint: %s", fdio_open_hints[i].hint);
	if (fd >= 0)
		close(fd);
	errno = saved;
	return saved == ENOENT ? CT_ENOENT : CT_ESYS;
}

int
fdio_open_regular(const char *path, int flags, mode_t mode, int *fd_out, char *err, size_t err_size)
{
	struct stat st;
	int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode);

	if (fd < 0 || fstat(fd, &st) != 0)
		return fdio_open_failed(path, fd, err, err_size);
	if (!S_ISREG(st.st_mode)) {
		fdio_errf(err, err_size,
		          "%s: is %s, not a regular file: refused\n"
		          "  hint: caretaker keeps only regular files there; move it away",
		          path, fdio_file_kind(st.st_mode));
		close(fd);
		return CT_EIO;
	}
	/* Regular files never block; clear the flag so nothing downstream
	 * has to think about EAGAIN. */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*fd_out = fd;
	return 0;
}

int
fdio_read_regular(int fd, const char *path, char **data, size_t *len, char *err, size_t err_size)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n = 1;

	if (fstat(fd, &st) != 0) {
		fdio_errf(err, err_size, "%s: %s", path, strerror(errno));
		return CT_EIO;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fdio_errf(err, err_size, "%s: out of memory for %lld bytes", path,
		          (long long)st.st_size);
		return CT_ENOMEM;
	}
	while (got < (size_t)st.st_size && n > 0) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			n = 1;
		else if (n > 0)
			got += (size_t)n;
	}
	if (n < 0) {
		fdio_errf(err, err_size, "%s: %s", path, strerror(errno));
		free(buf);
		return CT_EIO;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}
