/*
 * task.c — the services a plugin gets, and the init/run/report/fini
 * sequence, inside a job's child process (see task.h for the message
 * format).
 *
 * Messages are written with one write(2) each under a mutex, so a plugin's
 * threads may log and report concurrently without interleaving.  Text that
 * is not valid UTF-8 (a command's binary output) is repaired with U+FFFD
 * before it is put in JSON, and text past its limit (task.h) is shortened
 * with a marker, so no message is ever too long for the parent to read.
 */
#include "autoconf.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "errors.h"
#include "fdio.h"
#include "pq.h"
#include "proc.h"
#include "progress.h"
#include "task.h"
#include "utf8.h"
#include "xmalloc.h"

struct ct_task {
	const struct config *cfg;
	const struct job *job;
	const char *state_dir;
	int is_dry_run;
	const struct task_cause *cause; /* NULL unless an on_failure run */
	int fd;
	int is_status_set;
	int status;
	PGconn **conns;
	size_t n_conns;
	struct progress_throttle throttle; /* under task_progress_lock */
};

static pthread_mutex_t task_write_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t task_progress_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t task_stop_requested;

static void
task_stop_cb(int sig)
{
	(void)sig;
	task_stop_requested = 1;
}

void
task_install_stop_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = task_stop_cb;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* Serialise and send one message; takes ownership of msg. */
static void
task_send(int fd, json_t *msg)
{
	char *text;
	size_t len;

	if (msg == NULL)
		return;
	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (text == NULL)
		return;
	len = strlen(text);
	text[len] = '\n';
	pthread_mutex_lock(&task_write_lock);
	fdio_write_all(fd, text, len + 1, FDIO_NO_OFFSET, NULL, 0);
	pthread_mutex_unlock(&task_write_lock);
	free(text);
}

/* `s` as a JSON string of at most `max` bytes, or null for NULL. */
static json_t *
json_text(const char *s, size_t max)
{
	size_t len;
	char *fixed;
	json_t *j;

	if (s == NULL)
		return json_null();
	fixed = utf8_shorten(s, strlen(s), max, &len);
	j = json_stringn(fixed, len);
	free(fixed);
	return j;
}

