/*
 * vacuum_report.c — what the vacuum plugin tells the operator: a finding
 * for each table and index it worked on, skipped or would work on (the
 * object is the table or index, the message the statement, why, and the
 * figures before and after), what a stopped run did not get to, and the
 * run's status, summary and metrics.
 *
 * Severities: a table or index done as planned is INFO; anything someone
 * should look at is a WARNING (a skip, a VACUUM FULL, a leftover of an
 * interrupted rebuild, an invalid index, a warning of the server's); a
 * statement that failed for another reason is an ERROR.  A warning makes
 * the run's status WARN, an error FAIL.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "vacuum.h"

/* A run keeps up to 10000 findings; what the run did not get to is said
 * one by one up to this many, then counted. */
#define NOT_DONE_LISTED 100

static const char *const statements[] = {
    [VACUUM_DO_NOTHING] = "nothing",
    [VACUUM_DO_ANALYZE] = "ANALYZE",
    [VACUUM_DO_VACUUM] = "VACUUM (ANALYZE)",
    [VACUUM_DO_FREEZE] = "VACUUM (ANALYZE, FREEZE)",
    [VACUUM_DO_FULL] = "VACUUM (FULL, ANALYZE)",
};

static void finding(struct plugin_host *h, int severity, const char *object, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
finding(struct plugin_host *h, int severity, const char *object, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (severity >= CT_SEV_WARNING)
		h->n_warnings++;
	h->ct->add_finding(h->t, severity, object, "%s", msg);
}

/* "a -> b" of two sizes; "?" for one not measured. */
static void
format_change(int64_t before, int64_t after, char *buf, size_t size)
{
	char b[32] = "?", a[32] = "?";

	if (before >= 0)
		vacuum_format_bytes(before, b, sizeof(b));
	if (after >= 0)
		vacuum_format_bytes(after, a, sizeof(a));
	snprintf(buf, size, "%s -> %s", b, a);
}

static void
report_table_done(struct plugin_host *h, const struct vacuum_table *tb)
{
	int is_full = tb->action == VACUUM_DO_FULL;
	char tbl[80], idx[80], dead[32] = "?";

	format_change(tb->table_bytes_before, tb->table_bytes_after, tbl, sizeof(tbl));
	format_change(tb->index_bytes_before, tb->index_bytes_after, idx, sizeof(idx));
	if (tb->dead_after >= 0)
		snprintf(dead, sizeof(dead), "%" PRId64, tb->dead_after);
	finding(h, is_full || tb->detail[0] ? CT_SEV_WARNING : CT_SEV_INFO, tb->display,
	        "%s because %s: dead tuples %" PRId64 " -> %s, table %s, indexes %s, %.2f s%s%s%s",
	        statements[tb->action], tb->reason, tb->dead_before, dead, tbl, idx, tb->seconds,
	        is_full ? "; held an ACCESS EXCLUSIVE lock on the table all that time (its "
	                  "readers and writers waited)"
	                : "",
	        tb->detail[0] ? "; " : "", tb->detail);
}

void
vacuum_report_table(struct plugin_host *h, const struct vacuum_table *tb, int is_dry_run)
{
	const char *what = statements[tb->action];

	if (is_dry_run)
		finding(h, tb->action == VACUUM_DO_FULL ? CT_SEV_WARNING : CT_SEV_INFO, tb->display,
		        "would %s because %s%s", what, tb->reason,
		        tb->action == VACUUM_DO_FULL ? " (blocks the table's readers and writers "
		                                       "while it runs)"
		                                     : "");
	else if (tb->outcome == VACUUM_DONE)
		report_table_done(h, tb);
	else if (tb->outcome == VACUUM_GONE)
		finding(h, CT_SEV_INFO, tb->display, "%s not done: %s", what, tb->detail);
	else if (tb->outcome == VACUUM_FAILED)
		finding(h, CT_SEV_ERROR, tb->display, "%s failed: %s", what, tb->detail);
	else if (tb->outcome == VACUUM_SKIP_TIMEOUT)
		finding(
		    h, CT_SEV_WARNING, tb->display,
		    "%s skipped: cancelled by statement_timeout after %.1f s (wanted because %s)",
		    what, tb->seconds, tb->reason);
	else if (tb->outcome == VACUUM_SKIP_BACKUP)
		finding(h, CT_SEV_WARNING, tb->display,
		        "%s skipped: a backup holds the maintenance lock, and a rewrite would "
		        "queue behind its dump (wanted because %s)",
		        what, tb->reason);
	else
		finding(h, CT_SEV_WARNING, tb->display, "%s skipped: %s (wanted because %s)", what,
		        tb->detail, tb->reason);
}

static void
report_index_done(struct plugin_host *h, const struct vacuum_index *ix)
{
	char change[80];

	format_change(ix->bytes_before, ix->bytes_after, change, sizeof(change));
	if (ix->action == VACUUM_INDEX_REBUILD)
		finding(h, CT_SEV_INFO, ix->display,
		        "rebuilt (REINDEX INDEX CONCURRENTLY) because %s: %s, %.2f s", ix->reason,
		        change, ix->seconds);
	else if (ix->action == VACUUM_INDEX_DROP_LEFTOVER)
		finding(h, CT_SEV_WARNING, ix->display,
		        "%s on %s: dropped (DROP INDEX CONCURRENTLY), %s, %.2f s", ix->reason,
		        ix->table_display, change, ix->seconds);
	else
		finding(h, ix->is_busy ? CT_SEV_INFO : CT_SEV_WARNING, ix->display, "%s on %s%s",
		        ix->reason, ix->table_display,
		        ix->is_busy ? ""
		                    : "; to fix it: DROP INDEX CONCURRENTLY, then create it again");
}

void
vacuum_report_index(struct plugin_host *h, const struct vacuum_index *ix, int is_dry_run)
{
	static const char *const verbs[] = {
	    [VACUUM_INDEX_REBUILD] = "REINDEX INDEX CONCURRENTLY",
	    [VACUUM_INDEX_DROP_LEFTOVER] = "DROP INDEX CONCURRENTLY",
	};
	const char *what = ix->action == VACUUM_INDEX_REPORT ? "" : verbs[ix->action];

	if (is_dry_run && ix->action != VACUUM_INDEX_REPORT)
		finding(h, CT_SEV_INFO, ix->display, "would %s because %s", what, ix->reason);
	else if (is_dry_run || ix->outcome == VACUUM_DONE)
		report_index_done(h, ix);
	else if (ix->outcome == VACUUM_GONE)
		finding(h, CT_SEV_INFO, ix->display, "%s not done: %s", what, ix->detail);
	else if (ix->outcome == VACUUM_FAILED)
		finding(h, CT_SEV_ERROR, ix->display, "%s failed: %s", what, ix->detail);
	else if (ix->outcome == VACUUM_SKIP_BACKUP)
		finding(h, CT_SEV_WARNING, ix->display,
		        "%s skipped: a backup holds the maintenance lock (wanted because %s)", what,
		        ix->reason);
	else
		finding(h, CT_SEV_WARNING, ix->display, "%s skipped: %s (wanted because %s)", what,
		        ix->detail, ix->reason);
}

/* Items the run did not get to, one by one up to NOT_DONE_LISTED. */
static void
not_done(struct plugin_host *h, const char *object, const char *what, int outcome, size_t *n)
{
	if (outcome != VACUUM_NOT_DONE && outcome != VACUUM_CANCELLED)
		return;
	if (++*n > NOT_DONE_LISTED)
		return;
	finding(h, CT_SEV_WARNING, object, "%s not done: %s", what,
	        outcome == VACUUM_CANCELLED ? "it was running when the run was asked to stop, and "
	                                      "was cancelled"
	                                    : "the run stopped before it");
}

void
vacuum_report_not_done(struct plugin_host *h, const struct vacuum_plan *p,
                       const struct vacuum_indexes *ix)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_planned; i++)
		not_done(h, p->tables[i].display, statements[p->tables[i].action],
		         p->tables[i].outcome, &n);
	for (size_t i = 0; ix != NULL && i < ix->n; i++)
		not_done(h, ix->items[i].display,
		         ix->items[i].action == VACUUM_INDEX_REBUILD ? "REINDEX INDEX CONCURRENTLY"
		                                                     : "DROP INDEX CONCURRENTLY",
		         ix->items[i].action == VACUUM_INDEX_REPORT ? VACUUM_DONE
		                                                    : ix->items[i].outcome,
		         &n);
	if (n > NOT_DONE_LISTED)
		finding(h, CT_SEV_WARNING, NULL, "... and %zu more tables and indexes not done",
		        n - NOT_DONE_LISTED);
}

