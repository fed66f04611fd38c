/*
 * pgquery.c — cancellable queries and row counts (see pgquery.h).
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

/* The tables pg_dump dumps the data of (see pgquery.h). */
#define DUMPED_TABLES                                                                              \
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"     \
	" WHERE c.relkind = 'r' AND c.relpersistence <> 't'"                                       \
	" AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'"                   \
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"                                    \
	"  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid"                  \
	"  AND d.deptype = 'e')"                                                                   \
	" ORDER BY 1"

/* count(*) through query_to_xml: one statement counts every table, with
 * identifiers quoted by the server's format(%I), in the caller's snapshot. */
const char pgquery_rowcount_sql[] =
    "SELECT n.nspname || '.' || c.relname,"
    " (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I',"
    "  n.nspname, c.relname), false, true, '')))[1]::text::bigint" DUMPED_TABLES;

const char pgquery_tablelist_sql[] =
    "SELECT n.nspname || '.' || c.relname, 0::bigint" DUMPED_TABLES;

/* Pages from the catalog, not pg_table_size(): that opens each table and
 * would wait behind a lock a migration holds. */
const char pgquery_tablesize_sql[] =
    "SELECT coalesce(sum(p), 0)::bigint * pg_catalog.current_setting('block_size')::bigint"
    " FROM (SELECT c.relpages::bigint + coalesce((SELECT t.relpages FROM pg_catalog.pg_class t"
    "  WHERE t.oid = c.reltoastrelid), 0) AS p" DUMPED_TABLES ") s";

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

static void
cancel_query(PGconn *conn)
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

int
pgquery_exec(PGconn *conn, const char *sql, pgquery_stop_cb *should_stop, void *stop_ctx,
             PGresult **res, char *err, size_t err_size)
{
	PGresult *r;
	int rc;

	if (PQsendQuery(conn, sql) == 0) {
		snprintf(err, err_size, "cannot send a query: %s", PQerrorMessage(conn));
		return CT_EPG;
	}
	rc = wait_result(conn, should_stop, stop_ctx);
	if (rc == CT_ECANCELED)
		cancel_query(conn);
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

void
pgquery_tables_free(struct manifest_table *tables, size_t n)
{
	for (size_t i = 0; tables != NULL && i < n; i++)
		free((char *)tables[i].name);
	free(tables);
}

int
pgquery_tables_from_result(const PGresult *res, struct manifest_table **tables, size_t *n)
{
	int rows = PQntuples(res);
	struct manifest_table *t;

	if (PQnfields(res) != 2)
		return CT_EPG;
	t = calloc((size_t)rows + 1, sizeof(*t));
	if (t == NULL)
		return CT_ENOMEM;
	for (int i = 0; i < rows; i++) {
		t[i].name = strdup(PQgetvalue(res, i, 0));
		t[i].rows = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		if (t[i].name == NULL) {
			pgquery_tables_free(t, (size_t)i);
			return CT_ENOMEM;
		}
	}
	*tables = t;
	*n = (size_t)rows;
	return 0;
}
