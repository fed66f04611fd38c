/*
 * backup_snapshot.c — the backup plugin's own session on the database,
 * open around the dump.
 *
 * Why a session of our own: pg_dump takes its snapshot in its own
 * connection, so anything learnt anywhere else would describe another
 * moment.  We open a REPEATABLE READ transaction, export its snapshot and
 * hand it to pg_dump (--snapshot).  In the same transaction, while pg_dump
 * runs, we list the tables whose data pg_dump dumps: with row_counts = dump
 * (plain format) their rows are counted in pg_dump's output as it passes
 * (backup_dump.c), and the list says which tables the output must have;
 * with row_counts = snapshot every table is counted here with count(*),
 * seeing exactly the data pg_dump sees.  The transaction stays open until
 * the dump has ended; an exported snapshot can only be imported while its
 * transaction lives, and pg_dump holds an equal one anyway, so keeping ours
 * holds back no more vacuum than the dump itself does.
 *
 * The same session holds the shared maintenance lock (pgmaint.h) for the
 * whole dump.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "backup.h"
#include "pgmaint.h"
#include "pgquery.h"
#include "pgtables.h"

static int
session_exec(struct plugin_host *h, struct backup_session *s, const char *sql, PGresult **res)
{
	char err[512];
	int rc = pgquery_exec(s->conn, sql, plugin_host_should_stop, h, res, err, sizeof(err));

	if (rc != 0)
		return plugin_host_fail(h, rc, "%s", err);
	return 0;
}

/* Connects and learns what the server is. */
int
backup_session_open(struct plugin_host *h, const char *conninfo, struct backup_session *s)
{
	const char *v, *db, *enc;
	int rc;

	rc = h->ct->pg_connect(h->t, conninfo, &s->conn);
	if (rc != 0)
		return plugin_host_fail(
		    h, rc, "cannot connect to the database (the log has libpq's words)");
	s->server_version_num = PQserverVersion(s->conn);
	v = PQparameterStatus(s->conn, "server_version");
	db = PQdb(s->conn);
	enc = PQparameterStatus(s->conn, "server_encoding");
	snprintf(s->encoding, sizeof(s->encoding), "%s", enc ? enc : "");
	snprintf(s->server_version, sizeof(s->server_version), "%s", v ? v : "?");
	snprintf(s->database, sizeof(s->database), "%s", db ? db : "?");
	return 0;
}

/* Before there is an earlier backup to go by (backup_files.c), the
 * tables' data on disk is the guess of the dump's size: text of a similar
 * size, where pg_database_size would add indexes and the catalog.  Only
 * the progress the operator sees depends on it; a failure leaves it
 * unknown.  Asked before the transaction begins, which an error would
 * abort, and from the catalog only, so a locked table cannot hold it up. */
static void
session_estimate(struct plugin_host *h, const struct backup_session *s, uint64_t *expect_bytes)
{
	PGresult *res = NULL;
	char err[256];

	if (*expect_bytes > 0 ||
	    pgquery_exec(s->conn, pgtables_tablesize_sql, plugin_host_should_stop, h, &res, err,
	                 sizeof(err)) != 0)
		return;
	if (PQntuples(res) == 1)
		*expect_bytes = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
}

/* Waits for strong-lock maintenance, saying so, then shares the lock. */
static int
session_lock(struct plugin_host *h, struct backup_session *s)
{
	PGresult *res = NULL;
	int rc, is_free;

	rc = session_exec(h, s, PGMAINT_SQL_TRY_LOCK_SHARED, &res);
	if (rc != 0)
		return rc;
	is_free = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!is_free) {
		h->ct->log(h->t, CT_LOG_NOTICE,
		           "waiting for a maintenance job to release the maintenance lock");
		backup_progress_step(h, "waiting for the maintenance lock");
		rc = session_exec(h, s, PGMAINT_SQL_LOCK_SHARED, NULL);
	}
	s->is_locked = rc == 0;
	return rc;
}

