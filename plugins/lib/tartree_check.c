/*
 * tartree_check.c — reading a tar stream back to its end (for `verify`):
 * tartree_stream_check() over a pull callback, and tartree_checker_*, which
 * runs the same check on a thread fed through a pipe, for callers that get
 * the stream pushed at them (compress_file_verify's data callback).
 *
 * libarchive's tar reader accepts a stream that stops at an entry boundary
 * without the two zero blocks that end an archive ("some writers omit
 * them"); a backup cut there would pass.  So the check notes how far the
 * reader had consumed after the last entry's data and requires the end to
 * come later than that: the end-of-archive blocks must be there.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, F_SETPIPE_SZ */
#endif
#include "tartree.h"
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <caretaker/errors.h>

#define CHECK_BUF_BYTES (256 * 1024)

struct check {
	struct archive *a;
	tartree_read_cb *cb;
	void *cb_ctx;
	int cb_rc; /* the callback's error, returned as is */
	unsigned char *buf;
	uint64_t n_entries;
	char *err;
	size_t err_size;
};

static void check_errf(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
check_errf(struct check *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err == NULL || c->err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, c->err_size, fmt, ap);
	va_end(ap);
}

static la_ssize_t
check_read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct check *c = ctx;
	size_t got = 0;
	int rc;

	rc = c->cb(c->cb_ctx, c->buf, CHECK_BUF_BYTES, &got);
	if (rc != 0) {
		c->cb_rc = rc;
		archive_set_error(a, EIO, "the stream's source failed (%d)", rc);
		return -1;
	}
	*buf = c->buf;
	return (la_ssize_t)got;
}

/* The words for a failure at the current entry, and its code. */
static int
check_fail(struct check *c, const char *name)
{
	const char *msg = archive_error_string(c->a);

	if (c->cb_rc != 0)
		return c->cb_rc;
	check_errf(c, "entry %llu (%s), near offset %lld of the stream: %s",
	           (unsigned long long)c->n_entries, name != NULL ? name : "?",
	           (long long)archive_filter_bytes(c->a, 0), msg != NULL ? msg : "damaged");
	return archive_errno(c->a) == ENOMEM ? CT_ENOMEM : CT_ECORRUPT;
}

/* Reads every entry; reading the data through (not skipping it) is what
 * finds a stream cut inside a file. */
static int
check_entries(struct check *c, struct tartree_stats *st)
{
	struct archive_entry *e;
	la_int64_t after_data = 0;
	int r;

	for (;;) {
		r = archive_read_next_header(c->a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return check_fail(c, NULL);
		if (archive_read_data_skip(c->a) != ARCHIVE_OK)
			return check_fail(c, archive_entry_pathname(e));
		tartree_stats_add_entry(st, e);
		c->n_entries++;
		after_data = archive_filter_bytes(c->a, 0);
	}
	if (archive_filter_bytes(c->a, 0) > after_data)
		return 0;
	check_errf(c,
	           "truncated: the stream ends after entry %llu at offset %lld without the "
	           "end-of-archive blocks",
	           (unsigned long long)c->n_entries, (long long)after_data);
	return CT_ECORRUPT;
}

int
tartree_stream_check(tartree_read_cb *cb, void *ctx, struct tartree_stats *st, char *err,
                     size_t err_size)
{
	struct tartree_stats got;
	struct check c = {.cb = cb, .cb_ctx = ctx, .err = err, .err_size = err_size};
	int rc = CT_ENOMEM;

	memset(&got, 0, sizeof(got));
	c.a = archive_read_new();
	c.buf = malloc(CHECK_BUF_BYTES);
	if (c.a == NULL || c.buf == NULL || archive_read_support_format_tar(c.a) != ARCHIVE_OK) {
		check_errf(&c, "out of memory for libarchive");
		goto out;
	}
	if (archive_read_open(c.a, &c, NULL, check_read_cb, NULL) != ARCHIVE_OK) {
		rc = check_fail(&c, NULL);
		goto out;
	}
	rc = check_entries(&c, &got);
	if (rc == 0 && st != NULL)
		*st = got;
out:
	archive_read_free(c.a);
	free(c.buf);
	return rc;
}

/* ---- the pushed variant ---- */

struct tartree_checker {
	int read_fd, write_fd;
	pthread_t thread;
	int has_thread;
	int is_stopped; /* set by the thread when the check ended; atomic */
	int rc;
	struct tartree_stats st;
	char err[320];
};

static int
checker_pipe_read_cb(void *ctx, void *buf, size_t len, size_t *got)
{
	struct tartree_checker *c = ctx;
	ssize_t n;

	do
		n = read(c->read_fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return CT_EIO;
	*got = (size_t)n;
	return 0;
}

/* The check, then draining the pipe so that a push never blocks on a
 * reader that has stopped reading. */
static void *
checker_main(void *arg)
{
	struct tartree_checker *c = arg;
	char sink[64 * 1024];
	ssize_t n;

	c->rc = tartree_stream_check(checker_pipe_read_cb, c, &c->st, c->err, sizeof(c->err));
	__atomic_store_n(&c->is_stopped, 1, __ATOMIC_RELEASE);
	do
		n = read(c->read_fd, sink, sizeof(sink));
	while (n > 0 || (n < 0 && errno == EINTR));
	return NULL;
}

int
tartree_checker_new(struct tartree_checker **out, char *err, size_t err_size)
{
	struct tartree_checker *c;
	int fds[2];

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		fdio_errf(err, err_size, "out of memory for the archive check");
		return CT_ENOMEM;
	}
	c->read_fd = c->write_fd = -1;
	if (pipe2(fds, O_CLOEXEC) != 0) {
		fdio_errf(err, err_size, "archive check: pipe: %s", strerror(errno));
		free(c);
		return CT_ESYS;
	}
	c->read_fd = fds[0];
	c->write_fd = fds[1];
	/* A bigger pipe means fewer switches between the two threads. */
	(void)fcntl(c->write_fd, F_SETPIPE_SZ, 1 << 20);
	if (pthread_create(&c->thread, NULL, checker_main, c) != 0) {
		fdio_errf(err, err_size, "archive check: cannot start a thread");
		tartree_checker_free(c);
		return CT_ESYS;
	}
	c->has_thread = 1;
	*out = c;
	return 0;
}

int
tartree_checker_push(const void *buf, size_t len, void *checker)
{
	struct tartree_checker *c = checker;
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		if (__atomic_load_n(&c->is_stopped, __ATOMIC_ACQUIRE))
			return CT_EIO;
		n = write(c->write_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CT_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Ends the stream and waits for the thread. */
static void
checker_join(struct tartree_checker *c)
{
	if (c->write_fd >= 0)
		close(c->write_fd);
	c->write_fd = -1;
	if (c->has_thread)
		pthread_join(c->thread, NULL);
	c->has_thread = 0;
}

int
tartree_checker_finish(struct tartree_checker *c, struct tartree_stats *st, char *err,
                       size_t err_size)
{
	checker_join(c);
	if (c->rc != 0) {
		fdio_errf(err, err_size, "%s", c->err);
		return c->rc;
	}
	if (st != NULL)
		*st = c->st;
	return 0;
}

void
tartree_checker_free(struct tartree_checker *c)
{
	if (c == NULL)
		return;
	checker_join(c);
	if (c->read_fd >= 0)
		close(c->read_fd);
	free(c);
}
