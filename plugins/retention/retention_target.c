/*
 * retention_target.c — everything the run learns before it deletes: the
 * session's settings, the rule checked against the catalog (the table, the
 * column and its type, the privileges, an index that serves the batches,
 * the columns an archive holds), the cutoff and how many rows are past it.
 *
 * Nothing from the configuration is pasted into SQL: the names and values
 * of the job go to the catalog queries as literals quoted by libpq
 * (PQescapeLiteral), and every statement after them names the table and the
 * column by the catalog's own spelling, quoted by PQescapeIdentifier.  A
 * name that is an injection attempt is looked up, found missing, and
 * reported.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "retention.h"

/* The transaction of a batch never sits idle longer than this (a stopped
 * caretaker would otherwise keep its row locks and hold back vacuum). */
#define IDLE_IN_TRANSACTION_MS 60000

void
retention_name_words(const char *name, char *out, size_t size)
{
	size_t n = 0;
	int is_plain = name[0] != '\0' &&
	               strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name) &&
	               !(name[0] >= '0' && name[0] <= '9');

	if (is_plain) {
		snprintf(out, size, "%s", name);
		return;
	}
	for (const char *p = name; *p != '\0' && n + 3 < size; p++) {
		if (n == 0)
			out[n++] = '"';
		if (*p == '"')
			out[n++] = '"';
		out[n++] = *p;
	}
	if (n + 1 < size)
		out[n++] = '"';
	out[n] = '\0';
}

void
retention_rule_words(const struct retention_opts *o, const struct retention_target *tg, char *out,
                     size_t size)
{
	const char *schema = tg != NULL && tg->schema[0] ? tg->schema : o->schema;
	char s[RETENTION_NAME_SIZE * 2], t[RETENTION_NAME_SIZE * 2], c[RETENTION_NAME_SIZE * 2];

	retention_name_words(schema != NULL ? schema : "", s, sizeof(s));
	retention_name_words(o->table, t, sizeof(t));
	retention_name_words(o->column, c, sizeof(c));
	snprintf(out, size, "%s%s%s.%s older than %s", schema != NULL ? s : "",
	         schema != NULL ? "." : "", t, c, o->older_than);
}

/* ---- running catalog queries ---- */

