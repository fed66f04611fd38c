/*
 * retention_batch.c — the batches: which rows each one takes, the
 * statement that deletes them, the batch size and the pace, lock waits and
 * stop requests.
 *
 * Every batch is one short transaction that deletes a range of keys.
 * With a btree index led by the column, the key is the column itself: a
 * read-only bound query walks the index from where the last batch ended,
 * n + 1 entries on, and the batch deletes the rows in [low, high) of the
 * column, so the oldest rows go first; when all those entries share one
 * value (a date column, a bulk import) that group goes n rows at a time
 * by ctid.  Without such an index the key is the row's place in the
 * table: a range of pages, read with a TID range scan, so the run reads
 * the table once instead of once per batch.
 *
 * Why a key range and not "SELECT ctid ... FOR UPDATE SKIP LOCKED" for
 * every batch: locking a row writes it (a heap change and a WAL record per
 * row) before the delete writes it again.  Measured on the harness's bench
 * data, deleting 1.5 million audit rows costs 0.48 us a row in one DELETE,
 * 0.5 us a row in key-range batches and 1.2 us a row in locked-ctid
 * batches.  Rows that another session holds are rare among rows this old,
 * and they are still never waited on for long: lock_timeout ends a batch
 * that meets one, and that batch is redone around them with FOR UPDATE
 * SKIP LOCKED.
 *
 * The batch size (rows, or pages without an index) follows batch_time:
 * after each batch it is scaled by batch_time / the batch's duration, by at
 * most 2x either way, within batch_rows_min..batch_rows_max.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monotonic.h"
#include "retention.h"

/* The first batch, in rows, within the job's bounds. */
#define FIRST_BATCH_ROWS 1000
/* Rows per page when the planner has no figure yet. */
#define DEFAULT_ROWS_PER_PAGE 50.0
/* A table held by another session: wait this long times the attempt. */
#define LOCK_RETRY_WAIT_MS 1000

/* How a batch picks its rows. */
enum batch_kind {
	BATCH_RANGE, /* the column in [low, high), high "" meaning the cutoff */
	BATCH_TIES,  /* up to `limit` rows whose column equals `low` */
	BATCH_PAGES, /* the rows on pages [first_page, end_page) */
};

/* The next batch's rows. */
struct batch_range {
	enum batch_kind kind;
	char low[RETENTION_VALUE_SIZE]; /* a literal quoted by the server, or "" */
	int is_low_strict;              /* > instead of >= */
	char high[RETENTION_VALUE_SIZE];
	int64_t limit;
	int64_t first_page, end_page;
	int is_last;  /* nothing is left past this batch */
	int is_empty; /* nothing is left at all */
};

/* What carries over from one batch to the next. */
struct batch_walk {
	int is_pages;
	int64_t size, size_min, size_max; /* rows, or pages */
	char low[RETENTION_VALUE_SIZE];
	int is_low_strict;
	int64_t next_page, end_page;
	int64_t lock_failures; /* batches in a row that found the table locked */
};

/* What every batch reads: fixed for the run. */
struct batch_env {
	const struct retention_opts *o;
	PGconn *conn;
	const struct retention_target *tg;
	const struct retention_cutoff *c;
};

static int64_t
clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- the walk ---- */

static void
walk_init(const struct retention_opts *o, const struct retention_target *tg, struct batch_walk *w)
{
	double per_page = tg->rows_per_page > 0 ? tg->rows_per_page : DEFAULT_ROWS_PER_PAGE;

	memset(w, 0, sizeof(*w));
	w->size_min = o->batch_rows_min;
	w->size_max = o->batch_rows_max;
	w->size = clamp64(FIRST_BATCH_ROWS, w->size_min, w->size_max);
	/* Without an index a TID range scan needs PostgreSQL 14; an older
	 * server walks in the column's order, each batch scanning the table. */
	w->is_pages = tg->index_name[0] == '\0' && tg->server_version_num >= 140000;
	if (!w->is_pages)
		return;
	w->size_min = clamp64((int64_t)(w->size_min / per_page), 1, INT32_MAX);
	w->size_max = clamp64((int64_t)(w->size_max / per_page), w->size_min, INT32_MAX);
	w->size = clamp64((int64_t)(w->size / per_page), w->size_min, w->size_max);
	w->end_page = -1; /* measured before the first batch */
}

