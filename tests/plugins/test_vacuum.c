/*
 * test_vacuum.c — plugins/vacuum/vacuum_judge.c: which thresholds a table
 * passes (autovacuum's formulas, the caps, ages and intervals), what an
 * index needs, names and patterns, the statements and the servers refused.
 * The work itself runs against PostgreSQL in tests/integration/vacuum.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "vacuum.h"

/* The defaults of the option table, freeze ages resolved for a server
 * with autovacuum_freeze_max_age = 200 million. */
static const struct vacuum_thresholds defaults = {
    .vacuum_base = 50,
    .vacuum_scale = 0.2,
    .vacuum_max = 100000000,
    .insert_base = 1000,
    .insert_scale = 0.2,
    .analyze_base = 50,
    .analyze_scale = 0.1,
    .freeze_age = 100000000,
    .multixact_freeze_age = 200000000,
    .vacuum_interval_ms = 30LL * 86400 * 1000,
    .analyze_interval_ms = 30LL * 86400 * 1000,
};

/* A table of `rows` rows that nothing has touched since its last vacuum
 * and analyze, an hour ago. */
static struct vacuum_table
table_of(double rows)
{
	struct vacuum_table tb = {
	    .reltuples = rows,
	    .n_live = (int64_t)rows,
	    .since_vacuum_s = 3600,
	    .since_analyze_s = 3600,
	};

	return tb;
}

static void
judge(struct vacuum_table *tb)
{
	vacuum_judge_table(&defaults, VACUUM_MODE_AUTO, tb);
}

static void
test_judge_vacuums_only_past_autovacuum_dead_tuple_threshold(void **state)
{
	struct vacuum_table tb = table_of(1000);

	(void)state;
	tb.n_dead = 250; /* 50 + 0.2 x 1000: not past it */
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_NOTHING);
	assert_string_equal(tb.reason, "");
	tb.n_dead = 251;
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_VACUUM);
	assert_int_equal(tb.why, VACUUM_WHY_DEAD);
	assert_string_equal(tb.reason, "251 dead tuples > 250 (vacuum_threshold 50 + "
	                               "vacuum_scale_factor 0.2 x 1000 rows)");
}

static void
test_judge_caps_the_dead_tuple_threshold_of_big_tables(void **state)
{
	struct vacuum_table tb = table_of(1e9); /* 50 + 0.2 x 1e9 would be 200 million */

	(void)state;
	tb.n_dead = 100000000;
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_NOTHING);
	tb.n_dead = 100000001;
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_VACUUM);
	assert_non_null(strstr(tb.reason, "> vacuum_max_threshold 100000000"));
}

static void
test_judge_analyzes_a_table_whose_statistics_alone_are_stale(void **state)
{
	struct vacuum_table tb = table_of(1000);

	(void)state;
	tb.n_mod_since_analyze = 151; /* > 50 + 0.1 x 1000; dead tuples none */
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_ANALYZE);
	assert_int_equal(tb.why, VACUUM_WHY_MODIFIED);
	assert_int_equal(tb.priority, 2);
}

static void
test_judge_counts_a_never_analyzed_table_as_empty(void **state)
{
	struct vacuum_table tb = table_of(-1);

	(void)state;
	tb.n_mod_since_analyze = 51;
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_ANALYZE);
	assert_non_null(strstr(tb.reason, "never analyzed: 51 rows modified"));
	assert_non_null(strstr(tb.reason, "x 0 rows"));
}

static void
test_judge_vacuums_an_insert_only_table_past_the_insert_threshold(void **state)
{
	struct vacuum_table tb = table_of(10000);
	struct vacuum_thresholds off = defaults;

	(void)state;
	tb.n_ins_since_vacuum = 3001; /* > 1000 + 0.2 x 10000 */
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_VACUUM);
	assert_int_equal(tb.why, VACUUM_WHY_INSERTS);
	off.insert_base = -1;
	vacuum_judge_table(&off, VACUUM_MODE_AUTO, &tb);
	assert_int_equal(tb.action, VACUUM_DO_NOTHING);
	tb.n_ins_since_vacuum = -1; /* a server before 13 does not count them */
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_NOTHING);
}

