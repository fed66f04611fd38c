/*
 * vacuum_select.c — which tables the job looks at and what each needs,
 * from the statistics views and the catalog, into a plan.
 *
 * The query reads pg_stat_all_tables (dead tuples, rows modified since the
 * last analyze, rows inserted since the last vacuum, when each last ran)
 * and pg_class (reltuples, the transaction and multixact ID ages of the
 * table and of its TOAST table, whichever is older, since one VACUUM
 * freezes both).  It calls no function that locks a table, so a table
 * held by a migration's ACCESS EXCLUSIVE lock cannot hold the plan up;
 * sizes are measured table by table when the work starts
 * (vacuum_table.c), and the plan only orders by pg_class's page counts.
 *
 * Tables, materialized views and partitions are in; partitioned parents
 * (their partitions are tables of their own), temporary tables (other
 * sessions' cannot be vacuumed), the system catalogs and TOAST tables
 * (vacuumed with their table) are not.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "vacuum.h"

/* printf format: the inserted-rows column, which PostgreSQL 13 added. */
#define TABLES_SQL                                                                                 \
	"SELECT c.oid, n.nspname, c.relname, format('%%I.%%I', n.nspname, c.relname), "            \
	"coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0), "                                   \
	"coalesce(s.n_mod_since_analyze, 0), %s, c.reltuples, "                                    \
	"coalesce(greatest(age(c.relfrozenxid), age(t.relfrozenxid)), 0), "                        \
	"coalesce(greatest(mxid_age(c.relminmxid), mxid_age(t.relminmxid)), 0), "                  \
	"coalesce(extract(epoch FROM now() - greatest(s.last_vacuum, s.last_autovacuum)), -1), "   \
	"coalesce(extract(epoch FROM now() - greatest(s.last_analyze, s.last_autoanalyze)), -1), " \
	"c.relpages::bigint * current_setting('block_size')::bigint "                              \
	"FROM pg_catalog.pg_class c "                                                              \
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "                                \
	"LEFT JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid "                              \
	"LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid "                            \
	"WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' "                               \
	"AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' "                           \
	"ORDER BY n.nspname, c.relname"

enum {
	COL_OID,
	COL_SCHEMA,
	COL_NAME,
	COL_DISPLAY,
	COL_LIVE,
	COL_DEAD,
	COL_MOD,
	COL_INS,
	COL_RELTUPLES,
	COL_XID_AGE,
	COL_MXID_AGE,
	COL_SINCE_VACUUM,
	COL_SINCE_ANALYZE,
	COL_BYTES,
	COL__COUNT
};

int
vacuum_in_scope(const struct vacuum_opts *o, const char *schema, const char *name)
{
	int is_in = o->n_tables == 0;

	for (size_t i = 0; !is_in && i < o->n_tables; i++)
		is_in = vacuum_name_matches(o->tables[i], schema, name);
	for (size_t i = 0; is_in && i < o->n_excludes; i++)
		is_in = !vacuum_name_matches(o->excludes[i], schema, name);
	return is_in;
}

static int64_t
col_int(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static double
col_double(const PGresult *res, int row, int col)
{
	return strtod(PQgetvalue(res, row, col), NULL);
}

static int
table_from_row(const PGresult *res, int row, struct vacuum_table *tb)
{
	tb->oid = (uint32_t)strtoul(PQgetvalue(res, row, COL_OID), NULL, 10);
	tb->schema = strdup(PQgetvalue(res, row, COL_SCHEMA));
	tb->name = strdup(PQgetvalue(res, row, COL_NAME));
	tb->display = strdup(PQgetvalue(res, row, COL_DISPLAY));
	tb->n_live = col_int(res, row, COL_LIVE);
	tb->n_dead = col_int(res, row, COL_DEAD);
	tb->n_mod_since_analyze = col_int(res, row, COL_MOD);
	tb->n_ins_since_vacuum = col_int(res, row, COL_INS);
	tb->reltuples = col_double(res, row, COL_RELTUPLES);
	tb->xid_age = col_int(res, row, COL_XID_AGE);
	tb->mxid_age = col_int(res, row, COL_MXID_AGE);
	tb->since_vacuum_s = col_double(res, row, COL_SINCE_VACUUM);
	tb->since_analyze_s = col_double(res, row, COL_SINCE_ANALYZE);
	tb->est_bytes = col_int(res, row, COL_BYTES);
	tb->dead_before = tb->n_dead;
	if (tb->schema == NULL || tb->name == NULL || tb->display == NULL)
		return CT_ENOMEM;
	return 0;
}

int
vacuum_is_full_table(const struct vacuum_opts *o, const char *schema, const char *name)
{
	for (size_t i = 0; i < o->n_full; i++)
		if (vacuum_name_matches(o->full[i], schema, name))
			return 1;
	return 0;
}

/* A name the job gave that the database does not have is a mistake to
 * say, not a table to skip quietly: a plain `tables` name must match a
 * table, a vacuum_full name exactly one. */
static int
check_names(struct plugin_host *h, const struct vacuum_opts *o, const struct vacuum_session *s,
            const PGresult *res)
{
	for (size_t i = 0; i < o->n_tables + o->n_full; i++) {
		int is_full_item = i >= o->n_tables;
		const char *item = is_full_item ? o->full[i - o->n_tables] : o->tables[i];
		int n = 0;

		if (!is_full_item && vacuum_is_pattern(item))
			continue;
		for (int row = 0; row < PQntuples(res); row++)
			n += vacuum_name_matches(item, PQgetvalue(res, row, COL_SCHEMA),
			                         PQgetvalue(res, row, COL_NAME));
		if (n == 0)
			return plugin_host_fail(
			    h, CT_ENOENT,
			    "%s: no table '%s' in database %s\nhint: name it as "
			    "schema.table, as \\dt in psql lists it",
			    is_full_item ? "vacuum_full" : "tables", item, s->database);
		if (n > 1 && is_full_item)
			return plugin_host_fail(
			    h, CT_ECONFIG,
			    "vacuum_full: '%s' names %d tables\nhint: name it as "
			    "schema.table",
			    item, n);
	}
	return 0;
}

/* The freeze ages the judge uses: the job's, or half the server's. */
static struct vacuum_thresholds
resolved_thresholds(const struct vacuum_opts *o, const struct vacuum_session *s)
{
	struct vacuum_thresholds th = o->th;

	if (th.freeze_age == 0)
		th.freeze_age = s->freeze_max_age / 2;
	if (th.multixact_freeze_age == 0)
		th.multixact_freeze_age = s->multixact_freeze_max_age / 2;
	return th;
}

/* How much a table's need weighs against others of its priority. */
static int64_t
need_of(const struct vacuum_table *tb)
{
	if (tb->action == VACUUM_DO_FREEZE)
		return tb->xid_age > tb->mxid_age ? tb->xid_age : tb->mxid_age;
	return tb->n_dead + (tb->n_ins_since_vacuum > 0 ? tb->n_ins_since_vacuum : 0) +
	       tb->n_mod_since_analyze;
}

/* Planned tables first, most urgent first; the rest by name. */
static int
table_order_cb(const void *a, const void *b)
{
	const struct vacuum_table *x = a, *y = b;
	int64_t nx = need_of(x), ny = need_of(y);
	int c;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->action != VACUUM_DO_NOTHING && nx != ny)
		return nx > ny ? -1 : 1;
	c = strcmp(x->schema, y->schema);
	return c != 0 ? c : strcmp(x->name, y->name);
}

