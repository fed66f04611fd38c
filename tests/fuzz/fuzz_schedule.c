/*
 * fuzz_schedule.c — schedule expressions (core/schedule.c, calendar*.c,
 * cron.c): parse, compute a few next elapses, and format back.
 *
 * The input is a `schedule =` value.  When it parses, the OnCalendar= text
 * it formats to must parse again to the same text and elapse at the same
 * times (compare_walk says where systemd allows otherwise): that is what
 * `caretaker timers` writes into unit files.  Local
 * time is Europe/Berlin, so daylight saving changes are on the way; an
 * expression may still name any zone.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "schedule.h"

/* Elapses followed from each base time. */
#define FUZZ_ELAPSES 3

/* 2023-11-14 22:13:20 UTC; 2024-03-31 00:30 UTC, half an hour before
 * Berlin's clocks spring forward; 2024-10-27 00:30 UTC, before they fall
 * back; 2099-12-31 23:59:59 UTC, a century's last second. */
static const int64_t fuzz_bases_sec[] = {1700000000, 1711845000, 1729989000, 4102444799};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "Europe/Berlin", 1);
	return 0;
}

static void
fail(const char *expr, const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_schedule: '%s': %s: %s\n", expr, what, detail);
	abort();
}

/* The earliest next elapse over the lines of the OnCalendar= text. */
static int
next_of_lines(struct schedule **lines, size_t n, int64_t after, int64_t *next)
{
	int64_t best = 0, t;
	int is_found = 0;

	for (size_t i = 0; i < n; i++) {
		if (schedule_next(lines[i], after, &t) != 0)
			continue;
		if (!is_found || t < best)
			best = t;
		is_found = 1;
	}
	*next = best;
	return is_found ? 0 : -1;
}

/* Parse each line of the formatted text; it must format to itself. */
static size_t
reparse_lines(const char *expr, const char *text, struct schedule **lines, size_t max)
{
	char *copy = strdup(text), *line, *save = NULL;
	char err[256];
	size_t n = 0;

	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (n == max)
			fail(expr, "formats to too many lines", text);
		if (schedule_parse(line, &lines[n], err, sizeof(err)) != 0)
			fail(expr, "its OnCalendar= text does not parse", err);
		if (strcmp(schedule_to_oncalendar(lines[n]), line) != 0)
			fail(expr, "its OnCalendar= text formats differently",
			     schedule_to_oncalendar(lines[n]));
		n++;
	}
	free(copy);
	return n;
}

/*
 * Walk the expression and its OnCalendar= text side by side: they elapse at
 * the same times, with one exception systemd makes.  A seconds field holding
 * a whole-second step from 0 ("0/1") prints as "*", which drops its other,
 * fractional components ("*:*:1.3,0/1" prints as "*:*:*"); so the
 * expression may elapse inside a second where the text does not.
 */
static void
compare_walk(const char *expr, const struct schedule *s, struct schedule **lines, size_t n,
             int64_t base)
{
	int64_t t = base, next = 0, text_next = 0;

	for (int i = 0; i < FUZZ_ELAPSES; i++) {
		int rc = schedule_next(s, t, &next);
		int text_rc = next_of_lines(lines, n, t, &text_next);

		if (rc == 0 && next <= t)
			fail(expr, "the next elapse is not after the base",
			     schedule_to_oncalendar(s));
		if (rc == 0 && next % 1000000 != 0 && (text_rc != 0 || next < text_next)) {
			t = next;
			continue;
		}
		if ((rc == 0) != (text_rc == 0) || (rc == 0 && next != text_next))
			fail(expr, "its OnCalendar= text elapses at other times",
			     schedule_to_oncalendar(s));
		if (rc != 0)
			break;
		t = next;
	}
}

static void
compare_elapses(const char *expr, const struct schedule *s, struct schedule **lines, size_t n)
{
	for (size_t b = 0; b < sizeof(fuzz_bases_sec) / sizeof(fuzz_bases_sec[0]); b++)
		compare_walk(expr, s, lines, n, fuzz_bases_sec[b] * 1000000);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *expr = fuzz_strndup(data, size);
	struct schedule *s = NULL, *lines[4] = {NULL};
	char err[256];
	size_t n;

	if (schedule_parse(expr, &s, err, sizeof(err)) == 0) {
		schedule_syntax_name(schedule_syntax(s));
		n = reparse_lines(expr, schedule_to_oncalendar(s), lines, 4);
		compare_elapses(expr, s, lines, n);
		for (size_t i = 0; i < n; i++)
			schedule_free(lines[i]);
		schedule_free(s);
	} else if (err[0] == '\0') {
		fail(expr, "refused without a reason", "");
	}
	free(expr);
	return 0;
}