static void
test_judge_freezes_at_freeze_age_before_anything_else(void **state)
{
	struct vacuum_table tb = table_of(1000);

	(void)state;
	tb.xid_age = 99999999;
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_NOTHING);
	tb.xid_age = 100000000;
	tb.n_dead = 1000;
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_FREEZE);
	assert_int_equal(tb.priority, 0);
	assert_int_equal(tb.why, VACUUM_WHY_XID_AGE | VACUUM_WHY_DEAD);
	assert_true(
	    strncmp(tb.reason, "transaction ID age 100000000 >= freeze_age 100000000; ", 54) == 0);
}

static void
test_judge_freezes_for_multixact_age(void **state)
{
	struct vacuum_table tb = table_of(1000);

	(void)state;
	tb.mxid_age = 200000000;
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_FREEZE);
	assert_int_equal(tb.why, VACUUM_WHY_MXID_AGE);
}

static void
test_judge_intervals_need_changes_since(void **state)
{
	struct vacuum_table tb = table_of(1000);

	(void)state;
	tb.since_vacuum_s = tb.since_analyze_s = 31 * 86400.0;
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_NOTHING);
	tb.n_mod_since_analyze = 1;
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_ANALYZE);
	assert_string_equal(tb.reason, "last analyzed 31d ago (analyze_max_interval) with 1 rows "
	                               "modified since");
	tb.n_dead = 1;
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_VACUUM);
	assert_int_equal(tb.why, VACUUM_WHY_VACUUM_INTERVAL | VACUUM_WHY_ANALYZE_INTERVAL);
	tb.since_vacuum_s = tb.since_analyze_s = -1; /* statistics remember no run */
	judge(&tb);
	assert_int_equal(tb.action, VACUUM_DO_NOTHING);
}

static void
test_judge_mode_all_vacuums_every_table(void **state)
{
	struct vacuum_table tb = table_of(1000);

	(void)state;
	vacuum_judge_table(&defaults, VACUUM_MODE_ALL, &tb);
	assert_int_equal(tb.action, VACUUM_DO_VACUUM);
	assert_string_equal(tb.reason, "mode = all");
	tb.xid_age = 100000000;
	vacuum_judge_table(&defaults, VACUUM_MODE_ALL, &tb);
	assert_int_equal(tb.action, VACUUM_DO_FREEZE);
}

static void
test_names_match_schema_qualified_and_bare(void **state)
{
	(void)state;
	assert_true(vacuum_name_matches("django_session", "public", "django_session"));
	assert_true(vacuum_name_matches("public.django_session", "public", "django_session"));
	assert_false(vacuum_name_matches("app.django_session", "public", "django_session"));
	assert_true(vacuum_name_matches("public.*", "public", "x"));
	assert_true(vacuum_name_matches("django_*", "public", "django_session"));
	assert_false(vacuum_name_matches("django_*", "public", "auth_user"));
	assert_true(
	    vacuum_name_matches("Big Schema.Odd \"Name\".x", "Big Schema", "Odd \"Name\".x"));
	assert_true(vacuum_name_matches("Odd \"Name\".x", "Big Schema", "Odd \"Name\".x"));
	assert_true(vacuum_is_pattern("public.*"));
	assert_true(vacuum_is_pattern("t?"));
	assert_true(vacuum_is_pattern("t[12]"));
	assert_false(vacuum_is_pattern("Big Schema.Odd \"Name\".x"));
}

static void
test_leftover_names_are_those_reindex_concurrently_gives(void **state)
{
	(void)state;
	assert_true(vacuum_is_leftover_name("big_t_ccnew"));
	assert_true(vacuum_is_leftover_name("big_t_ccnew1"));
	assert_true(vacuum_is_leftover_name("big_t_ccold12"));
	assert_false(vacuum_is_leftover_name("big_t"));
	assert_false(vacuum_is_leftover_name("big_t_ccnewer"));
	assert_false(vacuum_is_leftover_name("_ccnew"));
	assert_false(vacuum_is_leftover_name("ccnew"));
	assert_false(vacuum_is_leftover_name(""));
}

