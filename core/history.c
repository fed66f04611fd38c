/*
 * history.c — append-only run history (see history.h for the format and
 * the crash guarantees).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "durable.h"
#include "fdio.h"
#include "history.h"
#include "proc.h"
#include "xmalloc.h"

#define HISTORY_FILE "history.jsonl"
#define HISTORY_OLD_FILE "history.1.jsonl"

/* History files hold the jobs' summaries, which can be secrets: the
 * owner writes, a group of operators may read (a setgid state_dir gives it
 * its group), others nothing. */
#define HISTORY_MODE 0640

static int
history_open(const char *state_dir, const char *name, int flags, int *fd_out, char *err,
             size_t err_size)
{
	char *path = xasprintf("%s/%s", state_dir, name);
	int rc = fdio_open_regular(path, flags, HISTORY_MODE, fd_out, err, err_size);

	free(path);
	return rc;
}

/* A file written before the mode was tightened loses what others could
 * read (group write and every "other" bit), here and in the previous
 * generation, which is renamed and never written again. */
static void
history_fix_mode(const char *state_dir, int fd, const struct stat *st)
{
	char err[256];
	int old_fd = -1;

	if ((st->st_mode & 07777 & ~(mode_t)HISTORY_MODE) == 0)
		return;
	(void)fchmod(fd, st->st_mode & HISTORY_MODE);
	if (history_open(state_dir, HISTORY_OLD_FILE, O_RDONLY, &old_fd, err, sizeof(err)) == 0) {
		struct stat old;

		if (fstat(old_fd, &old) == 0)
			(void)fchmod(old_fd, old.st_mode & HISTORY_MODE);
		close(old_fd);
	}
}

/* A torn last record has no newline: start the next one on a fresh line. */
static int
history_needs_newline(int fd)
{
	struct stat st;
	char last = '\n';

	if (fstat(fd, &st) != 0 || st.st_size == 0)
		return 0;
	if (pread(fd, &last, 1, st.st_size - 1) != 1)
		return 0;
	return last != '\n';
}

/*
 * Opens history.jsonl and locks it exclusively.  A rotation by another
 * process between our open and our lock would leave us holding the old
 * file: after the lock, the open file must still be the one at the path.
 */
static int
history_lock_current(const char *state_dir, int *fd_out, struct stat *st, char *err,
                     size_t err_size)
{
	char *path = xasprintf("%s/%s", state_dir, HISTORY_FILE);
	struct stat now;
	int fd = -1, rc = CT_EIO;

	for (int tries = 0; tries < 10; tries++) {
		rc = history_open(state_dir, HISTORY_FILE, O_RDWR | O_APPEND | O_CREAT, &fd, err,
		                  err_size);
		if (rc != 0)
			break;
		flock(fd, LOCK_EX);
		if (fstat(fd, st) == 0 && stat(path, &now) == 0 && now.st_dev == st->st_dev &&
		    now.st_ino == st->st_ino) {
			history_fix_mode(state_dir, fd, st);
			*fd_out = fd;
			free(path);
			return 0;
		}
		close(fd);
		fd = -1;
		rc = CT_EIO;
		snprintf(err, err_size, "%s: replaced while waiting for its lock, 10 times", path);
	}
	free(path);
	return rc;
}

/* history.jsonl becomes history.1.jsonl (replacing it); the caller holds
 * the lock of the file it renames, and opens a new one afterwards. */
static int
history_rotate(const char *state_dir, char *err, size_t err_size)
{
	char *from = xasprintf("%s/%s", state_dir, HISTORY_FILE);
	char *to = xasprintf("%s/%s", state_dir, HISTORY_OLD_FILE);
	int rc = 0;

	if (rename(from, to) != 0) {
		snprintf(err, err_size, "cannot rename %s to %s: %s", from, to, strerror(errno));
		rc = CT_EIO;
	} else {
		(void)durable_fsync_dir(state_dir, NULL, 0); /* the records are safe either way */
	}
	free(from);
	free(to);
	return rc;
}

/* Errors that say the file cannot grow, for callers that tell a full disk
 * from a broken one. */
static int
history_write_error(int saved_errno)
{
	return saved_errno == ENOSPC || saved_errno == EDQUOT || saved_errno == EFBIG ? CT_ENOSPC
	                                                                              : CT_EIO;
}

/*
 * Write one record at the end of the locked file, whose size was `size`.
 * When any of it fails (a full disk, a file-size limit, an I/O error) the
 * file is cut back to `size` before the lock is released: a partial record
 * would otherwise stay behind for every reader to count as damage, and the
 * next append would have to step over it.
 */
