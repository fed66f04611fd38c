/*
 * vacuum_index.c — the indexes: which ones are bloated, which are invalid
 * leftovers of an interrupted REINDEX CONCURRENTLY, and the work on them
 * (REINDEX INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY), one at a time.
 *
 * The bloat estimate needs no extension.  It is the well-known btree
 * estimate that check_postgres's bloat check, the pgexperts
 * index_bloat_check.sql and ioguix's btree_bloat.sql make, written again
 * here: from the column statistics (pg_stats: null fraction and average
 * width of each indexed column, or of an expression's own statistics) and
 * the index's reltuples, the size of one index tuple (8 bytes of header,
 * 16 with a null bitmap, the data padded to 8 bytes, a 4-byte line
 * pointer), how many fit on a page at the index's fillfactor (a page of
 * block_size less its 24-byte header and 16-byte btree special space), and
 * so the pages a freshly built index would take, plus its metapage.  The
 * waste is the index's pages (pg_class.relpages) beyond that.  Its limits
 * (docs/vacuum.md): btree only; no estimate without statistics of every
 * column (a table never analyzed) or for a table never vacuumed or
 * analyzed (reltuples -1); inner pages, per-column alignment and TOASTed
 * keys are ignored; deduplication (PostgreSQL 13) makes indexes with many
 * equal keys smaller than the estimate, which only ever hides bloat; and
 * relpages is as of the last VACUUM or ANALYZE, which is why this step
 * runs after the tables' own.
 *
 * Why pg_class and not pg_relation_size in the listing: the size function
 * locks the index, and one index locked by a migration would stop the
 * whole list; an index's size is measured (with lock_timeout) just before
 * and after its rebuild.
 *
 * An invalid index named NAME_ccnew[N] or NAME_ccold[N] is what REINDEX
 * CONCURRENTLY leaves when it is interrupted (cancelled, a timeout, a
 * crash): it is dropped with DROP INDEX CONCURRENTLY, unless an index build
 * runs on its table right now (pg_stat_progress_create_index), which may be
 * the one it belongs to.  Any other invalid index (a failed CREATE INDEX
 * CONCURRENTLY of a migration) is reported and never dropped: it may still
 * be on its way, and it is the application's to fix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "monotonic.h"
#include "pgident.h"
#include "vacuum.h"

/* printf format: whether an index build runs on the table (12 and later). */
#define INDEXES_SQL                                                                                \
	"WITH idx AS (SELECT i.indexrelid, i.indrelid, i.indisvalid, i.indnatts, i.indkey, "       \
	"n.nspname AS schema, ci.relname AS name, tn.nspname AS tschema, t.relname AS tname, "     \
	"format('%%I.%%I', n.nspname, ci.relname) AS display, "                                    \
	"format('%%I.%%I', tn.nspname, t.relname) AS tdisplay, am.amname, ci.reltuples, "          \
	"ci.relpages, coalesce((SELECT substring(o FROM '^fillfactor=([0-9]+)$')::int "            \
	"FROM unnest(ci.reloptions) o WHERE o LIKE 'fillfactor=%%'), 90) AS fillfactor, "          \
	"%s AS is_busy "                                                                           \
	"FROM pg_catalog.pg_index i "                                                              \
	"JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid "                                    \
	"JOIN pg_catalog.pg_namespace n ON n.oid = ci.relnamespace "                               \
	"JOIN pg_catalog.pg_class t ON t.oid = i.indrelid "                                        \
	"JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace "                              \
	"JOIN pg_catalog.pg_am am ON am.oid = ci.relam "                                           \
	"WHERE ci.relkind = 'i' AND t.relkind IN ('r', 'm') AND t.relpersistence <> 't' "          \
	"AND tn.nspname <> 'information_schema' AND tn.nspname !~ '^pg_' "                         \
	"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint x "                                \
	"WHERE x.conindid = i.indexrelid AND x.contype = 'x')), "                                  \
	"cols AS (SELECT idx.indexrelid, "                                                         \
	"CASE WHEN idx.indkey[k.pos - 1] <> 0 THEN idx.tname ELSE idx.name END AS statrel, "       \
	"CASE WHEN idx.indkey[k.pos - 1] <> 0 THEN ta.attname ELSE ia.attname END AS attname "     \
	"FROM idx CROSS JOIN LATERAL generate_series(1, idx.indnatts) AS k(pos) "                  \
	"LEFT JOIN pg_catalog.pg_attribute ta ON ta.attrelid = idx.indrelid "                      \
	"AND ta.attnum = idx.indkey[k.pos - 1] "                                                   \
	"LEFT JOIN pg_catalog.pg_attribute ia ON ia.attrelid = idx.indexrelid "                    \
	"AND ia.attnum = k.pos WHERE idx.amname = 'btree'), "                                      \
	"widths AS (SELECT cols.indexrelid, count(*) AS n_cols, count(s.avg_width) AS n_stats, "   \
	"max(coalesce(s.null_frac, 0)) AS null_frac, "                                             \
	"sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) AS data_width "            \
	"FROM cols JOIN idx ON idx.indexrelid = cols.indexrelid "                                  \
	"LEFT JOIN pg_catalog.pg_stats s ON s.schemaname = idx.tschema "                           \
	"AND s.tablename = cols.statrel AND s.attname = cols.attname AND NOT s.inherited "         \
	"GROUP BY cols.indexrelid) "                                                               \
	"SELECT idx.indexrelid, idx.indrelid, idx.schema, idx.name, idx.display, idx.tschema, "    \
	"idx.tname, idx.tdisplay, idx.indisvalid, idx.amname = 'btree', idx.is_busy, "             \
	"idx.relpages::bigint * b.bs, "                                                            \
	"CASE WHEN w.n_cols = w.n_stats AND idx.reltuples >= 0 THEN (b.bs * (1 + "                 \
	"ceil(idx.reltuples / greatest(1, floor((b.bs - 40) * idx.fillfactor / 100.0 / "           \
	"((CASE WHEN w.null_frac > 0 THEN 16 ELSE 8 END) + ceil(w.data_width / 8) * 8 + 4))))))"   \
	"::bigint ELSE -1 END "                                                                    \
	"FROM idx LEFT JOIN widths w ON w.indexrelid = idx.indexrelid "                            \
	"CROSS JOIN (SELECT current_setting('block_size')::bigint AS bs) b "                       \
	"ORDER BY idx.indisvalid, idx.tschema, idx.tname, idx.name"

