/*
 * fleet.c — database advisory locks and the shared history table (see
 * fleet.h).  Every statement takes its values as parameters; nothing from
 * configuration is pasted into SQL.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "config.h"
#include "fleet.h"
#include "history.h"
#include "loader.h"
#include "pq.h"
#include "xmalloc.h"

struct fleet_lock {
	PGconn *conn;
};

/* Set by fleet_connect; every other function here runs after it succeeded. */
static const struct pq_api *pq;

static const char sql_try_lock[] =
    "SELECT pg_try_advisory_lock(hashtext('caretaker'), hashtext($1))";

/* The two-int4 form shows in pg_locks as classid/objid with objsubid 2. */
static const char sql_lock_holder[] =
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
    "AND l.classid = (hashtext('caretaker')::bigint & 4294967295)::oid "
    "AND l.objid = (hashtext($1)::bigint & 4294967295)::oid LIMIT 1";

static const char sql_create_history[] =
    "CREATE TABLE IF NOT EXISTS caretaker_history ("
    " id bigserial PRIMARY KEY, job text NOT NULL, plugin text NOT NULL,"
    " host text NOT NULL, started_at timestamptz NOT NULL, ended_at timestamptz NOT NULL,"
    " duration_s double precision, status text NOT NULL, summary text, reason text,"
    " record jsonb NOT NULL)";

static const char sql_create_history_index[] =
    "CREATE INDEX IF NOT EXISTS caretaker_history_job_started"
    " ON caretaker_history (job, started_at)";

static const char sql_insert_history[] =
    "INSERT INTO caretaker_history (job, plugin, host, started_at, ended_at, duration_s,"
    " status, summary, reason, record) VALUES ($1, $2, $3,"
    " to_timestamp($4::double precision / 1e6), to_timestamp($5::double precision / 1e6),"
    " $6, $7, $8, $9, $10::jsonb)";

static const char sql_read_history[] =
    "SELECT record::text FROM (SELECT record, started_at, id FROM caretaker_history"
    " WHERE ($1::text IS NULL OR job = $1)"
    " AND started_at >= to_timestamp($2::double precision / 1e6)"
    " ORDER BY started_at DESC, id DESC LIMIT $3) newest ORDER BY started_at, id";

/* The connection string for a job: its plugin's conninfo when set, else the
 * [caretaker] default. */
static const char *
job_conninfo(const struct config *cfg, const struct job *job)
{
	const struct opt_value *v = job ? opt_set_get(&job->opts, "conninfo") : NULL;

	if (v != NULL && v->is_set && v->spec->type == CT_OPT_STRING)
		return v->str;
	return cfg->settings.conninfo;
}

static PGconn *
fleet_connect(const char *conninfo, char *err, size_t err_size)
{
	char app[128], host[40] = "";
	const char *keys[] = {"connect_timeout", "dbname", "application_name", NULL};
	const char *vals[] = {"10", conninfo, app, NULL};
	PGconn *c;

	pq = pq_load(err, err_size);
	if (pq == NULL)
		return NULL;
	gethostname(host, sizeof(host) - 1);
	snprintf(app, sizeof(app), "caretaker %s pid %ld", host, (long)getpid());
	c = pq->connectdb_params(keys, vals, 1);
	if (c != NULL && pq->status(c) == CONNECTION_OK) {
		pq_notices_to_log(c, NULL);
		return c;
	}
	snprintf(err, err_size, "cannot connect to PostgreSQL: %s",
	         c ? pq->error_message(c) : "out of memory");
	err[strcspn(err, "\n")] = '\0';
	pq->finish(c);
	return NULL;
}

/* Run one statement; 0, or CT_EPG with the SQLSTATE and message in err. */
static int
fleet_exec(PGconn *c, const char *sql, int n, const char *const *params, PGresult **out, char *err,
           size_t err_size)
{
	PGresult *r = pq->exec_params(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = pq->result_status(r);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		if (out != NULL)
			*out = r;
		else
			pq->clear(r);
		return 0;
	}
	snprintf(err, err_size, "PostgreSQL %s: %s",
	         pq->result_error_field(r, PG_DIAG_SQLSTATE)
	             ? pq->result_error_field(r, PG_DIAG_SQLSTATE)
	             : "error",
	         pq->error_message(c));
	err[strcspn(err, "\n")] = '\0';
	pq->clear(r);
	return CT_EPG;
}

/* Create the table on first use.  Errors are left to the statement that
 * follows: two hosts creating it at once make one CREATE fail, and the
 * other's table is there. */