/* Where the page walk ends: the table's size when it starts.  Rows added
 * later on new pages are younger than the cutoff.  It takes the lock any
 * reader takes, so it may meet a table another session holds. */
static int
walk_measure(struct plugin_host *h, const struct batch_env *env, struct batch_walk *w, char *err,
             size_t err_size)
{
	PGresult *res = NULL;
	char sql[160];
	int rc;

	if (!w->is_pages || w->end_page >= 0)
		return 0;
	snprintf(sql, sizeof(sql),
	         "SELECT pg_relation_size(%u) / current_setting('block_size')::bigint",
	         env->tg->oid);
	rc = pgquery_exec(env->conn, sql, plugin_host_should_stop, h, &res, err, err_size);
	if (rc == 0)
		w->end_page = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/* Scales the size toward batch_time after a batch of `seconds`. */
static void
walk_adapt(const struct retention_opts *o, double seconds, struct batch_walk *w)
{
	double f = seconds > 0 ? (double)o->batch_time_ms / 1000.0 / seconds : 2.0;

	f = f < 0.5 ? 0.5 : f > 2.0 ? 2.0 : f;
	w->size = clamp64((int64_t)((double)w->size * f + 0.5), w->size_min, w->size_max);
}

/* Where the next batch starts, now that `r` deleted `rows`. */
static void
walk_advance(const struct batch_range *r, int64_t rows, struct batch_walk *w)
{
	if (r->kind == BATCH_PAGES) {
		w->next_page = r->end_page;
		return;
	}
	if (r->kind == BATCH_RANGE) {
		snprintf(w->low, sizeof(w->low), "%s", r->high);
		w->is_low_strict = 0;
		return;
	}
	/* Ties: the rest of the group is taken next time; when some were
	 * held by others (fewer rows than asked), the walk moves past them. */
	snprintf(w->low, sizeof(w->low), "%s", r->low);
	w->is_low_strict = rows < r->limit;
}

/* ---- the next batch's rows ---- */

static void
plan_pages(const struct batch_walk *w, struct batch_range *r)
{
	r->kind = BATCH_PAGES;
	r->first_page = w->next_page;
	r->end_page = w->next_page + w->size;
	r->is_last = r->end_page >= w->end_page;
	r->is_empty = w->next_page >= w->end_page;
}

/* The column's bounds in SQL, after "col < cutoff". */
static void
write_bounds(FILE *f, const struct retention_target *tg, const struct batch_range *r)
{
	if (r->kind == BATCH_PAGES) {
		fprintf(f, " AND ctid >= '(%" PRId64 ",0)'::tid AND ctid < '(%" PRId64 ",0)'::tid",
		        r->first_page, r->end_page);
		return;
	}
	if (r->kind == BATCH_TIES) {
		fprintf(f, " AND %s = %s::%s", tg->q_column, r->low, tg->column_type);
		return;
	}
	if (r->low[0] != '\0')
		fprintf(f, " AND %s %s %s::%s", tg->q_column, r->is_low_strict ? ">" : ">=", r->low,
		        tg->column_type);
	if (r->high[0] != '\0')
		fprintf(f, " AND %s < %s::%s", tg->q_column, r->high, tg->column_type);
}

/* Ends a statement built in a memory stream; CT_ENOMEM when it failed. */
static int
sql_close(FILE *f, char **sql, char *err, size_t err_size)
{
	int is_bad = f == NULL || ferror(f) != 0;

	if (f != NULL && fclose(f) != 0)
		is_bad = 1;
	if (!is_bad)
		return 0;
	free(*sql);
	*sql = NULL;
	snprintf(err, err_size, "out of memory building a statement");
	return CT_ENOMEM;
}

static void
read_bound(const PGresult *res, const struct batch_walk *w, struct batch_range *r)
{
	int64_t n = strtoll(PQgetvalue(res, 0, 2), NULL, 10);

	r->kind = BATCH_RANGE;
	snprintf(r->low, sizeof(r->low), "%s", w->low);
	r->is_low_strict = w->is_low_strict;
	r->is_empty = n == 0;
	r->is_last = n <= w->size;
	if (r->is_last || r->is_empty)
		return;
	if (PQgetvalue(res, 0, 3)[0] == 't') {
		snprintf(r->high, sizeof(r->high), "%s", PQgetvalue(res, 0, 1));
		return;
	}
	/* All of them share one value: take that group by ctid, `size` rows
	 * at a time. */
	r->kind = BATCH_TIES;
	snprintf(r->low, sizeof(r->low), "%s", PQgetvalue(res, 0, 0));
	r->is_low_strict = 0;
	r->limit = w->size;
}

/* The bound query: reads size + 1 index entries past the walk's start, so
 * that [low, the last one) holds `size` rows. */
static int
plan_range(struct plugin_host *h, const struct batch_env *env, const struct batch_walk *w,
           struct batch_range *r, char *err, size_t err_size)
{
	struct batch_range from = {.kind = BATCH_RANGE, .is_low_strict = w->is_low_strict};
	const struct retention_target *tg = env->tg;
	PGresult *res = NULL;
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);
	int rc;

	snprintf(from.low, sizeof(from.low), "%s", w->low);
	if (f != NULL) {
		fprintf(
		    f,
		    "SELECT quote_literal(min(c)::text), quote_literal(max(c)::text), count(*), "
		    "min(c) < max(c) FROM (SELECT %s AS c FROM ONLY %s WHERE %s < %s",
		    tg->q_column, tg->q_table, tg->q_column, env->c->sql);
		write_bounds(f, tg, &from);
		fprintf(f, " ORDER BY %s LIMIT %" PRId64 ") s", tg->q_column, w->size + 1);
	}
	rc = sql_close(f, &sql, err, err_size);
	if (rc == 0)
		rc = pgquery_exec(env->conn, sql, plugin_host_should_stop, h, &res, err, err_size);
	if (rc == 0)
		read_bound(res, w, r);
	PQclear(res);
	free(sql);
	return rc;
}

