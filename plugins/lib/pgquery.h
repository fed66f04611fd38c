/*
 * pgquery.h — libpq helpers for every plugin that talks to PostgreSQL: a
 * query that a stop request can cancel, and the check of its result.
 * Part of libctpg.
 *
 * Not here: connecting (the host's pg_connect service) and client
 * programs (pgtools.h).
 */
#ifndef CARETAKER_PLUGINS_PGQUERY_H
#define CARETAKER_PLUGINS_PGQUERY_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* Polled while a query runs; non-zero cancels it. */
typedef int pgquery_stop_cb(void *ctx);

/*
 * Runs `sql` (one statement) and waits for it, cancelling it when
 * `should_stop` (may be NULL) turns non-zero.  Returns 0 and sets *res
 * (PQclear it; may be NULL when the caller wants no rows), CT_EPG with the
 * server's message and SQLSTATE in `err`, or CT_ECANCELED.
 */
int pgquery_exec(PGconn *conn, const char *sql, pgquery_stop_cb *should_stop, void *stop_ctx,
                 PGresult **res, char *err, size_t err_size);

/* A statement's values and the stop request it heeds. */
struct pgquery_params {
	const char *const *values; /* $1 is values[0], as text; NULL is SQL NULL */
	int n_values;
	pgquery_stop_cb *should_stop; /* may be NULL */
	void *stop_ctx;
};

/*
 * As pgquery_exec, with the statement's values passed apart from its text
 * (PQsendQueryParams, text format): a value never becomes SQL, whatever it
 * holds.  Identifiers cannot be parameters; quote them with
 * PQescapeIdentifier.
 */
int pgquery_exec_params(PGconn *conn, const char *sql, const struct pgquery_params *p,
                        PGresult **res, char *err, size_t err_size);

/* Asks the server to cancel what `conn` runs now (PQcancel); what the
 * cancel achieved shows in the statement's own result. */
void pgquery_cancel(PGconn *conn);

/* Checks a result: 0 when its status is `want`, else CT_EPG with the
 * message (SQLSTATE included) in `err`. */
int pgquery_check(const PGresult *res, ExecStatusType want, const char *what, char *err,
                  size_t err_size);

#endif
