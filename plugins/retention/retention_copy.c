/*
 * retention_copy.c — COPY ... TO STDOUT, row by row into a sink, that a
 * stop request can cancel (see retention.h).
 *
 * pgquery_exec() cannot run a COPY: its result is a stream, not rows.  The
 * waiting here is pgquery's (poll the socket, look at the stop request
 * between waits, PQcancel when asked) applied to libpq's asynchronous COPY
 * calls.  Whatever happens, the connection is left idle: a cancelled or
 * failed COPY is read to its end before the function returns.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "pgquery.h"
#include "retention.h"

#define POLL_MS 200

/* Waits until libpq has read more, or the caller wants out. */
static int
wait_input(PGconn *conn, const struct retention_copy *cp, char *err, size_t err_size)
{
	struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};

	if (cp->should_stop != NULL && cp->should_stop(cp->stop_ctx)) {
		snprintf(err, err_size, "query cancelled: the run was asked to stop");
		return CT_ECANCELED;
	}
	if (poll(&p, 1, POLL_MS) < 0 && errno != EINTR) {
		snprintf(err, err_size, "waiting for the server: poll failed");
		return CT_EPG;
	}
	if (PQconsumeInput(conn) == 0) {
		snprintf(err, err_size, "reading from the server: %s", PQerrorMessage(conn));
		return CT_EPG;
	}
	return 0;
}

/* Throws away the rest of a COPY the caller no longer wants. */
static void
discard_copy(PGconn *conn)
{
	char *buf = NULL;
	int n;

	for (;;) {
		n = PQgetCopyData(conn, &buf, 0);
		if (n <= 0)
			return;
		PQfreemem(buf);
		buf = NULL;
	}
}

/* Reads results until there are none, keeping the last. */
static PGresult *
finish_results(PGconn *conn)
{
	PGresult *last = NULL, *r;

	for (;;) {
		r = PQgetResult(conn);
		if (r == NULL)
			return last;
		if (PQresultStatus(r) == PGRES_COPY_OUT) {
			PQclear(r);
			discard_copy(conn);
			continue;
		}
		PQclear(last);
		last = r;
	}
}

/* Until the COPY's first result has come. */
static int
wait_start(PGconn *conn, const struct retention_copy *cp, char *err, size_t err_size)
{
	int rc = 0;

	while (rc == 0 && PQisBusy(conn))
		rc = wait_input(conn, cp, err, err_size);
	return rc;
}

/* Every row into the sink, until the end of the COPY (0), a sink's error,
 * a broken connection or a stop request. */
static int
stream_rows(PGconn *conn, const struct retention_copy *cp, char *err, size_t err_size)
{
	char *buf = NULL;
	int n, rc = 0;

	while (rc == 0) {
		n = PQgetCopyData(conn, &buf, 1);
		if (n > 0) {
			rc = cp->sink(cp->sink_ctx, buf, (size_t)n);
			PQfreemem(buf);
			buf = NULL;
			if (rc != 0)
				snprintf(err, err_size, "the archive refused a row");
		} else if (n == -1) {
			return 0;
		} else if (n == -2) {
			snprintf(err, err_size, "COPY failed: %s", PQerrorMessage(conn));
			return CT_EPG;
		} else {
			rc = wait_input(conn, cp, err, err_size);
		}
	}
	return rc;
}

static int
copy_start(PGconn *conn, const struct retention_copy *cp, char *err, size_t err_size)
{
	PGresult *res;
	int rc;

	if (PQsendQuery(conn, cp->sql) == 0) {
		snprintf(err, err_size, "cannot send a query: %s", PQerrorMessage(conn));
		return CT_EPG;
	}
	rc = wait_start(conn, cp, err, err_size);
	if (rc != 0)
		return rc;
	res = PQgetResult(conn);
	rc = pgquery_check(res, PGRES_COPY_OUT, "COPY", err, err_size);
	PQclear(res);
	return rc;
}

int
retention_copy_out(PGconn *conn, const struct retention_copy *cp, int64_t *rows, char *err,
                   size_t err_size)
{
	PGresult *res;
	int rc;

	rc = copy_start(conn, cp, err, err_size);
	if (rc == 0)
		rc = stream_rows(conn, cp, err, err_size);
	if (rc == CT_ECANCELED || (rc != 0 && rc != CT_EPG))
		pgquery_cancel(conn);
	res = finish_results(conn);
	if (rc == 0)
		rc = pgquery_check(res, PGRES_COMMAND_OK, "COPY", err, err_size);
	if (rc == 0)
		*rows = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return rc;
}
