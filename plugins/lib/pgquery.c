/*
 * pgquery.c — cancellable queries (see pgquery.h).
 *
 * Why asynchronous: a count over a large table, or a lock wait, can take
 * longer than the job may; PQexec() would keep the plugin from noticing
 * the host's stop request until the query ends.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "pgquery.h"

#define POLL_MS 200

int
pgquery_check(const PGresult *res, ExecStatusType want, const char *what, char *err,
              size_t err_size)
{
	const char *state, *msg;
	size_t len;

	if (res != NULL && PQresultStatus(res) == want)
		return 0;
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	msg = res ? PQresultErrorMessage(res) : "no result";
	len = strcspn(msg, "\n");
	snprintf(err, err_size, "%s failed: %.*s%s%s%s", what, (int)len, msg,
	         state ? " (SQLSTATE " : "", state ? state : "", state ? ")" : "");
	return CT_EPG;
}

/* Waits until the connection has a whole result or the caller wants out. */
static int
wait_result(PGconn *conn, pgquery_stop_cb *should_stop, void *stop_ctx)
{
	struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};

	while (PQisBusy(conn)) {
		if (should_stop != NULL && should_stop(stop_ctx))
			return CT_ECANCELED;
		if (poll(&p, 1, POLL_MS) < 0 && errno != EINTR)
			return CT_EPG;
		if (PQconsumeInput(conn) == 0)
			return CT_EPG;
	}
	return 0;
}

void
pgquery_cancel(PGconn *conn)
{
	PGcancel *c = PQgetCancel(conn);
	char buf[256];

	if (c != NULL) {
		(void)PQcancel(c, buf, sizeof(buf));
		PQfreeCancel(c);
	}
}

/* Reads results until NULL, keeping the last. */
static PGresult *
drain_results(PGconn *conn)
{
	PGresult *last = NULL, *r;

	while ((r = PQgetResult(conn)) != NULL) {
		PQclear(last);
		last = r;
	}
	return last;
}

/* Waits for the statement just sent and checks its result (see
 * pgquery_exec). */
static int
await_result(PGconn *conn, pgquery_stop_cb *should_stop, void *stop_ctx, PGresult **res, char *err,
             size_t err_size)
{
	PGresult *r;
	int rc;

	rc = wait_result(conn, should_stop, stop_ctx);
	if (rc == CT_ECANCELED)
		pgquery_cancel(conn);
	r = drain_results(conn);
	if (rc == CT_ECANCELED) {
		snprintf(err, err_size, "query cancelled: the run was asked to stop");
		PQclear(r);
		return rc;
	}
	rc = pgquery_check(
	    r, PQresultStatus(r) == PGRES_TUPLES_OK ? PGRES_TUPLES_OK : PGRES_COMMAND_OK, "query",
	    err, err_size);
	if (rc == 0 && res != NULL)
		*res = r;
	else
		PQclear(r);
	return rc;
}

int
pgquery_exec(PGconn *conn, const char *sql, pgquery_stop_cb *should_stop, void *stop_ctx,
             PGresult **res, char *err, size_t err_size)
{
	if (PQsendQuery(conn, sql) == 0) {
		snprintf(err, err_size, "cannot send a query: %s", PQerrorMessage(conn));
		return CT_EPG;
	}
	return await_result(conn, should_stop, stop_ctx, res, err, err_size);
}

int
pgquery_exec_params(PGconn *conn, const char *sql, const struct pgquery_params *p, PGresult **res,
                    char *err, size_t err_size)
{
	if (PQsendQueryParams(conn, sql, p->n_values, NULL, p->values, NULL, NULL, 0) == 0) {
		snprintf(err, err_size, "cannot send a query: %s", PQerrorMessage(conn));
		return CT_EPG;
	}
	return await_result(conn, p->should_stop, p->stop_ctx, res, err, err_size);
}
