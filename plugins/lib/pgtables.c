/*
 * pgtables.c — the tables whose data pg_dump dumps: their row counts and
 * sizes, for a backup's manifest and a restore test (see pgtables.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "pgtables.h"

/* The tables pg_dump dumps the data of (see pgtables.h). */
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
const char pgtables_rowcount_sql[] =
    "SELECT n.nspname || '.' || c.relname,"
    " (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I',"
    "  n.nspname, c.relname), false, true, '')))[1]::text::bigint" DUMPED_TABLES;

const char pgtables_tablelist_sql[] =
    "SELECT n.nspname || '.' || c.relname, 0::bigint" DUMPED_TABLES;

/* Pages from the catalog, not pg_table_size(): that opens each table and
 * would wait behind a lock a migration holds. */
const char pgtables_tablesize_sql[] =
    "SELECT coalesce(sum(p), 0)::bigint * pg_catalog.current_setting('block_size')::bigint"
    " FROM (SELECT c.relpages::bigint + coalesce((SELECT t.relpages FROM pg_catalog.pg_class t"
    "  WHERE t.oid = c.reltoastrelid), 0) AS p" DUMPED_TABLES ") s";

void
pgtables_free(struct manifest_table *tables, size_t n)
{
	for (size_t i = 0; tables != NULL && i < n; i++)
		free((char *)tables[i].name);
	free(tables);
}

int
pgtables_from_result(const PGresult *res, struct manifest_table **tables, size_t *n)
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
			pgtables_free(t, (size_t)i);
			return CT_ENOMEM;
		}
	}
	*tables = t;
	*n = (size_t)rows;
	return 0;
}
