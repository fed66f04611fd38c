/*
 * logrotate_copy.c — copytruncate: the log is copied to its rotated name
 * and then truncated in place, for applications that cannot reopen their
 * log.  The copy is written to a hidden temporary file, synced, journaled
 * by its inode and length, and renamed into place; then what the log
 * gained meanwhile is appended, the copy synced, what came during that
 * sync appended too, and the log truncated at once.
 *
 * The known limit (logrotate(8) has it too): a line the application writes
 * between that last read and ftruncate(2) is lost.  The window is the time
 * of one read of the last few bytes, microseconds; rename + create has no
 * such window and is the better choice wherever the application reopens.
 *
 * Resuming after a kill: COPIED with the copy in place (its inode) and the
 * log still holding the copied bytes at its head means the truncate did not
 * happen: the tail is appended and the log truncated.  A log shorter than
 * the copied length, or whose head differs from the copy's, was truncated
 * already.
 */
#define _GNU_SOURCE /* O_CLOEXEC, mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "logrotate.h"

#define COPY_BUF_BYTES ((size_t)1 << 20)
#define COPY_HEAD_BYTES ((size_t)64 << 10)

/* Appends `in` from `offset` to its end onto `out`; *copied is the number
 * of bytes. */
static int
copy_tail(struct lr_run *run, int in, uint64_t offset, int out, const char *path, uint64_t *copied)
{
	char *buf = malloc(COPY_BUF_BYTES);
	ssize_t n;
	int rc = 0;

	*copied = 0;
	if (buf == NULL)
		return CT_ENOMEM;
	while ((n = pread(in, buf, COPY_BUF_BYTES, (off_t)(offset + *copied))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			rc = plugin_host_fail(&run->host, errno == ENOSPC ? CT_ENOSPC : CT_EIO,
			                      "cannot copy %s: %s", path, strerror(errno));
			break;
		}
		*copied += (uint64_t)n;
	}
	if (n < 0)
		rc = plugin_host_fail(&run->host, CT_EIO, "cannot read %s: %s", path,
		                      strerror(errno));
	free(buf);
	return rc;
}

/* A hidden temporary file beside `target`: ".NAME.tmp-XXXXXX". */
static int
copy_temp_open(struct lr_run *run, const char *target, char *tmp, size_t size)
{
	char dir[PATH_MAX];
	int fd;

	durable_dirname(target, dir, sizeof(dir));
	snprintf(tmp, size, "%s/.%s" DURABLE_TMP_INFIX "XXXXXX", dir, lr_names_base(target));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return plugin_host_fail(&run->host, CT_EIO, "cannot create a file in %s: %s", dir,
		                        strerror(errno));
	return fd;
}

/* The copy gets the log's mode and owner. */
static int
copy_write(struct lr_run *run, struct lr_entry *e, int in, int out, const char *tmp)
{
	struct stat st;
	uint64_t copied = 0;
	int rc;

	rc = copy_tail(run, in, 0, out, e->path, &copied);
	if (rc == 0 && fstat(in, &st) == 0 &&
	    (fchown(out, st.st_uid, st.st_gid) != 0 || fchmod(out, st.st_mode & 07777) != 0))
		rc = plugin_host_fail(&run->host, CT_EPERM, "cannot set owner and mode of %s: %s",
		                      tmp, strerror(errno));
	if (rc == 0)
		rc = durable_fsync_fd(out, tmp, run->host.err, sizeof(run->host.err));
	if (rc == 0 && fstat(out, &st) == 0) {
		e->ino = (uint64_t)st.st_ino;
		e->dev = (uint64_t)st.st_dev;
		e->length = copied;
	}
	return rc;
}

int
lr_copy_begin(struct lr_run *run, struct lr_entry *e)
{
	char tmp[2 * PATH_MAX + 32];
	int in = -1, out = -1, rc;

	rc = lr_rotate_shift(run, e->path);
	if (rc != 0)
		return rc;
	in = open(e->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return plugin_host_fail(&run->host, CT_ENOENT, "cannot open %s: %s", e->path,
		                        strerror(errno));
	out = copy_temp_open(run, e->target, tmp, sizeof(tmp));
	rc = out < 0 ? out : copy_write(run, e, in, out, tmp);
	if (rc == 0)
		rc = lr_journal_step(run, e, LR_STAGE_COPIED);
	if (rc == 0)
		lr_fault_point(run, "copied");
	if (rc == 0)
		rc = durable_rename(tmp, e->target, run->host.err, sizeof(run->host.err));
	if (rc != 0 && out >= 0)
		unlink(tmp);
	if (out >= 0)
		close(out);
	close(in);
	if (rc == 0)
		lr_fault_point(run, "rename");
	return rc != 0 ? rc : lr_copy_finish(run, e);
}

/* Non-zero when the log still starts with the copy's first bytes: the
 * truncate has not happened. */
static int
copy_is_untruncated(int log, int copy, uint64_t length)
{
	size_t n = length < COPY_HEAD_BYTES ? (size_t)length : COPY_HEAD_BYTES;
	char *a = malloc(n + 1), *b = malloc(n + 1);
	struct stat st;
	int same = 0;

	if (a != NULL && b != NULL && fstat(log, &st) == 0 && (uint64_t)st.st_size >= length &&
	    pread(log, a, n, 0) == (ssize_t)n && pread(copy, b, n, 0) == (ssize_t)n)
		same = memcmp(a, b, n) == 0;
	free(a);
	free(b);
	return same;
}

/* The tail, a sync, the tail again, and the truncate right after it. */
static int
copy_catch_up_and_truncate(struct lr_run *run, struct lr_entry *e, int log, int copy)
{
	uint64_t more = 0;
	int rc;

	rc = copy_tail(run, log, e->length, copy, e->path, &more);
	if (rc == 0)
		rc = durable_fsync_fd(copy, e->target, run->host.err, sizeof(run->host.err));
	e->length += more;
	if (rc == 0)
		rc = copy_tail(run, log, e->length, copy, e->path, &more);
	if (rc == 0 && ftruncate(log, 0) != 0)
		rc = plugin_host_fail(&run->host, CT_EIO, "cannot truncate %s: %s", e->path,
		                      strerror(errno));
	if (rc == 0)
		lr_fault_point(run, "truncate");
	if (rc == 0)
		rc = durable_fsync_fd(copy, e->target, run->host.err, sizeof(run->host.err));
	return rc;
}

int
lr_copy_finish(struct lr_run *run, struct lr_entry *e)
{
	struct stat st;
	int log = -1, copy = -1, rc = 0;

	if (stat(e->target, &st) != 0 || (uint64_t)st.st_ino != e->ino) {
		/* The temporary copy never got its name: start again (the
		 * temporary file goes with the other leftovers). */
		if (lstat(e->path, &st) != 0)
			return plugin_host_fail(&run->host, CT_ENOENT,
			                        "%s is gone: rotation abandoned", e->path);
		e->ino = (uint64_t)st.st_ino;
		return lr_copy_begin(run, e);
	}
	log = open(e->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	copy = open(e->target, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (log < 0 || copy < 0)
		rc = plugin_host_fail(&run->host, CT_EIO, "cannot open %s or %s: %s", e->path,
		                      e->target, strerror(errno));
	if (rc == 0 && copy_is_untruncated(log, copy, e->length))
		rc = copy_catch_up_and_truncate(run, e, log, copy);
	if (log >= 0)
		close(log);
	if (copy >= 0)
		close(copy);
	return rc != 0 ? rc : lr_journal_step(run, e, LR_STAGE_DONE);
}
