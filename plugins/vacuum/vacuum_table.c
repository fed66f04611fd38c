/*
 * vacuum_table.c — the work on tables, one at a time: VACUUM (ANALYZE
 * [, FREEZE], SKIP_LOCKED), ANALYZE (SKIP_LOCKED) for tables that need
 * statistics only, and VACUUM (FULL, ANALYZE, SKIP_LOCKED) of the tables a
 * job names, each measured before and after (dead tuples, pg_table_size,
 * pg_indexes_size, seconds).
 *
 * One table at a time, each statement on its own: a table the server skips
 * or refuses is that table's outcome, and the run goes on; only a stop
 * request ends the loop, the statement in flight cancelled by pgquery.
 * How a table ended is said in its finding as soon as it ends, so that a
 * run killed later loses nothing it already reported.
 *
 * SQLSTATEs read here: 55P03 lock_not_available (lock_timeout, or the
 * WARNING of SKIP_LOCKED), 57014 query_canceled (statement_timeout),
 * 42P01 undefined_table (dropped since the plan was made).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "monotonic.h"
#include "pgident.h"
#include "vacuum.h"

/* What a table looks like now. */
struct table_measure {
	int64_t table_bytes, index_bytes, dead;
};

/* printf format: the table's oid. */
#define MEASURE_SQL                                                                                \
	"SELECT pg_table_size(c.oid), pg_indexes_size(c.oid), coalesce(s.n_dead_tup, 0) "          \
	"FROM pg_catalog.pg_class c "                                                              \
	"LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid WHERE c.oid = %u"

/* Words for the outcome of a failed statement, from its SQLSTATE. */
static int
outcome_of(const char *sqlstate)
{
	static const struct {
		const char *sqlstate;
		int outcome;
	} states[] = {
	    {"55P03", VACUUM_SKIP_LOCKED},
	    {"57014", VACUUM_SKIP_TIMEOUT},
	    {"42P01", VACUUM_GONE},
	};

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(sqlstate, states[i].sqlstate) == 0)
			return states[i].outcome;
	return VACUUM_FAILED;
}

/* 0 with *m set, CT_ENOENT when the table is gone, or the query's error
 * with the outcome it means in *outcome. */
static int
measure(struct plugin_host *h, struct vacuum_session *s, uint32_t oid, struct table_measure *m,
        int *outcome, char *err, size_t err_size)
{
	char sql[sizeof(MEASURE_SQL) + 16], sqlstate[6];
	PGresult *res = NULL;
	int rc;

	snprintf(sql, sizeof(sql), MEASURE_SQL, oid);
	rc = vacuum_session_exec(h, s, sql, &res, err, err_size, sqlstate);
	*outcome = rc == CT_ECANCELED ? VACUUM_CANCELLED : outcome_of(sqlstate);
	if (rc != 0)
		return rc;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		*outcome = VACUUM_GONE;
		snprintf(err, err_size, "the table is gone (dropped since the plan was made)");
		return CT_ENOENT;
	}
	m->table_bytes = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	m->index_bytes = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	m->dead = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	return 0;
}

/* A table that was not free: who held it, when the server can tell. */
static void
explain_lock(struct plugin_host *h, struct vacuum_session *s, struct vacuum_table *tb,
             const char *mode, const char *how)
{
	char who[400];

	vacuum_session_lockers(h, s, tb->oid, mode, who, sizeof(who));
	snprintf(tb->detail, sizeof(tb->detail), "%s%s%s", how, who[0] ? ": " : "", who);
}

/* The outcome of a statement that ran: done, or skipped by the server with
 * a WARNING (SKIP_LOCKED, a permission), or failed by SQLSTATE. */
static void
judge_outcome(struct plugin_host *h, struct vacuum_session *s, int rc, const char *sqlstate,
              const char *err, const char *mode, struct vacuum_table *tb)
{
	const struct vacuum_notices *n = &s->notices;

	if (rc == CT_ECANCELED) {
		tb->outcome = VACUUM_CANCELLED;
	} else if (rc == 0 && n->is_lock_skip) {
		tb->outcome = VACUUM_SKIP_LOCKED;
		explain_lock(h, s, tb, mode,
		             "another session held a conflicting lock (SKIP_LOCKED)");
	} else if (rc == 0 && n->is_skipped) {
		tb->outcome = VACUUM_SKIP_SERVER;
		snprintf(tb->detail, sizeof(tb->detail), "%s", n->words);
	} else if (rc == 0) {
		tb->outcome = VACUUM_DONE;
		if (n->words[0] != '\0')
			snprintf(tb->detail, sizeof(tb->detail), "the server warned: %s", n->words);
	} else {
		tb->outcome = outcome_of(sqlstate);
		snprintf(tb->detail, sizeof(tb->detail), "%s", err);
		if (tb->outcome == VACUUM_SKIP_LOCKED)
			explain_lock(h, s, tb, mode, "lock_timeout passed waiting for its lock");
	}
}

