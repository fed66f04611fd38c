/*
 * vacuum_session.c — the vacuum plugin's session on the database: what the
 * server is, the session's timeouts, what the server says while a
 * statement runs, and the maintenance lock.
 *
 * Why a notice hook: VACUUM and ANALYZE with SKIP_LOCKED do not fail on a
 * locked table, they succeed and say so in a WARNING ("skipping vacuum of
 * ... lock not available", SQLSTATE 55P03).  The hook catches that, the
 * other warnings (a permission refused, "oldest xmin is far in the past")
 * for the table's finding, and under `verbose` the INFO lines for the
 * report.  It replaces the host's hook, which would log the same warnings
 * a second time as the run's own.
 *
 * Why the maintenance lock (plugins/lib/pgmaint.h): a rebuild or VACUUM
 * FULL started while pg_dump runs would wait behind the dump, or (VACUUM
 * FULL) queue an ACCESS EXCLUSIVE request that every query of the
 * application then queues behind.  The lock is tried, never waited for.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "pglocks.h"
#include "pgmaint.h"
#include "pgquery.h"
#include "vacuum.h"

/* pgquery_check words a server error "... (SQLSTATE XXXXX)" (pgquery.h). */
static void
sqlstate_of(const char *err, char sqlstate[6])
{
	const char *p = strstr(err, "(SQLSTATE ");

	sqlstate[0] = '\0';
	if (p != NULL && strlen(p) >= 16)
		snprintf(sqlstate, 6, "%.5s", p + 10);
}

/* pgquery_exec says "query failed: " before the server's words; the
 * findings name the statement themselves. */
static void
strip_prefix(char *err)
{
	static const char prefix[] = "query failed: ";

	if (strncmp(err, prefix, sizeof(prefix) - 1) == 0)
		memmove(err, err + sizeof(prefix) - 1, strlen(err) - sizeof(prefix) + 2);
}

static void
notice_warning(struct vacuum_notices *n, const char *sqlstate, const char *msg)
{
	if (n->words[0] == '\0')
		snprintf(n->words, sizeof(n->words), "%s", msg);
	if (strcmp(sqlstate, "55P03") == 0) {
		n->is_skipped = 1;
		n->is_lock_skip = 1;
	} else if (strstr(msg, "skipping") != NULL) {
		/* "skipping "t" --- only table or database owner can vacuum it"
		 * (15), "permission denied to vacuum "t", skipping it" (16): no
		 * SQLSTATE of their own, so the words tell. */
		n->is_skipped = 1;
	}
}

static void
notice_cb(void *arg, const PGresult *res)
{
	struct vacuum_notices *n = arg;
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *all = PQresultErrorMessage(res);

	if (n->h == NULL || severity == NULL)
		return;
	if (strcmp(severity, "WARNING") == 0)
		notice_warning(n, sqlstate ? sqlstate : "", msg ? msg : "(no message)");
	else if (n->is_verbose && strcmp(severity, "INFO") == 0 && all != NULL)
		n->h->ct->add_output(n->h->t, "verbose", all, strlen(all));
}

/* After fini nothing may reach the freed run: the host closes the
 * connection later. */
static void
notice_quiet_cb(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;
}

int
vacuum_session_exec(struct plugin_host *h, struct vacuum_session *s, const char *sql,
                    PGresult **res, char *err, size_t err_size, char sqlstate[6])
{
	int rc;

	s->notices.is_skipped = 0;
	s->notices.is_lock_skip = 0;
	s->notices.words[0] = '\0';
	rc = pgquery_exec(s->conn, sql, plugin_host_should_stop, h, res, err, err_size);
	if (sqlstate != NULL)
		sqlstate_of(rc == CT_EPG ? err : "", sqlstate);
	if (rc == CT_EPG)
		strip_prefix(err);
	return rc;
}

static int
exec_simple(struct plugin_host *h, struct vacuum_session *s, const char *sql)
{
	char err[512];
	int rc = vacuum_session_exec(h, s, sql, NULL, err, sizeof(err), NULL);

	if (rc != 0)
		return plugin_host_fail(h, rc, "%s: %s", sql, err);
	return 0;
}

/* Timeouts and memory for this session only; the values are numbers the
 * host parsed, never text from the configuration. */