#define BUSY_SQL                                                                                   \
	"EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p "                        \
	"WHERE p.relid = i.indrelid)"

enum {
	COL_OID,
	COL_TABLE_OID,
	COL_SCHEMA,
	COL_NAME,
	COL_DISPLAY,
	COL_TSCHEMA,
	COL_TNAME,
	COL_TDISPLAY,
	COL_VALID,
	COL_BTREE,
	COL_BUSY,
	COL_BYTES,
	COL_EXPECT,
	COL__COUNT
};

static int
col_bool(const PGresult *res, int row, int col)
{
	return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

static int
index_from_row(const PGresult *res, int row, struct vacuum_index *ix)
{
	ix->oid = (uint32_t)strtoul(PQgetvalue(res, row, COL_OID), NULL, 10);
	ix->table_oid = (uint32_t)strtoul(PQgetvalue(res, row, COL_TABLE_OID), NULL, 10);
	ix->schema = strdup(PQgetvalue(res, row, COL_SCHEMA));
	ix->name = strdup(PQgetvalue(res, row, COL_NAME));
	ix->display = strdup(PQgetvalue(res, row, COL_DISPLAY));
	ix->table_schema = strdup(PQgetvalue(res, row, COL_TSCHEMA));
	ix->table_name = strdup(PQgetvalue(res, row, COL_TNAME));
	ix->table_display = strdup(PQgetvalue(res, row, COL_TDISPLAY));
	ix->is_valid = col_bool(res, row, COL_VALID);
	ix->is_btree = col_bool(res, row, COL_BTREE);
	ix->is_busy = col_bool(res, row, COL_BUSY);
	ix->est_bytes = strtoll(PQgetvalue(res, row, COL_BYTES), NULL, 10);
	ix->expect_bytes = strtoll(PQgetvalue(res, row, COL_EXPECT), NULL, 10);
	ix->bytes_before = ix->est_bytes;
	if (ix->schema == NULL || ix->name == NULL || ix->display == NULL ||
	    ix->table_schema == NULL || ix->table_name == NULL || ix->table_display == NULL)
		return CT_ENOMEM;
	return 0;
}

static void
index_free(struct vacuum_index *ix)
{
	free(ix->schema);
	free(ix->name);
	free(ix->display);
	free(ix->table_schema);
	free(ix->table_name);
	free(ix->table_display);
}

/* The job's options on top of the judge: a VACUUM FULL rebuilds its
 * table's indexes anyway, and drop_leftovers = no only reports. */
static void
judge(const struct vacuum_opts *o, struct vacuum_index *ix)
{
	size_t len;

	vacuum_judge_index(o->reindex, &o->bloat, ix);
	if (ix->action == VACUUM_INDEX_REBUILD &&
	    vacuum_is_full_table(o, ix->table_schema, ix->table_name))
		ix->action = VACUUM_INDEX_KEEP;
	if (ix->action == VACUUM_INDEX_DROP_LEFTOVER && !o->is_drop_leftovers) {
		ix->action = VACUUM_INDEX_REPORT;
		len = strlen(ix->reason);
		snprintf(ix->reason + len, sizeof(ix->reason) - len, "; drop_leftovers = no");
	}
}

static int
list_from_result(const struct vacuum_opts *o, const PGresult *res, struct vacuum_indexes *ix)
{
	int n = PQntuples(res), rc = 0;

	ix->items = calloc((size_t)n + 1, sizeof(*ix->items));
	if (ix->items == NULL)
		return CT_ENOMEM;
	for (int row = 0; rc == 0 && row < n; row++) {
		struct vacuum_index *it = &ix->items[ix->n];

		if (!vacuum_in_scope(o, PQgetvalue(res, row, COL_TSCHEMA),
		                     PQgetvalue(res, row, COL_TNAME)))
			continue;
		rc = index_from_row(res, row, it);
		if (rc == 0)
			judge(o, it);
		if (rc != 0 || it->action == VACUUM_INDEX_KEEP) {
			index_free(it);
			memset(it, 0, sizeof(*it));
			continue;
		}
		ix->n++;
	}
	return rc;
}

int
vacuum_indexes_list(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s,
                    struct vacuum_indexes *ix)
{
	const char *busy = s->server_version_num >= VACUUM_CONCURRENT_SERVER ? BUSY_SQL : "false";
	char sql[sizeof(INDEXES_SQL) + sizeof(BUSY_SQL)], err[512];
	PGresult *res = NULL;
	int rc;

	snprintf(sql, sizeof(sql), INDEXES_SQL, busy);
	rc = vacuum_session_exec(h, s, sql, &res, err, sizeof(err), NULL);
	if (rc != 0)
		return plugin_host_fail(h, rc, "cannot list the indexes: %s", err);
	if (PQnfields(res) != COL__COUNT)
		rc = plugin_host_fail(h, CT_EPG, "the index query gave %d columns, not %d",
		                      PQnfields(res), COL__COUNT);
	if (rc == 0 && list_from_result(o, res, ix) != 0)
		rc = plugin_host_fail(h, CT_ENOMEM, "out of memory");
	PQclear(res);
	return rc;
}

/* ---- the work ---- */

/* printf format: the schema and the index, as literals. */
#define SIZE_SQL                                                                                   \
	"SELECT pg_relation_size(c.oid) FROM pg_catalog.pg_class c "                               \
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "                                \
	"WHERE n.nspname = %s AND c.relname = %s"

/* The index by name (REINDEX CONCURRENTLY gives the name to a new index):
 * 0 with *bytes, or the query's error with its SQLSTATE. */
static int
measure_index(struct plugin_host *h, struct vacuum_session *s, const struct vacuum_index *ix,
              int64_t *bytes, char *err, size_t err_size, char sqlstate[6])
{
	char *schema = NULL, *name = NULL, *sql = NULL;
	PGresult *res = NULL;
	size_t len;
	int rc;

	rc = pgident_literal(s->conn, ix->schema, &schema, err, err_size);
	if (rc == 0)
		rc = pgident_literal(s->conn, ix->name, &name, err, err_size);
	if (rc != 0)
		goto out;
	len = sizeof(SIZE_SQL) + strlen(schema) + strlen(name);
	sql = malloc(len);
	if (sql == NULL) {
		rc = CT_ENOMEM;
		goto out;
	}
	snprintf(sql, len, SIZE_SQL, schema, name);
	rc = vacuum_session_exec(h, s, sql, &res, err, err_size, sqlstate);
	if (rc == 0 && PQntuples(res) == 1)
		*bytes = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
out:
	free(schema);
	free(name);
	free(sql);
	return rc;
}

static int
outcome_of(int rc, const char *sqlstate)
{
	if (rc == CT_ECANCELED)
		return VACUUM_CANCELLED;
	if (rc == 0)
		return VACUUM_DONE;
	if (strcmp(sqlstate, "55P03") == 0)
		return VACUUM_SKIP_LOCKED;
	if (strcmp(sqlstate, "57014") == 0)
		return VACUUM_SKIP_TIMEOUT;
	if (strcmp(sqlstate, "42P01") == 0 || strcmp(sqlstate, "42704") == 0)
		return VACUUM_GONE;
	return VACUUM_FAILED;
}

/* `verb` (a statement without its object) on the index, by its quoted
 * name. */
static int
index_exec(struct plugin_host *h, struct vacuum_session *s, const struct vacuum_index *ix,
           const char *verb, char *err, size_t err_size, char sqlstate[6])
{
	char *qualified = NULL, sql[1024];
	int rc;

	sqlstate[0] = '\0';
	rc = pgident_qualified(s->conn, ix->schema, ix->name, &qualified, err, err_size);
	if (rc != 0)
		return rc;
	snprintf(sql, sizeof(sql), "%s %s", verb, qualified);
	free(qualified);
	return vacuum_session_exec(h, s, sql, NULL, err, err_size, sqlstate);
}

/* A lock wait that timed out: a conflicting lock on the table, else the
 * old transactions a concurrent build waits for. */
static void
explain_wait(struct plugin_host *h, struct vacuum_session *s, struct vacuum_index *ix)
{
	char who[400];
	size_t len = strlen(ix->detail);

	vacuum_session_lockers(h, s, ix->table_oid, "ShareUpdateExclusiveLock", who, sizeof(who));
	if (who[0] == '\0')
		vacuum_session_oldest(h, s, who, sizeof(who));
	if (who[0] != '\0')
		snprintf(ix->detail + len, sizeof(ix->detail) - len, "; in the way: %s", who);
}

static int
drop_leftover(struct plugin_host *h, struct vacuum_session *s, struct vacuum_index *ix)
{
	char err[512], sqlstate[6];
	double t0;
	int rc;

	/* Its size now, for the bytes the drop frees: relpages of an index
	 * whose build never got to fill it says 0. */
	(void)measure_index(h, s, ix, &ix->bytes_before, err, sizeof(err), sqlstate);
	t0 = monotonic_seconds();
	rc = index_exec(h, s, ix, "DROP INDEX CONCURRENTLY IF EXISTS", err, sizeof(err), sqlstate);
	ix->seconds = monotonic_seconds() - t0;
	ix->outcome = outcome_of(rc, sqlstate);
	if (ix->outcome == VACUUM_DONE)
		ix->bytes_after = 0;
	else
		snprintf(ix->detail, sizeof(ix->detail), "%s", err);
	if (ix->outcome == VACUUM_SKIP_LOCKED)
		explain_wait(h, s, ix);
	return rc == CT_ECANCELED ? rc : 0;
}

/* printf format: the table's oid. */
#define LEFTOVERS_SQL                                                                              \
	"SELECT n.nspname, c.relname FROM pg_catalog.pg_index i "                                  \
	"JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "                                      \
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "                                \
	"WHERE i.indrelid = %u AND NOT i.indisvalid"

/* After a rebuild failed: its transient index dropped now rather than left
 * for the next run, and said in the rebuild's detail. */
static void
drop_own_leftovers(struct plugin_host *h, struct vacuum_session *s, struct vacuum_index *ix)
{
	char sql[sizeof(LEFTOVERS_SQL) + 16], err[512];
	PGresult *res = NULL;
	size_t len;

	snprintf(sql, sizeof(sql), LEFTOVERS_SQL, ix->table_oid);
	if (vacuum_session_exec(h, s, sql, &res, err, sizeof(err), NULL) != 0)
		return;
	for (int row = 0; row < PQntuples(res); row++) {
		struct vacuum_index left = {.schema = PQgetvalue(res, row, 0),
		                            .name = PQgetvalue(res, row, 1)};

		if (!vacuum_is_leftover_name(left.name))
			continue;
		(void)drop_leftover(h, s, &left);
		len = strlen(ix->detail);
		snprintf(ix->detail + len, sizeof(ix->detail) - len, "; %s its leftover %s%s%s",
		         left.outcome == VACUUM_DONE ? "dropped" : "could not drop", left.name,
		         left.outcome == VACUUM_DONE ? "" : ": ", left.detail);
	}
	PQclear(res);
}

static int
rebuild(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s,
        struct vacuum_index *ix)
{
	const char *verb =
	    o->is_verbose ? "REINDEX (VERBOSE) INDEX CONCURRENTLY" : "REINDEX INDEX CONCURRENTLY";
	char err[512], sqlstate[6] = "";
	double t0;
	int rc;

	if (ix->is_busy) {
		ix->outcome = VACUUM_SKIP_BUSY;
		snprintf(ix->detail, sizeof(ix->detail), "an index build runs on its table now");
		return 0;
	}
	rc = measure_index(h, s, ix, &ix->bytes_before, err, sizeof(err), sqlstate);
	t0 = monotonic_seconds();
	if (rc == 0)
		rc = index_exec(h, s, ix, verb, err, sizeof(err), sqlstate);
	ix->seconds = monotonic_seconds() - t0;
	ix->outcome = outcome_of(rc, sqlstate);
	if (ix->outcome == VACUUM_DONE) {
		(void)measure_index(h, s, ix, &ix->bytes_after, err, sizeof(err), sqlstate);
		return 0;
	}
	snprintf(ix->detail, sizeof(ix->detail), "%s", err);
	if (ix->outcome == VACUUM_SKIP_LOCKED)
		explain_wait(h, s, ix);
	if (ix->outcome != VACUUM_CANCELLED)
		drop_own_leftovers(h, s, ix);
	return rc == CT_ECANCELED ? rc : 0;
}

static void
progress(struct plugin_host *h, const struct vacuum_index *ix, size_t i, size_t n)
{
	char words[128];

	snprintf(words, sizeof(words), "%s %s (index %zu of %zu)",
	         ix->action == VACUUM_INDEX_REBUILD ? "rebuilding" : "dropping", ix->display, i + 1,
	         n);
	h->ct->progress(h->t, n > 0 ? (double)i / (double)n : -1, words);
}

static int
run_one(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s,
        struct vacuum_index *ix)
{
	int rc = 0;

	ix->bytes_after = -1;
	if (ix->action == VACUUM_INDEX_REPORT)
		ix->outcome = VACUUM_DONE;
	else if (ix->action == VACUUM_INDEX_DROP_LEFTOVER)
		rc = drop_leftover(h, s, ix);
	else
		rc = rebuild(h, o, s, ix);
	if (ix->outcome != VACUUM_CANCELLED)
		vacuum_report_index(h, ix, 0);
	return rc;
}

int
vacuum_indexes_run(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s,
                   struct vacuum_indexes *ix)
{
	size_t n = 0, i = 0;
	int rc = 0;

	for (size_t k = 0; k < ix->n; k++)
		n += ix->items[k].action != VACUUM_INDEX_REPORT;
	for (size_t k = 0; rc == 0 && k < ix->n; k++) {
		struct vacuum_index *it = &ix->items[k];

		if (h->ct->should_stop(h->t))
			return CT_ECANCELED;
		if (it->action != VACUUM_INDEX_REPORT)
			progress(h, it, i++, n);
		rc = run_one(h, o, s, it);
		if (rc == 0 && it->outcome == VACUUM_FAILED)
			rc = vacuum_session_check(h, s);
	}
	return rc;
}

void
vacuum_indexes_free(struct vacuum_indexes *ix)
{
	for (size_t i = 0; ix->items != NULL && i < ix->n; i++)
		index_free(&ix->items[i]);
	free(ix->items);
	ix->items = NULL;
	ix->n = 0;
}
