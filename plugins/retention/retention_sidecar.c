/*
 * retention_sidecar.c — the JSON file beside every archive file, and what
 * a killed run left in archive_to, settled when the next run starts.
 *
 * The sidecar says what the file holds and how to check and restore it
 * (the table, the columns in COPY's order, the cutoff, the rows, the sizes
 * and SHA-256 digests of the rows and of the file, the transaction that
 * deleted them) and whether that delete is known to have committed:
 * "pending" is written before the COMMIT, "committed" after it
 * (docs/retention.md lists every member).
 *
 * Settling, for the files of this job (JOB-YYYYmmddTHHMMSSZ-NNNNNN.*):
 *  - a hidden .NAME.partial or temporary sidecar: never complete, and the
 *    delete it belonged to never committed (the COMMIT comes after the
 *    rename): removed;
 *  - a "pending" sidecar: the server's txid_status() of its transaction
 *    says what happened.  committed: the sidecar is marked so.  aborted:
 *    the rows are still in the table, so the file and its sidecar are
 *    removed (they will be archived again).  in progress, or too old to
 *    tell: left as it is, with a warning;
 *  - an archive file without a sidecar: only someone's hand makes one, so
 *    it is never removed; a warning names it.
 * Nothing is removed that the server has not shown to be rolled back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "durable.h"
#include "fdio.h"
#include "retention.h"

#define SIDECAR_FORMAT 1
/* "JOB-" then 20250101T000000Z-000001 */
#define STAMP_SEQ_LEN 23

static json_t *
utc_now_json(void)
{
	char buf[32];
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
	return json_string(buf);
}

/* ---- writing ---- */

static json_t *
columns_json(const struct retention_target *tg)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < tg->n_columns; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "name", tg->column_names[i],
		                                   "type", tg->column_types[i]));
	return a;
}

/* What the file holds, and the statement that loads it back. */
static json_t *
contents_json(const struct retention_archive_batch *b)
{
	const struct retention_target *tg = b->tg;
	char *restore = NULL;
	json_t *o;

	if (retention_sprintf(&restore, "COPY %s (%s) FROM STDIN", tg->q_table, tg->q_columns) != 0)
		return NULL;
	o = json_pack("{s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:o, s:s, s:s}", "table", "schema",
	              tg->schema, "name", tg->table, "column", tg->column, "older_than",
	              b->o->older_than, "cutoff", b->c->utc, "run_started_at", b->c->started_utc,
	              "columns", columns_json(tg), "format", "postgresql-copy-text", "copy_from",
	              restore);
	free(restore);
	return o;
}

/* The file itself: sizes, digests, and the transaction of its delete. */
static json_t *
file_json(const struct retention_archive_batch *b, const struct retention_archive_file *f)
{
	return json_pack("{s:s, s:{s:s}, s:I, s:I, s:s, s:I, s:s, s:I}", "file", f->name,
	                 "compression", "kind", compress_kind_name(b->o->archive_kind), "rows",
	                 (json_int_t)f->rows, "raw_bytes", (json_int_t)f->st.raw_bytes,
	                 "raw_sha256", f->st.raw_sha256, "stored_bytes",
	                 (json_int_t)f->st.stored_bytes, "stored_sha256", f->st.stored_sha256,
	                 "xid", (json_int_t)f->xid);
}

static json_t *
origin_json(struct plugin_host *h, const struct retention_target *tg)
{
	char host[256];

	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "job", h->ct->job_name(h->t), "database",
	                 tg->database, "server_version", tg->server_version, "host", host,
	                 "caretaker_version", h->ct->host_version(), "plugin_version",
	                 RETENTION_PLUGIN_VERSION);
}

static json_t *
sidecar_json(struct plugin_host *h, const struct retention_archive_batch *b,
             const struct retention_archive_file *f, int is_committed)
{
	json_t *root = json_pack("{s:i, s:s, s:o}", "caretaker_retention_archive", SIDECAR_FORMAT,
	                         "state", is_committed ? "committed" : "pending",
	                         is_committed ? "committed_at" : "written_at", utc_now_json());
	json_t *parts[] = {origin_json(h, b->tg), contents_json(b), file_json(b, f)};
	int is_ok = root != NULL;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (parts[i] == NULL || json_object_update(root, parts[i]) != 0)
			is_ok = 0;
		json_decref(parts[i]);
	}
	if (!is_ok) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* `root` as text, durably in `path`. */