static int
session_settings(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s)
{
	char sql[128];
	int rc;

	snprintf(sql, sizeof(sql), "SET lock_timeout = '%" PRId64 "ms'", o->lock_timeout_ms);
	rc = exec_simple(h, s, sql);
	snprintf(sql, sizeof(sql), "SET statement_timeout = '%" PRId64 "ms'",
	         o->statement_timeout_ms);
	if (rc == 0)
		rc = exec_simple(h, s, sql);
	snprintf(sql, sizeof(sql), "SET maintenance_work_mem = '%" PRIu64 "kB'",
	         o->maintenance_work_mem / 1024);
	if (rc == 0 && o->maintenance_work_mem > 0)
		rc = exec_simple(h, s, sql);
	return rc;
}

/* The freeze limits and the page size, as this server has them. */
static int
session_facts(struct plugin_host *h, struct vacuum_session *s)
{
	static const char sql[] = "SELECT current_setting('autovacuum_freeze_max_age')::bigint, "
	                          "current_setting('autovacuum_multixact_freeze_max_age')::bigint, "
	                          "current_setting('block_size')::bigint, current_database()";
	PGresult *res = NULL;
	char err[512];
	int rc;

	rc = vacuum_session_exec(h, s, sql, &res, err, sizeof(err), NULL);
	if (rc != 0)
		return plugin_host_fail(h, rc, "cannot read the server's settings: %s", err);
	s->freeze_max_age = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	s->multixact_freeze_max_age = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	s->block_size = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	snprintf(s->database, sizeof(s->database), "%s", PQgetvalue(res, 0, 3));
	PQclear(res);
	return 0;
}

int
vacuum_session_open(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s)
{
	const char *v;
	char err[512];
	int rc;

	rc = h->ct->pg_connect(h->t, o->conninfo, &s->conn);
	if (rc != 0)
		return plugin_host_fail(
		    h, rc, "cannot connect to the database (the log has libpq's words)");
	s->server_version_num = PQserverVersion(s->conn);
	v = PQparameterStatus(s->conn, "server_version");
	snprintf(s->server_version, sizeof(s->server_version), "%s", v ? v : "?");
	rc = vacuum_server_check(s->server_version_num, o->reindex, err, sizeof(err));
	if (rc != 0)
		return plugin_host_fail(h, rc, "%s", err);
	s->notices.h = h;
	s->notices.is_verbose = o->is_verbose;
	PQsetNoticeReceiver(s->conn, notice_cb, &s->notices);
	rc = session_settings(h, o, s);
	if (rc == 0)
		rc = session_facts(h, s);
	return rc;
}

int
vacuum_session_check(struct plugin_host *h, struct vacuum_session *s)
{
	const char *why;

	if (PQstatus(s->conn) == CONNECTION_OK)
		return 0;
	why = PQerrorMessage(s->conn);
	return plugin_host_fail(h, CT_EPG, "lost the connection to the database: %.*s",
	                        (int)strcspn(why, "\n"), why);
}

int
vacuum_session_lock(struct plugin_host *h, struct vacuum_session *s, int *is_taken)
{
	PGresult *res = NULL;
	char err[512];
	int rc;

	rc = vacuum_session_exec(h, s, PGMAINT_SQL_TRY_LOCK, &res, err, sizeof(err), NULL);
	if (rc != 0)
		return plugin_host_fail(h, rc, "cannot try the maintenance lock: %s", err);
	*is_taken = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	s->is_maint_locked = *is_taken;
	PQclear(res);
	return 0;
}

void
vacuum_session_unlock(struct vacuum_session *s)
{
	PGresult *res;

	if (s->conn == NULL || !s->is_maint_locked)
		return;
	res = PQexec(s->conn, PGMAINT_SQL_UNLOCK);
	PQclear(res);
	s->is_maint_locked = 0;
}

void
vacuum_session_end(struct vacuum_session *s)
{
	if (s->conn == NULL)
		return;
	vacuum_session_unlock(s);
	PQsetNoticeReceiver(s->conn, notice_quiet_cb, NULL);
	s->notices.h = NULL;
}

void
vacuum_session_lockers(struct plugin_host *h, struct vacuum_session *s, uint32_t relation_oid,
                       const char *mode, char *buf, size_t size)
{
	char err[256];

	if (pglocks_holders(s->conn, relation_oid, mode, plugin_host_should_stop, h, buf, size, err,
	                    sizeof(err)) != 0)
		buf[0] = '\0';
}

void
vacuum_session_oldest(struct plugin_host *h, struct vacuum_session *s, char *buf, size_t size)
{
	char err[256];

	if (pglocks_oldest_xact(s->conn, plugin_host_should_stop, h, buf, size, err, sizeof(err)) !=
	    0)
		buf[0] = '\0';
}
