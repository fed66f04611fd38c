/*
 * pgtables.h — the tables whose data pg_dump dumps, by the catalog: their
 * row counts, which a backup records and a restore test compares, and
 * their size.  Part of libctbackup (queries run through pgquery.h).
 */
#ifndef CARETAKER_PLUGINS_PGTABLES_H
#define CARETAKER_PLUGINS_PGTABLES_H

#include <stddef.h>

#include <libpq-fe.h>

#include "manifest.h"

/*
 * The row count of every table whose data pg_dump dumps: ordinary tables
 * and partitions outside the system schemas, not temporary, not members of
 * an extension.  Columns: "schema.table", count.  Counting runs in the
 * caller's transaction, so under REPEATABLE READ with an exported snapshot
 * it counts exactly what pg_dump dumps.
 */
extern const char pgtables_rowcount_sql[];

/* The same tables with 0 for every count, reading the catalog only: for
 * counts taken elsewhere (dumpcount.h counts pg_dump's output). */
extern const char pgtables_tablelist_sql[];

/* One row, one bigint: the bytes on disk of the same tables' data (heap
 * and TOAST, no indexes), close to what pg_dump writes of them.  From the
 * catalog's page counts as of the last VACUUM or ANALYZE: takes no lock,
 * and is an estimate. */
extern const char pgtables_tablesize_sql[];

/* The tables of a result of either query, for a manifest: names
 * are copied.  Returns 0 and sets *tables (free with
 * pgtables_free()), or CT_ENOMEM / CT_EPG for an unexpected shape. */
int pgtables_from_result(const PGresult *res, struct manifest_table **tables, size_t *n);

void pgtables_free(struct manifest_table *tables, size_t n);

#endif