static int64_t
gain(int64_t before, int64_t after)
{
	return before >= 0 && after >= 0 && before > after ? before - after : 0;
}

static void
count_table(const struct vacuum_table *tb, struct vacuum_tally *t)
{
	int is_frozen = tb->outcome == VACUUM_DONE && tb->action == VACUUM_DO_FREEZE;

	if (!is_frozen && tb->xid_age > t->max_xid_age)
		t->max_xid_age = tb->xid_age;
	if (tb->action == VACUUM_DO_NOTHING)
		return;
	if (tb->outcome == VACUUM_NOT_DONE || tb->outcome == VACUUM_CANCELLED)
		t->n_not_done++;
	else if (tb->outcome == VACUUM_FAILED)
		t->n_failed++;
	else if (tb->outcome != VACUUM_DONE)
		t->n_skipped++;
	if (tb->outcome != VACUUM_DONE)
		return;
	t->n_analyzed++;
	t->n_vacuumed += tb->action != VACUUM_DO_ANALYZE;
	t->n_frozen += tb->action == VACUUM_DO_FREEZE;
	t->n_full += tb->action == VACUUM_DO_FULL;
	t->dead_removed += gain(tb->dead_before, tb->dead_after);
	t->bytes_reclaimed += gain(tb->table_bytes_before, tb->table_bytes_after) +
	                      gain(tb->index_bytes_before, tb->index_bytes_after);
}

