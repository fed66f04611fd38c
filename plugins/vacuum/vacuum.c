/*
 * vacuum — the runbook's `ANALYZE VERBOSE; VACUUM ANALYZE; REINDEX
 * DATABASE` and `analyze_db`, done properly on a live database: only the
 * tables whose statistics say they need it (dead tuples, rows modified or
 * inserted, transaction ID age, time since the last run), one at a time,
 * with SKIP_LOCKED and the session's lock_timeout, so that no table lock
 * ever queues the application behind the job; indexes rebuilt with REINDEX
 * INDEX CONCURRENTLY, which does not block writes, when they are bloated
 * (or all of them); leftovers of interrupted rebuilds dropped; VACUUM FULL
 * only of tables a job names.
 *
 * The order of a run: the session, the plan (vacuum_select.c), the tables
 * (vacuum_table.c), then the steps that take strong locks or wait for old
 * transactions (VACUUM FULL, dropping leftovers, rebuilds) under the
 * maintenance lock, which a running backup holds (pgmaint.h): with a
 * backup running they are skipped and said so, the rest of the run is
 * done.  This file holds the entry points and that order; struct
 * vacuum_run owns each step's struct (vacuum.h).  docs/vacuum.md is the
 * user's guide.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "monotonic.h"
#include "vacuum.h"

/* One run of the job, from init to fini. */
struct vacuum_run {
	struct plugin_host host;
	struct vacuum_opts o;
	struct vacuum_session s;
	struct vacuum_plan plan;
	struct vacuum_indexes indexes;
	struct vacuum_tally tally;
};

/* ---- the host's services for every step ---- */

/* ---- init ---- */

static int
vacuum_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct vacuum_run *r = plugin_host_state_new(t, ct, sizeof(*r), state);

	if (r == NULL)
		return CT_ENOMEM;
	return vacuum_opts_read(&r->host, &r->o);
}

/* ---- run ---- */

/* --dry-run: the plan and the indexes, said; nothing done. */
static int
plan_only(struct vacuum_run *r)
{
	struct plugin_host *h = &r->host;
	int rc;

	rc = vacuum_session_open(h, &r->o, &r->s);
	if (rc == 0)
		rc = vacuum_plan_make(h, &r->o, &r->s, &r->plan);
	for (size_t i = 0; rc == 0 && i < r->plan.n_planned; i++)
		vacuum_report_table(h, &r->plan.tables[i], 1);
	if (rc == 0)
		rc = vacuum_indexes_list(h, &r->o, &r->s, &r->indexes);
	for (size_t i = 0; rc == 0 && i < r->indexes.n; i++)
		vacuum_report_index(h, &r->indexes.items[i], 1);
	return rc;
}

static size_t
count_strong(const struct vacuum_plan *p, const struct vacuum_indexes *ix)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_planned; i++)
		n += p->tables[i].action == VACUUM_DO_FULL;
	for (size_t i = 0; i < ix->n; i++)
		n += ix->items[i].action != VACUUM_INDEX_REPORT;
	return n;
}

/* A backup holds the maintenance lock: every strong-lock step is skipped
 * and said; the invalid indexes are still reported. */
static void
skip_strong(struct plugin_host *h, struct vacuum_plan *p, struct vacuum_indexes *ix)
{
	h->ct->log(h->t, CT_LOG_NOTICE,
	           "a backup holds the maintenance lock: VACUUM FULL, rebuilds and drops wait "
	           "for another run");
	for (size_t i = 0; i < p->n_planned; i++) {
		if (p->tables[i].action != VACUUM_DO_FULL)
			continue;
		p->tables[i].outcome = VACUUM_SKIP_BACKUP;
		vacuum_report_table(h, &p->tables[i], 0);
	}
	for (size_t i = 0; i < ix->n; i++) {
		struct vacuum_index *it = &ix->items[i];

		it->outcome = it->action == VACUUM_INDEX_REPORT ? VACUUM_DONE : VACUUM_SKIP_BACKUP;
		vacuum_report_index(h, it, 0);
	}
}

/* VACUUM FULL, leftovers and rebuilds, under the maintenance lock taken
 * exclusively (never waited for), released as soon as they are done. */
