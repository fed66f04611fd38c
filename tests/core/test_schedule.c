/*
 * test_schedule.c — specification of core/schedule.c: which expressions
 * parse, what they are called when they do not, and when they elapse.
 *
 * Expected elapses were checked against `systemd-analyze calendar` (systemd
 * 252); the tests need time zone data (tzdata) but no systemd.  Times are
 * written "YYYY-MM-DD HH:MM:SS[.UUUUUU]" in UTC.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "caretaker/errors.h"
#include "schedule.h"
#include "../skip.h"

#define ZONEINFO "/usr/share/zoneinfo/"

static int64_t
utc_usec(const char *text)
{
	struct tm tm = {0};
	int usec = 0;
	int n;

	n = sscanf(text, "%d-%d-%d %d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	           &tm.tm_min, &tm.tm_sec, &usec);
	assert_true(n >= 6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000000 + usec;
}

static void
format_utc(int64_t usec, char *buf, size_t size)
{
	time_t sec = (time_t)(usec / 1000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	if (usec % 1000000 != 0)
		snprintf(buf + strlen(buf), size - strlen(buf), ".%06d", (int)(usec % 1000000));
}

static struct schedule *
parse_ok(const char *expr)
{
	struct schedule *s = NULL;
	char err[256] = "";
	int rc = schedule_parse(expr, &s, err, sizeof(err));

	if (rc != 0)
		fail_msg("expected \"%s\" to parse, got %d: %s", expr, rc, err);
	return s;
}

/* The elapses after AFTER, in order; NULL ends the list.  "never" as the
 * last entry means CT_ENOENT comes next. */
static void
assert_elapses(const char *expr, const char *after, ...)
{
	struct schedule *s = parse_ok(expr);
	int64_t t = utc_usec(after), next = 0;
	char got[64];
	const char *want;
	va_list ap;

	va_start(ap, after);
	while ((want = va_arg(ap, const char *)) != NULL) {
		int rc = schedule_next(s, t, &next);

		if (strcmp(want, "never") == 0) {
			assert_int_equal(rc, CT_ENOENT);
			break;
		}
		assert_int_equal(rc, 0);
		format_utc(next, got, sizeof(got));
		assert_string_equal(got, want);
		t = next;
	}
	va_end(ap);
	schedule_free(s);
}

static void
assert_parse_error(const char *expr, const char *want)
{
	struct schedule *s = (struct schedule *)&s; /* must stay untouched */
	char err[256] = "";

	assert_int_equal(schedule_parse(expr, &s, err, sizeof(err)), CT_EINVAL);
	assert_ptr_equal(s, (struct schedule *)&s);
	assert_string_equal(err, want);
}

static void
assert_oncalendar(const char *expr, const char *want)
{
	struct schedule *s = parse_ok(expr);

	assert_string_equal(schedule_to_oncalendar(s), want);
	schedule_free(s);
}

static void
assert_syntax(const char *expr, enum schedule_syntax want)
{
	struct schedule *s = parse_ok(expr);

	assert_int_equal(schedule_syntax(s), want);
	schedule_free(s);
}

static void
require_zone(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), ZONEINFO "%s", name);
	if (access(path, R_OK) != 0)
		skip_outside_ci("no time zone file %s", path);
}

/* Each test that depends on the local zone sets it; the rest run in UTC. */
static int
setup_utc(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	return 0;
}

static int
teardown_all(void **state)
{
	(void)state;
	schedule_cache_free();
	return 0;
}

/* ---- shorthands ---- */

static void
test_schedule_daily_shorthand_means_midnight(void **state)
{
	(void)state;
	assert_oncalendar("daily", "*-*-* 00:00:00");
	assert_syntax("daily", SCHEDULE_SYNTAX_SHORTHAND);
}

static void
test_schedule_weekly_shorthand_means_monday(void **state)
{
	(void)state;
	assert_oncalendar("weekly", "Mon *-*-* 00:00:00");
	assert_elapses("weekly", "2026-01-07 12:00:00", "2026-01-12 00:00:00", NULL);
}

static void
test_schedule_quarterly_shorthand_runs_on_quarter_starts(void **state)
{
	(void)state;
	assert_oncalendar("quarterly", "*-01,04,07,10-01 00:00:00");
	assert_elapses("quarterly", "2026-02-10 00:00:00", "2026-04-01 00:00:00",
	               "2026-07-01 00:00:00", "2026-10-01 00:00:00", "2027-01-01 00:00:00", NULL);
}

static void
test_schedule_semiannually_shorthand_runs_january_and_july(void **state)
{
	(void)state;
	assert_oncalendar("semiannually", "*-01,07-01 00:00:00");
	assert_oncalendar("bi-annually", "*-01,07-01 00:00:00");
}

static void
test_schedule_shorthand_other_meanings(void **state)
{
	(void)state;
	assert_oncalendar("minutely", "*-*-* *:*:00");
	assert_oncalendar("hourly", "*-*-* *:00:00");
	assert_oncalendar("monthly", "*-*-01 00:00:00");
	assert_oncalendar("yearly", "*-01-01 00:00:00");
	assert_oncalendar("annually", "*-01-01 00:00:00");
}

static void
test_schedule_shorthand_ignores_case(void **state)
{
	(void)state;
	assert_oncalendar("DAILY", "*-*-* 00:00:00");
}

