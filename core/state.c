/*
 * state.c — per-job state between invocations (see state.h for the format
 * and the crash guarantees).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "durable.h"
#include "fdio.h"
#include "history.h"
#include "log.h"
#include "proc.h"
#include "result.h"
#include "state.h"
#include "xmalloc.h"

#define STATE_FILE "state.json"
#define STATE_LOCK "state.lock"
/* state.json holds each job's last summary, which can be a secret (the
 * last line of a command's output): the owner writes, a group of operators
 * may read, others nothing.  Its temporary file is 0600 until renamed. */
#define STATE_MODE 0640

struct state {
	json_t *root;
};

static json_t *
state_jobs(const struct state *st)
{
	return st != NULL ? json_object_get(st->root, "jobs") : NULL;
}

static json_t *
state_job(const struct state *st, const char *job)
{
	return json_object_get(state_jobs(st), job);
}

static json_t *
state_job_new(struct state *st, const char *job)
{
	json_t *j = state_job(st, job);

	if (j == NULL) {
		j = json_object();
		json_object_set_new(state_jobs(st), job, j);
	}
	return j;
}

static int64_t
state_int(const struct state *st, const char *job, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(state_job(st, job), key));
}

int64_t
state_last_elapse_us(const struct state *st, const char *job)
{
	return state_int(st, job, "last_elapse_us");
}

int64_t
state_last_success_us(const struct state *st, const char *job)
{
	return state_int(st, job, "last_success_us");
}

json_t *
state_last_run(const struct state *st, const char *job)
{
	return json_object_get(state_job(st, job), "last");
}

const char *
state_history_error(const struct state *st, const char *job)
{
	return json_string_value(json_object_get(state_last_run(st, job), "history_error"));
}

/* Remember a record as the job's newest run (output and log left out),
 * with why it is missing from history when it is: the first line of the
 * error, for a one-line status. */
static void
state_apply_record(struct state *st, const json_t *record, const char *history_error)
{
	const char *job = json_string_value(json_object_get(record, "job"));
	int status = result_status_from_word(json_string_value(json_object_get(record, "status")));
	json_t *copy, *j;

	if (job == NULL)
		return;
	j = state_job_new(st, job);
	copy = json_deep_copy(record);
	json_object_del(copy, "output");
	json_object_del(copy, "log");
	if (history_error != NULL)
		json_object_set_new(copy, "history_error",
		                    json_stringn(history_error, strcspn(history_error, "\n")));
	json_object_set_new(j, "last", copy);
	if (status == CT_STATUS_OK || status == CT_STATUS_WARN)
		json_object_set(j, "last_success_us", json_object_get(record, "start_us"));
}

static struct state *
state_empty(void)
{
	struct state *st = xcalloc(1, sizeof(*st));

	st->root = json_pack("{s:i, s:{}}", "format", 1, "jobs");
	return st;
}

/* Rebuild from history; the newest run of a job stands in for its last
 * handled elapse (run --due then waits for the next one). */
static int
state_rebuild(const char *state_dir, struct state **out, char *err, size_t err_size)
{
	struct history_query q = {0};
	struct state *st = state_empty();
	json_t *runs = NULL, *rec;
	size_t damaged, i;
	int rc = history_read(state_dir, &q, &runs, &damaged, err, err_size);

	json_array_foreach(runs, i, rec)
	{
		const char *job = json_string_value(json_object_get(rec, "job"));

		state_apply_record(st, rec, NULL);
		if (job != NULL)
			json_object_set(state_job_new(st, job), "last_elapse_us",
			                json_object_get(rec, "start_us"));
	}
	json_decref(runs);
	if (rc != 0) {
		state_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

/*
 * Only real damage moves the file: it was read whole and does not parse,
 * or has no "jobs".  The file is moved only while it is still the one that
 * was read (a writer may have renamed a good one over it meanwhile), and
 * the copy aside loses what others could read, like state.json itself.
 */
static void
state_move_aside(const char *path, const struct stat *read_st, const char *why)
{
	char *aside = xasprintf("%s.corrupt-%lld", path, (long long)time(NULL));
	struct stat now;

	if (stat(path, &now) != 0 || now.st_dev != read_st->st_dev ||
	    now.st_ino != read_st->st_ino) {
		free(aside);
		return;
	}
	if (rename(path, aside) == 0) {
		(void)chmod(aside, read_st->st_mode & STATE_MODE);
		log_warn("%s is damaged (%s): moved to %s and rebuilt from history", path, why,
		         aside);
	} else {
		log_warn("%s is damaged (%s) and cannot be moved aside: %s; rebuilt from history",
		         path, why, strerror(errno));
	}
	free(aside);
}

/* The parsed file, or NULL when it is damaged (moved aside). */
static struct state *
state_parse(const char *path, const char *text, size_t len, const struct stat *read_st)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);
	struct state *st = NULL;

	if (json_is_object(json_object_get(root, "jobs"))) {
		st = xcalloc(1, sizeof(*st));
		st->root = root;
		return st;
	}
	state_move_aside(path, read_st, root != NULL ? "no \"jobs\" object" : jerr.text);
	json_decref(root);
	return NULL;
}