static int
strong_steps(struct vacuum_run *r)
{
	struct plugin_host *h = &r->host;
	int rc, is_taken = 0;

	rc = vacuum_indexes_list(h, &r->o, &r->s, &r->indexes);
	if (rc == 0 && count_strong(&r->plan, &r->indexes) > 0)
		rc = vacuum_session_lock(h, &r->s, &is_taken);
	if (rc != 0)
		return rc;
	if (count_strong(&r->plan, &r->indexes) > 0 && !is_taken) {
		r->tally.is_backup_busy = 1;
		skip_strong(h, &r->plan, &r->indexes);
		return 0;
	}
	rc = vacuum_tables_run_full(h, &r->o, &r->s, &r->plan);
	if (rc == 0)
		rc = vacuum_indexes_run(h, &r->o, &r->s, &r->indexes);
	vacuum_session_unlock(&r->s);
	return rc;
}

static int
work(struct vacuum_run *r)
{
	struct plugin_host *h = &r->host;
	double t0;
	int rc;

	rc = vacuum_session_open(h, &r->o, &r->s);
	if (rc == 0)
		rc = vacuum_plan_make(h, &r->o, &r->s, &r->plan);
	if (rc != 0)
		return rc;
	t0 = monotonic_seconds();
	rc = vacuum_tables_run(h, &r->o, &r->s, &r->plan);
	r->tally.vacuum_seconds = monotonic_seconds() - t0;
	if (rc != 0)
		return rc;
	t0 = monotonic_seconds();
	rc = strong_steps(r);
	r->tally.index_seconds = monotonic_seconds() - t0;
	return rc;
}

static int
vacuum_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct vacuum_run *r = state;
	double t0 = monotonic_seconds();
	int rc;

	(void)t;
	(void)ct;
	if (r->host.ct->is_dry_run(r->host.t))
		return plan_only(r);
	rc = work(r);
	r->tally.run_seconds = monotonic_seconds() - t0;
	r->tally.is_stopped = rc == CT_ECANCELED;
	return rc;
}

/* ---- report ---- */

static int
vacuum_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct vacuum_run *r = state;
	int is_dry_run = ct->is_dry_run(t);

	if (!is_dry_run) {
		vacuum_tally_count(&r->plan, &r->indexes, &r->tally);
		vacuum_report_not_done(&r->host, &r->plan, &r->indexes);
	}
	vacuum_report_summary(&r->host, &r->plan, &r->indexes, &r->tally, is_dry_run);
	return CT_OK;
}

static void
vacuum_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct vacuum_run *r = state;

	(void)t;
	(void)ct;
	if (r == NULL)
		return;
	vacuum_session_end(&r->s);
	vacuum_plan_free(&r->plan);
	vacuum_indexes_free(&r->indexes);
	free(r);
}

CT_PLUGIN_DEFINE(
        .name = "vacuum", .version = VACUUM_PLUGIN_VERSION,
        .summary = "VACUUM and ANALYZE of the tables that need it, REINDEX CONCURRENTLY of bloated "
                   "indexes, without blocking the application",
        .help = "Reads pg_stat_all_tables and pg_class and picks the tables that pass a threshold "
                "(autovacuum's formulas: dead tuples, rows inserted since the last vacuum, rows "
                "modified since the last analyze; transaction and multixact ID age, freezing at "
                "half of autovacuum_freeze_max_age; time since the last vacuum or analyze), or "
                "every table under mode = all, and works on them one at a time, most urgent "
                "first: VACUUM (ANALYZE[, FREEZE], SKIP_LOCKED), or ANALYZE (SKIP_LOCKED) where "
                "only statistics are stale, with the job's lock_timeout and statement_timeout. A "
                "locked table is skipped and the finding names the session holding it. Then, "
                "holding the maintenance advisory lock exclusively (a running backup holds it "
                "shared; then these steps are skipped and said, never queued behind the dump): "
                "VACUUM FULL of the tables vacuum_full names (a warning each), DROP INDEX "
                "CONCURRENTLY of invalid NAME_ccnew/NAME_ccold indexes an interrupted rebuild "
                "left (other invalid indexes are reported), and REINDEX INDEX CONCURRENTLY "
                "(PostgreSQL 12 or later) of the indexes reindex = bloated|all selects. Every "
                "table and index gets a finding: the statement, why, dead tuples and sizes "
                "before and after, seconds. --dry-run lists the same without doing it. See "
                "docs/vacuum.md.",
        .flags = CT_PLUGIN_DRY_RUN | CT_PLUGIN_USES_PG | CT_PLUGIN_STATE_ONLY,
        .options = vacuum_options, .init = vacuum_init, .run = vacuum_run, .report = vacuum_report,
        .fini = vacuum_fini);