static int
plan_next(struct plugin_host *h, const struct batch_env *env, const struct batch_walk *w,
          struct batch_range *r, char *err, size_t err_size)
{
	memset(r, 0, sizeof(*r));
	if (w->is_pages) {
		plan_pages(w, r);
		return 0;
	}
	return plan_range(h, env, w, r, err, err_size);
}

/* ---- the delete ---- */

/*
 * DELETE FROM ONLY t WHERE col < cutoff AND <bounds>, or, pinned, the same
 * rows locked first and those others hold skipped:
 *   DELETE FROM ONLY t WHERE ctid = ANY (ARRAY(SELECT ctid FROM ONLY t
 *     WHERE ... [LIMIT n] FOR UPDATE SKIP LOCKED))
 * ONLY: the rule names one table, never its inheritance children.  With
 * archive_to, RETURNING the archived columns.
 */
static int
build_delete(const struct batch_env *env, const struct batch_range *r, int is_pinned, char **sql,
             char *err, size_t err_size)
{
	const struct retention_target *tg = env->tg;
	size_t len = 0;
	FILE *f = open_memstream(sql, &len);

	if (f != NULL) {
		fprintf(f, "DELETE FROM ONLY %s WHERE ", tg->q_table);
		if (is_pinned)
			fprintf(f, "ctid = ANY (ARRAY(SELECT ctid FROM ONLY %s WHERE ",
			        tg->q_table);
		fprintf(f, "%s < %s", tg->q_column, env->c->sql);
		write_bounds(f, tg, r);
		if (is_pinned && r->kind == BATCH_TIES)
			fprintf(f, " LIMIT %" PRId64, r->limit);
		if (is_pinned)
			fprintf(f, " FOR UPDATE SKIP LOCKED))");
		if (env->o->archive_to != NULL)
			fprintf(f, " RETURNING %s", tg->q_columns);
	}
	return sql_close(f, sql, err, err_size);
}

/* The delete in one autocommit statement; its duration is the
 * transaction's. */