static void
test_schedule_shorthand_keeps_time_zone(void **state)
{
	(void)state;
	require_zone("Europe/Berlin");
	assert_oncalendar("daily Europe/Berlin", "*-*-* 00:00:00 Europe/Berlin");
}

/* ---- calendar expressions: parsing and normal form ---- */

static void
test_schedule_calendar_syntax_is_reported(void **state)
{
	(void)state;
	assert_syntax("*-*-01 02:00", SCHEDULE_SYNTAX_CALENDAR);
	assert_string_equal(schedule_syntax_name(SCHEDULE_SYNTAX_CALENDAR), "calendar");
}

static void
test_schedule_normalizes_weekday_lists_into_ranges(void **state)
{
	(void)state;
	assert_oncalendar("Mon,Tue,Wed,Fri 10:00", "Mon..Wed,Fri *-*-* 10:00:00");
	assert_oncalendar("Sat,Sun", "Sat,Sun *-*-* 00:00:00");
	assert_oncalendar("Mon-Fri", "Mon..Fri *-*-* 00:00:00");
}

static void
test_schedule_normalizes_lists_sorted_and_unique(void **state)
{
	(void)state;
	assert_oncalendar("*:45,15,15", "*-*-* *:15,45:00");
}

static void
test_schedule_widens_two_digit_years(void **state)
{
	(void)state;
	assert_oncalendar("26-06-15", "2026-06-15 00:00:00");
	assert_oncalendar("70-01-01", "1970-01-01 00:00:00");
}

static void
test_schedule_trims_range_to_its_last_step(void **state)
{
	(void)state;
	assert_oncalendar("*-*-* 8..18/4:00", "*-*-* 08..16/4:00:00");
	assert_oncalendar("*-*-* 8..18/20:00", "*-*-* 08:00:00");
}

static void
test_schedule_time_only_means_every_day(void **state)
{
	(void)state;
	assert_oncalendar("10:00", "*-*-* 10:00:00");
	assert_oncalendar("*:0/15", "*-*-* *:00/15:00");
}

static void
test_schedule_keeps_fractional_seconds(void **state)
{
	(void)state;
	assert_oncalendar("*:*:1.5", "*-*-* *:*:01.500000");
	/* The seventh digit rounds. */
	assert_oncalendar("*:*:1.9999995", "*-*-* *:*:02");
}

static void
test_schedule_utc_suffix_is_normalized(void **state)
{
	(void)state;
	assert_oncalendar("daily utc", "*-*-* 00:00:00 UTC");
}

/* ---- calendar expressions: errors ---- */

static void
test_schedule_rejects_hour_25(void **state)
{
	(void)state;
	assert_parse_error("25:00", "25:00: hour must be 0-23");
}

static void
test_schedule_rejects_unknown_weekday(void **state)
{
	(void)state;
	assert_parse_error("foo", "foo: unknown weekday");
	assert_parse_error("Mon,foo 10:00", "foo: unknown weekday");
}

static void
test_schedule_rejects_weekday_name_with_extra_letters(void **state)
{
	(void)state;
	assert_parse_error("Mond 10:00", "Mond: unknown weekday");
}

static void
test_schedule_rejects_month_13(void **state)
{
	(void)state;
	assert_parse_error("*-13-01", "*-13-01: month must be 1-12");
}

static void
test_schedule_rejects_day_32(void **state)
{
	(void)state;
	assert_parse_error("*-*-32 10:00", "*-*-32: day must be 1-31");
}

static void
test_schedule_rejects_second_60(void **state)
{
	(void)state;
	assert_parse_error("00:00:60", "00:00:60: second must be 0-59");
}

static void
test_schedule_rejects_year_before_1970(void **state)
{
	(void)state;
	assert_parse_error("1969-01-01", "1969-01-01: year must be 1970-2199");
}

static void
test_schedule_rejects_backward_weekday_range(void **state)
{
	(void)state;
	assert_parse_error("Sat..Mon",
	                   "Sat..Mon: weekday range must run from Monday towards Sunday");
}

static void
test_schedule_rejects_open_weekday_range(void **state)
{
	(void)state;
	assert_parse_error("Mon.. 10:00", "Mon..: weekday range has no end");
}

static void
test_schedule_rejects_backward_hour_range(void **state)
{
	(void)state;
	assert_parse_error("*-*-* 22..2:00", "22..2:00: hour range must not run backwards");
}

static void
test_schedule_rejects_step_that_never_repeats(void **state)
{
	(void)state;
	/* systemd refuses a start plus step beyond the field's end. */
	assert_parse_error("*:30/30", "*:30/30: minute step is too large to repeat within 0-59");
}

static void
test_schedule_rejects_zero_step(void **state)
{
	(void)state;
	assert_parse_error("*:0/0", "*:0/0: repetition must not be 0");
}

static void
test_schedule_rejects_day_29_from_month_end(void **state)
{
	(void)state;
	assert_parse_error("*-*~29", "*-*~29: day counted back from the month's end must be 1-28");
}

static void
test_schedule_rejects_unknown_time_zone(void **state)
{
	(void)state;
	assert_parse_error("*-*-* 10:00 Europe/Brln", "Europe/Brln: unknown time zone");
	assert_parse_error("daily Europe/Brln", "Europe/Brln: unknown time zone");
}

static void
test_schedule_rejects_hour_without_minutes(void **state)
{
	(void)state;
	assert_parse_error("10", "10: invalid time, expected HOUR:MINUTE[:SECOND]");
}

