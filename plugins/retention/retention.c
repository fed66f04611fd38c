/*
 * retention — the runbook's cleanup_audit_logs --days=90, clearsessions and
 * cleanup_old_records (one unbounded DELETE each) done properly: one rule
 * per job (a table, a timestamp column, an age), checked against the
 * catalog before anything is deleted, the cutoff fixed once from the
 * server's clock, the rows deleted in short batches whose size follows a
 * target duration, and, with archive_to, every batch's rows in a durable
 * compressed file before its delete commits.
 *
 * This file holds the entry points, the order of the steps and the report.
 * struct retention_run owns each step's struct; retention.h says which
 * file does what; docs/retention.md is the user's guide.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "retention.h"

/* One run of the job, from init to fini. */
struct retention_run {
	struct plugin_host host;
	struct retention_opts o;
	PGconn *conn; /* the host's: never PQfinish()ed here */
	struct retention_target tg;
	struct retention_cutoff c;
	struct retention_archive ar;
	struct retention_tally tally;
	int is_resolved; /* the rule was found: tg and c are filled */
};

/* ---- the host's services for every step ---- */

int
retention_sprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	*out = NULL;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return CT_EINVAL;
	*out = malloc((size_t)n + 1);
	if (*out == NULL)
		return CT_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(*out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return 0;
}

/* pgquery_check() puts "(SQLSTATE XXXXX)" in its message. */
int
retention_is_sqlstate(const char *err, const char *state)
{
	char want[32];

	snprintf(want, sizeof(want), "(SQLSTATE %s)", state);
	return strstr(err, want) != NULL;
}

/* ---- init ---- */

static int
retention_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct retention_run *r = plugin_host_state_new(t, ct, sizeof(*r), state);

	if (r == NULL)
		return CT_ENOMEM;
	r->tally.rows_left = -1;
	return retention_opts_read(&r->host, &r->o);
}

/* ---- run ---- */

/* The session, the rule against the catalog, the cutoff. */
static int
prepare(struct retention_run *r)
{
	struct plugin_host *h = &r->host;
	int rc;

	rc = h->ct->pg_connect(h->t, r->o.conninfo, (struct pg_conn **)&r->conn);
	if (rc != 0)
		return plugin_host_fail(h, rc, "cannot connect to the database (the log says why)");
	rc = retention_session_setup(h, &r->o, r->conn);
	if (rc == 0)
		rc = retention_target_resolve(h, &r->o, r->conn, &r->tg);
	if (rc == 0)
		rc = retention_cutoff_compute(h, &r->o, r->conn, &r->tg, &r->c);
	r->is_resolved = rc == 0;
	return rc;
}

/* Rows that stayed behind: locked by others, or left by max_runtime.
 * Otherwise none are left, and counting would read the index again. */
static void
count_left(struct retention_run *r)
{
	struct plugin_host *h = &r->host;
	char keep[sizeof(h->err)];

	if (r->tally.skip_locked_batches == 0 && !r->tally.is_cut_short)
		return;
	memcpy(keep, h->err, sizeof(keep));
	if (retention_count_old(h, r->conn, &r->tg, &r->c, &r->tally.rows_left) != 0)
		r->tally.rows_left = -1;
	memcpy(h->err, keep, sizeof(keep));
}

static int
retention_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct retention_run *r = state;
	struct plugin_host *h = &r->host;
	int rc;

	(void)t;
	rc = prepare(r);
	if (rc == 0 && ct->is_dry_run(h->t))
		return retention_count_old(h, r->conn, &r->tg, &r->c, &r->tally.dry_run_rows);
	if (rc == 0 && r->o.archive_to != NULL)
		rc = retention_archive_prepare(h, &r->o);
	if (rc == 0 && r->o.archive_to != NULL)
		rc = retention_sidecar_settle(h, &r->o, r->conn, &r->ar);
	if (rc == 0)
		rc = retention_batches_run(h, &r->o, r->conn, &r->tg, &r->c,
		                           r->o.archive_to != NULL ? &r->ar : NULL, &r->tally);
	if (r->is_resolved)
		count_left(r);
	return rc;
}

/* ---- report ---- */