static void
count_index(const struct vacuum_index *ix, struct vacuum_tally *t)
{
	if (ix->action == VACUUM_INDEX_REPORT) {
		t->n_invalid++;
		return;
	}
	if (ix->outcome == VACUUM_NOT_DONE || ix->outcome == VACUUM_CANCELLED)
		t->n_idx_not_done++;
	else if (ix->outcome == VACUUM_FAILED)
		t->n_idx_failed++;
	else if (ix->outcome != VACUUM_DONE)
		t->n_idx_skipped++;
	if (ix->outcome != VACUUM_DONE)
		return;
	t->n_rebuilt += ix->action == VACUUM_INDEX_REBUILD;
	t->n_dropped += ix->action == VACUUM_INDEX_DROP_LEFTOVER;
	t->bytes_reclaimed += gain(ix->bytes_before, ix->bytes_after);
}

void
vacuum_tally_count(const struct vacuum_plan *p, const struct vacuum_indexes *ix,
                   struct vacuum_tally *tally)
{
	for (size_t i = 0; i < p->n_tables; i++)
		count_table(&p->tables[i], tally);
	for (size_t i = 0; ix != NULL && i < ix->n; i++)
		count_index(&ix->items[i], tally);
}

static void
report_metrics(struct plugin_host *h, const struct vacuum_plan *p, const struct vacuum_tally *t)
{
	static const char *const none = "";
	const struct {
		const char *name;
		double value;
		const char *unit;
	} metrics[] = {
	    {"tables_considered", (double)p->n_tables, none},
	    {"tables_planned", (double)p->n_planned, none},
	    {"tables_vacuumed", (double)t->n_vacuumed, none},
	    {"tables_analyzed", (double)t->n_analyzed, none},
	    {"tables_frozen", (double)t->n_frozen, none},
	    {"tables_vacuumed_full", (double)t->n_full, none},
	    {"tables_skipped", (double)t->n_skipped, none},
	    {"tables_failed", (double)t->n_failed, none},
	    {"tables_not_done", (double)t->n_not_done, none},
	    {"indexes_rebuilt", (double)t->n_rebuilt, none},
	    {"indexes_dropped", (double)t->n_dropped, none},
	    {"indexes_invalid", (double)t->n_invalid, none},
	    {"indexes_skipped", (double)t->n_idx_skipped, none},
	    {"indexes_failed", (double)t->n_idx_failed, none},
	    {"dead_tuples_removed", (double)t->dead_removed, "rows"},
	    {"bytes_reclaimed", (double)t->bytes_reclaimed, "bytes"},
	    {"max_xid_age", (double)t->max_xid_age, none},
	    {"vacuum_seconds", t->vacuum_seconds, "seconds"},
	    {"reindex_seconds", t->index_seconds, "seconds"},
	    {"duration_seconds", t->run_seconds, "seconds"},
	};

	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		h->ct->add_metric(h->t, metrics[i].name, metrics[i].value, metrics[i].unit);
}