static void
fleet_create_history(PGconn *c)
{
	char err[256];

	if (fleet_exec(c, sql_create_history, 0, NULL, NULL, err, sizeof(err)) == 0)
		fleet_exec(c, sql_create_history_index, 0, NULL, NULL, err, sizeof(err));
}

static void
lock_holder(PGconn *c, const char *job, char *holder, size_t holder_size)
{
	const char *params[1] = {job};
	PGresult *r = NULL;
	char err[256];
	const char *app;

	snprintf(holder, holder_size, "another host");
	if (fleet_exec(c, sql_lock_holder, 1, params, &r, err, sizeof(err)) != 0)
		return;
	app = pq->ntuples(r) > 0 ? pq->getvalue(r, 0, 0) : NULL;
	if (app != NULL && strncmp(app, "caretaker ", 10) == 0)
		snprintf(holder, holder_size, "%s", app + 10);
	else if (app != NULL && app[0] != '\0')
		snprintf(holder, holder_size, "%s", app);
	pq->clear(r);
}

int
fleet_lock_take(const struct config *cfg, const struct job *job, struct fleet_lock **out,
                char *holder, size_t holder_size, char *err, size_t err_size)
{
	const char *params[1] = {job->name};
	PGconn *c = fleet_connect(job_conninfo(cfg, job), err, err_size);
	PGresult *r = NULL;
	int is_taken, rc;

	if (c == NULL)
		return CT_EPG;
	rc = fleet_exec(c, sql_try_lock, 1, params, &r, err, err_size);
	if (rc != 0) {
		pq->finish(c);
		return rc;
	}
	is_taken = strcmp(pq->getvalue(r, 0, 0), "t") == 0;
	pq->clear(r);
	if (!is_taken) {
		lock_holder(c, job->name, holder, holder_size);
		pq->finish(c);
		return CT_ELOCKED;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->conn = c;
	return 0;
}

void
fleet_lock_release(struct fleet_lock *lock)
{
	if (lock == NULL)
		return;
	/* Closing the session releases its advisory locks. */
	pq->finish(lock->conn);
	free(lock);
}

static const char *
jtext(const json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

int
fleet_history_append(const struct config *cfg, const json_t *record, char *err, size_t err_size)
{
	char start[32], end[32], duration[32];
	char *text = json_dumps(record, JSON_COMPACT | JSON_REAL_PRECISION(15));
	const char *params[10] = {jtext(record, "job"),
	                          jtext(record, "plugin"),
	                          jtext(record, "host"),
	                          start,
	                          end,
	                          duration,
	                          jtext(record, "status"),
	                          jtext(record, "summary"),
	                          jtext(record, "reason"),
	                          text};
	PGconn *c = fleet_connect(cfg->settings.conninfo, err, err_size);
	int rc = c == NULL ? CT_EPG : 0;

	snprintf(start, sizeof(start), "%" JSON_INTEGER_FORMAT,
	         json_integer_value(json_object_get(record, "start_us")));
	snprintf(end, sizeof(end), "%" JSON_INTEGER_FORMAT,
	         json_integer_value(json_object_get(record, "end_us")));
	snprintf(duration, sizeof(duration), "%.6f",
	         json_number_value(json_object_get(record, "duration_s")));
	if (rc == 0)
		fleet_create_history(c);
	if (rc == 0)
		rc = fleet_exec(c, sql_insert_history, 10, params, NULL, err, err_size);
	if (c != NULL)
		pq->finish(c);
	free(text);
	return rc;
}

int
fleet_history_read(const struct config *cfg, const struct history_query *q, json_t **out, char *err,
                   size_t err_size)
{
	char since[32], limit[32];
	const char *params[3] = {q->job, since, limit};
	PGconn *c = fleet_connect(cfg->settings.conninfo, err, err_size);
	PGresult *r = NULL;
	int rc = c == NULL ? CT_EPG : 0;

	snprintf(since, sizeof(since), "%" PRId64, q->since_us);
	snprintf(limit, sizeof(limit), "%zu", q->max > 0 ? q->max : (size_t)1000000);
	if (rc == 0)
		fleet_create_history(c);
	if (rc == 0)
		rc = fleet_exec(c, sql_read_history, 3, params, &r, err, err_size);
	*out = json_array();
	for (int i = 0; rc == 0 && i < pq->ntuples(r); i++) {
		json_t *rec = json_loads(pq->getvalue(r, i, 0), 0, NULL);

		if (rec != NULL)
			json_array_append_new(*out, rec);
	}
	if (c != NULL) {
		pq->clear(r);
		pq->finish(c);
	}
	return rc;
}
