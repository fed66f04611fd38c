/*
 * test_backupset.c — retention selection and backup file names
 * (plugins/lib/backupset.c, backupset_retain.c).
 *
 * Times are UTC.  2025-01-06 is a Monday, 2025-01-05 a Sunday.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "backupset.h"

#define DAY 86400

static time_t
at(const char *iso)
{
	time_t t = 0;

	assert_int_equal(manifest_time_parse(iso, &t), 0);
	return t;
}

/* n verified backups, one per day at 00:00, the newest on `newest`. */
static void
daily_series(struct backupset_item *items, size_t n, time_t newest)
{
	for (size_t i = 0; i < n; i++)
		items[i] = (struct backupset_item){newest - (time_t)i * DAY, 1, 0};
}

static size_t
count_kept(const struct backupset_item *items, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += items[i].keep != 0;
	return k;
}

static void
test_no_keep_option_keeps_everything(void **unused)
{
	struct backupset_item items[3];
	struct backupset_policy p = {0};

	(void)unused;
	daily_series(items, 3, at("2025-03-01T00:00:00Z"));
	assert_int_equal(backupset_select(items, 3, &p, at("2026-01-01T00:00:00Z")), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(items[i].keep, BACKUPSET_KEEP_ALL);
}

static void
test_daily_keeps_the_newest_of_each_of_the_newest_days(void **unused)
{
	struct backupset_item items[] = {
	    {at("2025-03-03T23:00:00Z"), 1, 0}, {at("2025-03-03T01:00:00Z"), 1, 0},
	    {at("2025-03-02T12:00:00Z"), 1, 0}, {at("2025-03-02T06:00:00Z"), 1, 0},
	    {at("2025-03-01T12:00:00Z"), 1, 0}, {at("2025-02-28T12:00:00Z"), 1, 0},
	};
	struct backupset_policy p = {.daily = 3};

	(void)unused;
	assert_int_equal(backupset_select(items, 6, &p, at("2025-03-04T00:00:00Z")), 0);
	assert_true(items[0].keep & BACKUPSET_KEEP_DAILY);
	assert_int_equal(items[1].keep, 0); /* older on the same day */
	assert_true(items[2].keep & BACKUPSET_KEEP_DAILY);
	assert_int_equal(items[3].keep, 0);
	assert_true(items[4].keep & BACKUPSET_KEEP_DAILY);
	assert_int_equal(items[5].keep, 0); /* a fourth day */
}

static void
test_daily_counts_days_that_have_backups_not_calendar_days(void **unused)
{
	struct backupset_item items[] = {
	    {at("2025-03-20T00:00:00Z"), 1, 0}, /* back after two weeks off */
	    {at("2025-03-05T00:00:00Z"), 1, 0},
	    {at("2025-03-04T00:00:00Z"), 1, 0},
	};
	struct backupset_policy p = {.daily = 3};

	(void)unused;
	assert_int_equal(backupset_select(items, 3, &p, at("2025-03-21T00:00:00Z")), 0);
	assert_int_equal(count_kept(items, 3), 3);
}

static void
test_order_of_input_does_not_matter(void **unused)
{
	struct backupset_item items[] = {
	    {at("2025-03-01T12:00:00Z"), 1, 0},
	    {at("2025-03-03T12:00:00Z"), 1, 0},
	    {at("2025-03-02T12:00:00Z"), 1, 0},
	};
	struct backupset_policy p = {.daily = 2};

	(void)unused;
	assert_int_equal(backupset_select(items, 3, &p, at("2025-03-04T00:00:00Z")), 0);
	assert_int_equal(items[0].keep, 0);
	assert_true(items[1].keep & BACKUPSET_KEEP_NEWEST);
	assert_true(items[2].keep & BACKUPSET_KEEP_DAILY);
}

static void
test_weeks_start_on_monday(void **unused)
{
	struct backupset_item items[] = {
	    {at("2025-01-12T10:00:00Z"), 1, 0}, /* Sunday, same ISO week as ... */
	    {at("2025-01-06T10:00:00Z"), 1, 0}, /* ... this Monday */
	    {at("2025-01-05T10:00:00Z"), 1, 0}, /* Sunday of the week before */
	    {at("2024-12-30T10:00:00Z"), 1, 0}, /* Monday of that week: 2025-W01 */
	};
	struct backupset_policy p = {.weekly = 2};

	(void)unused;
	assert_int_equal(backupset_select(items, 4, &p, at("2025-01-13T00:00:00Z")), 0);
	assert_true(items[0].keep & BACKUPSET_KEEP_WEEKLY);
	assert_int_equal(items[1].keep, 0);
	assert_true(items[2].keep & BACKUPSET_KEEP_WEEKLY);
	assert_int_equal(items[3].keep, 0);
}

static void
test_monthly_keeps_the_newest_of_each_month_across_years(void **unused)
{
	struct backupset_item items[] = {
	    {at("2025-02-01T00:00:00Z"), 1, 0}, {at("2025-01-31T23:59:59Z"), 1, 0},
	    {at("2025-01-01T00:00:00Z"), 1, 0}, {at("2024-12-31T23:59:59Z"), 1, 0},
	    {at("2024-12-01T00:00:00Z"), 1, 0}, {at("2024-11-30T00:00:00Z"), 1, 0},
	};
	struct backupset_policy p = {.monthly = 3};

	(void)unused;
	assert_int_equal(backupset_select(items, 6, &p, at("2025-02-02T00:00:00Z")), 0);
	assert_true(items[0].keep & BACKUPSET_KEEP_MONTHLY);
	assert_true(items[1].keep & BACKUPSET_KEEP_MONTHLY);
	assert_int_equal(items[2].keep, 0);
	assert_true(items[3].keep & BACKUPSET_KEEP_MONTHLY);
	assert_int_equal(items[4].keep, 0);
	assert_int_equal(items[5].keep, 0);
}

static void
test_grandfather_father_son_over_a_year_of_dailies(void **unused)
{
	struct backupset_item items[365];
	struct backupset_policy p = {.daily = 7, .weekly = 4, .monthly = 6};

	(void)unused;
	/* 2025-06-30 is a Monday; one backup a day back to 2024-07-01. */
	daily_series(items, 365, at("2025-06-30T00:00:00Z"));
	assert_int_equal(backupset_select(items, 365, &p, at("2025-06-30T06:00:00Z")), 0);
	/* Dailies: 06-30 back to 06-24.  Weeklies: the newest of each ISO week,
	 * Monday 06-30 (its week has no other), then the Sundays 06-29, 06-22
	 * and 06-15.  Monthlies: 06-30, 05-31, 04-30, 03-31, 02-28, 01-31. */
	assert_true(items[0].keep & BACKUPSET_KEEP_DAILY);
	assert_true(items[0].keep & BACKUPSET_KEEP_WEEKLY);
	assert_true(items[0].keep & BACKUPSET_KEEP_MONTHLY);
	assert_true(items[1].keep & BACKUPSET_KEEP_WEEKLY);    /* Sunday 06-29 */
	assert_true(items[6].keep & BACKUPSET_KEEP_DAILY);     /* 06-24 */
	assert_int_equal(items[7].keep, 0);                    /* 06-23 */
	assert_true(items[8].keep & BACKUPSET_KEEP_WEEKLY);    /* Sunday 06-22 */
	assert_true(items[15].keep & BACKUPSET_KEEP_WEEKLY);   /* Sunday 06-15 */
	assert_int_equal(items[22].keep, 0);                   /* Sunday 06-08: a fifth week */
	assert_true(items[30].keep & BACKUPSET_KEEP_MONTHLY);  /* 05-31 */
	assert_true(items[150].keep & BACKUPSET_KEEP_MONTHLY); /* 01-31 */
	assert_int_equal(items[181].keep, 0);                  /* 2024-12-31: a seventh month */
	assert_int_equal(count_kept(items, 365), 7 + 2 + 5);
}

static void
test_keep_days_keeps_everything_younger(void **unused)
{
	struct backupset_item items[10];
	struct backupset_policy p = {.days = 3};
	time_t now = at("2025-03-10T12:00:00Z");

	(void)unused;
	daily_series(items, 10, at("2025-03-10T00:00:00Z"));
	assert_int_equal(backupset_select(items, 10, &p, now), 0);
	for (int i = 0; i < 3; i++) /* 12, 36 and 60 hours old */
		assert_true(items[i].keep & BACKUPSET_KEEP_DAYS);
	assert_int_equal(items[3].keep, 0); /* 84 hours */
	assert_int_equal(count_kept(items, 10), 3);
}

static void
test_keep_min_is_a_floor(void **unused)
{
	struct backupset_item items[6];
	struct backupset_policy p = {.daily = 1, .min = 4};

	(void)unused;
	for (int i = 0; i < 6; i++) /* six backups within one day */
		items[i] = (struct backupset_item){at("2025-03-10T00:00:00Z") + i * 3600, 1, 0};
	assert_int_equal(backupset_select(items, 6, &p, at("2025-03-11T00:00:00Z")), 0);
	assert_int_equal(count_kept(items, 6), 4);
	assert_int_equal(items[0].keep, 0);
	assert_int_equal(items[1].keep, 0);
	assert_true(items[5].keep & BACKUPSET_KEEP_DAILY);
	assert_true(items[2].keep & BACKUPSET_KEEP_MIN);
}

static void
test_never_deletes_the_newest_verified(void **unused)
{
	struct backupset_item items[3];
	struct backupset_policy p = {.days = 1};

	(void)unused;
	daily_series(items, 3, at("2024-01-10T00:00:00Z")); /* all over a year old */
	assert_int_equal(backupset_select(items, 3, &p, at("2025-06-01T00:00:00Z")), 0);
	assert_int_equal(items[0].keep, BACKUPSET_KEEP_NEWEST);
	assert_int_equal(items[1].keep, 0);
	assert_int_equal(items[2].keep, 0);
}

static void
test_unverified_never_counted_nor_deleted(void **unused)
{
	struct backupset_item items[] = {
	    {at("2025-03-03T20:00:00Z"), 0, 0}, /* newest of the day, not verified */
	    {at("2025-03-03T08:00:00Z"), 1, 0},
	    {at("2025-03-02T08:00:00Z"), 0, 0}, /* failed verification */
	    {at("2025-03-01T08:00:00Z"), 1, 0},
	    {at("2025-02-01T08:00:00Z"), 1, 0},
	};
	struct backupset_policy p = {.daily = 2};

	(void)unused;
	assert_int_equal(backupset_select(items, 5, &p, at("2025-03-04T00:00:00Z")), 0);
	assert_int_equal(items[0].keep, BACKUPSET_KEEP_UNCOUNTED);
	assert_true(items[1].keep & BACKUPSET_KEEP_NEWEST);
	assert_true(items[1].keep & BACKUPSET_KEEP_DAILY);
	assert_int_equal(items[2].keep, BACKUPSET_KEEP_UNCOUNTED);
	/* The second daily slot goes to the next verified day, not to 03-02. */
	assert_true(items[3].keep & BACKUPSET_KEEP_DAILY);
	assert_int_equal(items[4].keep, 0);
}

static void
test_unverified_newest_does_not_shield_itself_as_newest(void **unused)
{
	struct backupset_item items[] = {
	    {at("2025-03-03T00:00:00Z"), 0, 0},
	    {at("2025-03-01T00:00:00Z"), 1, 0},
	};
	struct backupset_policy p = {.days = 1};

	(void)unused;
	assert_int_equal(backupset_select(items, 2, &p, at("2025-04-01T00:00:00Z")), 0);
	assert_int_equal(items[0].keep, BACKUPSET_KEEP_UNCOUNTED);
	assert_int_equal(items[1].keep, BACKUPSET_KEEP_NEWEST);
}

static void
test_keep_text_names_the_rules(void **unused)
{
	char buf[128];

	(void)unused;
	assert_string_equal(
	    backupset_keep_text(BACKUPSET_KEEP_DAILY | BACKUPSET_KEEP_MONTHLY, buf, sizeof(buf)),
	    "daily, monthly");
	assert_string_equal(backupset_keep_text(0, buf, sizeof(buf)), "");
}

static void
test_parse_name_splits_name_stamp_and_extension(void **unused)
{
	char name[64];
	const char *ext = NULL;
	time_t t = 0;

	(void)unused;
	assert_int_equal(backupset_parse_name("db-nightly-20250101T020304Z.sql.gz", name,
	                                      sizeof(name), &t, &ext),
	                 0);
	assert_string_equal(name, "db-nightly");
	assert_string_equal(ext, "sql.gz");
	assert_int_equal(t, at("2025-01-01T02:03:04Z"));
	assert_int_equal(backupset_parse_name("x.y-20250101T000000Z.dump.zst.partial", name,
	                                      sizeof(name), &t, &ext),
	                 0);
	assert_string_equal(name, "x.y");
	assert_string_equal(ext, "dump.zst.partial");
}

static void
test_parse_name_refuses_other_files(void **unused)
{
	char name[64];
	const char *ext;
	time_t t;

	(void)unused;
	assert_int_equal(backupset_parse_name("notes.txt", name, sizeof(name), &t, &ext),
	                 CT_EINVAL);
	assert_int_equal(
	    backupset_parse_name("db-20251301T000000Z.sql", name, sizeof(name), &t, &ext),
	    CT_EINVAL);
	assert_int_equal(
	    backupset_parse_name("-20250101T000000Z.sql", name, sizeof(name), &t, &ext), CT_EINVAL);
}

/* An empty file named `name` in `dir`. */
static void
touch(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

/* What a crash during durable_replace leaves, in the hidden form and in
 * the form of earlier versions, is an unfinished file of the set; another
 * set's and other hidden files are not. */
static void
test_load_lists_temporary_manifests_left_by_a_crash_as_partial(void **unused)
{
	char dir[] = "/tmp/caretaker-backupset.XXXXXX", err[256] = "", cmd[128];
	struct backupset set = {0};
	size_t n_partial = 0;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	touch(dir, ".db-20250101T000000Z.manifest.json.tmp-Ab12Cd");
	touch(dir, "db-20250102T000000Z.manifest.json.tmp-4242");
	touch(dir, ".other-20250101T000000Z.manifest.json.tmp-Ab12Cd");
	touch(dir, ".hidden");
	assert_int_equal(backupset_load(dir, "db", &set, err, sizeof(err)), 0);
	for (size_t i = 0; i < set.n_strays; i++)
		n_partial += set.strays[i].kind == BACKUPSET_PARTIAL;
	assert_int_equal(set.n_strays, 2);
	assert_int_equal(n_partial, 2);
	backupset_free(&set);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_keep_option_keeps_everything),
	    cmocka_unit_test(test_load_lists_temporary_manifests_left_by_a_crash_as_partial),
	    cmocka_unit_test(test_daily_keeps_the_newest_of_each_of_the_newest_days),
	    cmocka_unit_test(test_daily_counts_days_that_have_backups_not_calendar_days),
	    cmocka_unit_test(test_order_of_input_does_not_matter),
	    cmocka_unit_test(test_weeks_start_on_monday),
	    cmocka_unit_test(test_monthly_keeps_the_newest_of_each_month_across_years),
	    cmocka_unit_test(test_grandfather_father_son_over_a_year_of_dailies),
	    cmocka_unit_test(test_keep_days_keeps_everything_younger),
	    cmocka_unit_test(test_keep_min_is_a_floor),
	    cmocka_unit_test(test_never_deletes_the_newest_verified),
	    cmocka_unit_test(test_unverified_never_counted_nor_deleted),
	    cmocka_unit_test(test_unverified_newest_does_not_shield_itself_as_newest),
	    cmocka_unit_test(test_keep_text_names_the_rules),
	    cmocka_unit_test(test_parse_name_splits_name_stamp_and_extension),
	    cmocka_unit_test(test_parse_name_refuses_other_files),
	};

	return cmocka_run_group_tests_name("backupset", tests, NULL, NULL);
}