/* state.json read whole; CT_ENOENT when there is none. */
static int
state_read(const char *path, char **text, size_t *len, struct stat *read_st, char *err,
           size_t err_size)
{
	int fd = -1;
	int rc = fdio_open_regular(path, O_RDONLY, 0, &fd, err, err_size);

	if (rc == 0 && fstat(fd, read_st) != 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		rc = CT_ESYS;
	}
	if (rc == 0)
		rc = fdio_read_regular(fd, path, text, len, err, err_size);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
state_load(const char *state_dir, struct state **out, char *err, size_t err_size)
{
	char *path = xasprintf("%s/%s", state_dir, STATE_FILE);
	char *text = NULL;
	struct state *st = NULL;
	struct stat read_st;
	size_t len = 0;
	int rc = state_read(path, &text, &len, &read_st, err, err_size);

	if (rc == 0)
		st = state_parse(path, text, len, &read_st);
	else if (rc != CT_ENOENT)
		goto out; /* unreadable is not damaged: nothing is moved */
	if (st == NULL)
		rc = state_rebuild(state_dir, &st, err, err_size);
	if (rc == 0)
		*out = st;
out:
	free(text);
	free(path);
	return rc;
}

void
state_free(struct state *st)
{
	if (st == NULL)
		return;
	json_decref(st->root);
	free(st);
}

/* Replace state.json as a whole (see durable_replace), without fsync.
 * history.jsonl is the record of truth and is synced at every run;
 * state.json is what history says, kept small for quick reads.  After a
 * power failure it may be the previous one (whole), or, on a file system
 * that does not order a rename after the data it replaces, empty: then it
 * is damaged, moved aside and rebuilt from history (state_load).  Two
 * syncs (file and folder) would cost about a fifth of a short run. */
static int
state_save(const char *state_dir, const struct state *st, char *err, size_t err_size)
{
	char *path = xasprintf("%s/%s", state_dir, STATE_FILE);
	char *text = json_dumps(st->root, JSON_COMPACT | JSON_REAL_PRECISION(15));
	int rc = text == NULL ? CT_ENOMEM
	                      : durable_replace(path, text, strlen(text), STATE_MODE, 0, NULL, 0);

	if (rc != 0)
		snprintf(err, err_size, "cannot write %s: %s", path,
		         text == NULL ? "cannot encode it" : strerror(errno));
	free(text);
	free(path);
	return rc;
}

/* Lock, load, let `change` edit, save, unlock. */
static int
state_update(const char *state_dir, void (*change)(struct state *, const void *), const void *arg,
             char *err, size_t err_size)
{
	char *lock_path = xasprintf("%s/%s", state_dir, STATE_LOCK);
	struct state *st = NULL;
	int lock_fd = -1;
	int rc = fdio_open_regular(lock_path, O_RDWR | O_CREAT, 0644, &lock_fd, err, err_size);

	if (rc == 0 && flock(lock_fd, LOCK_EX) != 0) {
		snprintf(err, err_size, "cannot lock %s: %s", lock_path, strerror(errno));
		rc = CT_ESYS;
	}
	if (rc == 0)
		rc = state_load(state_dir, &st, err, err_size);
	if (rc == 0) {
		change(st, arg);
		rc = state_save(state_dir, st, err, err_size);
	}
	state_free(st);
	if (lock_fd >= 0)
		close(lock_fd);
	free(lock_path);
	return rc;
}

struct run_change {
	const json_t *record;
	int64_t elapse_us;
	const char *history_error;
};

static void
change_run_cb(struct state *st, const void *arg)
{
	const struct run_change *c = arg;
	const char *job = json_string_value(json_object_get(c->record, "job"));

	state_apply_record(st, c->record, c->history_error);
	if (c->elapse_us != 0 && job != NULL)
		json_object_set_new(state_job_new(st, job), "last_elapse_us",
		                    json_integer(c->elapse_us));
}

int
state_record_run(const char *state_dir, const json_t *record, int64_t elapse_us,
                 const char *history_error, char *err, size_t err_size)
{
	struct run_change c = {record, elapse_us, history_error};

	return state_update(state_dir, change_run_cb, &c, err, err_size);
}

struct elapse_change {
	const char *job;
	int64_t elapse_us;
};

static void
change_elapse_cb(struct state *st, const void *arg)
{
	const struct elapse_change *c = arg;

	json_object_set_new(state_job_new(st, c->job), "last_elapse_us",
	                    json_integer(c->elapse_us));
}

int
state_record_elapse(const char *state_dir, const char *job, int64_t elapse_us, char *err,
                    size_t err_size)
{
	struct elapse_change c = {job, elapse_us};

	return state_update(state_dir, change_elapse_cb, &c, err, err_size);
}