static int
session_export(struct plugin_host *h, struct backup_session *s)
{
	PGresult *res = NULL;
	int rc;

	rc = session_exec(h, s, "SELECT pg_catalog.pg_export_snapshot()", &res);
	if (rc != 0)
		return rc;
	snprintf(s->snapshot, sizeof(s->snapshot), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* The lock, then a read-only REPEATABLE READ transaction and its snapshot.
 * Timeouts the role may carry would cut a long count or the idle wait
 * until the dump ends, so they are off for this transaction only.  The
 * counts run beside the dump: parallel workers would take the cores the
 * dump and the application need, for a count nobody waits on, so they are
 * off too. */
int
backup_session_begin(struct plugin_host *h, struct backup_session *s, uint64_t *expect_bytes)
{
	int rc;

	session_estimate(h, s, expect_bytes);
	rc = session_lock(h, s);
	if (rc == 0)
		rc = session_exec(h, s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", NULL);
	s->is_in_transaction = rc == 0;
	if (rc == 0)
		rc = session_exec(h, s, "SET LOCAL statement_timeout = 0", NULL);
	if (rc == 0 && s->server_version_num >= 90600)
		rc = session_exec(h, s, "SET LOCAL idle_in_transaction_session_timeout = 0", NULL);
	if (rc == 0 && s->server_version_num >= 90600)
		rc = session_exec(h, s, "SET LOCAL max_parallel_workers_per_gather = 0", NULL);
	if (rc == 0)
		rc = session_export(h, s);
	return rc;
}

/* Lists the tables (row counts from the dump's output) or counts their
 * rows here, in the dump's snapshot, while the dump runs. */
int
backup_session_count_send(struct plugin_host *h, struct backup_session *s, int is_counts_in_dump)
{
	const char *sql = is_counts_in_dump ? pgtables_tablelist_sql : pgtables_rowcount_sql;

	if (PQsendQuery(s->conn, sql) == 0)
		return plugin_host_fail(h, CT_EPG, "cannot send the row count query: %s",
		                        PQerrorMessage(s->conn));
	s->is_counting = 1;
	return 0;
}

static void
count_take(struct backup_session *s, PGresult *res)
{
	int rc;

	rc = pgquery_check(res, PGRES_TUPLES_OK, "counting rows", s->count_err,
	                   sizeof(s->count_err));
	if (rc == 0 && s->tables == NULL) {
		rc = pgtables_from_result(res, &s->tables, &s->n_tables);
		if (rc != 0)
			snprintf(s->count_err, sizeof(s->count_err), "cannot read the row counts");
	}
	if (s->count_rc == 0)
		s->count_rc = rc;
}

/* Reads what has arrived of the count; call when its socket is readable.
 * Returns 0 (done or not: see is_counting) or CT_EPG for a lost session. */
int
backup_session_count_poll(struct backup_session *s)
{
	PGresult *res;

	if (PQconsumeInput(s->conn) == 0) {
		snprintf(s->count_err, sizeof(s->count_err), "lost the session: %s",
		         PQerrorMessage(s->conn));
		s->count_rc = CT_EPG;
		s->is_counting = 0;
		return CT_EPG;
	}
	while (s->is_counting && !PQisBusy(s->conn)) {
		res = PQgetResult(s->conn);
		if (res == NULL) {
			s->is_counting = 0;
			break;
		}
		count_take(s, res);
		PQclear(res);
	}
	return 0;
}

/* After the dump: waits for the counts still running, if any. */
int
backup_session_count_wait(struct plugin_host *h, struct backup_session *s)
{
	struct pollfd p = {.fd = PQsocket(s->conn), .events = POLLIN};

	while (s->is_counting) {
		if (plugin_host_should_stop(h))
			return CT_ECANCELED;
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			return plugin_host_fail(h, CT_ESYS, "poll: %s", strerror(errno));
		if (backup_session_count_poll(s) != 0)
			break;
	}
	if (s->count_rc != 0)
		return plugin_host_fail(h, s->count_rc, "%s", s->count_err);
	return 0;
}

/* A count still in flight (the dump failed or was stopped) must end before
 * the session can take another command. */
static void
session_cancel_count(struct backup_session *s)
{
	PGcancel *c;
	PGresult *res;
	char buf[256];

	if (!s->is_counting)
		return;
	c = PQgetCancel(s->conn);
	if (c != NULL) {
		(void)PQcancel(c, buf, sizeof(buf));
		PQfreeCancel(c);
	}
	for (res = PQgetResult(s->conn); res != NULL; res = PQgetResult(s->conn))
		PQclear(res);
	s->is_counting = 0;
}

void
backup_session_end(struct backup_session *s)
{
	PGresult *res;

	session_cancel_count(s);
	if (s->is_in_transaction) {
		res = PQexec(s->conn, "COMMIT");
		PQclear(res);
		s->is_in_transaction = 0;
	}
	if (s->is_locked) {
		res = PQexec(s->conn, PGMAINT_SQL_UNLOCK_SHARED);
		PQclear(res);
		s->is_locked = 0;
	}
}
