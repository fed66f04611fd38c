/*
 * audit_db.c — the audit plugin's session on the database: timeouts, one
 * read-only REPEATABLE READ transaction (every count of the run sees the
 * same events, and now() is the same instant in every query), the event
 * table and its columns checked in the catalog, and their names quoted.
 *
 * Nothing from the job's configuration becomes SQL text unquoted: table,
 * schema and column names go through PQescapeIdentifier, and every value
 * (event types, the window's start, thresholds, address ranges) is a
 * parameter of PQsendQueryParams.  The audit only reads: it takes no
 * maintenance lock, and a table locked exclusively (a migration) makes it
 * fail after lock_timeout rather than wait behind the lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "audit.h"
#include "pgquery.h"

/* An address held as text is cast only when it looks like one, so that a
 * stray value is left out (NULL) instead of failing the query.  The IPv6
 * branch is loose: PostgreSQL has the last word. */
#define OCTET "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#define IP_TEXT_PATTERN "^((" OCTET "[.]){3}" OCTET "|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$"

int
audit_db_query(struct plugin_host *h, const struct audit_db *db, const char *what, const char *sql,
               const char *const *values, int n_values, PGresult **res)
{
	struct pgquery_params p = {.values = values,
	                           .n_values = n_values,
	                           .should_stop = plugin_host_should_stop,
	                           .stop_ctx = h};
	char err[768];
	int rc;

	rc = pgquery_exec_params(db->conn, sql, &p, res, err, sizeof(err));
	if (rc != 0)
		return plugin_host_fail(h, rc, "%s: %s", what, err);
	return 0;
}