static void
report_metrics(const struct retention_run *r)
{
	const struct plugin_host *h = &r->host;
	const struct retention_tally *ty = &r->tally;

	h->ct->add_metric(h->t, "rows_deleted", (double)ty->rows_deleted, "rows");
	h->ct->add_metric(h->t, "batches", (double)ty->batches, "");
	h->ct->add_metric(h->t, "longest_transaction_seconds", ty->longest_transaction_s,
	                  "seconds");
	h->ct->add_metric(h->t, "duration_seconds", ty->seconds, "seconds");
	h->ct->add_metric(h->t, "rows_estimated", (double)r->c.estimate, "rows");
	h->ct->add_metric(h->t, "cutoff_timestamp_seconds", r->c.epoch, "seconds");
	h->ct->add_metric(h->t, "batch_size_final", (double)ty->batch_size_last, "");
	h->ct->add_metric(h->t, "lock_timeouts", (double)ty->lock_timeouts, "");
	h->ct->add_metric(h->t, "skip_locked_batches", (double)ty->skip_locked_batches, "");
	if (ty->rows_left >= 0)
		h->ct->add_metric(h->t, "rows_left", (double)ty->rows_left, "rows");
	if (r->o.archive_to == NULL)
		return;
	h->ct->add_metric(h->t, "archive_files", (double)r->ar.n_files, "");
	h->ct->add_metric(h->t, "archive_bytes", (double)r->ar.stored_bytes, "bytes");
	h->ct->add_metric(h->t, "archive_raw_bytes", (double)r->ar.raw_bytes, "bytes");
}

/* What having no index costs, once per run: a warning. */
static int
report_index(const struct retention_run *r)
{
	const struct plugin_host *h = &r->host;
	const char *object = r->tg.display;
	double mib = (double)r->tg.table_bytes / 1048576.0;

	if (r->tg.index_name[0] != '\0')
		return 0;
	h->ct->add_finding(
	    h->t, CT_SEV_WARNING, object,
	    "no usable index on %s: %s (%.1f MiB) is read whole on every run, %s; an index "
	    "would read only the rows to delete\nhint: CREATE INDEX CONCURRENTLY ON %s (%s)",
	    r->tg.q_column, object, mib,
	    r->tg.server_version_num >= 140000 ? "page range by page range"
	                                       : "and once more for every batch (PostgreSQL 13 "
	                                         "and older have no TID range scan)",
	    r->tg.q_table, r->tg.q_column);
	return 1;
}

/* What settling found of earlier runs: warnings where a person must look. */
static int
report_settled(const struct retention_run *r)
{
	const struct plugin_host *h = &r->host;
	const struct retention_archive *ar = &r->ar;

	if (ar->n_confirmed + ar->n_rolled_back + ar->n_partials > 0)
		h->ct->add_finding(h->t, CT_SEV_INFO, r->o.archive_to,
		                   "left by an interrupted run: %" PRId64
		                   " pending file(s) confirmed committed, %" PRId64
		                   " removed as rolled back (their rows were still in the table), "
		                   "%" PRId64 " unfinished file(s) removed",
		                   ar->n_confirmed, ar->n_rolled_back, ar->n_partials);
	return ar->n_orphans + ar->n_unsettled + ar->n_missing > 0;
}

static void
report_plan(const struct retention_run *r, int is_warn)
{
	const struct plugin_host *h = &r->host;

	h->ct->add_metric(h->t, "rows_to_delete", (double)r->tally.dry_run_rows, "rows");
	h->ct->add_metric(h->t, "rows_estimated", (double)r->c.estimate, "rows");
	h->ct->add_metric(h->t, "cutoff_timestamp_seconds", r->c.epoch, "seconds");
	h->ct->set_status(
	    h->t, is_warn ? CT_STATUS_WARN : CT_STATUS_OK,
	    "dry run: would delete %" PRId64 " rows of %s older than %s (%s before %s)",
	    r->tally.dry_run_rows, r->tg.display, r->o.older_than, r->tg.q_column, r->c.utc);
}

