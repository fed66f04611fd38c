/*
 * metrics_store.c — `store = database`: the runbook's store_metrics, one
 * row per figure in a table of the job's database, created when missing:
 *
 *   collected_at timestamptz   the server's now() of the insert
 *   host         text          the collecting host's name
 *   job          text          the job's name
 *   name         text          the family ("disk_used_ratio")
 *   label        text          what it is of ("/var", "eth0", a database,
 *                              a connection state; '' for the host)
 *   value        float8
 *   unit         text          "bytes", "seconds", "ratio" or '' (a count)
 *
 * with an index on collected_at, so that a `retention` job (docs/metrics.md
 * shows one) deletes old rows in index order.  The rows of a run go in one
 * INSERT of arrays (unnest), whatever their number: one round trip, and
 * every value a parameter.  Schema and table are quoted with
 * PQescapeIdentifier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "metrics.h"
#include "pgquery.h"

struct text_buf {
	char *data;
	size_t len, cap;
	int is_broken; /* out of memory: the text is unusable */
};

static void
buf_add(struct text_buf *b, const char *s, size_t n)
{
	if (b->is_broken)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *grown = realloc(b->data, cap);

		if (grown == NULL) {
			b->is_broken = 1;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* One element of an array literal, double-quoted, \ and " escaped. */
static void
buf_element(struct text_buf *b, const char *s)
{
	buf_add(b, b->len > 1 ? ",\"" : "\"", b->len > 1 ? 2 : 1);
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_add(b, "\\", 1);
		buf_add(b, p, 1);
	}
	buf_add(b, "\"", 1);
}

enum column { COL_NAME, COL_LABEL, COL_VALUE, COL_UNIT, COL__LAST };

static void
array_of(const struct metrics_samples *s, enum column c, struct text_buf *b)
{
	char num[40];

	buf_add(b, "{", 1);
	for (size_t i = 0; i < s->n; i++) {
		const struct metrics_sample *m = &s->items[i];

		snprintf(num, sizeof(num), "%.17g", m->value);
		buf_element(b, c == COL_NAME    ? m->family
		               : c == COL_LABEL ? m->label
		               : c == COL_VALUE ? num
		                                : m->unit);
	}
	buf_add(b, "}", 1);
}

/* The table and its index, quoted by libpq: "schema"."table" and
 * "table_collected_at".  Free both with free(). */
struct store_names {
	char *qualified;
	char *index;
};

static char *
quote(PGconn *conn, const char *name)
{
	char *q = PQescapeIdentifier(conn, name, strlen(name)), *copy = NULL;

	if (q != NULL)
		copy = strdup(q);
	PQfreemem(q);
	return copy;
}

static int
names_quote(PGconn *conn, const struct metrics_opts *o, struct store_names *n)
{
	char index_name[128];
	char *schema = quote(conn, o->schema), *table = quote(conn, o->table);
	size_t size = (schema ? strlen(schema) : 0) + (table ? strlen(table) : 0) + 2;

	snprintf(index_name, sizeof(index_name), "%.50s_collected_at", o->table);
	n->index = quote(conn, index_name);
	n->qualified = schema != NULL && table != NULL ? malloc(size) : NULL;
	if (n->qualified != NULL)
		snprintf(n->qualified, size, "%s.%s", schema, table);
	free(schema);
	free(table);
	return n->qualified != NULL && n->index != NULL ? 0 : CT_ENOMEM;
}

/* The statements, each with a literal format so that the compiler checks
 * it; `%s` are the quoted names only. */
#define STORE_SQL(out, ...)                                                                        \
	do {                                                                                       \
		int len_ = snprintf(NULL, 0, __VA_ARGS__);                                         \
		(out) = len_ >= 0 ? malloc((size_t)len_ + 1) : NULL;                               \
		if ((out) != NULL)                                                                 \
			snprintf((out), (size_t)len_ + 1, __VA_ARGS__);                            \
	} while (0)

static char *
create_sql(const struct store_names *n)
{
	char *sql = NULL;

	STORE_SQL(sql,
	          "CREATE TABLE IF NOT EXISTS %s (collected_at timestamptz NOT NULL, "
	          "host text NOT NULL, job text NOT NULL, name text NOT NULL, "
	          "label text NOT NULL DEFAULT '', value double precision NOT NULL, "
	          "unit text NOT NULL DEFAULT ''); "
	          "CREATE INDEX IF NOT EXISTS %s ON %s (collected_at)",
	          n->qualified, n->index, n->qualified);
	return sql;
}

static char *
insert_sql(const struct store_names *n)
{
	char *sql = NULL;

	STORE_SQL(sql,
	          "INSERT INTO %s (collected_at, host, job, name, label, value, unit) "
	          "SELECT now(), $1, $2, n, l, v, u "
	          "FROM unnest($3::text[], $4::text[], $5::float8[], $6::text[]) AS r(n, l, v, u)",
	          n->qualified);
	return sql;
}

static int
run_sql(struct plugin_host *h, PGconn *conn, const char *sql, const struct pgquery_params *p,
        const char *what)
{
	PGresult *res = NULL;
	char err[1024];
	int rc;

	rc = pgquery_exec_params(conn, sql, p, &res, err, sizeof(err));
	if (rc == 0)
		rc = pgquery_check(res, PGRES_COMMAND_OK, what, err, sizeof(err));
	PQclear(res);
	if (rc != 0)
		return plugin_host_fail(h, rc, "%s", err);
	return 0;
}

static int
table_create(struct plugin_host *h, PGconn *conn, const struct metrics_opts *o,
             const struct store_names *n)
{
	char *sql = create_sql(n), what[200], err[1024];
	PGresult *res = NULL;
	int rc = sql != NULL ? 0 : CT_ENOMEM;

	snprintf(what, sizeof(what), "creating %s.%s", o->schema, o->table);
	/* Two statements: the simple protocol of pgquery_exec takes both. */
	if (rc == 0)
		rc = pgquery_exec(conn, sql, plugin_host_should_stop, h, &res, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "out of memory");
	if (rc == 0)
		rc = pgquery_check(res, PGRES_COMMAND_OK, what, err, sizeof(err));
	PQclear(res);
	free(sql);
	if (rc != 0)
		return plugin_host_fail(h, rc, "%s", err);
	return 0;
}

/* The INSERT's values: host, job, then the four arrays, which `arrays`
 * owns.  Returns 0 or CT_ENOMEM. */
static int
values_fill(struct plugin_host *h, const struct metrics_samples *s, const char *host_name,
            struct text_buf arrays[COL__LAST], const char *values[2 + COL__LAST])
{
	int rc = 0;

	values[0] = host_name;
	values[1] = h->ct->job_name(h->t);
	for (int c = 0; c < COL__LAST; c++) {
		array_of(s, (enum column)c, &arrays[c]);
		values[2 + c] = arrays[c].data;
		rc = arrays[c].is_broken ? CT_ENOMEM : rc;
	}
	return rc;
}

int
metrics_store_append(struct plugin_host *h, PGconn *conn, const struct metrics_opts *o,
                     const struct metrics_samples *s)
{
	struct text_buf arrays[COL__LAST] = {{0}};
	const char *values[2 + COL__LAST];
	struct pgquery_params p = {.values = values,
	                           .n_values = 2 + COL__LAST,
	                           .should_stop = plugin_host_should_stop,
	                           .stop_ctx = h};
	struct store_names n = {0};
	char host_name[256] = "", what[200], *sql = NULL;
	int rc;

	h->ct->progress(h->t, -1, "storing");
	rc = names_quote(conn, o, &n);
	if (rc == 0)
		rc = table_create(h, conn, o, &n);
	if (rc != 0)
		goto out;
	gethostname(host_name, sizeof(host_name) - 1);
	rc = values_fill(h, s, host_name, arrays, values);
	sql = rc == 0 ? insert_sql(&n) : NULL;
	snprintf(what, sizeof(what), "storing the figures in %s.%s", o->schema, o->table);
	rc = sql != NULL ? run_sql(h, conn, sql, &p, what) : CT_ENOMEM;
out:
	if (rc == CT_ENOMEM)
		plugin_host_fail(h, rc, "out of memory");
	for (int c = 0; c < COL__LAST; c++)
		free(arrays[c].data);
	free(sql);
	free(n.qualified);
	free(n.index);
	return rc;
}