char *
audit_db_array(const char *const *items, size_t n)
{
	size_t size = 3;
	char *s, *p;

	for (size_t i = 0; i < n; i++)
		size += 2 * strlen(items[i]) + 3;
	s = malloc(size);
	if (s == NULL)
		return NULL;
	p = s;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		*p++ = '"';
		for (const char *c = items[i]; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				*p++ = '\\';
			*p++ = *c;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return s;
}

/* ---- queries from templates ---- */

static const char *
placeholder_value(const struct audit_sql *q, const char *p, size_t *len)
{
	const struct {
		const char *name;
		const char *value;
	} names[] = {{"{table}", q->table}, {"{type}", q->type}, {"{time}", q->time},
	             {"{ip}", q->ip},       {"{user}", q->user}, {"{details}", q->details}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		*len = strlen(names[i].name);
		if (strncmp(p, names[i].name, *len) == 0)
			return names[i].value ? names[i].value : "NULL";
	}
	return NULL;
}

/* Two passes: the size, then the text. */
static size_t
expand_into(const struct audit_sql *q, const char *tmpl, char *out)
{
	size_t n = 0, len;

	for (const char *p = tmpl; *p != '\0';) {
		const char *v = *p == '{' ? placeholder_value(q, p, &len) : NULL;

		if (v == NULL) {
			if (out != NULL)
				out[n] = *p;
			n++;
			p++;
			continue;
		}
		if (out != NULL)
			memcpy(out + n, v, strlen(v));
		n += strlen(v);
		p += len;
	}
	if (out != NULL)
		out[n] = '\0';
	return n;
}

char *
audit_db_expand(const struct audit_db *db, const char *tmpl)
{
	char *s = malloc(expand_into(&db->sql, tmpl, NULL) + 1);

	if (s != NULL)
		expand_into(&db->sql, tmpl, s);
	return s;
}

/* ---- the session ---- */

static int
set_timeouts(struct plugin_host *h, const struct audit_opts *o, struct audit_db *db)
{
	char statement[32], lock[32];
	const char *values[2] = {statement, lock};

	snprintf(statement, sizeof(statement), "%lldms", (long long)o->statement_timeout_ms);
	snprintf(lock, sizeof(lock), "%lldms", (long long)o->lock_timeout_ms);
	return audit_db_query(h, db, "setting the session's timeouts",
	                      "SELECT pg_catalog.set_config('statement_timeout', $1, false), "
	                      "pg_catalog.set_config('lock_timeout', $2, false)",
	                      values, 2, NULL);
}

/* The transaction, and the instants every query of the run counts from:
 * now() and the start of each window, from the server's clock. */
static int
begin_snapshot(struct plugin_host *h, const struct audit_opts *o, struct audit_db *db)
{
	char window[32], events_window[32];
	const char *values[2] = {window, events_window};
	PGresult *res = NULL;
	int rc;

	rc = audit_db_query(h, db, "starting the audit's transaction",
	                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, 0, NULL);
	if (rc != 0)
		return rc;
	db->is_in_transaction = 1;
	snprintf(window, sizeof(window), "%lld milliseconds", (long long)o->th.window_ms);
	snprintf(events_window, sizeof(events_window), "%lld milliseconds",
	         (long long)o->th.events_window_ms);
	rc = audit_db_query(h, db, "reading the server's time",
	                    "SELECT extract(epoch FROM pg_catalog.now())::bigint, "
	                    "(pg_catalog.now() - $1::interval)::text, "
	                    "extract(epoch FROM pg_catalog.now() - $1::interval)::bigint, "
	                    "(pg_catalog.now() - $2::interval)::text",
	                    values, 2, &res);
	if (rc != 0)
		return rc;
	db->now_epoch = (time_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(db->cutoff, sizeof(db->cutoff), "%s", PQgetvalue(res, 0, 1));
	db->cutoff_epoch = (time_t)strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	snprintf(db->events_cutoff, sizeof(db->events_cutoff), "%s", PQgetvalue(res, 0, 3));
	PQclear(res);
	return 0;
}

int
audit_db_open(struct plugin_host *h, const struct audit_opts *o, struct audit_db *db)
{
	int rc;

	rc = h->ct->pg_connect(h->t, o->conninfo, &db->conn);
	if (rc != 0)
		return plugin_host_fail(
		    h, rc, "cannot connect to the database (the log has libpq's words)");
	rc = set_timeouts(h, o, db);
	if (rc == 0)
		rc = begin_snapshot(h, o, db);
	return rc;
}

void
audit_db_close(struct audit_db *db)
{
	PGresult *res;

	if (db->conn != NULL && db->is_in_transaction) {
		res = PQexec(db->conn, "COMMIT");
		PQclear(res);
		db->is_in_transaction = 0;
	}
	free(db->sql.table);
	free(db->sql.type);
	free(db->sql.time);
	free(db->sql.ip);
	free(db->sql.user);
	free(db->sql.details);
	memset(&db->sql, 0, sizeof(db->sql));
}

/* ---- the event table and its columns ---- */

/* One column of the table, as the catalog has it. */
struct column {
	const char *key; /* the option that names it */
	const char *name;
	char type[64];
	char category; /* pg_type.typcategory: D datetime, I network, S string */
	int is_address;
	char **quoted; /* where its SQL expression goes */
};

static char *
quote(PGconn *conn, const char *name)
{
	char *q = PQescapeIdentifier(conn, name, strlen(name));
	char *copy = q != NULL ? strdup(q) : NULL;

	PQfreemem(q);
	return copy;
}

/* "schema"."table", or "table" for the search path. */
static int
quote_table(struct plugin_host *h, const struct audit_opts *o, struct audit_db *db)
{
	char *s = o->src.schema ? quote(db->conn, o->src.schema) : strdup("");
	char *t = quote(db->conn, o->src.table);
	size_t size = (s ? strlen(s) : 0) + (t ? strlen(t) : 0) + 2;
	int rc = 0;

	db->sql.table = malloc(size);
	if (s == NULL || t == NULL || db->sql.table == NULL)
		rc = plugin_host_fail(h, CT_ENOMEM, "out of memory quoting event_table");
	else
		snprintf(db->sql.table, size, "%s%s%s", s, s[0] ? "." : "", t);
	free(s);
	free(t);
	return rc;
}

static int
find_table(struct plugin_host *h, const struct audit_opts *o, const struct audit_db *db, char *oid,
           size_t oid_size)
{
	const char *values[2] = {o->src.table, o->src.schema};
	PGresult *res = NULL;
	int rc;

	rc = audit_db_query(h, db, "looking up event_table",
	                    "SELECT c.oid FROM pg_catalog.pg_class c "
	                    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	                    "WHERE c.relname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
	                    "AND CASE WHEN $2::text IS NULL "
	                    "THEN pg_catalog.pg_table_is_visible(c.oid) ELSE n.nspname = $2 END",
	                    values, 2, &res);
	if (rc != 0)
		return rc;
	if (PQntuples(res) != 1)
		rc = plugin_host_fail(
		    h, CT_ENOENT,
		    "event_table: no table \"%s\" in %s%s%s\nhint: set event_table (and "
		    "event_schema) to the table the application records security "
		    "events in",
		    o->src.table, o->src.schema ? "schema \"" : "the search path",
		    o->src.schema ? o->src.schema : "", o->src.schema ? "\"" : "");
	else
		snprintf(oid, oid_size, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

/* Fills each wanted column's type from the table's columns. */
static int
read_columns(struct plugin_host *h, const struct audit_db *db, const char *oid, struct column *cols,
             size_t n_cols)
{
	const char *values[1] = {oid};
	PGresult *res = NULL;
	int rc;

	rc = audit_db_query(h, db, "reading event_table's columns",
	                    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
	                    "t.typcategory FROM pg_catalog.pg_attribute a "
	                    "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
	                    "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped",
	                    values, 1, &res);
	if (rc != 0)
		return rc;
	for (int r = 0; r < PQntuples(res); r++)
		for (size_t i = 0; i < n_cols; i++)
			if (cols[i].name != NULL &&
			    strcmp(cols[i].name, PQgetvalue(res, r, 0)) == 0) {
				snprintf(cols[i].type, sizeof(cols[i].type), "%s",
				         PQgetvalue(res, r, 1));
				cols[i].category = PQgetvalue(res, r, 2)[0];
			}
	PQclear(res);
	return 0;
}

static int
check_columns(struct plugin_host *h, const struct audit_opts *o, const struct column *cols,
              size_t n_cols)
{
	for (size_t i = 0; i < n_cols; i++)
		if (cols[i].name != NULL && cols[i].category == '\0')
			return plugin_host_fail(
			    h, CT_ENOENT,
			    "%s: table %s has no column \"%s\"\nhint: set %s to the "
			    "column that holds it",
			    cols[i].key, o->src.table, cols[i].name, cols[i].key);
	if (cols[1].category != 'D')
		return plugin_host_fail(h, CT_EINVAL,
		                        "time_column: column \"%s\" of %s is %s, not a timestamp",
		                        cols[1].name, o->src.table, cols[1].type);
	if (cols[2].category != 'I' && cols[2].category != 'S')
		return plugin_host_fail(
		    h, CT_EINVAL, "ip_column: column \"%s\" of %s is %s, not inet, cidr or text",
		    cols[2].name, o->src.table, cols[2].type);
	return 0;
}

/* The expression of one column: text for names, inet for the address. */
static char *
column_expr(const struct column *c, const char *quoted)
{
	static const char text_fmt[] = "%s::text";
	static const char ip_fmt[] =
	    "(CASE WHEN %s::text ~ '" IP_TEXT_PATTERN "' THEN %s::text::inet END)";
	size_t size = 2 * strlen(quoted) + sizeof(ip_fmt) + 16;
	char *s = malloc(size);

	if (s == NULL)
		return NULL;
	if (c->is_address && c->category == 'I')
		snprintf(s, size, "%s::inet", quoted);
	else if (c->is_address)
		snprintf(s, size, ip_fmt, quoted, quoted);
	else if (c->category == 'D')
		snprintf(s, size, "%s", quoted);
	else
		snprintf(s, size, text_fmt, quoted);
	return s;
}

static int
quote_columns(struct plugin_host *h, const struct audit_db *db, struct column *cols, size_t n_cols)
{
	for (size_t i = 0; i < n_cols; i++) {
		char *q;

		if (cols[i].name == NULL)
			continue;
		q = quote(db->conn, cols[i].name);
		*cols[i].quoted = q != NULL ? column_expr(&cols[i], q) : NULL;
		free(q);
		if (*cols[i].quoted == NULL)
			return plugin_host_fail(h, CT_ENOMEM, "out of memory quoting %s",
			                        cols[i].key);
	}
	return 0;
}

int
audit_db_check_source(struct plugin_host *h, const struct audit_opts *o, struct audit_db *db)
{
	const struct audit_source *s = &o->src;
	int has_details = s->details_column != NULL && s->details_column[0] != '\0';
	struct column cols[] = {
	    {.key = "type_column", .name = s->type_column, .quoted = &db->sql.type},
	    {.key = "time_column", .name = s->time_column, .quoted = &db->sql.time},
	    {.key = "ip_column", .name = s->ip_column, .is_address = 1, .quoted = &db->sql.ip},
	    {.key = "user_column", .name = s->user_column, .quoted = &db->sql.user},
	    {.key = "details_column",
	     .name = has_details ? s->details_column : NULL,
	     .quoted = &db->sql.details},
	};
	size_t n_cols = sizeof(cols) / sizeof(cols[0]);
	char oid[32];
	int rc;

	rc = find_table(h, o, db, oid, sizeof(oid));
	if (rc == 0)
		rc = read_columns(h, db, oid, cols, n_cols);
	if (rc == 0)
		rc = check_columns(h, o, cols, n_cols);
	if (rc == 0)
		rc = quote_table(h, o, db);
	if (rc == 0)
		rc = quote_columns(h, db, cols, n_cols);
	return rc;
}