static void svc_vlog(struct ct_task *t, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
svc_vlog(struct ct_task *t, int level, const char *fmt, va_list ap)
{
	char *msg = xvasprintf(fmt, ap);

	task_send(t->fd, json_pack("{s:s, s:i, s:o}", "t", "log", "level", level, "msg",
	                           json_text(msg, TASK_TEXT_MAX)));
	free(msg);
}

static void svc_log(struct ct_task *t, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
svc_log(struct ct_task *t, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	svc_vlog(t, level, fmt, ap);
	va_end(ap);
}

static const char *
svc_job_name(struct ct_task *t)
{
	return t->job->name;
}

/* Find a declared option; CT_ETYPE when the key or the type is wrong. */
static int
opt_lookup(struct ct_task *t, const char *key, const int *types, const struct opt_value **out)
{
	const struct opt_value *v = opt_set_get(&t->job->opts, key);

	if (v == NULL)
		return CT_ETYPE;
	for (; *types != 0; types++) {
		if (v->spec->type != *types)
			continue;
		if (!v->is_set)
			return CT_ENOENT;
		*out = v;
		return 0;
	}
	return CT_ETYPE;
}

static int
svc_opt_string(struct ct_task *t, const char *key, const char **value)
{
	static const int types[] = {CT_OPT_STRING, CT_OPT_ENUM, CT_OPT_PATH, 0};
	const struct opt_value *v;
	int rc = opt_lookup(t, key, types, &v);

	if (rc == 0)
		*value = v->str;
	return rc;
}

static int
svc_opt_int(struct ct_task *t, const char *key, int64_t *value)
{
	static const int types[] = {CT_OPT_INT, 0};
	const struct opt_value *v;
	int rc = opt_lookup(t, key, types, &v);

	if (rc == 0)
		*value = v->i;
	return rc;
}

static int
svc_opt_bool(struct ct_task *t, const char *key, int *value)
{
	static const int types[] = {CT_OPT_BOOL, 0};
	const struct opt_value *v;
	int rc = opt_lookup(t, key, types, &v);

	if (rc == 0)
		*value = (int)v->i;
	return rc;
}

static int
svc_opt_duration_ms(struct ct_task *t, const char *key, int64_t *value_ms)
{
	static const int types[] = {CT_OPT_DURATION, 0};
	const struct opt_value *v;
	int rc = opt_lookup(t, key, types, &v);

	if (rc == 0)
		*value_ms = v->i;
	return rc;
}

static int
svc_opt_size_bytes(struct ct_task *t, const char *key, uint64_t *value)
{
	static const int types[] = {CT_OPT_SIZE, 0};
	const struct opt_value *v;
	int rc = opt_lookup(t, key, types, &v);

	if (rc == 0)
		*value = v->u;
	return rc;
}

static int
svc_opt_list(struct ct_task *t, const char *key, const char *const **items, size_t *count)
{
	static const int types[] = {CT_OPT_LIST, CT_OPT_PATH_LIST, 0};
	const struct opt_value *v;
	int rc = opt_lookup(t, key, types, &v);

	if (rc == 0) {
		*items = v->items;
		*count = v->n_items;
	}
	return rc;
}

static const char *
task_conninfo(struct ct_task *t)
{
	const struct opt_value *v = opt_set_get(&t->job->opts, "conninfo");

	if (v != NULL && v->is_set && v->spec->type == CT_OPT_STRING)
		return v->str;
	return t->cfg->settings.conninfo;
}

static int
svc_pg_connect(struct ct_task *t, const char *conninfo, struct pg_conn **conn)
{
	char app[128];
	const char *keys[] = {"connect_timeout", "dbname", "application_name", NULL};
	const char *vals[] = {"10", conninfo ? conninfo : task_conninfo(t), app, NULL};
	const struct pq_api *pq;
	char err[256];
	PGconn *c;

	pq = pq_load(err, sizeof(err));
	if (pq == NULL) {
		svc_log(t, CT_LOG_ERR, "%s", err);
		return CT_EPG;
	}
	snprintf(app, sizeof(app), "caretaker/%s", t->job->name);
	c = pq->connectdb_params(keys, vals, 1);
	if (c == NULL)
		return CT_ENOMEM;
	if (pq->status(c) != CONNECTION_OK) {
		svc_log(t, CT_LOG_ERR, "cannot connect to PostgreSQL: %s", pq->error_message(c));
		pq->finish(c);
		return CT_EPG;
	}
	pq_notices_to_log(c, t->job->name);
	t->conns = xreallocarray(t->conns, t->n_conns + 1, sizeof(*t->conns));
	t->conns[t->n_conns++] = c;
	*conn = c;
	return 0;
}

static void svc_set_status(struct ct_task *t, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
svc_set_status(struct ct_task *t, int status, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (status < 0 || status >= CT_STATUS__LAST)
		status = CT_STATUS_FAIL;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	t->is_status_set = 1;
	t->status = status;
	task_send(t->fd, json_pack("{s:s, s:i, s:o}", "t", "status", "status", status, "summary",
	                           json_text(msg, TASK_TEXT_MAX)));
	free(msg);
}

int
task_metric_name_is_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	return len > 0 && len < 100 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == len;
}

static int
svc_add_metric(struct ct_task *t, const char *name, double value, const char *unit)
{
	if (!task_metric_name_is_valid(name)) {
		svc_log(t, CT_LOG_WARNING, "metric name '%s' dropped: use [a-z0-9_]",
		        name ? name : "(null)");
		return CT_EINVAL;
	}
	task_send(t->fd, json_pack("{s:s, s:s, s:f, s:o}", "t", "metric", "name", name, "value",
	                           value, "unit", json_text(unit ? unit : "", TASK_WORD_MAX)));
	return 0;
}

static int svc_add_finding(struct ct_task *t, int severity, const char *object, const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));

static int
svc_add_finding(struct ct_task *t, int severity, const char *object, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (severity < 0 || severity >= CT_SEV__LAST)
		severity = CT_SEV_ERROR;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	task_send(t->fd, json_pack("{s:s, s:i, s:o, s:o}", "t", "finding", "severity", severity,
	                           "object", json_text(object, TASK_TEXT_MAX), "msg",
	                           json_text(msg, TASK_TEXT_MAX)));
	free(msg);
	return 0;
}

static int
svc_add_artifact(struct ct_task *t, const char *kind, const char *path)
{
	task_send(t->fd, json_pack("{s:s, s:o, s:o}", "t", "artifact", "kind",
	                           json_text(kind ? kind : "file", TASK_WORD_MAX), "path",
	                           json_text(path, TASK_TEXT_MAX)));
	return 0;
}

static int
svc_add_output(struct ct_task *t, const char *stream, const void *data, size_t len)
{
	size_t fixed_len;
	char *fixed;

	const char *p = data;

	/* Pieces of at most 64 KiB keep every message line small; a piece ends
	 * between characters, not inside one, where it can. */
	while (len > 0) {
		size_t piece = len < 65536 ? len : 65536;

		for (int k = 0; k < 3 && piece < len && ((unsigned char)p[piece] & 0xc0) == 0x80;
		     k++)
			piece--;
		fixed = utf8_repair(p, piece, &fixed_len);
		task_send(t->fd, json_pack("{s:s, s:o, s:o}", "t", "output", "stream",
		                           json_text(stream ? stream : "output", TASK_WORD_MAX),
		                           "data", json_stringn(fixed, fixed_len)));
		free(fixed);
		p += piece;
		len -= piece;
	}
	return 0;
}

/* Thinned out here (progress.h says how), so a plugin may call it in its
 * innermost loop; a negative fraction goes as -1, "unknown". */
static void
svc_progress(struct ct_task *t, double fraction, const char *what)
{
	struct progress_throttle *pt = &t->throttle;

	pthread_mutex_lock(&task_progress_lock);
	if (progress_throttle_pass(pt, proc_now_ms(), fraction, what))
		task_send(t->fd,
		          json_pack("{s:s, s:f, s:o}", "t", "progress", "fraction", pt->fraction,
		                    "what", json_text(pt->what, TASK_TEXT_MAX)));
	pthread_mutex_unlock(&task_progress_lock);
}

static int
svc_should_stop(struct ct_task *t)
{
	(void)t;
	return task_stop_requested != 0;
}

static int
svc_is_dry_run(struct ct_task *t)
{
	return t->is_dry_run;
}

static const char *
svc_state_dir(struct ct_task *t)
{
	return t->state_dir;
}

static const char *
svc_host_version(void)
{
	return PACKAGE_VERSION;
}

static int
svc_failed_job(struct ct_task *t, const char **name, int *status, const char **summary)
{
	if (t->cause == NULL)
		return CT_ENOENT;
	*name = t->cause->job;
	*status = t->cause->status;
	*summary = t->cause->summary;
	return CT_OK;
}

static int
svc_chain_artifact(struct ct_task *t, size_t index, const char **job, const char **kind,
                   const char **path)
{
	const struct task_artifact *a;

	if (t->cause == NULL || index >= t->cause->n_artifacts)
		return CT_ENOENT;
	a = &t->cause->artifacts[index];
	*job = a->job;
	*kind = a->kind;
	*path = a->path;
	return CT_OK;
}

const struct ct_services task_services = {
    .abi_version = CT_ABI_VERSION,
    .size = sizeof(struct ct_services),
    .log = svc_log,
    .vlog = svc_vlog,
    .job_name = svc_job_name,
    .opt_string = svc_opt_string,
    .opt_int = svc_opt_int,
    .opt_bool = svc_opt_bool,
    .opt_duration_ms = svc_opt_duration_ms,
    .opt_size_bytes = svc_opt_size_bytes,
    .opt_list = svc_opt_list,
    .pg_connect = svc_pg_connect,
    .set_status = svc_set_status,
    .add_metric = svc_add_metric,
    .add_finding = svc_add_finding,
    .add_artifact = svc_add_artifact,
    .add_output = svc_add_output,
    .progress = svc_progress,
    .should_stop = svc_should_stop,
    .is_dry_run = svc_is_dry_run,
    .state_dir = svc_state_dir,
    .strerror = ct_strerror,
    .host_version = svc_host_version,
    .failed_job = svc_failed_job,
    .chain_artifact = svc_chain_artifact,
};

static void
task_send_end(int fd, const char *phase, int rc)
{
	task_send(fd, json_pack("{s:s, s:s, s:i}", "t", "end", "phase", phase, "rc", rc));
}

void
task_fail_early(int report_fd, const char *phase, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	task_send(report_fd, json_pack("{s:s, s:i, s:o}", "t", "status", "status", CT_STATUS_FAIL,
	                               "summary", json_text(msg, TASK_TEXT_MAX)));
	task_send_end(report_fd, phase, CT_EPLUGIN);
	free(msg);
}

void
task_report_log(int report_fd, int level, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	task_send(report_fd, json_pack("{s:s, s:i, s:o}", "t", "log", "level", level, "msg",
	                               json_text(msg, TASK_TEXT_MAX)));
	free(msg);
}

/* A failed call without a FAIL status of the plugin's own gets one. */
static void
task_note_failure(struct ct_task *t, const char *phase, int rc)
{
	if (rc == 0 || (t->is_status_set && t->status == CT_STATUS_FAIL))
		return;
	svc_set_status(t, CT_STATUS_FAIL, "%s failed: %s", phase, ct_strerror(rc));
}

static int
task_call_sequence(struct ct_task *t, const struct ct_plugin *d, const char **phase)
{
	void *state = NULL;
	int rc, rc_report;

	*phase = "init";
	rc = d->init(t, &task_services, &state);
	task_note_failure(t, "init", rc);
	if (rc == 0) {
		*phase = "run";
		rc = d->run(t, &task_services, state);
		task_note_failure(t, "run", rc);
		*phase = "report";
		rc_report = d->report(t, &task_services, state);
		task_note_failure(t, "report", rc_report);
		if (rc == 0)
			rc = rc_report;
	}
	if (d->size > offsetof(struct ct_plugin, fini) && d->fini != NULL)
		d->fini(t, &task_services, state);
	return rc;
}

void
task_execute(const struct ct_plugin *desc, const struct config *cfg, const struct job *job,
             const char *state_dir, int is_dry_run, int report_fd, const struct task_cause *cause)
{
	struct ct_task t = {0};
	const char *phase = "init";
	int rc;

	t.cfg = cfg;
	t.job = job;
	t.state_dir = state_dir;
	t.is_dry_run = is_dry_run;
	t.cause = cause;
	t.fd = report_fd;
	rc = task_call_sequence(&t, desc, &phase);
	if (rc == 0 && !t.is_status_set)
		svc_set_status(&t, CT_STATUS_OK, "done");
	/* Connections exist only if pg_connect loaded libpq. */
	for (size_t i = 0; i < t.n_conns; i++)
		pq_load(NULL, 0)->finish(t.conns[i]);
	free(t.conns);
	task_send_end(report_fd, phase, rc);
}
