/*
 * vacuum_judge.c — the vacuum plugin's decisions, apart from the server and
 * the host so that tests/plugins/test_vacuum.c can check each one: which
 * thresholds a table passes (autovacuum's formulas), which indexes a
 * reindex rebuilds or a cleanup drops, names and patterns, the statements,
 * and the servers the plugin refuses.
 *
 * The formulas are autovacuum's (relation_needs_vacanalyze() in
 * src/backend/postmaster/autovacuum.c): a table needs vacuuming when its
 * dead tuples pass threshold + scale_factor x reltuples, capped since
 * PostgreSQL 18 by autovacuum_vacuum_max_threshold; since 13 also when the
 * rows inserted since the last vacuum pass the insert threshold; and it
 * needs analyzing when the rows modified since the last analyze pass the
 * analyze threshold.  reltuples is -1 for a table never vacuumed or
 * analyzed (14 and later) and counts as 0 there, as autovacuum counts it.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <caretaker/errors.h>

#include "vacuum.h"

/* Appends one part of a reason, "; " between parts; a reason too long for
 * its buffer keeps its first parts. */
static void reason_add(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reason_add(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used > 0 && used + 2 < size) {
		memcpy(buf + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

/* "40s", "12min", "5h", "31d": how long ago, for people. */
static void
format_ago(double seconds, char *buf, size_t size)
{
	static const struct {
		double below, unit;
		const char *name;
	} units[] = {{120, 1, "s"}, {7200, 60, "min"}, {172800, 3600, "h"}, {1e300, 86400, "d"}};
	size_t i = 0;

	while (seconds >= units[i].below)
		i++;
	snprintf(buf, size, "%.0f%s", seconds / units[i].unit, units[i].name);
}

static double
rows_of(const struct vacuum_table *tb)
{
	return tb->reltuples > 0 ? tb->reltuples : 0;
}

static void
judge_dead(const struct vacuum_thresholds *th, struct vacuum_table *tb)
{
	double limit = (double)th->vacuum_base + th->vacuum_scale * rows_of(tb);
	int is_capped = th->vacuum_max > 0 && limit > (double)th->vacuum_max;

	if (is_capped)
		limit = (double)th->vacuum_max;
	if ((double)tb->n_dead <= limit)
		return;
	tb->why |= VACUUM_WHY_DEAD;
	if (is_capped)
		reason_add(tb->reason, sizeof(tb->reason),
		           "%" PRId64 " dead tuples > vacuum_max_threshold %" PRId64, tb->n_dead,
		           th->vacuum_max);
	else
		reason_add(tb->reason, sizeof(tb->reason),
		           "%" PRId64 " dead tuples > %.0f (vacuum_threshold %" PRId64
		           " + vacuum_scale_factor %g x %.0f rows)",
		           tb->n_dead, limit, th->vacuum_base, th->vacuum_scale, rows_of(tb));
}

static void
judge_inserts(const struct vacuum_thresholds *th, struct vacuum_table *tb)
{
	double limit = (double)th->insert_base + th->insert_scale * rows_of(tb);

	if (th->insert_base < 0 || tb->n_ins_since_vacuum < 0 ||
	    (double)tb->n_ins_since_vacuum <= limit)
		return;
	tb->why |= VACUUM_WHY_INSERTS;
	reason_add(tb->reason, sizeof(tb->reason),
	           "%" PRId64
	           " rows inserted since the last vacuum > %.0f (insert_threshold %" PRId64
	           " + insert_scale_factor %g x %.0f rows)",
	           tb->n_ins_since_vacuum, limit, th->insert_base, th->insert_scale, rows_of(tb));
}

static void
judge_ages(const struct vacuum_thresholds *th, struct vacuum_table *tb)
{
	if (th->freeze_age > 0 && tb->xid_age >= th->freeze_age) {
		tb->why |= VACUUM_WHY_XID_AGE;
		reason_add(tb->reason, sizeof(tb->reason),
		           "transaction ID age %" PRId64 " >= freeze_age %" PRId64, tb->xid_age,
		           th->freeze_age);
	}
	if (th->multixact_freeze_age > 0 && tb->mxid_age >= th->multixact_freeze_age) {
		tb->why |= VACUUM_WHY_MXID_AGE;
		reason_add(tb->reason, sizeof(tb->reason),
		           "multixact ID age %" PRId64 " >= multixact_freeze_age %" PRId64,
		           tb->mxid_age, th->multixact_freeze_age);
	}
}

/* An interval alone is no reason: a table nobody changed stays as it is. */
static void
judge_intervals(const struct vacuum_thresholds *th, struct vacuum_table *tb)
{
	int64_t changes = tb->n_dead + (tb->n_ins_since_vacuum > 0 ? tb->n_ins_since_vacuum : 0);
	char ago[32];

	if (th->vacuum_interval_ms > 0 && tb->since_vacuum_s >= 0 && changes > 0 &&
	    tb->since_vacuum_s * 1000.0 >= (double)th->vacuum_interval_ms) {
		tb->why |= VACUUM_WHY_VACUUM_INTERVAL;
		format_ago(tb->since_vacuum_s, ago, sizeof(ago));
		reason_add(tb->reason, sizeof(tb->reason),
		           "last vacuumed %s ago (vacuum_max_interval) with %" PRId64
		           " dead or new rows since",
		           ago, changes);
	}
	if (th->analyze_interval_ms > 0 && tb->since_analyze_s >= 0 &&
	    tb->n_mod_since_analyze > 0 &&
	    tb->since_analyze_s * 1000.0 >= (double)th->analyze_interval_ms) {
		tb->why |= VACUUM_WHY_ANALYZE_INTERVAL;
		format_ago(tb->since_analyze_s, ago, sizeof(ago));
		reason_add(tb->reason, sizeof(tb->reason),
		           "last analyzed %s ago (analyze_max_interval) with %" PRId64
		           " rows modified since",
		           ago, tb->n_mod_since_analyze);
	}
}

static void
judge_modified(const struct vacuum_thresholds *th, struct vacuum_table *tb)
{
	double limit = (double)th->analyze_base + th->analyze_scale * rows_of(tb);

	if ((double)tb->n_mod_since_analyze <= limit)
		return;
	tb->why |= VACUUM_WHY_MODIFIED;
	reason_add(tb->reason, sizeof(tb->reason),
	           "%s%" PRId64
	           " rows modified since the last analyze > %.0f (analyze_threshold %" PRId64
	           " + analyze_scale_factor %g x %.0f rows)",
	           tb->reltuples < 0 ? "never analyzed: " : "", tb->n_mod_since_analyze, limit,
	           th->analyze_base, th->analyze_scale, rows_of(tb));
}

/* The strongest action the reasons call for, and the order of work:
 * freezing first (wraparound does not wait), then vacuuming, then
 * statistics. */
static void
judge_action(struct vacuum_table *tb)
{
	const unsigned freeze = VACUUM_WHY_XID_AGE | VACUUM_WHY_MXID_AGE;
	const unsigned vacuum =
	    VACUUM_WHY_DEAD | VACUUM_WHY_INSERTS | VACUUM_WHY_VACUUM_INTERVAL | VACUUM_WHY_MODE_ALL;
	const unsigned analyze = VACUUM_WHY_MODIFIED | VACUUM_WHY_ANALYZE_INTERVAL;

	tb->action = VACUUM_DO_NOTHING;
	tb->priority = VACUUM_PRIORITY_NONE;
	if (tb->why & analyze) {
		tb->action = VACUUM_DO_ANALYZE;
		tb->priority = 2;
	}
	if (tb->why & vacuum) {
		tb->action = VACUUM_DO_VACUUM;
		tb->priority = 1;
	}
	if (tb->why & freeze) {
		tb->action = VACUUM_DO_FREEZE;
		tb->priority = 0;
	}
}

void
vacuum_judge_table(const struct vacuum_thresholds *th, int mode, struct vacuum_table *tb)
{
	tb->why = 0;
	tb->reason[0] = '\0';
	judge_ages(th, tb);
	judge_dead(th, tb);
	judge_inserts(th, tb);
	judge_modified(th, tb);
	judge_intervals(th, tb);
	if (mode == VACUUM_MODE_ALL) {
		tb->why |= VACUUM_WHY_MODE_ALL;
		reason_add(tb->reason, sizeof(tb->reason), "mode = all");
	}
	judge_action(tb);
}

int
vacuum_name_matches(const char *pattern, const char *schema, const char *name)
{
	char qualified[512];

	if (fnmatch(pattern, name, 0) == 0)
		return 1;
	if ((size_t)snprintf(qualified, sizeof(qualified), "%s.%s", schema, name) >=
	    sizeof(qualified))
		return 0;
	return fnmatch(pattern, qualified, 0) == 0;
}

int
vacuum_is_pattern(const char *item)
{
	return strpbrk(item, "*?[") != NULL;
}

int
vacuum_is_leftover_name(const char *index_name)
{
	static const char *const suffixes[] = {"_ccnew", "_ccold"};
	size_t len = strlen(index_name), n = 6;

	while (len > 0 && index_name[len - 1] >= '0' && index_name[len - 1] <= '9')
		len--;
	if (len <= n)
		return 0;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (memcmp(index_name + len - n, suffixes[i], n) == 0)
			return 1;
	return 0;
}

/* The parenthesised options of VACUUM for an action, without SKIP_LOCKED. */
static const char *const vacuum_words[] = {
    [VACUUM_DO_VACUUM] = "ANALYZE",
    [VACUUM_DO_FREEZE] = "ANALYZE, FREEZE",
    [VACUUM_DO_FULL] = "FULL, ANALYZE",
};

int
vacuum_statement(int action, int server_version_num, int is_verbose, const char *qualified,
                 char *buf, size_t size)
{
	int is_skip_locked = server_version_num >= VACUUM_CONCURRENT_SERVER;
	int n;

	if (action == VACUUM_DO_ANALYZE && is_skip_locked)
		n = snprintf(buf, size, "ANALYZE (SKIP_LOCKED%s) %s", is_verbose ? ", VERBOSE" : "",
		             qualified);
	else if (action == VACUUM_DO_ANALYZE)
		n = snprintf(buf, size, "ANALYZE %s%s", is_verbose ? "VERBOSE " : "", qualified);
	else if (action >= VACUUM_DO_VACUUM && action <= VACUUM_DO_FULL)
		n = snprintf(buf, size, "VACUUM (%s%s%s) %s", vacuum_words[action],
		             is_verbose ? ", VERBOSE" : "", is_skip_locked ? ", SKIP_LOCKED" : "",
		             qualified);
	else
		return CT_EINVAL;
	return n < 0 || (size_t)n >= size ? CT_EINVAL : 0;
}

/* "15.4", "9.6.24": a server_version_num in words. */
static void
format_version(int v, char *buf, size_t size)
{
	if (v >= 100000)
		snprintf(buf, size, "%d.%d", v / 10000, v % 10000);
	else
		snprintf(buf, size, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
}

int
vacuum_server_check(int server_version_num, int reindex, char *err, size_t err_size)
{
	static const char *const reindex_words[] = {"none", "bloated", "all"};
	char v[32];

	format_version(server_version_num, v, sizeof(v));
	if (server_version_num < VACUUM_MIN_SERVER) {
		snprintf(err, err_size,
		         "PostgreSQL %s is older than the vacuum plugin supports (9.6 or later)",
		         v);
		return CT_EUNSUPPORTED;
	}
	if (reindex != VACUUM_REINDEX_NONE && server_version_num < VACUUM_CONCURRENT_SERVER) {
		snprintf(err, err_size,
		         "reindex = %s needs REINDEX INDEX CONCURRENTLY (PostgreSQL 12 or later); "
		         "the server is PostgreSQL %s, where a rebuild would block writes to the "
		         "table\nhint: set reindex = none",
		         reindex_words[reindex], v);
		return CT_EUNSUPPORTED;
	}
	return 0;
}

static void
judge_invalid(struct vacuum_index *ix)
{
	int is_leftover = vacuum_is_leftover_name(ix->name);

	ix->action = is_leftover && !ix->is_busy ? VACUUM_INDEX_DROP_LEFTOVER : VACUUM_INDEX_REPORT;
	snprintf(ix->reason, sizeof(ix->reason), "%s%s",
	         is_leftover ? "invalid index left by an interrupted REINDEX CONCURRENTLY"
	                     : "invalid index (a CREATE INDEX CONCURRENTLY or REINDEX that failed, "
	                       "or one still running); not dropped: it is not a rebuild's leftover",
	         ix->is_busy ? "; an index build is running on its table now, so it is left alone"
	                     : "");
}

static void
judge_bloat(const struct vacuum_bloat_limits *lim, struct vacuum_index *ix)
{
	int64_t waste = ix->est_bytes - ix->expect_bytes;
	double ratio = ix->est_bytes > 0 ? (double)waste / (double)ix->est_bytes : 0;
	char w[32], e[32], m[32];

	if (!ix->is_btree || ix->expect_bytes < 0 || waste <= 0 || ratio < lim->ratio ||
	    (uint64_t)waste < lim->min_bytes)
		return;
	vacuum_format_bytes(waste, w, sizeof(w));
	vacuum_format_bytes(ix->est_bytes, e, sizeof(e));
	vacuum_format_bytes((int64_t)lim->min_bytes, m, sizeof(m));
	ix->action = VACUUM_INDEX_REBUILD;
	snprintf(ix->reason, sizeof(ix->reason),
	         "estimated bloat %.0f%% (%s of %s) >= index_bloat_ratio %.0f%% and "
	         "index_bloat_min_bytes %s",
	         ratio * 100.0, w, e, lim->ratio * 100.0, m);
}

void
vacuum_judge_index(int reindex, const struct vacuum_bloat_limits *lim, struct vacuum_index *ix)
{
	ix->action = VACUUM_INDEX_KEEP;
	ix->reason[0] = '\0';
	if (!ix->is_valid) {
		judge_invalid(ix);
	} else if (reindex == VACUUM_REINDEX_ALL) {
		ix->action = VACUUM_INDEX_REBUILD;
		snprintf(ix->reason, sizeof(ix->reason), "reindex = all");
	} else if (reindex == VACUUM_REINDEX_BLOATED) {
		judge_bloat(lim, ix);
	}
}

void
vacuum_format_bytes(int64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)(bytes < 0 ? -bytes : bytes);
	size_t i = 0;

	if (v < 1024) {
		snprintf(buf, size, "%" PRId64 " B", bytes);
		return;
	}
	v /= 1024;
	while (v >= 1024 && i + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		i++;
	}
	snprintf(buf, size, "%s%.1f %s", bytes < 0 ? "-" : "", v, units[i]);
}