static void
test_schedule_rejects_star_with_step(void **state)
{
	(void)state;
	/* systemd wants "0/2", not "*" followed by a step. */
	assert_parse_error("*/2:00", "*/2:00: a step needs a start value: write 0/N, not */N");
}

static void
test_schedule_rejects_trailing_garbage(void **state)
{
	(void)state;
	assert_parse_error("2024-01-01x", "2024-01-01x: unexpected 'x'");
}

static void
test_schedule_rejects_empty_expression(void **state)
{
	(void)state;
	assert_parse_error("", "empty schedule expression");
}

static void
test_schedule_rejects_blanks_around_or_tabs_inside(void **state)
{
	(void)state;
	/* Like systemd; the configuration loader trims values. */
	assert_parse_error(" daily", "' daily': leading blank");
	assert_parse_error("daily ", "'daily ': trailing blank");
	assert_parse_error("Mon\t10:00",
	                   "'Mon\t10:00': separate parts with spaces, not tabs or line breaks");
}

static void
test_schedule_error_is_truncated_to_its_buffer(void **state)
{
	struct schedule *s = NULL;
	char err[8];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(schedule_parse("*-13-01", &s, err, sizeof(err)), CT_EINVAL);
	assert_string_equal(err, "*-13-01");
	assert_int_equal(schedule_parse("*-13-01", &s, NULL, 0), CT_EINVAL);
}

/* ---- calendar arithmetic ---- */

static void
test_schedule_next_is_strictly_after_base(void **state)
{
	(void)state;
	assert_elapses("daily", "2026-01-07 00:00:00", "2026-01-08 00:00:00", NULL);
	assert_elapses("daily", "2026-01-06 23:59:59.999999", "2026-01-07 00:00:00", NULL);
}

static void
test_schedule_skips_months_without_day_31(void **state)
{
	(void)state;
	assert_elapses("*-*-31", "2026-01-31 00:00:00", "2026-03-31 00:00:00",
	               "2026-05-31 00:00:00", "2026-07-31 00:00:00", NULL);
}

static void
test_schedule_runs_february_29_only_in_leap_years(void **state)
{
	(void)state;
	assert_elapses("*-02-29", "2025-01-01 00:00:00", "2028-02-29 00:00:00",
	               "2032-02-29 00:00:00", NULL);
}

static void
test_schedule_skips_february_29_in_century_years(void **state)
{
	(void)state;
	assert_elapses("2100..2104-02-29", "2026-01-01 00:00:00", "2104-02-29 00:00:00", "never",
	               NULL);
}

static void
test_schedule_tilde_one_is_last_day_of_month(void **state)
{
	(void)state;
	assert_elapses("*-*~01", "2024-02-01 00:00:00", "2024-02-29 00:00:00",
	               "2024-03-31 00:00:00", "2024-04-30 00:00:00", NULL);
}

static void
test_schedule_tilde_three_is_third_last_day(void **state)
{
	(void)state;
	assert_elapses("*-02~03", "2025-01-01 00:00:00", "2025-02-26 00:00:00",
	               "2026-02-26 00:00:00", NULL);
	assert_elapses("*-02~03", "2024-01-01 00:00:00", "2024-02-27 00:00:00", NULL);
}

static void
test_schedule_finds_last_monday_of_may(void **state)
{
	(void)state;
	assert_elapses("Mon *-05~07/1", "2026-01-01 00:00:00", "2026-05-25 00:00:00",
	               "2027-05-31 00:00:00", NULL);
}

static void
test_schedule_steps_through_minutes(void **state)
{
	(void)state;
	assert_elapses("*:0/15", "2026-01-07 10:07:00", "2026-01-07 10:15:00",
	               "2026-01-07 10:30:00", "2026-01-07 10:45:00", "2026-01-07 11:00:00", NULL);
}

static void
test_schedule_steps_through_hour_range(void **state)
{
	(void)state;
	assert_elapses("*-*-* 8..18/4:00", "2026-01-07 12:00:00", "2026-01-07 16:00:00",
	               "2026-01-08 08:00:00", "2026-01-08 12:00:00", NULL);
}

static void
test_schedule_weekday_filter_applies_to_dates(void **state)
{
	(void)state;
	assert_elapses("Fri *-*-13", "2026-01-01 00:00:00", "2026-02-13 00:00:00",
	               "2026-03-13 00:00:00", "2026-11-13 00:00:00", NULL);
}

static void
test_schedule_weekday_range_skips_weekend(void **state)
{
	(void)state;
	assert_elapses("Mon..Fri", "2026-01-08 12:00:00", "2026-01-09 00:00:00",
	               "2026-01-12 00:00:00", NULL);
}

static void
test_schedule_fractional_second_keeps_microseconds(void **state)
{
	(void)state;
	assert_elapses("*:*:1.5", "2026-01-07 10:00:00", "2026-01-07 10:00:01.500000",
	               "2026-01-07 10:01:01.500000", NULL);
}

static void
test_schedule_past_date_never_elapses(void **state)
{
	(void)state;
	assert_elapses("2026-01-01", "2025-06-01 00:00:00", "2026-01-01 00:00:00", "never", NULL);
}

static void
test_schedule_impossible_date_never_elapses(void **state)
{
	(void)state;
	assert_elapses("*-02-30", "2026-01-01 00:00:00", "never", NULL);
}