/* Appends to a summary line; a line too long keeps its start. */
static void line_add(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
line_add(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

static void
summary_dry(const struct vacuum_plan *p, const struct vacuum_indexes *ix, char *buf, size_t size)
{
	size_t n[VACUUM_DO_FULL + 1] = {0}, rebuild = 0, drop = 0, report = 0;

	for (size_t i = 0; i < p->n_planned; i++)
		n[p->tables[i].action]++;
	for (size_t i = 0; ix != NULL && i < ix->n; i++) {
		rebuild += ix->items[i].action == VACUUM_INDEX_REBUILD;
		drop += ix->items[i].action == VACUUM_INDEX_DROP_LEFTOVER;
		report += ix->items[i].action == VACUUM_INDEX_REPORT;
	}
	snprintf(buf, size,
	         "dry run: would vacuum %zu (%zu with FREEZE) and analyze %zu of %zu tables, "
	         "VACUUM FULL %zu, rebuild %zu indexes, drop %zu leftover indexes; %zu invalid "
	         "index(es) to report",
	         n[VACUUM_DO_VACUUM] + n[VACUUM_DO_FREEZE], n[VACUUM_DO_FREEZE],
	         n[VACUUM_DO_ANALYZE], p->n_tables, n[VACUUM_DO_FULL], rebuild, drop, report);
}

static void
summary_tables(const struct vacuum_plan *p, const struct vacuum_tally *t, char *buf, size_t size)
{
	char bytes[32];

	vacuum_format_bytes(t->bytes_reclaimed, bytes, sizeof(bytes));
	if (p->n_planned == 0)
		line_add(buf, size, "nothing to do: none of %zu tables passed a threshold",
		         p->n_tables);
	else
		line_add(buf, size,
		         "vacuumed %zu (%zu with FREEZE, %zu FULL) and analyzed %zu more of %zu "
		         "tables",
		         t->n_vacuumed, t->n_frozen, t->n_full, t->n_analyzed - t->n_vacuumed,
		         p->n_tables);
	line_add(buf, size, ", %" PRId64 " dead tuples removed, %s reclaimed", t->dead_removed,
	         bytes);
}

static void
summary_rest(const struct vacuum_tally *t, char *buf, size_t size)
{
	if (t->n_rebuilt > 0)
		line_add(buf, size, "; rebuilt %zu indexes", t->n_rebuilt);
	if (t->n_dropped > 0)
		line_add(buf, size, "; dropped %zu leftover indexes", t->n_dropped);
	if (t->n_invalid > 0)
		line_add(buf, size, "; %zu invalid indexes left alone", t->n_invalid);
	if (t->n_skipped + t->n_idx_skipped > 0)
		line_add(buf, size, "; skipped %zu tables and %zu indexes", t->n_skipped,
		         t->n_idx_skipped);
	if (t->n_failed + t->n_idx_failed > 0)
		line_add(buf, size, "; %zu tables and %zu indexes failed", t->n_failed,
		         t->n_idx_failed);
	if (t->is_backup_busy)
		line_add(buf, size,
		         "; a backup was running, so the strong-lock steps waited for "
		         "another run");
	if (t->n_not_done + t->n_idx_not_done > 0)
		line_add(buf, size, "; not done: %zu tables and %zu indexes", t->n_not_done,
		         t->n_idx_not_done);
	line_add(buf, size, " in %.1f s", t->run_seconds);
}

static int
status_of(const struct plugin_host *h, const struct vacuum_tally *t)
{
	if (t->is_stopped || t->n_failed + t->n_idx_failed > 0)
		return CT_STATUS_FAIL;
	if (h->n_warnings > 0)
		return CT_STATUS_WARN;
	return CT_STATUS_OK;
}

void
vacuum_report_summary(struct plugin_host *h, const struct vacuum_plan *p,
                      const struct vacuum_indexes *ix, const struct vacuum_tally *tally,
                      int is_dry_run)
{
	char line[2048] = "";

	if (h->err[0] != '\0' && (is_dry_run || p->n_tables == 0)) {
		h->ct->set_status(h->t, CT_STATUS_FAIL, "%s", h->err);
		return;
	}
	if (is_dry_run) {
		summary_dry(p, ix, line, sizeof(line));
		h->ct->set_status(h->t, CT_STATUS_OK, "%s", line);
		return;
	}
	/* A run that failed halfway still says what it got done. */
	if (h->err[0] != '\0')
		line_add(line, sizeof(line), "%s; before that: ", h->err);
	else if (tally->is_stopped)
		line_add(line, sizeof(line), "stopped: ");
	summary_tables(p, tally, line, sizeof(line));
	summary_rest(tally, line, sizeof(line));
	report_metrics(h, p, tally);
	h->ct->set_status(h->t, h->err[0] ? CT_STATUS_FAIL : status_of(h, tally), "%s", line);
}