/* A statement into *out; only memory can fail. */
static int sql_printf(struct plugin_host *h, char **out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
sql_printf(struct plugin_host *h, char **out, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	int is_bad = f == NULL;

	if (f != NULL) {
		va_start(ap, fmt);
		is_bad = vfprintf(f, fmt, ap) < 0;
		va_end(ap);
		is_bad |= fclose(f) != 0;
	}
	*out = is_bad ? NULL : s;
	if (!is_bad)
		return 0;
	free(s);
	return plugin_host_fail(h, CT_ENOMEM, "out of memory building a statement");
}

/* Runs `sql`; a failure is the run's, in the words "WHAT: the error". */
static int
query(struct plugin_host *h, PGconn *conn, const char *sql, const char *what, PGresult **res)
{
	char err[1024];
	int rc;

	rc = pgquery_exec(conn, sql, plugin_host_should_stop, h, res, err, sizeof(err));
	if (rc != 0)
		return plugin_host_fail(h, rc, "%s: %s", what, err);
	return 0;
}

/* A literal for `s`, quoted by libpq; PQfreemem it. */
static char *
literal(PGconn *conn, const char *s)
{
	return PQescapeLiteral(conn, s, strlen(s));
}

static void
copy_field(const PGresult *res, int row, int col, char *out, size_t size)
{
	snprintf(out, size, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

static int64_t
int_field(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* ---- the session ---- */

int
retention_session_setup(struct plugin_host *h, const struct retention_opts *o, PGconn *conn)
{
	char *sql = NULL;
	int rc;

	/* DateStyle ISO: the bounds read back from the server are written
	 * into later statements, and must read the same way there. */
	/* client_connection_check_interval (PostgreSQL 14): a statement of a
	 * caretaker that died (kill -9) ends within a second, even while it
	 * waits for a lock, instead of when it would have finished. */
	rc = sql_printf(h, &sql,
	                "SET lock_timeout = '%" PRId64 "ms'; SET statement_timeout = '%" PRId64
	                "ms'; SET idle_in_transaction_session_timeout = '%dms'; "
	                "SET DateStyle = 'ISO, YMD'%s",
	                o->lock_timeout_ms, o->statement_timeout_ms, IDLE_IN_TRANSACTION_MS,
	                PQserverVersion(conn) >= 140000 ? "; SET client_connection_check_interval "
	                                                  "= '1s'"
	                                                : "");
	if (rc == 0)
		rc = query(h, conn, sql, "setting up the session", NULL);
	free(sql);
	return rc;
}

/* ---- the table ---- */

static int
missing_words(struct plugin_host *h, const struct retention_opts *o, const char *rule,
              int is_schema, const char *path)
{
	char s[RETENTION_NAME_SIZE * 2] = "", t[RETENTION_NAME_SIZE * 2];

	if (o->schema != NULL)
		retention_name_words(o->schema, s, sizeof(s));
	retention_name_words(o->table, t, sizeof(t));
	if (!is_schema)
		return plugin_host_fail(h, CT_ENOENT, "rule %s: schema %s does not exist", rule, s);
	if (o->schema != NULL)
		return plugin_host_fail(
		    h, CT_ENOENT, "rule %s: table %s does not exist in schema %s", rule, t, s);
	return plugin_host_fail(h, CT_ENOENT,
	                        "rule %s: table %s does not exist on the search_path (%s)\n"
	                        "hint: set schema, or check the name's spelling and case",
	                        rule, t, path);
}

/* Why the table was not found: a missing schema, or no such table. */
static int
table_missing(struct plugin_host *h, PGconn *conn, const struct retention_opts *o, const char *rule)
{
	PGresult *res = NULL;
	char *lit = o->schema ? literal(conn, o->schema) : NULL, *sql = NULL, path[512] = "";
	int is_schema = 1, rc;

	rc = sql_printf(h, &sql, "SELECT %s%s%s, current_setting('search_path')",
	                lit ? "EXISTS (SELECT "
	                      "FROM pg_namespace WHERE nspname = "
	                    : "true",
	                lit ? lit : "", lit ? ")" : "");
	if (rc == 0)
		rc = query(h, conn, sql, "looking for the schema", &res);
	if (rc == 0) {
		is_schema = PQgetvalue(res, 0, 0)[0] == 't';
		copy_field(res, 0, 1, path, sizeof(path));
	}
	PQclear(res);
	PQfreemem(lit);
	free(sql);
	if (rc != 0)
		return rc;
	return missing_words(h, o, rule, is_schema, path);
}

/* Views, foreign and partitioned tables are refused, each with its reason. */
static int
check_relkind(struct plugin_host *h, char relkind, const char *rule, const char *table)
{
	if (relkind == 'r')
		return 0;
	if (relkind == 'p')
		return plugin_host_fail(
		    h, CT_EUNSUPPORTED,
		    "rule %s: %s is a partitioned table\n"
		    "hint: drop or detach its old partitions instead, or name one "
		    "partition as the table",
		    rule, table);
	return plugin_host_fail(h, CT_EUNSUPPORTED, "rule %s: %s is not a table (relkind '%c')",
	                        rule, table, relkind);
}

/* schema.table for messages and the report. */
static void
display_name(struct retention_target *tg)
{
	char s[RETENTION_NAME_SIZE * 2], t[RETENTION_NAME_SIZE * 2];

	retention_name_words(tg->schema, s, sizeof(s));
	retention_name_words(tg->table, t, sizeof(t));
	snprintf(tg->display, sizeof(tg->display), "%s.%s", s, t);
}

static int
read_table(struct plugin_host *h, const PGresult *res, const char *rule,
           struct retention_target *tg, unsigned *oid)
{
	*oid = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	tg->oid = *oid;
	copy_field(res, 0, 1, tg->schema, sizeof(tg->schema));
	copy_field(res, 0, 2, tg->table, sizeof(tg->table));
	tg->table_bytes = (uint64_t)int_field(res, 0, 5);
	tg->rows_per_page = strtod(PQgetvalue(res, 0, 6), NULL);
	copy_field(res, 0, 7, tg->database, sizeof(tg->database));
	copy_field(res, 0, 8, tg->server_version, sizeof(tg->server_version));
	display_name(tg);
	if (PQgetvalue(res, 0, 4)[0] != 't')
		return plugin_host_fail(h, CT_EPERM,
		                        "rule %s: the role may not SELECT and DELETE from %s\n"
		                        "hint: GRANT SELECT, DELETE ON the table TO the job's role",
		                        rule, tg->display);
	return check_relkind(h, PQgetvalue(res, 0, 3)[0], rule, tg->display);
}

static int
find_table(struct plugin_host *h, PGconn *conn, const struct retention_opts *o, const char *rule,
           struct retention_target *tg, unsigned *oid)
{
	PGresult *res = NULL;
	char *t = literal(conn, o->table), *s = o->schema ? literal(conn, o->schema) : NULL;
	char *sql = NULL;
	int rc = t == NULL || (o->schema && s == NULL) ? CT_ENOMEM : 0;

	/* Nothing here takes a lock on the table (pg_relation_size() would):
	 * a table another session holds is met by the batches, which know
	 * what to do about it. */
	if (rc == 0)
		rc = sql_printf(
		    h, &sql,
		    "SELECT c.oid, n.nspname, c.relname, c.relkind, has_table_privilege(c.oid, "
		    "'SELECT') AND has_table_privilege(c.oid, 'DELETE'), c.relpages::bigint * "
		    "current_setting('block_size')::bigint, CASE WHEN "
		    "c.relpages > 0 AND c.reltuples > 0 THEN c.reltuples / c.relpages ELSE 0 END, "
		    "current_database(), current_setting('server_version') FROM pg_class c JOIN "
		    "pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = %s AND %s%s",
		    t, s ? "n.nspname = " : "pg_table_is_visible(c.oid)", s ? s : "");
	if (rc == 0)
		rc = query(h, conn, sql, "looking for the table", &res);
	if (rc == 0 && PQntuples(res) == 0)
		rc = table_missing(h, conn, o, rule);
	else if (rc == 0)
		rc = read_table(h, res, rule, tg, oid);
	PQclear(res);
	PQfreemem(t);
	PQfreemem(s);
	free(sql);
	return rc;
}

/* ---- the column and its index ---- */

static int
read_column(struct plugin_host *h, const PGresult *res, const char *rule,
            struct retention_target *tg, int *attnum)
{
	char c[RETENTION_NAME_SIZE * 2];

	*attnum = (int)int_field(res, 0, 0);
	copy_field(res, 0, 1, tg->column, sizeof(tg->column));
	copy_field(res, 0, 2, tg->column_type, sizeof(tg->column_type));
	if (PQgetvalue(res, 0, 3)[0] == 't')
		return 0;
	retention_name_words(tg->column, c, sizeof(c));
	return plugin_host_fail(h, CT_EINVAL,
	                        "rule %s: column %s of %s is %s, not a timestamp\n"
	                        "hint: name a timestamptz, timestamp or date column",
	                        rule, c, tg->display, tg->column_type);
}

static int
column_missing(struct plugin_host *h, const struct retention_opts *o, const char *rule,
               const struct retention_target *tg)
{
	char c[RETENTION_NAME_SIZE * 2];

	retention_name_words(o->column, c, sizeof(c));
	return plugin_host_fail(h, CT_ENOENT, "rule %s: column %s does not exist in %s", rule, c,
	                        tg->display);
}

static int
find_column(struct plugin_host *h, PGconn *conn, const struct retention_opts *o, const char *rule,
            unsigned oid, struct retention_target *tg, int *attnum)
{
	PGresult *res = NULL;
	char *col = literal(conn, o->column), *sql = NULL;
	int rc = col == NULL ? CT_ENOMEM : 0;

	if (rc == 0)
		rc = sql_printf(
		    h, &sql,
		    "SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), "
		    "COALESCE(NULLIF(t.typbasetype, 0), t.oid) IN ('timestamptz'::regtype, "
		    "'timestamp'::regtype, 'date'::regtype) FROM pg_attribute a JOIN pg_type t ON "
		    "t.oid = a.atttypid WHERE a.attrelid = %u AND a.attname = %s AND a.attnum > 0 "
		    "AND NOT a.attisdropped",
		    oid, col);
	if (rc == 0)
		rc = query(h, conn, sql, "looking for the column", &res);
	if (rc == 0 && PQntuples(res) == 0)
		rc = column_missing(h, o, rule, tg);
	else if (rc == 0)
		rc = read_column(h, res, rule, tg, attnum);
	PQclear(res);
	PQfreemem(col);
	free(sql);
	return rc;
}

/* A valid, whole (not partial) btree index whose first key is the column
 * serves both the ordered walk and the bound of every batch. */
static int
find_index(struct plugin_host *h, PGconn *conn, unsigned oid, int attnum,
           struct retention_target *tg)
{
	PGresult *res = NULL;
	char *sql = NULL;
	int rc;

	rc = sql_printf(h, &sql,
	                "SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = "
	                "i.indexrelid JOIN pg_am am ON am.oid = ic.relam WHERE i.indrelid = %u "
	                "AND i.indkey[0] = %d AND i.indisvalid AND i.indisready AND i.indpred IS "
	                "NULL AND am.amname = 'btree' ORDER BY ic.relname LIMIT 1",
	                oid, attnum);
	if (rc == 0)
		rc = query(h, conn, sql, "looking for an index on the column", &res);
	if (rc == 0 && PQntuples(res) == 1)
		copy_field(res, 0, 0, tg->index_name, sizeof(tg->index_name));
	PQclear(res);
	free(sql);
	return rc;
}

/* ---- the archive's columns ---- */

/* "a", "b", ... from the names, each quoted by libpq. */
static int
quote_columns(struct plugin_host *h, PGconn *conn, struct retention_target *tg)
{
	char *list = NULL, *q;
	size_t len = 0;
	FILE *f = open_memstream(&list, &len);
	int rc = f == NULL ? CT_ENOMEM : 0;

	for (size_t i = 0; rc == 0 && i < tg->n_columns; i++) {
		q = PQescapeIdentifier(conn, tg->column_names[i], strlen(tg->column_names[i]));
		if (q == NULL)
			rc = CT_ENOMEM;
		else
			fprintf(f, "%s%s", i > 0 ? ", " : "", q);
		PQfreemem(q);
	}
	if (f != NULL && fclose(f) != 0)
		rc = CT_ENOMEM;
	if (rc != 0) {
		free(list);
		return plugin_host_fail(h, rc, "out of memory quoting the column names");
	}
	tg->q_columns = list;
	return 0;
}

static int
keep_columns(struct plugin_host *h, const PGresult *res, struct retention_target *tg)
{
	size_t n = (size_t)PQntuples(res);

	tg->column_names = calloc(n + 1, sizeof(char *));
	tg->column_types = calloc(n + 1, sizeof(char *));
	if (tg->column_names == NULL || tg->column_types == NULL)
		return plugin_host_fail(h, CT_ENOMEM, "out of memory listing the columns");
	for (size_t i = 0; i < n; i++) {
		tg->column_names[i] = strdup(PQgetvalue(res, (int)i, 0));
		tg->column_types[i] = strdup(PQgetvalue(res, (int)i, 1));
		if (tg->column_names[i] == NULL || tg->column_types[i] == NULL)
			return plugin_host_fail(h, CT_ENOMEM, "out of memory listing the columns");
		tg->n_columns = i + 1;
	}
	return 0;
}

/* Generated columns are left out: COPY FROM refuses them, and the server
 * computes them again on restore. */
static int
find_columns(struct plugin_host *h, PGconn *conn, unsigned oid, struct retention_target *tg)
{
	PGresult *res = NULL;
	char *sql = NULL;
	int rc;

	rc = sql_printf(h, &sql,
	                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
	                "attrelid = %u AND attnum > 0 AND NOT attisdropped AND attgenerated = '' "
	                "ORDER BY attnum",
	                oid);
	if (rc == 0)
		rc = query(h, conn, sql, "listing the table's columns", &res);
	if (rc == 0)
		rc = keep_columns(h, res, tg);
	if (rc == 0)
		rc = quote_columns(h, conn, tg);
	PQclear(res);
	free(sql);
	return rc;
}

/* ---- the rule as a whole ---- */

static int
quote_names(struct plugin_host *h, PGconn *conn, struct retention_target *tg)
{
	char *s = PQescapeIdentifier(conn, tg->schema, strlen(tg->schema));
	char *t = PQescapeIdentifier(conn, tg->table, strlen(tg->table));
	int rc = 0;

	tg->q_column = PQescapeIdentifier(conn, tg->column, strlen(tg->column));
	if (s == NULL || t == NULL || tg->q_column == NULL ||
	    retention_sprintf(&tg->q_table, "%s.%s", s, t) != 0) {
		rc = plugin_host_fail(h, CT_ENOMEM, "out of memory quoting the names");
	}
	PQfreemem(s);
	PQfreemem(t);
	return rc;
}

int
retention_target_resolve(struct plugin_host *h, const struct retention_opts *o, PGconn *conn,
                         struct retention_target *tg)
{
	char rule[1024];
	unsigned oid = 0;
	int attnum = 0, rc;

	retention_rule_words(o, NULL, rule, sizeof(rule));
	tg->server_version_num = PQserverVersion(conn);
	rc = find_table(h, conn, o, rule, tg, &oid);
	if (rc == 0)
		rc = find_column(h, conn, o, rule, oid, tg, &attnum);
	if (rc == 0)
		rc = find_index(h, conn, oid, attnum, tg);
	if (rc == 0 && o->archive_to != NULL)
		rc = find_columns(h, conn, oid, tg);
	if (rc == 0)
		rc = quote_names(h, conn, tg);
	return rc;
}

void
retention_target_free(struct retention_target *tg)
{
	for (size_t i = 0; i < tg->n_columns; i++) {
		free(tg->column_names[i]);
		free(tg->column_types[i]);
	}
	free(tg->column_names);
	free(tg->column_types);
	free(tg->q_columns);
	free(tg->q_table);
	PQfreemem(tg->q_column);
	tg->column_names = tg->column_types = NULL;
	tg->q_columns = tg->q_table = tg->q_column = NULL;
	tg->n_columns = 0;
}

/* ---- the cutoff ---- */

static void
read_cutoff(const PGresult *res, struct retention_cutoff *c)
{
	copy_field(res, 0, 0, c->sql, sizeof(c->sql));
	copy_field(res, 0, 1, c->utc, sizeof(c->utc));
	copy_field(res, 0, 2, c->started_utc, sizeof(c->started_utc));
	copy_field(res, 0, 3, c->stamp, sizeof(c->stamp));
	c->epoch = strtod(PQgetvalue(res, 0, 4), NULL);
}

/* The planner's rows for "older than the cutoff": the progress shown is
 * rows done of this.  A count would read every old row once more.  Only
 * progress depends on it, so only a stop request fails the run here (the
 * planner locks the table, which another session may hold). */
static int
estimate_rows(struct plugin_host *h, PGconn *conn, const struct retention_target *tg,
              struct retention_cutoff *c)
{
	PGresult *res = NULL;
	json_t *plan = NULL;
	char *sql = NULL, err[1024];
	int rc;

	rc = sql_printf(h, &sql, "EXPLAIN (FORMAT JSON) SELECT 1 FROM ONLY %s WHERE %s < %s",
	                tg->q_table, tg->q_column, c->sql);
	if (rc == 0)
		rc = pgquery_exec(conn, sql, plugin_host_should_stop, h, &res, err, sizeof(err));
	if (rc == 0)
		plan = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	c->estimate = (int64_t)json_number_value(
	    json_object_get(json_object_get(json_array_get(plan, 0), "Plan"), "Plan Rows"));
	json_decref(plan);
	PQclear(res);
	free(sql);
	if (rc == CT_ECANCELED)
		return plugin_host_fail(h, rc, "estimating the rows to delete: %s", err);
	if (rc != 0)
		h->ct->log(h->t, CT_LOG_INFO, "no estimate of the rows to delete: %s", err);
	return rc == CT_ENOMEM ? rc : 0;
}

int
retention_cutoff_compute(struct plugin_host *h, const struct retention_opts *o, PGconn *conn,
                         const struct retention_target *tg, struct retention_cutoff *c)
{
	PGresult *res = NULL;
	char *sql = NULL;
	int rc;

	rc = sql_printf(
	    h, &sql,
	    "SELECT quote_literal(c::text) || '::timestamptz', to_char(c AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	    "to_char(n AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), to_char(n AT TIME "
	    "ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"'), extract(epoch FROM c) FROM (SELECT now() "
	    "AS n, now() - interval '1 millisecond' * %" PRId64 " AS c) s",
	    o->older_than_ms);
	if (rc == 0)
		rc = query(h, conn, sql, "computing the cutoff", &res);
	if (rc == 0)
		read_cutoff(res, c);
	PQclear(res);
	free(sql);
	if (rc == 0)
		rc = estimate_rows(h, conn, tg, c);
	return rc;
}

int
retention_count_old(struct plugin_host *h, PGconn *conn, const struct retention_target *tg,
                    const struct retention_cutoff *c, int64_t *rows)
{
	PGresult *res = NULL;
	char *sql = NULL;
	int rc;

	rc = sql_printf(h, &sql, "SELECT count(*) FROM ONLY %s WHERE %s < %s", tg->q_table,
	                tg->q_column, c->sql);
	if (rc == 0)
		rc = query(h, conn, sql, "counting the rows older than the cutoff", &res);
	if (rc == 0)
		*rows = int_field(res, 0, 0);
	PQclear(res);
	free(sql);
	return rc;
}