/* Before: a table the measure cannot lock within lock_timeout is skipped
 * like one VACUUM skips. */
static int
measure_before(struct plugin_host *h, struct vacuum_session *s, struct vacuum_table *tb)
{
	struct table_measure m;
	char err[512];
	int rc;

	rc = measure(h, s, tb->oid, &m, &tb->outcome, err, sizeof(err));
	if (rc != 0) {
		snprintf(tb->detail, sizeof(tb->detail), "measuring its size: %s", err);
		if (tb->outcome == VACUUM_SKIP_LOCKED)
			explain_lock(h, s, tb, "AccessShareLock",
			             "lock_timeout passed waiting to measure its size");
		return rc;
	}
	tb->dead_before = m.dead;
	tb->table_bytes_before = m.table_bytes;
	tb->index_bytes_before = m.index_bytes;
	return 0;
}

/* After: what the work left; a measure that fails leaves the figures
 * unknown (-1), not the work undone. */
static int
measure_after(struct plugin_host *h, struct vacuum_session *s, struct vacuum_table *tb)
{
	struct table_measure m = {-1, -1, -1};
	char err[512];
	int outcome, rc;

	rc = measure(h, s, tb->oid, &m, &outcome, err, sizeof(err));
	tb->dead_after = m.dead;
	tb->table_bytes_after = m.table_bytes;
	tb->index_bytes_after = m.index_bytes;
	return rc == CT_ECANCELED ? rc : 0;
}

/* One table: measured, worked on, measured again, reported. */
static int
run_one(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s,
        struct vacuum_table *tb, const char *mode)
{
	char *qualified = NULL, err[512], sql[1024], sqlstate[6] = "";
	double t0;
	int rc;

	rc = pgident_qualified(s->conn, tb->schema, tb->name, &qualified, err, sizeof(err));
	if (rc == 0)
		rc = vacuum_statement(tb->action, s->server_version_num, o->is_verbose, qualified,
		                      sql, sizeof(sql));
	if (rc != 0) {
		tb->outcome = VACUUM_FAILED;
		snprintf(tb->detail, sizeof(tb->detail), "cannot name the table in SQL: %s", err);
		goto out;
	}
	rc = measure_before(h, s, tb);
	if (rc != 0)
		goto out;
	t0 = monotonic_seconds();
	rc = vacuum_session_exec(h, s, sql, NULL, err, sizeof(err), sqlstate);
	tb->seconds = monotonic_seconds() - t0;
	judge_outcome(h, s, rc, sqlstate, err, mode, tb);
	if (tb->outcome == VACUUM_DONE)
		rc = measure_after(h, s, tb);
out:
	free(qualified);
	if (tb->outcome != VACUUM_CANCELLED)
		vacuum_report_table(h, tb, 0);
	return rc == CT_ECANCELED ? CT_ECANCELED : 0;
}

static void
progress(struct plugin_host *h, const struct vacuum_table *tb, size_t i, size_t n)
{
	static const char *const verbs[] = {
	    [VACUUM_DO_ANALYZE] = "analyzing",
	    [VACUUM_DO_VACUUM] = "vacuuming",
	    [VACUUM_DO_FREEZE] = "freezing",
	    [VACUUM_DO_FULL] = "rewriting (VACUUM FULL)",
	};
	char words[128];

	snprintf(words, sizeof(words), "%s %s (table %zu of %zu)", verbs[tb->action], tb->display,
	         i + 1, n);
	h->ct->progress(h->t, n > 0 ? (double)i / (double)n : -1, words);
}

/* The tables of the plan that `is_full` selects, in the plan's order. */
static int
run_tables(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s,
           struct vacuum_plan *p, int is_full, const char *mode)
{
	size_t n = 0, i = 0;
	int rc = 0;

	for (size_t k = 0; k < p->n_planned; k++)
		n += (p->tables[k].action == VACUUM_DO_FULL) == is_full;
	for (size_t k = 0; rc == 0 && k < p->n_planned; k++) {
		struct vacuum_table *tb = &p->tables[k];

		if ((tb->action == VACUUM_DO_FULL) != is_full)
			continue;
		if (h->ct->should_stop(h->t))
			return CT_ECANCELED;
		progress(h, tb, i++, n);
		rc = run_one(h, o, s, tb, mode);
		if (rc == 0 && tb->outcome == VACUUM_FAILED)
			rc = vacuum_session_check(h, s);
	}
	return rc;
}

int
vacuum_tables_run(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s,
                  struct vacuum_plan *p)
{
	return run_tables(h, o, s, p, 0, "ShareUpdateExclusiveLock");
}

int
vacuum_tables_run_full(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s,
                       struct vacuum_plan *p)
{
	return run_tables(h, o, s, p, 1, "AccessExclusiveLock");
}
