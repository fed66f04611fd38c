/*
 * pgquery.h — libpq helpers shared by `backup` and `verify`: a query that
 * a stop request can cancel, and the per-table row counts that a backup
 * records and a restore test compares.
 *
 * Not here: connecting (the host's pg_connect service) and client
 * programs (pgtools.h).
 */
#ifndef CARETAKER_PLUGINS_PGQUERY_H
#define CARETAKER_PLUGINS_PGQUERY_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "manifest.h"

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

/*
 * The row count of every table whose data pg_dump dumps: ordinary tables
 * and partitions outside the system schemas, not temporary, not members of
 * an extension.  Columns: "schema.table", count.  Counting runs in the
 * caller's transaction, so under REPEATABLE READ with an exported snapshot
 * it counts exactly what pg_dump dumps.
 */
extern const char pgquery_rowcount_sql[];

/* The same tables with 0 for every count, reading the catalog only: for
 * counts taken elsewhere (dumpcount.h counts pg_dump's output). */
extern const char pgquery_tablelist_sql[];

/* One row, one bigint: the bytes on disk of the same tables' data (heap
 * and TOAST, no indexes), close to what pg_dump writes of them.  From the
 * catalog's page counts as of the last VACUUM or ANALYZE: takes no lock,
 * and is an estimate. */
extern const char pgquery_tablesize_sql[];

/* The tables of a result of either query, for a manifest: names
 * are copied.  Returns 0 and sets *tables (free with
 * pgquery_tables_free()), or CT_ENOMEM / CT_EPG for an unexpected shape. */
int pgquery_tables_from_result(const PGresult *res, struct manifest_table **tables, size_t *n);

void pgquery_tables_free(struct manifest_table *tables, size_t n);

/* Checks a result: 0 when its status is `want`, else CT_EPG with the
 * message (SQLSTATE included) in `err`. */
int pgquery_check(const PGresult *res, ExecStatusType want, const char *what, char *err,
                  size_t err_size);

#endif