static int
delete_plain(struct plugin_host *h, PGconn *conn, const char *sql, int64_t *rows,
             double *transaction_s, char *err, size_t err_size)
{
	PGresult *res = NULL;
	double t0 = monotonic_seconds();
	int rc;

	rc = pgquery_exec(conn, sql, plugin_host_should_stop, h, &res, err, err_size);
	*transaction_s = monotonic_seconds() - t0;
	if (rc == 0)
		*rows = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return rc;
}

static int
delete_once(struct plugin_host *h, const struct batch_env *env, const struct batch_range *r,
            int is_pinned, struct retention_archive *ar, struct retention_tally *tally,
            int64_t *rows, char *err, size_t err_size)
{
	struct retention_archive_batch b = {.o = env->o, .tg = env->tg, .c = env->c};
	char *sql = NULL;
	double txn = 0;
	int rc;

	rc = build_delete(env, r, is_pinned, &sql, err, err_size);
	b.sql = sql;
	b.transaction_s = &txn;
	if (rc == 0 && ar != NULL)
		rc = retention_archive_batch(h, env->conn, &b, ar, rows, err, err_size);
	else if (rc == 0)
		rc = delete_plain(h, env->conn, sql, rows, &txn, err, err_size);
	if (txn > tally->longest_transaction_s)
		tally->longest_transaction_s = txn;
	free(sql);
	return rc;
}

/* One batch's delete.  A lock_timeout on a row redoes the batch pinned
 * (rows others hold skipped); one on the table returns CT_ELOCKED. */
static int
delete_batch(struct plugin_host *h, const struct batch_env *env, const struct batch_range *r,
             struct retention_archive *ar, struct retention_tally *tally, int64_t *rows, char *err,
             size_t err_size)
{
	int is_pinned = r->kind == BATCH_TIES;
	int rc;

	rc = delete_once(h, env, r, is_pinned, ar, tally, rows, err, err_size);
	if (rc == CT_EPG && !is_pinned && retention_is_sqlstate(err, "55P03")) {
		tally->lock_timeouts++;
		tally->skip_locked_batches++;
		h->ct->log(h->t, CT_LOG_INFO,
		           "a row of the batch is locked by another session: "
		           "redoing the batch with FOR UPDATE SKIP LOCKED");
		rc = delete_once(h, env, r, 1, ar, tally, rows, err, err_size);
	}
	if (rc == CT_EPG && retention_is_sqlstate(err, "55P03")) {
		tally->lock_timeouts++;
		return CT_ELOCKED;
	}
	return rc;
}

/* ---- pace ---- */

/* Sleeps `ms`, waking for a stop request. */
static int
wait_ms(struct plugin_host *h, int64_t ms)
{
	struct timespec slice = {.tv_nsec = 50 * 1000000L};
	double until = monotonic_seconds() + (double)ms / 1000.0;

	while (monotonic_seconds() < until) {
		if (h->ct->should_stop(h->t))
			return CT_ECANCELED;
		nanosleep(&slice, NULL);
	}
	return 0;
}

/* The table stayed locked for a whole batch: wait and try again, or give
 * up after lock_retries batches in a row. */
static int
lock_wait(struct plugin_host *h, const struct batch_env *env, const char *err, struct batch_walk *w)
{
	char rule[1024];

	w->lock_failures++;
	if (w->lock_failures <= env->o->lock_retries) {
		h->ct->log(h->t, CT_LOG_WARNING,
		           "%s is locked by another session (%s): trying again, %" PRId64
		           " of %" PRId64,
		           env->tg->display, err, w->lock_failures, env->o->lock_retries);
		return wait_ms(h, LOCK_RETRY_WAIT_MS * w->lock_failures);
	}
	retention_rule_words(env->o, env->tg, rule, sizeof(rule));
	return plugin_host_fail(h, CT_ELOCKED,
	                        "rule %s: table %s stayed locked by another session through "
	                        "%" PRId64 " tries of lock_timeout (%" PRId64 " ms) each\n"
	                        "hint: look for a long ALTER TABLE, VACUUM FULL, CLUSTER or LOCK "
	                        "TABLE in pg_stat_activity",
	                        rule, env->tg->display, w->lock_failures, env->o->lock_timeout_ms);
}

