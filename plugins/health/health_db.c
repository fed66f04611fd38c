/*
 * health_db.c — the database check: a connection (the host's pg_connect)
 * and an answer to SELECT 1, together within database_timeout.
 *
 * Why SELECT 1 after connecting: a server that accepts connections can
 * still hang every query (a full WAL disk, a stuck lock on the catalog);
 * the session's statement_timeout makes the query itself give up in time.
 * The connection attempt is bounded by libpq's connect_timeout, which the
 * conninfo sets (the host's pg_connect has no timeout of its own).
 */
#include <inttypes.h>
#include <stdio.h>

#include <caretaker/plugin.h>

#include "health.h"
#include "monotonic.h"
#include "pgquery.h"

static int
ask(struct plugin_host *h, PGconn *conn, const char *sql, ExecStatusType want, char *err,
    size_t err_size)
{
	PGresult *res = NULL;
	int rc = pgquery_exec(conn, sql, plugin_host_should_stop, h, &res, err, err_size);

	if (rc == 0)
		rc = pgquery_check(res, want, sql, err, err_size);
	PQclear(res);
	return rc;
}

void
health_check_database(struct plugin_host *h, const struct health_opts *o,
                      struct health_tally *tally)
{
	double t0 = monotonic_seconds(), seconds, limit = (double)o->database_timeout_ms / 1000;
	struct pg_conn *conn = NULL;
	char sql[96], err[1024];
	int rc;

	if (!o->is_database)
		return;
	h->ct->progress(h->t, -1, "asking the database");
	rc = h->ct->pg_connect(h->t, o->conninfo, &conn);
	if (rc != 0) {
		health_say(h, tally, HEALTH_FAIL, "database",
		           "cannot connect (the log has libpq's words)");
		return;
	}
	snprintf(sql, sizeof(sql), "SET statement_timeout = '%" PRId64 "ms'",
	         o->database_timeout_ms);
	rc = ask(h, conn, sql, PGRES_COMMAND_OK, err, sizeof(err));
	if (rc == 0)
		rc = ask(h, conn, "SELECT 1", PGRES_TUPLES_OK, err, sizeof(err));
	seconds = monotonic_seconds() - t0;
	h->ct->add_metric(h->t, "database_answer_seconds", seconds, "seconds");
	if (rc != 0)
		health_say(h, tally, HEALTH_FAIL, "database", "no answer to SELECT 1: %s", err);
	else if (seconds > limit)
		health_say(h, tally, HEALTH_FAIL, "database",
		           "answered SELECT 1 after %.3f s, over database_timeout (%.3f s)",
		           seconds, limit);
	else
		health_say(h, tally, HEALTH_OK, "database",
		           "answered SELECT 1 in %.3f s (server %s)", seconds,
		           PQparameterStatus(conn, "server_version"));
}