static int
history_write_line(int fd, off_t size, const char *text, const char *path, char *err,
                   size_t err_size)
{
	char *line = xasprintf("%s%s\n", history_needs_newline(fd) ? "\n" : "", text);
	int rc = fdio_write_all(fd, line, strlen(line), FDIO_NO_OFFSET, NULL, 0), saved;

	if (rc == 0 && fdatasync(fd) != 0)
		rc = CT_EIO;
	free(line);
	if (rc == 0)
		return 0;
	saved = errno;
	if (ftruncate(fd, size) != 0)
		snprintf(err, err_size, "%s: write failed: %s (and cutting it back failed: %s)",
		         path, strerror(saved), strerror(errno));
	else
		snprintf(err, err_size, "%s: write failed: %s", path, strerror(saved));
	return history_write_error(saved);
}

int
history_append(const char *state_dir, uint64_t max_size, json_t *record, char *err, size_t err_size)
{
	char *text = json_dumps(record, JSON_COMPACT | JSON_REAL_PRECISION(15));
	char *path = xasprintf("%s/%s", state_dir, HISTORY_FILE);
	struct stat st;
	int fd = -1, rc;

	if (text == NULL) {
		snprintf(err, err_size, "cannot encode the history record");
		rc = CT_EIO;
		goto out;
	}
	rc = history_lock_current(state_dir, &fd, &st, err, err_size);
	if (rc == 0 && max_size > 0 && st.st_size > 0 &&
	    (uint64_t)st.st_size + strlen(text) + 2 > max_size) {
		rc = history_rotate(state_dir, err, err_size);
		close(fd);
		fd = -1;
		if (rc == 0)
			rc = history_lock_current(state_dir, &fd, &st, err, err_size);
	}
	if (rc == 0)
		rc = history_write_line(fd, st.st_size, text, path, err, err_size);
out:
	if (fd >= 0)
		close(fd);
	free(path);
	free(text);
	return rc;
}

static int
record_matches(json_t *rec, const struct history_query *q)
{
	const char *job = json_string_value(json_object_get(rec, "job"));
	json_int_t start = json_integer_value(json_object_get(rec, "start_us"));

	if (job == NULL)
		return 0;
	if (q->job != NULL && strcmp(job, q->job) != 0)
		return 0;
	return start >= q->since_us;
}

static void
history_keep_newest(json_t *records, size_t max)
{
	json_t *tail = json_array();

	for (size_t i = json_array_size(records) - max; i < json_array_size(records); i++)
		json_array_append(tail, json_array_get(records, i));
	json_array_clear(records);
	json_array_extend(records, tail);
	json_decref(tail);
}

static void
history_parse(const char *data, size_t len, const struct history_query *q, json_t *out,
              size_t *n_damaged)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		json_t *rec;

		if (nl == NULL) {
			(*n_damaged)++; /* torn last record */
			break;
		}
		if (nl > p) {
			rec = json_loadb(p, (size_t)(nl - p), 0, NULL);
			if (!json_is_object(rec))
				(*n_damaged)++;
			else if (record_matches(rec, q))
				json_array_append(out, rec);
			json_decref(rec);
		}
		p = nl + 1;
	}
}

/* Appends the matching records of one file to *out; a missing file adds
 * nothing. */
static int
history_read_file(const char *state_dir, const char *name, const struct history_query *q,
                  json_t *out, size_t *n_damaged, char *err, size_t err_size)
{
	char *path = xasprintf("%s/%s", state_dir, name);
	char *data = NULL;
	size_t len = 0;
	int fd = -1, rc;

	rc = fdio_open_regular(path, O_RDONLY, 0, &fd, err, err_size);
	if (rc == CT_ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	rc = fdio_read_regular(fd, path, &data, &len, err, err_size);
	if (rc == 0)
		history_parse(data, len, q, out, n_damaged);
out:
	if (fd >= 0)
		close(fd);
	free(data);
	free(path);
	return rc;
}

int
history_read(const char *state_dir, const struct history_query *q, json_t **out, size_t *n_damaged,
             char *err, size_t err_size)
{
	struct history_query all = *q;
	int lock_fd = -1, rc;

	*n_damaged = 0;
	*out = json_array();
	/* A shared lock on the current file keeps a rotation from moving
	 * records between the two reads. */
	if (history_open(state_dir, HISTORY_FILE, O_RDONLY, &lock_fd, err, err_size) == 0)
		flock(lock_fd, LOCK_SH);
	all.max = 0;
	rc = history_read_file(state_dir, HISTORY_OLD_FILE, &all, *out, n_damaged, err, err_size);
	if (rc == 0)
		rc = history_read_file(state_dir, HISTORY_FILE, &all, *out, n_damaged, err,
		                       err_size);
	if (lock_fd >= 0)
		close(lock_fd);
	if (rc == 0 && q->max > 0 && json_array_size(*out) > q->max)
		history_keep_newest(*out, q->max);
	return rc;
}
