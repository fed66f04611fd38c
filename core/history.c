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

#include "history.h"
#include "proc.h"
#include "xmalloc.h"

#define HISTORY_FILE "history.jsonl"
#define HISTORY_OLD_FILE "history.1.jsonl"

static int
history_open(const char *state_dir, const char *name, int flags, int *fd_out, char *err,
	     size_t err_size)
{
	char *path = xasprintf("%s/%s", state_dir, name);
	int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0640);

	if (fd < 0) {
		int saved = errno;

		snprintf(err, err_size, "%s: %s", path, strerror(saved));
		free(path);
		return saved == ENOENT ? CT_ENOENT : CT_ESYS;
	}
	free(path);
	*fd_out = fd;
	return 0;
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
		(void)proc_fsync_dir(state_dir); /* the records are safe either way */
	}
	free(from);
	free(to);
	return rc;
}

int
history_append(const char *state_dir, uint64_t max_size, json_t *record, char *err,
	       size_t err_size)
{
	char *text = json_dumps(record, JSON_COMPACT | JSON_REAL_PRECISION(15));
	char *line = NULL;
	struct stat st;
	int fd = -1, rc;

	if (text == NULL) {
		snprintf(err, err_size, "cannot encode the history record");
		return CT_EIO;
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
	if (rc != 0)
		goto out;
	line = xasprintf("%s%s\n", history_needs_newline(fd) ? "\n" : "", text);
	rc = proc_write_all(fd, line, strlen(line));
	if (rc == 0 && fdatasync(fd) != 0)
		rc = CT_EIO;
	if (rc != 0)
		snprintf(err, err_size, "%s/%s: write failed: %s", state_dir, HISTORY_FILE,
			 strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	free(line);
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

static int
history_slurp(int fd, char **data, size_t *len, char *err, size_t err_size)
{
	struct stat st;
	ssize_t got;

	if (fstat(fd, &st) != 0) {
		snprintf(err, err_size, "history: %s", strerror(errno));
		return CT_EIO;
	}
	*data = xmalloc((size_t)st.st_size + 1);
	got = read(fd, *data, (size_t)st.st_size);
	if (got < 0) {
		snprintf(err, err_size, "history: %s", strerror(errno));
		free(*data);
		return CT_EIO;
	}
	*len = (size_t)got;
	(*data)[*len] = '\0';
	return 0;
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
	char *data = NULL;
	size_t len = 0;
	int fd = -1, rc;

	rc = history_open(state_dir, name, O_RDONLY, &fd, err, err_size);
	if (rc == CT_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	rc = history_slurp(fd, &data, &len, err, err_size);
	close(fd);
	if (rc == 0)
		history_parse(data, len, q, out, n_damaged);
	free(data);
	return rc;
}

int
history_read(const char *state_dir, const struct history_query *q, json_t **out,
	     size_t *n_damaged, char *err, size_t err_size)
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