static void
statement_is(int action, int version, int is_verbose, const char *expect)
{
	char buf[256];

	assert_int_equal(
	    vacuum_statement(action, version, is_verbose, "\"s\".\"t\"", buf, sizeof(buf)), 0);
	assert_string_equal(buf, expect);
}

static void
test_statements_skip_locked_from_12(void **state)
{
	char small[16];

	(void)state;
	statement_is(VACUUM_DO_VACUUM, 150000, 0, "VACUUM (ANALYZE, SKIP_LOCKED) \"s\".\"t\"");
	statement_is(VACUUM_DO_FREEZE, 150000, 1,
	             "VACUUM (ANALYZE, FREEZE, VERBOSE, SKIP_LOCKED) \"s\".\"t\"");
	statement_is(VACUUM_DO_FULL, 120000, 0, "VACUUM (FULL, ANALYZE, SKIP_LOCKED) \"s\".\"t\"");
	statement_is(VACUUM_DO_ANALYZE, 150000, 0, "ANALYZE (SKIP_LOCKED) \"s\".\"t\"");
	statement_is(VACUUM_DO_VACUUM, 110000, 0, "VACUUM (ANALYZE) \"s\".\"t\"");
	statement_is(VACUUM_DO_ANALYZE, 90624, 1, "ANALYZE VERBOSE \"s\".\"t\"");
	assert_int_equal(
	    vacuum_statement(VACUUM_DO_VACUUM, 150000, 0, "\"s\".\"t\"", small, sizeof(small)),
	    CT_EINVAL);
	assert_int_equal(vacuum_statement(VACUUM_DO_NOTHING, 150000, 0, "t", small, sizeof(small)),
	                 CT_EINVAL);
}

static void
test_server_check_refuses_old_servers_and_reindex_before_12(void **state)
{
	char err[512] = "";

	(void)state;
	assert_int_equal(vacuum_server_check(150004, VACUUM_REINDEX_ALL, err, sizeof(err)), 0);
	assert_int_equal(vacuum_server_check(110022, VACUUM_REINDEX_NONE, err, sizeof(err)), 0);
	assert_int_equal(vacuum_server_check(110022, VACUUM_REINDEX_BLOATED, err, sizeof(err)),
	                 CT_EUNSUPPORTED);
	assert_non_null(strstr(err, "reindex = bloated needs REINDEX INDEX CONCURRENTLY "
	                            "(PostgreSQL 12 or later); the server is PostgreSQL 11.22"));
	assert_non_null(strstr(err, "\nhint: set reindex = none"));
	assert_int_equal(vacuum_server_check(90524, VACUUM_REINDEX_NONE, err, sizeof(err)),
	                 CT_EUNSUPPORTED);
	assert_non_null(strstr(err, "PostgreSQL 9.5.24 is older than the vacuum plugin supports"));
}

static struct vacuum_index
index_of(int64_t bytes, int64_t expect)
{
	struct vacuum_index ix = {.name = "t_idx", .is_valid = 1, .is_btree = 1};

	ix.est_bytes = bytes;
	ix.expect_bytes = expect;
	return ix;
}

static void
test_judge_index_rebuilds_bloated_btrees_past_both_limits(void **state)
{
	const struct vacuum_bloat_limits lim = {.ratio = 0.5, .min_bytes = 10u << 20};
	struct vacuum_index ix = index_of(40 << 20, 20 << 20); /* 50%, 20 MiB */

	(void)state;
	vacuum_judge_index(VACUUM_REINDEX_BLOATED, &lim, &ix);
	assert_int_equal(ix.action, VACUUM_INDEX_REBUILD);
	assert_string_equal(ix.reason, "estimated bloat 50% (20.0 MiB of 40.0 MiB) >= "
	                               "index_bloat_ratio 50% and index_bloat_min_bytes 10.0 MiB");
	ix = index_of(40 << 20, 21 << 20); /* under 50% */
	vacuum_judge_index(VACUUM_REINDEX_BLOATED, &lim, &ix);
	assert_int_equal(ix.action, VACUUM_INDEX_KEEP);
	ix = index_of(18 << 20, 9 << 20); /* 50%, but 9 MiB */
	vacuum_judge_index(VACUUM_REINDEX_BLOATED, &lim, &ix);
	assert_int_equal(ix.action, VACUUM_INDEX_KEEP);
	ix = index_of(40 << 20, -1); /* no estimate */
	vacuum_judge_index(VACUUM_REINDEX_BLOATED, &lim, &ix);
	assert_int_equal(ix.action, VACUUM_INDEX_KEEP);
	ix = index_of(40 << 20, 1 << 20);
	ix.is_btree = 0;
	vacuum_judge_index(VACUUM_REINDEX_BLOATED, &lim, &ix);
	assert_int_equal(ix.action, VACUUM_INDEX_KEEP);
	vacuum_judge_index(VACUUM_REINDEX_ALL, &lim, &ix);
	assert_int_equal(ix.action, VACUUM_INDEX_REBUILD);
	vacuum_judge_index(VACUUM_REINDEX_NONE, &lim, &ix);
	assert_int_equal(ix.action, VACUUM_INDEX_KEEP);
}