static int
write_json(const char *path, json_t *root, unsigned flags, char *err, size_t err_size)
{
	char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
	int rc;

	if (text == NULL) {
		snprintf(err, err_size, "out of memory building %s", path);
		return CT_ENOMEM;
	}
	rc = durable_replace(path, text, strlen(text), 0600, flags, err, err_size);
	free(text);
	return rc;
}

int
retention_sidecar_write(struct plugin_host *h, const struct retention_archive_batch *b,
                        const struct retention_archive_file *f, int is_committed, char *err,
                        size_t err_size)
{
	json_t *root = sidecar_json(h, b, f, is_committed);
	/* The pending sidecar must be on disk before the COMMIT; the
	 * committed one may come back as pending after a crash, which the
	 * next run settles again. */
	unsigned flags = is_committed ? DURABLE_SYNC_FILE : DURABLE_SYNC_ALL;
	int rc = write_json(f->sidecar_path, root, flags, err, err_size);

	json_decref(root);
	return rc;
}

/* ---- settling what earlier runs left ---- */

/* What settling reads: fixed for the pass over the folder. */
struct settle_env {
	const char *dir;
	const char *job;
	PGconn *conn;
};

/* Non-zero when `name` (after an optional ".") is JOB-STAMP-SEQ and more. */
static int
is_ours(const char *name, const char *job)
{
	size_t jl = strlen(job);
	const char *p = name + jl + 1;

	if (strncmp(name, job, jl) != 0 || name[jl] != '-' || strlen(p) < STAMP_SEQ_LEN)
		return 0;
	for (size_t i = 0; i < STAMP_SEQ_LEN; i++) {
		int is_digit = p[i] >= '0' && p[i] <= '9';
		int want = i == 8 ? 'T' : i == 15 ? 'Z' : i == 16 ? '-' : 0;

		if (want != 0 ? p[i] != want : !is_digit)
			return 0;
	}
	return 1;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
load_json(const char *path, json_t **root)
{
	char *text = NULL, err[256];
	size_t len = 0;
	int fd = -1, rc;

	rc = fdio_open_regular(path, O_RDONLY, 0, &fd, err, sizeof(err));
	if (rc == 0)
		rc = fdio_read_regular(fd, path, &text, &len, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	*root = rc == 0 ? json_loadb(text, len, 0, NULL) : NULL;
	free(text);
	return *root != NULL ? 0 : CT_ECORRUPT;
}

/* txid_status() of `xid`: "committed", "aborted", "in progress", or "" when
 * the server no longer knows it. */
static int
xid_status(PGconn *conn, long long xid, char *out, size_t size, char *err, size_t err_size)
{
	PGresult *res = NULL;
	char sql[96];
	int rc;

	snprintf(sql, sizeof(sql), "SELECT txid_status(%lld)", xid);
	rc = pgquery_exec(conn, sql, NULL, NULL, &res, err, err_size);
	if (rc == 0)
		snprintf(out, size, "%s", PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

static void
data_path(const struct settle_env *env, json_t *root, char *out, size_t size)
{
	const char *file = json_string_value(json_object_get(root, "file"));

	snprintf(out, size, "%s/%s", env->dir, file != NULL && !strchr(file, '/') ? file : "");
}

/* The server committed the batch: the sidecar now says so. */
static void
settle_committed(struct plugin_host *h, const char *path, const char *data, json_t *root,
                 struct retention_archive *ar)
{
	char err[512];

	if (access(data, F_OK) != 0) {
		ar->n_missing++;
		h->ct->add_finding(h->t, CT_SEV_ERROR, path,
		                   "the delete of this batch committed, but its archive file %s is "
		                   "missing: its rows are gone from the table and from archive_to",
		                   data);
		return;
	}
	json_object_set_new(root, "state", json_string("committed"));
	json_object_set_new(root, "settled_at", utc_now_json());
	if (write_json(path, root, DURABLE_SYNC_ALL, err, sizeof(err)) != 0) {
		h->ct->add_finding(h->t, CT_SEV_WARNING, path, "cannot mark it committed: %s", err);
		return;
	}
	ar->n_confirmed++;
}

static void
settle_aborted(struct plugin_host *h, const char *path, const char *data,
               struct retention_archive *ar)
{
	(void)unlink(data);
	(void)unlink(path);
	ar->n_rolled_back++;
	h->ct->log(h->t, CT_LOG_INFO,
	           "removed %s and its sidecar: the batch's delete was rolled back (a run "
	           "killed before its COMMIT), so its rows are still in the table",
	           data);
}

static void
settle_pending(struct plugin_host *h, const struct settle_env *env, const char *path, json_t *root,
               struct retention_archive *ar)
{
	long long xid = json_integer_value(json_object_get(root, "xid"));
	char status[32], data[4096], err[1024];

	data_path(env, root, data, sizeof(data));
	if (xid_status(env->conn, xid, status, sizeof(status), err, sizeof(err)) != 0)
		status[0] = '\0';
	if (strcmp(status, "committed") == 0) {
		settle_committed(h, path, data, root, ar);
	} else if (strcmp(status, "aborted") == 0) {
		settle_aborted(h, path, data, ar);
	} else {
		ar->n_unsettled++;
		h->ct->add_finding(h->t, CT_SEV_WARNING, path,
		                   "pending: the server cannot tell yet whether transaction %lld "
		                   "committed (%s); left as it is",
		                   xid, status[0] ? status : "too old to look up");
	}
}

static void
settle_sidecar(struct plugin_host *h, const struct settle_env *env, const char *path,
               struct retention_archive *ar)
{
	json_t *root = NULL;
	const char *state;

	if (load_json(path, &root) != 0) {
		ar->n_unsettled++;
		h->ct->add_finding(h->t, CT_SEV_WARNING, path,
		                   "an archive sidecar that does not read "
		                   "as JSON; left as it is");
		return;
	}
	state = json_string_value(json_object_get(root, "state"));
	if (state != NULL && strcmp(state, "pending") == 0)
		settle_pending(h, env, path, root, ar);
	json_decref(root);
}

/* An archive file needs its sidecar: JOB-STAMP-SEQ.json. */
static void
check_orphan(struct plugin_host *h, const struct settle_env *env, const char *name,
             struct retention_archive *ar)
{
	char sidecar[4096];
	size_t base = strlen(env->job) + 1 + STAMP_SEQ_LEN;

	snprintf(sidecar, sizeof(sidecar), "%s/%.*s.json", env->dir, (int)base, name);
	if (access(sidecar, F_OK) == 0)
		return;
	ar->n_orphans++;
	h->ct->add_finding(h->t, CT_SEV_WARNING, name,
	                   "an archive file without its sidecar in %s: left as it is (its "
	                   "rows may be the only copy)",
	                   env->dir);
}

static void
settle_entry(struct plugin_host *h, const struct settle_env *env, const char *name,
             struct retention_archive *ar)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", env->dir, name);
	if (name[0] == '.' && is_ours(name + 1, env->job)) {
		(void)unlink(path);
		ar->n_partials++;
	} else if (is_ours(name, env->job) && ends_with(name, ".json")) {
		settle_sidecar(h, env, path, ar);
	} else if (is_ours(name, env->job) && strstr(name, ".copy") != NULL) {
		check_orphan(h, env, name, ar);
	}
}

/* The folder's names first: settling removes some of them. */
static int
list_names(const char *dir, char ***names, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, **grown;
	size_t count = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : CT_ESYS;
	for (e = readdir(d); e != NULL; e = readdir(d)) {
		grown = realloc(v, (count + 1) * sizeof(*v));
		if (grown == NULL)
			break;
		v = grown;
		v[count] = strdup(e->d_name);
		if (v[count] != NULL)
			count++;
	}
	closedir(d);
	*names = v;
	*n = count;
	return 0;
}

int
retention_sidecar_settle(struct plugin_host *h, const struct retention_opts *o, PGconn *conn,
                         struct retention_archive *ar)
{
	struct settle_env env = {.dir = o->archive_to, .job = h->ct->job_name(h->t), .conn = conn};
	char **names = NULL, err[256];
	size_t n = 0;
	int64_t before = ar->n_partials + ar->n_rolled_back;

	if (list_names(env.dir, &names, &n) != 0)
		return plugin_host_fail(h, CT_ESYS, "archive_to: cannot read %s: %s", env.dir,
		                        strerror(errno));
	for (size_t i = 0; i < n; i++) {
		settle_entry(h, &env, names[i], ar);
		free(names[i]);
	}
	free(names);
	if (ar->n_partials + ar->n_rolled_back > before)
		(void)durable_fsync_dir(env.dir, err, sizeof(err));
	return 0;
}