static void
test_schedule_epoch_timestamp_is_one_shot(void **state)
{
	(void)state;
	assert_oncalendar("@1700000000", "2023-11-14 22:13:20 UTC");
	assert_elapses("@1700000000", "2023-01-01 00:00:00", "2023-11-14 22:13:20", "never", NULL);
}

static void
test_schedule_next_rejects_negative_base(void **state)
{
	struct schedule *s = parse_ok("daily");
	int64_t next = 42;

	(void)state;
	assert_int_equal(schedule_next(s, -1, &next), CT_EINVAL);
	assert_int_equal(next, 42);
	schedule_free(s);
}

static void
test_schedule_local_time_follows_tz(void **state)
{
	(void)state;
	require_zone("America/New_York");
	setenv("TZ", "America/New_York", 1);
	assert_elapses("*-*-* 12:00", "2026-01-07 00:00:00", "2026-01-07 17:00:00", NULL);
	assert_elapses("*-*-* 12:00", "2026-07-07 00:00:00", "2026-07-07 16:00:00", NULL);
	setenv("TZ", "UTC", 1);
}

static void
test_schedule_utc_suffix_overrides_local_time(void **state)
{
	(void)state;
	require_zone("Europe/Berlin");
	setenv("TZ", "Europe/Berlin", 1);
	assert_elapses("*-*-* 12:00 UTC", "2026-07-07 00:00:00", "2026-07-07 12:00:00", NULL);
	setenv("TZ", "UTC", 1);
}

static void
test_schedule_zone_overrides_local_time(void **state)
{
	(void)state;
	require_zone("Asia/Kolkata");
	assert_elapses("*-*-* 10:00 Asia/Kolkata", "2026-01-07 00:00:00", "2026-01-07 04:30:00",
	               NULL);
}

/* ---- daylight saving time ---- */

static void
test_schedule_skips_nonexistent_local_time(void **state)
{
	(void)state;
	require_zone("Europe/Berlin");
	/* 2026-03-29 02:30 does not exist in Berlin: that day has no elapse. */
	assert_elapses("*-*-* 02:30 Europe/Berlin", "2026-03-28 23:00:00", "2026-03-30 00:30:00",
	               "2026-03-31 00:30:00", NULL);
}

static void
test_schedule_skips_nonexistent_yearly_date(void **state)
{
	(void)state;
	require_zone("Europe/Berlin");
	assert_elapses("*-03-29 02:30 Europe/Berlin", "2026-03-01 00:00:00", "2027-03-29 00:30:00",
	               NULL);
}

static void
test_schedule_gap_moves_on_to_next_listed_hour(void **state)
{
	(void)state;
	require_zone("Europe/Berlin");
	assert_elapses("*-*-* 02,03:30 Europe/Berlin", "2026-03-28 23:00:00", "2026-03-29 01:30:00",
	               "2026-03-30 00:30:00", NULL);
}

static void
test_schedule_hourly_skips_missing_hour(void **state)
{
	(void)state;
	require_zone("Europe/Berlin");
	/* 00:00, 01:00, then 03:00 CEST. */
	assert_elapses("hourly Europe/Berlin", "2026-03-28 22:30:00", "2026-03-28 23:00:00",
	               "2026-03-29 00:00:00", "2026-03-29 01:00:00", "2026-03-29 02:00:00", NULL);
}

static void
test_schedule_fires_repeated_local_time_once(void **state)
{
	(void)state;
	require_zone("Europe/Berlin");
	/* 2026-10-25 02:30 happens at 00:30 UTC (CEST) and 01:30 UTC (CET). */
	assert_elapses("*-*-* 02:30 Europe/Berlin", "2026-10-24 22:00:00", "2026-10-25 00:30:00",
	               "2026-10-26 01:30:00", NULL);
}

static void
test_schedule_repeated_local_time_reached_inside_overlap_fires(void **state)
{
	(void)state;
	require_zone("Europe/Berlin");
	/* Starting at 02:00 CET, the second 02:30 is still ahead. */
	assert_elapses("*-*-* 02:30 Europe/Berlin", "2026-10-25 01:00:00", "2026-10-25 01:30:00",
	               NULL);
}

static void
test_schedule_new_york_fall_back_fires_once(void **state)
{
	(void)state;
	require_zone("America/New_York");
	assert_elapses("*-11-01 01:30 America/New_York", "2026-11-01 04:00:00",
	               "2026-11-01 05:30:00", "2027-11-01 05:30:00", NULL);
}

static void
test_schedule_new_york_spring_gap_skips_the_day(void **state)
{
	(void)state;
	require_zone("America/New_York");
	assert_elapses("*-03-08 02:30 America/New_York", "2026-03-01 00:00:00",
	               "2027-03-08 07:30:00", NULL);
}

static void
test_schedule_half_hour_dst_gap_is_skipped(void **state)
{
	(void)state;
	require_zone("Australia/Lord_Howe");
	/* Lord Howe moves from 02:00 to 02:30 on 2026-10-04. */
	assert_elapses("*-*-* 02:15 Australia/Lord_Howe", "2026-10-03 14:00:00",
	               "2026-10-04 15:15:00", NULL);
}

static void
test_schedule_half_hour_dst_overlap_fires_once(void **state)
{
	(void)state;
	require_zone("Australia/Lord_Howe");
	assert_elapses("*-*-* 01:45 Australia/Lord_Howe", "2026-04-04 14:00:00",
	               "2026-04-04 14:45:00", "2026-04-05 15:15:00", NULL);
}