static void
test_judge_index_drops_only_leftovers_of_rebuilds(void **state)
{
	const struct vacuum_bloat_limits lim = {.ratio = 0.5, .min_bytes = 0};
	struct vacuum_index ix = index_of(8192, -1);

	(void)state;
	ix.is_valid = 0;
	ix.name = "t_idx_ccnew";
	vacuum_judge_index(VACUUM_REINDEX_NONE, &lim, &ix);
	assert_int_equal(ix.action, VACUUM_INDEX_DROP_LEFTOVER);
	ix.is_busy = 1; /* a build on its table may be the one it belongs to */
	vacuum_judge_index(VACUUM_REINDEX_NONE, &lim, &ix);
	assert_int_equal(ix.action, VACUUM_INDEX_REPORT);
	ix.is_busy = 0;
	ix.name = "t_unique_email"; /* a migration's failed CREATE INDEX CONCURRENTLY */
	vacuum_judge_index(VACUUM_REINDEX_ALL, &lim, &ix);
	assert_int_equal(ix.action, VACUUM_INDEX_REPORT);
	assert_non_null(strstr(ix.reason, "not dropped"));
}

static void
test_format_bytes_in_binary_units(void **state)
{
	char buf[32];

	(void)state;
	vacuum_format_bytes(512, buf, sizeof(buf));
	assert_string_equal(buf, "512 B");
	vacuum_format_bytes(1536, buf, sizeof(buf));
	assert_string_equal(buf, "1.5 KiB");
	vacuum_format_bytes(10LL << 30, buf, sizeof(buf));
	assert_string_equal(buf, "10.0 GiB");
	vacuum_format_bytes(-2048, buf, sizeof(buf));
	assert_string_equal(buf, "-2.0 KiB");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_judge_vacuums_only_past_autovacuum_dead_tuple_threshold),
	    cmocka_unit_test(test_judge_caps_the_dead_tuple_threshold_of_big_tables),
	    cmocka_unit_test(test_judge_analyzes_a_table_whose_statistics_alone_are_stale),
	    cmocka_unit_test(test_judge_counts_a_never_analyzed_table_as_empty),
	    cmocka_unit_test(test_judge_vacuums_an_insert_only_table_past_the_insert_threshold),
	    cmocka_unit_test(test_judge_freezes_at_freeze_age_before_anything_else),
	    cmocka_unit_test(test_judge_freezes_for_multixact_age),
	    cmocka_unit_test(test_judge_intervals_need_changes_since),
	    cmocka_unit_test(test_judge_mode_all_vacuums_every_table),
	    cmocka_unit_test(test_names_match_schema_qualified_and_bare),
	    cmocka_unit_test(test_leftover_names_are_those_reindex_concurrently_gives),
	    cmocka_unit_test(test_statements_skip_locked_from_12),
	    cmocka_unit_test(test_server_check_refuses_old_servers_and_reindex_before_12),
	    cmocka_unit_test(test_judge_index_rebuilds_bloated_btrees_past_both_limits),
	    cmocka_unit_test(test_judge_index_drops_only_leftovers_of_rebuilds),
	    cmocka_unit_test(test_format_bytes_in_binary_units),
	};

	return cmocka_run_group_tests_name("vacuum", tests, NULL, NULL);
}