/* "; archived in N file(s) (X KiB) to DIR" */
static void
archive_words(const struct retention_run *r, char *out, size_t size)
{
	double kib = (double)r->ar.stored_bytes / 1024.0;

	out[0] = '\0';
	if (r->o.archive_to != NULL)
		snprintf(out, size, "; archived in %" PRId64 " file(s) (%.1f %s) to %s",
		         r->ar.n_files, kib < 1024 ? kib : kib / 1024.0, kib < 1024 ? "KiB" : "MiB",
		         r->o.archive_to);
}

/* "3 batches, longest transaction 41.2 ms" */
static void
batch_words(const struct retention_tally *ty, char *out, size_t size)
{
	double s = ty->longest_transaction_s;

	snprintf(out, size, "%" PRId64 " batch%s, longest transaction %.*f %s", ty->batches,
	         ty->batches == 1 ? "" : "es", s < 1 ? 1 : 2, s < 1 ? s * 1000 : s,
	         s < 1 ? "ms" : "s");
}

static void
report_done(const struct retention_run *r, int is_warn)
{
	const struct plugin_host *h = &r->host;
	const struct retention_tally *ty = &r->tally;
	char archived[4400], left[160] = "", batches[128];

	archive_words(r, archived, sizeof(archived));
	batch_words(ty, batches, sizeof(batches));
	if (ty->is_cut_short)
		snprintf(left, sizeof(left), "; stopped by max_runtime, %" PRId64 " old rows left",
		         ty->rows_left);
	else if (ty->rows_left > 0)
		snprintf(left, sizeof(left), "; %" PRId64 " rows left, locked by other sessions",
		         ty->rows_left);
	h->ct->set_status(
	    h->t, is_warn || ty->is_cut_short || ty->rows_left > 0 ? CT_STATUS_WARN : CT_STATUS_OK,
	    "deleted %" PRId64 " rows of %s older than %s (%s before %s) in %s%s%s",
	    ty->rows_deleted, r->tg.display, r->o.older_than, r->tg.q_column, r->c.utc, batches,
	    archived, left);
}

static int
retention_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	const struct retention_run *r = state;
	const struct plugin_host *h = &r->host;
	int is_warn = 0;

	(void)t;
	if (r->is_resolved)
		is_warn = report_index(r);
	is_warn |= report_settled(r);
	if (h->err[0] != '\0') {
		if (r->is_resolved)
			report_metrics(r);
		ct->set_status(h->t, CT_STATUS_FAIL, "%s", h->err);
		return CT_OK;
	}
	if (ct->is_dry_run(h->t)) {
		report_plan(r, is_warn);
		return CT_OK;
	}
	report_metrics(r);
	report_done(r, is_warn);
	return CT_OK;
}

static void
retention_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct retention_run *r = state;

	(void)t;
	(void)ct;
	if (r == NULL)
		return;
	retention_target_free(&r->tg);
	free(r);
}

CT_PLUGIN_DEFINE(
        .name = "retention", .version = RETENTION_PLUGIN_VERSION,
        .summary = "deletes rows older than an age in short batches, optionally archived first",
        .help =
            "One job is one rule: the rows of `table` whose `column` (a timestamptz, timestamp or "
            "date) is older than `older_than` at the start of the run, by the server's clock. "
            "The table, the column, its type and the role's privileges are checked in the "
            "catalog first; a name that does not exist fails the run and deletes nothing. "
            "Names are quoted by libpq, so odd names work and injected SQL is only ever a "
            "name that is not found. Rows go in batches, each its own short transaction: with "
            "a btree index on the column, key ranges of the column in the index's order; "
            "without one, page ranges of the table (a warning says what that costs). The "
            "batch size follows batch_time; lock_timeout keeps a batch from queueing behind "
            "another session (rows others hold are skipped with FOR UPDATE SKIP LOCKED and "
            "left for the next run). With archive_to every batch's rows are first written "
            "with COPY into a compressed, checksummed file with a JSON sidecar, synced, and "
            "only then is the delete committed. --dry-run counts the rows it would delete. "
            "See docs/retention.md.",
        .flags = CT_PLUGIN_DRY_RUN | CT_PLUGIN_USES_PG, .options = retention_options,
        .init = retention_init, .run = retention_run, .report = retention_report,
        .fini = retention_fini);