static void
test_schedule_local_time_skips_nonexistent_time(void **state)
{
	(void)state;
	require_zone("Europe/Berlin");
	setenv("TZ", "Europe/Berlin", 1);
	assert_elapses("*-*-* 02:30", "2026-03-28 23:00:00", "2026-03-30 00:30:00", NULL);
	setenv("TZ", "UTC", 1);
}

static void
test_schedule_dst_pinned_by_abbreviation_moves_on_when_stuck(void **state)
{
	(void)state;
	require_zone("Europe/Berlin");
	setenv("TZ", "Europe/Berlin", 1);
	/* "CEST" pins daylight time; after the changeover systemd unpins it. */
	assert_oncalendar("*-*-* 02:30 CEST", "*-*-* 02:30:00 CEST");
	assert_elapses("*-*-* 02:30 CEST", "2026-10-24 22:00:00", "2026-10-25 00:30:00",
	               "2026-10-26 01:30:00", "never", NULL);
	setenv("TZ", "UTC", 1);
}

/* ---- cron ---- */

static void
test_schedule_cron_syntax_is_reported(void **state)
{
	(void)state;
	assert_syntax("0 1 * * 0", SCHEDULE_SYNTAX_CRON);
	assert_syntax("@daily", SCHEDULE_SYNTAX_CRON);
}

static void
test_schedule_cron_zero_is_sunday(void **state)
{
	(void)state;
	assert_oncalendar("0 1 * * 0", "Sun *-*-* 01:00:00");
}

static void
test_schedule_cron_seven_is_sunday(void **state)
{
	(void)state;
	assert_oncalendar("0 9 * * 7", "Sun *-*-* 09:00:00");
	assert_oncalendar("0 9 * * 5-7", "Fri..Sun *-*-* 09:00:00");
}

static void
test_schedule_cron_every_15_minutes(void **state)
{
	(void)state;
	assert_oncalendar("*/15 * * * *", "*-*-* *:00/15:00");
	assert_elapses("*/15 * * * *", "2026-01-07 10:07:00", "2026-01-07 10:15:00",
	               "2026-01-07 10:30:00", NULL);
}

static void
test_schedule_cron_accepts_names(void **state)
{
	(void)state;
	assert_oncalendar("0 12 * jan-mar mon-fri", "Mon..Fri *-01..03-* 12:00:00");
	assert_oncalendar("0 12 * JAN,Jul SUN", "Sun *-01,07-* 12:00:00");
}

static void
test_schedule_cron_at_weekly_is_sunday_unlike_weekly(void **state)
{
	(void)state;
	assert_oncalendar("@weekly", "Sun *-*-* 00:00:00");
	assert_oncalendar("weekly", "Mon *-*-* 00:00:00");
	assert_elapses("@weekly", "2026-01-07 12:00:00", "2026-01-11 00:00:00", NULL);
	assert_elapses("weekly", "2026-01-07 12:00:00", "2026-01-12 00:00:00", NULL);
}

static void
test_schedule_cron_nicknames(void **state)
{
	(void)state;
	assert_oncalendar("@hourly", "*-*-* *:00:00");
	assert_oncalendar("@daily", "*-*-* 00:00:00");
	assert_oncalendar("@midnight", "*-*-* 00:00:00");
	assert_oncalendar("@monthly", "*-*-01 00:00:00");
	assert_oncalendar("@yearly", "*-01-01 00:00:00");
	assert_oncalendar("@annually", "*-01-01 00:00:00");
}

static void
test_schedule_cron_both_day_fields_need_two_lines(void **state)
{
	(void)state;
	assert_oncalendar("0 0 13 * 5", "*-*-13 00:00:00\nFri *-*-* 00:00:00");
}

static void
test_schedule_cron_both_day_fields_match_either(void **state)
{
	(void)state;
	/* Fridays and the 13th: Feb 13 2026 is both and runs once. */
	assert_elapses("0 0 13 * 5", "2026-02-01 00:00:00", "2026-02-06 00:00:00",
	               "2026-02-13 00:00:00", "2026-02-20 00:00:00", "2026-02-27 00:00:00",
	               "2026-03-06 00:00:00", "2026-03-13 00:00:00", NULL);
}

static void
test_schedule_cron_star_step_day_keeps_both_restrictions(void **state)
{
	(void)state;
	/* A day field starting with '*' counts as unrestricted (Vixie cron). */
	assert_oncalendar("0 0 */2 * 1", "Mon *-*-01/2 00:00:00");
}

static void
test_schedule_cron_keeps_time_zone(void **state)
{
	(void)state;
	require_zone("Europe/Berlin");
	assert_oncalendar("0 2 * * * Europe/Berlin", "*-*-* 02:00:00 Europe/Berlin");
	assert_oncalendar("@daily Europe/Berlin", "*-*-* 00:00:00 Europe/Berlin");
}

static void
test_schedule_cron_rejects_minute_60(void **state)
{
	(void)state;
	assert_parse_error("60 * * * *", "60: minute must be 0-59");
}

static void
test_schedule_cron_rejects_unknown_weekday_name(void **state)
{
	(void)state;
	assert_parse_error("0 0 * * foo", "foo: unknown weekday");
	assert_parse_error("0 0 * foo *", "foo: unknown month");
}

static void
test_schedule_cron_rejects_zero_step(void **state)
{
	(void)state;
	assert_parse_error("*/0 * * * *", "*/0: step must be at least 1");
}