static void
show_progress(struct plugin_host *h, const struct batch_env *env, const struct batch_walk *w,
              const struct retention_tally *tally)
{
	char what[sizeof(env->tg->display) + 16]; /* the host cuts it at 127 bytes */
	double f = -1;

	if (w->is_pages && w->end_page > 0)
		f = (double)w->next_page / (double)w->end_page;
	else if (env->c->estimate > 0)
		f = (double)tally->rows_deleted / (double)env->c->estimate;
	snprintf(what, sizeof(what), "deleting from %s", env->tg->display);
	h->ct->progress(h->t, f > 0.99 ? 0.99 : f, what);
}

/* ---- the loop ---- */

static int
batch_failed(struct plugin_host *h, const struct batch_env *env, int rc,
             const struct retention_tally *tally, const char *err)
{
	char rule[1024];

	if (rc == CT_ECANCELED)
		return plugin_host_fail(h, rc,
		                        "stopped on request after %" PRId64 " rows in %" PRId64
		                        " batches; the batch in flight was rolled back",
		                        tally->rows_deleted, tally->batches);
	retention_rule_words(env->o, env->tg, rule, sizeof(rule));
	return plugin_host_fail(h, rc, "rule %s: batch %" PRId64 ": %s", rule, tally->batches + 1,
	                        err);
}

static int
batch_once(struct plugin_host *h, const struct batch_env *env, struct retention_archive *ar,
           struct batch_walk *w, struct retention_tally *tally)
{
	struct batch_range r;
	double t0 = monotonic_seconds();
	char err[2048] = "";
	int64_t rows = 0;
	int rc;

	rc = walk_measure(h, env, w, err, sizeof(err));
	if (rc == 0)
		rc = plan_next(h, env, w, &r, err, sizeof(err));
	if (rc == CT_EPG && retention_is_sqlstate(err, "55P03")) {
		tally->lock_timeouts++;
		return lock_wait(h, env, err, w);
	}
	if (rc != 0)
		return batch_failed(h, env, rc, tally, err);
	if (r.is_empty) {
		tally->is_done = 1;
		return 0;
	}
	rc = delete_batch(h, env, &r, ar, tally, &rows, err, sizeof(err));
	if (rc == CT_ELOCKED)
		return lock_wait(h, env, err, w);
	if (rc != 0)
		return batch_failed(h, env, rc, tally, err);
	w->lock_failures = 0;
	tally->rows_deleted += rows;
	tally->batches++;
	walk_advance(&r, rows, w);
	if (!r.is_last)
		walk_adapt(env->o, monotonic_seconds() - t0, w);
	tally->is_done = r.is_last;
	show_progress(h, env, w, tally);
	return 0;
}

/* Between two batches: a stop request, max_runtime, the pause. */
static int
between_batches(struct plugin_host *h, const struct batch_env *env, double started,
                struct retention_tally *tally)
{
	const struct retention_opts *o = env->o;

	if (h->ct->should_stop(h->t))
		return batch_failed(h, env, CT_ECANCELED, tally, "");
	if (o->max_runtime_ms > 0 && monotonic_seconds() - started >= o->max_runtime_ms / 1000.0) {
		tally->is_cut_short = 1;
		return 0;
	}
	if (wait_ms(h, o->pause_ms) != 0)
		return batch_failed(h, env, CT_ECANCELED, tally, "");
	return 0;
}

int
retention_batches_run(struct plugin_host *h, const struct retention_opts *o, PGconn *conn,
                      const struct retention_target *tg, const struct retention_cutoff *c,
                      struct retention_archive *ar, struct retention_tally *tally)
{
	struct batch_env env = {.o = o, .conn = conn, .tg = tg, .c = c};
	struct batch_walk w;
	double started = monotonic_seconds();
	int rc = 0;

	walk_init(o, tg, &w);
	while (rc == 0 && !tally->is_done && !tally->is_cut_short) {
		rc = batch_once(h, &env, ar, &w, tally);
		if (rc == 0 && !tally->is_done)
			rc = between_batches(h, &env, started, tally);
	}
	tally->seconds = monotonic_seconds() - started;
	tally->batch_size_last = w.size;
	return rc;
}