static int
plan_add(const struct vacuum_opts *o, const struct vacuum_thresholds *th, const PGresult *res,
         int row, struct vacuum_plan *p)
{
	struct vacuum_table *tb = &p->tables[p->n_tables];
	int rc;

	rc = table_from_row(res, row, tb);
	p->n_tables++;
	if (rc != 0)
		return rc;
	if (vacuum_is_full_table(o, tb->schema, tb->name)) {
		tb->why = VACUUM_WHY_FULL;
		tb->action = VACUUM_DO_FULL;
		tb->priority = VACUUM_PRIORITY_FULL;
		snprintf(tb->reason, sizeof(tb->reason), "vacuum_full names it");
		return 0;
	}
	vacuum_judge_table(th, o->mode, tb);
	return 0;
}

static int
plan_from_result(struct plugin_host *h, const struct vacuum_opts *o, const struct vacuum_session *s,
                 const PGresult *res, struct vacuum_plan *p)
{
	struct vacuum_thresholds th = resolved_thresholds(o, s);
	int n = PQntuples(res), rc = 0;

	if (PQnfields(res) != COL__COUNT)
		return plugin_host_fail(h, CT_EPG, "the statistics query gave %d columns, not %d",
		                        PQnfields(res), COL__COUNT);
	p->tables = calloc((size_t)n + 1, sizeof(*p->tables));
	if (p->tables == NULL)
		return plugin_host_fail(h, CT_ENOMEM, "out of memory");
	for (int row = 0; rc == 0 && row < n; row++) {
		const char *schema = PQgetvalue(res, row, COL_SCHEMA);
		const char *name = PQgetvalue(res, row, COL_NAME);

		if (vacuum_in_scope(o, schema, name) || vacuum_is_full_table(o, schema, name))
			rc = plan_add(o, &th, res, row, p);
	}
	if (rc != 0)
		return plugin_host_fail(h, rc, "out of memory");
	if (p->n_tables > 1)
		qsort(p->tables, p->n_tables, sizeof(*p->tables), table_order_cb);
	while (p->n_planned < p->n_tables && p->tables[p->n_planned].action != VACUUM_DO_NOTHING)
		p->n_planned++;
	return 0;
}

int
vacuum_plan_make(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s,
                 struct vacuum_plan *p)
{
	const char *ins =
	    s->server_version_num >= 130000 ? "coalesce(s.n_ins_since_vacuum, 0)" : "-1";
	char sql[sizeof(TABLES_SQL) + 64];
	PGresult *res = NULL;
	char err[512];
	int rc;

	snprintf(sql, sizeof(sql), TABLES_SQL, ins);
	rc = vacuum_session_exec(h, s, sql, &res, err, sizeof(err), NULL);
	if (rc != 0)
		return plugin_host_fail(h, rc, "cannot read the tables' statistics: %s", err);
	rc = check_names(h, o, s, res);
	if (rc == 0)
		rc = plan_from_result(h, o, s, res, p);
	PQclear(res);
	return rc;
}

void
vacuum_plan_free(struct vacuum_plan *p)
{
	for (size_t i = 0; p->tables != NULL && i < p->n_tables; i++) {
		free(p->tables[i].schema);
		free(p->tables[i].name);
		free(p->tables[i].display);
	}
	free(p->tables);
	p->tables = NULL;
	p->n_tables = p->n_planned = 0;
}