static void
test_schedule_cron_rejects_backward_range(void **state)
{
	(void)state;
	assert_parse_error("0 5-1 * * *", "5-1: range must not run backwards");
}

static void
test_schedule_cron_rejects_wrong_field_count(void **state)
{
	(void)state;
	assert_parse_error(
	    "0 1 * * * *",
	    "0 1 * * * *: expected 5 cron fields (minute hour day month weekday), got 6");
	assert_parse_error(
	    "0 1 * *", "0 1 * *: expected 5 cron fields (minute hour day month weekday), got 4");
}

static void
test_schedule_cron_rejects_reboot(void **state)
{
	(void)state;
	assert_parse_error("@reboot", "@reboot: runs at boot, not on a schedule");
}

/* An independent reading of cron: test every minute.  Fields hold
 * numbers, '*', ranges, steps and lists only. */
static int
cron_item_match(const char *item, int value, int lo, int hi)
{
	const char *slash = strchr(item, '/');
	int a, b, step = slash != NULL ? (int)strtol(slash + 1, NULL, 10) : 1;

	if (item[0] == '*') {
		a = lo;
		b = hi;
	} else if (sscanf(item, "%d-%d", &a, &b) != 2) {
		a = (int)strtol(item, NULL, 10);
		b = slash != NULL ? hi : a;
	}
	for (int v = a; v <= b; v += step) {
		if (v == value || (hi == 7 && v == 7 && value == 0))
			return 1;
	}
	return 0;
}

static int
cron_field_match(const char *field, int value, int lo, int hi)
{
	const char *p = field;

	for (;;) {
		char item[32];
		size_t n = strcspn(p, ",");

		snprintf(item, sizeof(item), "%.*s", (int)n, p);
		if (cron_item_match(item, value, lo, hi))
			return 1;
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

static int
cron_minute_matches(char f[5][32], const struct tm *tm)
{
	int dom = cron_field_match(f[2], tm->tm_mday, 1, 31);
	int dow = cron_field_match(f[4], tm->tm_wday, 0, 7);
	int day = (f[2][0] == '*' || f[4][0] == '*') ? dom && dow : dom || dow;

	return cron_field_match(f[0], tm->tm_min, 0, 59) &&
	       cron_field_match(f[1], tm->tm_hour, 0, 23) &&
	       cron_field_match(f[3], tm->tm_mon + 1, 1, 12) && day;
}

static time_t
cron_scan(const char *expr, time_t after)
{
	char f[5][32];
	struct tm tm;
	time_t t;

	assert_int_equal(sscanf(expr, "%31s %31s %31s %31s %31s", f[0], f[1], f[2], f[3], f[4]), 5);
	for (t = after - after % 60 + 60; t < after + 400 * 86400; t += 60) {
		gmtime_r(&t, &tm);
		if (cron_minute_matches(f, &tm))
			return t;
	}
	return -1;
}

static void
test_schedule_cron_agrees_with_minute_by_minute_scan(void **state)
{
	static const char *const exprs[] = {
	    "0 1 * * 0",   "*/15 * * * *",  "0 0 13 * 5",     "30 4 1,15 * 5", "0 0 */2 * 1",
	    "0 0 1 * */2", "5 */4 * * *",   "0 9-17 * * 1-5", "0 22 * * 1-5",  "0 0 29 2 *",
	    "0 9 * * 5-7", "1-5/2 * * * *", "0 0,12 1 */2 *", "0 12 31 * 1",   "45 23 * 12 *",
	};
	time_t after = (time_t)(utc_usec("2026-01-30 12:34:00") / 1000000);

	(void)state;
	for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		struct schedule *s = parse_ok(exprs[i]);
		time_t t = after;

		for (int k = 0; k < 8; k++) {
			time_t want = cron_scan(exprs[i], t);
			int64_t next;

			if (want < 0)
				break;
			assert_int_equal(schedule_next(s, (int64_t)t * 1000000, &next), 0);
			if (next != (int64_t)want * 1000000)
				fail_msg("%s after %lld: scan says %lld, schedule_next %lld",
				         exprs[i], (long long)t, (long long)want,
				         (long long)(next / 1000000));
			t = want;
		}
		schedule_free(s);
	}
}

/* ---- whether a schedule stops elapsing ---- */

static const char *const end_words[SCHEDULE_END__LAST] = {
    [SCHEDULE_ENDLESS] = "endless", [SCHEDULE_ENDS] = "ends", [SCHEDULE_ENDED] = "ended"};

/* schedule_find_end of EXPR after AFTER must say WANT, and for "ends" the
 * last elapse must be LAST (UTC). */
static void
assert_end(const char *expr, const char *after, enum schedule_end want, const char *last)
{
	struct schedule *s = parse_ok(expr);
	int64_t last_usec = 0;
	enum schedule_end got = schedule_find_end(s, utc_usec(after), &last_usec);
	char got_last[64] = "";

	if (got == SCHEDULE_ENDS)
		format_utc(last_usec, got_last, sizeof(got_last));
	if (got != want || (want == SCHEDULE_ENDS && strcmp(got_last, last) != 0))
		fail_msg("\"%s\" after %s: expected %s%s%s, got %s%s%s", expr, after,
		         end_words[want], last ? " at " : "", last ? last : "", end_words[got],
		         got_last[0] ? " at " : "", got_last);
	schedule_free(s);
}

static void
test_schedule_end_of_an_impossible_date_is_now(void **state)
{
	(void)state;
	assert_end("*-02-30", "2026-12-06 10:00:00", SCHEDULE_ENDED, NULL);
	assert_end("2100-02-29", "2026-12-06 10:00:00", SCHEDULE_ENDED, NULL);
	assert_end("0 0 30 2 *", "2026-12-06 10:00:00", SCHEDULE_ENDED, NULL);
}

static void
test_schedule_end_of_a_past_date_is_now(void **state)
{
	(void)state;
	assert_end("2024-01-01 00:00 UTC", "2026-12-06 10:00:00", SCHEDULE_ENDED, NULL);
}

/* systemd 252's search loops on this one in a zone with DST once past
 * November 25th, and so does ours: a chain of elapses started before
 * March ends with the year; started after November 25th, it never elapses. */
static void
test_schedule_end_of_a_chain_that_breaks_in_a_dst_zone(void **state)
{
	(void)state;
	require_zone("Europe/Berlin");
	assert_end("*-03/8-25 Europe/Berlin", "2020-01-01 00:00:00", SCHEDULE_ENDS,
	           "2020-11-24 23:00:00");
	assert_end("*-03/8-25 Europe/Berlin", "2026-12-06 10:00:00", SCHEDULE_ENDED, NULL);
	setenv("TZ", "Europe/Berlin", 1);
	assert_end("*-03/8-25", "2027-01-01 00:00:00", SCHEDULE_ENDS, "2027-11-24 23:00:00");
	setenv("TZ", "UTC", 1);
	assert_end("*-03/8-25", "2027-01-01 00:00:00", SCHEDULE_ENDLESS, NULL);
}

static void
test_schedule_end_of_a_year_range_is_its_last_elapse(void **state)
{
	(void)state;
	assert_end("2025..2030-*-01 06:00 UTC", "2026-12-06 10:00:00", SCHEDULE_ENDS,
	           "2030-12-01 06:00:00");
	assert_end("2030-07-01", "2026-12-06 10:00:00", SCHEDULE_ENDS, "2030-07-01 00:00:00");
}

/* Too many elapses to follow one by one: the last is found by halving. */
static void
test_schedule_end_of_a_frequent_schedule_is_found_without_a_walk(void **state)
{
	(void)state;
	assert_end("2027-*-* *:*:00 UTC", "2026-12-06 10:00:00", SCHEDULE_ENDS,
	           "2027-12-31 23:59:00");
}

static void
test_schedule_end_of_usual_schedules_never_comes(void **state)
{
	(void)state;
	assert_end("daily", "2026-12-06 10:00:00", SCHEDULE_ENDLESS, NULL);
	assert_end("*:*:*", "2026-12-06 10:00:00", SCHEDULE_ENDLESS, NULL);
	assert_end("0 3 * * 0", "2026-12-06 10:00:00", SCHEDULE_ENDLESS, NULL);
	assert_end("*-02-29 03:00", "2026-12-06 10:00:00", SCHEDULE_ENDLESS, NULL);
	/* 29 February on a Monday: 2044, 2072, then 2112 (2100 is no leap year). */
	assert_end("Mon *-02-29", "2026-12-06 10:00:00", SCHEDULE_ENDLESS, NULL);
}

static void
test_schedule_free_accepts_null(void **state)
{
	(void)state;
	schedule_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schedule_daily_shorthand_means_midnight),
	    cmocka_unit_test(test_schedule_weekly_shorthand_means_monday),
	    cmocka_unit_test(test_schedule_quarterly_shorthand_runs_on_quarter_starts),
	    cmocka_unit_test(test_schedule_semiannually_shorthand_runs_january_and_july),
	    cmocka_unit_test(test_schedule_shorthand_other_meanings),
	    cmocka_unit_test(test_schedule_shorthand_ignores_case),
	    cmocka_unit_test(test_schedule_shorthand_keeps_time_zone),
	    cmocka_unit_test(test_schedule_calendar_syntax_is_reported),
	    cmocka_unit_test(test_schedule_normalizes_weekday_lists_into_ranges),
	    cmocka_unit_test(test_schedule_normalizes_lists_sorted_and_unique),
	    cmocka_unit_test(test_schedule_widens_two_digit_years),
	    cmocka_unit_test(test_schedule_trims_range_to_its_last_step),
	    cmocka_unit_test(test_schedule_time_only_means_every_day),
	    cmocka_unit_test(test_schedule_keeps_fractional_seconds),
	    cmocka_unit_test(test_schedule_utc_suffix_is_normalized),
	    cmocka_unit_test(test_schedule_rejects_hour_25),
	    cmocka_unit_test(test_schedule_rejects_unknown_weekday),
	    cmocka_unit_test(test_schedule_rejects_weekday_name_with_extra_letters),
	    cmocka_unit_test(test_schedule_rejects_month_13),
	    cmocka_unit_test(test_schedule_rejects_day_32),
	    cmocka_unit_test(test_schedule_rejects_second_60),
	    cmocka_unit_test(test_schedule_rejects_year_before_1970),
	    cmocka_unit_test(test_schedule_rejects_backward_weekday_range),
	    cmocka_unit_test(test_schedule_rejects_open_weekday_range),
	    cmocka_unit_test(test_schedule_rejects_backward_hour_range),
	    cmocka_unit_test(test_schedule_rejects_step_that_never_repeats),
	    cmocka_unit_test(test_schedule_rejects_zero_step),
	    cmocka_unit_test(test_schedule_rejects_day_29_from_month_end),
	    cmocka_unit_test(test_schedule_rejects_unknown_time_zone),
	    cmocka_unit_test(test_schedule_rejects_hour_without_minutes),
	    cmocka_unit_test(test_schedule_rejects_star_with_step),
	    cmocka_unit_test(test_schedule_rejects_trailing_garbage),
	    cmocka_unit_test(test_schedule_rejects_empty_expression),
	    cmocka_unit_test(test_schedule_rejects_blanks_around_or_tabs_inside),
	    cmocka_unit_test(test_schedule_error_is_truncated_to_its_buffer),
	    cmocka_unit_test(test_schedule_next_is_strictly_after_base),
	    cmocka_unit_test(test_schedule_skips_months_without_day_31),
	    cmocka_unit_test(test_schedule_runs_february_29_only_in_leap_years),
	    cmocka_unit_test(test_schedule_skips_february_29_in_century_years),
	    cmocka_unit_test(test_schedule_tilde_one_is_last_day_of_month),
	    cmocka_unit_test(test_schedule_tilde_three_is_third_last_day),
	    cmocka_unit_test(test_schedule_finds_last_monday_of_may),
	    cmocka_unit_test(test_schedule_steps_through_minutes),
	    cmocka_unit_test(test_schedule_steps_through_hour_range),
	    cmocka_unit_test(test_schedule_weekday_filter_applies_to_dates),
	    cmocka_unit_test(test_schedule_weekday_range_skips_weekend),
	    cmocka_unit_test(test_schedule_fractional_second_keeps_microseconds),
	    cmocka_unit_test(test_schedule_past_date_never_elapses),
	    cmocka_unit_test(test_schedule_impossible_date_never_elapses),
	    cmocka_unit_test(test_schedule_epoch_timestamp_is_one_shot),
	    cmocka_unit_test(test_schedule_next_rejects_negative_base),
	    cmocka_unit_test(test_schedule_local_time_follows_tz),
	    cmocka_unit_test(test_schedule_utc_suffix_overrides_local_time),
	    cmocka_unit_test(test_schedule_zone_overrides_local_time),
	    cmocka_unit_test(test_schedule_skips_nonexistent_local_time),
	    cmocka_unit_test(test_schedule_skips_nonexistent_yearly_date),
	    cmocka_unit_test(test_schedule_gap_moves_on_to_next_listed_hour),
	    cmocka_unit_test(test_schedule_hourly_skips_missing_hour),
	    cmocka_unit_test(test_schedule_fires_repeated_local_time_once),
	    cmocka_unit_test(test_schedule_repeated_local_time_reached_inside_overlap_fires),
	    cmocka_unit_test(test_schedule_new_york_fall_back_fires_once),
	    cmocka_unit_test(test_schedule_new_york_spring_gap_skips_the_day),
	    cmocka_unit_test(test_schedule_half_hour_dst_gap_is_skipped),
	    cmocka_unit_test(test_schedule_half_hour_dst_overlap_fires_once),
	    cmocka_unit_test(test_schedule_local_time_skips_nonexistent_time),
	    cmocka_unit_test(test_schedule_dst_pinned_by_abbreviation_moves_on_when_stuck),
	    cmocka_unit_test(test_schedule_cron_syntax_is_reported),
	    cmocka_unit_test(test_schedule_cron_zero_is_sunday),
	    cmocka_unit_test(test_schedule_cron_seven_is_sunday),
	    cmocka_unit_test(test_schedule_cron_every_15_minutes),
	    cmocka_unit_test(test_schedule_cron_accepts_names),
	    cmocka_unit_test(test_schedule_cron_at_weekly_is_sunday_unlike_weekly),
	    cmocka_unit_test(test_schedule_cron_nicknames),
	    cmocka_unit_test(test_schedule_cron_both_day_fields_need_two_lines),
	    cmocka_unit_test(test_schedule_cron_both_day_fields_match_either),
	    cmocka_unit_test(test_schedule_cron_star_step_day_keeps_both_restrictions),
	    cmocka_unit_test(test_schedule_cron_keeps_time_zone),
	    cmocka_unit_test(test_schedule_cron_rejects_minute_60),
	    cmocka_unit_test(test_schedule_cron_rejects_unknown_weekday_name),
	    cmocka_unit_test(test_schedule_cron_rejects_zero_step),
	    cmocka_unit_test(test_schedule_cron_rejects_backward_range),
	    cmocka_unit_test(test_schedule_cron_rejects_wrong_field_count),
	    cmocka_unit_test(test_schedule_cron_rejects_reboot),
	    cmocka_unit_test(test_schedule_cron_agrees_with_minute_by_minute_scan),
	    cmocka_unit_test(test_schedule_end_of_an_impossible_date_is_now),
	    cmocka_unit_test(test_schedule_end_of_a_past_date_is_now),
	    cmocka_unit_test(test_schedule_end_of_a_chain_that_breaks_in_a_dst_zone),
	    cmocka_unit_test(test_schedule_end_of_a_year_range_is_its_last_elapse),
	    cmocka_unit_test(test_schedule_end_of_a_frequent_schedule_is_found_without_a_walk),
	    cmocka_unit_test(test_schedule_end_of_usual_schedules_never_comes),
	    cmocka_unit_test(test_schedule_free_accepts_null),
	};

	return cmocka_run_group_tests_name("schedule", tests, setup_utc, teardown_all);
}
