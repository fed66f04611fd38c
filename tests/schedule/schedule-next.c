/*
 * schedule-next.c — print the next elapses of schedule expressions, for
 * comparing caretaker's schedule module with systemd-analyze calendar.
 *
 * Usage: schedule-next [-n ITERATIONS] [-b BASE_EPOCH_SECONDS] [-u] EXPR...
 *
 * For each EXPR prints a block:
 *   expr: <as given>
 *   syntax: calendar|shorthand|cron
 *   oncalendar: <one line per OnCalendar= expression>
 *   next: Fri 2026-11-27 00:00:00 UTC      (ITERATIONS lines, "never" when none)
 * or "error: <message>".  Blocks end with an empty line.  Times are UTC,
 * formatted like systemd-analyze (seconds; -u adds microseconds).
 * Exits 0 when every expression parsed, 1 otherwise, 2 on usage errors.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "schedule.h"

struct options {
	long iterations;
	int64_t base_usec;
	int is_usec_shown;
};

static void
print_elapse(int64_t usec, int is_usec_shown)
{
	time_t sec = (time_t)(usec / 1000000);
	struct tm tm;
	char buf[64];

	gmtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%a %Y-%m-%d %H:%M:%S", &tm);
	if (is_usec_shown)
		printf("next: %s.%06lld UTC\n", buf, (long long)(usec % 1000000));
	else
		printf("next: %s UTC\n", buf);
}

static void
print_oncalendar(const char *text)
{
	const char *nl;

	while ((nl = strchr(text, '\n')) != NULL) {
		printf("oncalendar: %.*s\n", (int)(nl - text), text);
		text = nl + 1;
	}
	printf("oncalendar: %s\n", text);
}

static int
show_one(const char *expr, const struct options *o)
{
	struct schedule *s = NULL;
	char err[256];
	int64_t t = o->base_usec, next;
	int rc;

	printf("expr: %s\n", expr);
	rc = schedule_parse(expr, &s, err, sizeof(err));
	if (rc != 0) {
		printf("error: %s\n\n", err);
		return 1;
	}
	printf("syntax: %s\n", schedule_syntax_name(schedule_syntax(s)));
	print_oncalendar(schedule_to_oncalendar(s));
	for (long i = 0; i < o->iterations; i++) {
		rc = schedule_next(s, t, &next);
		if (rc != 0) {
			if (i == 0)
				printf("next: never\n");
			break;
		}
		print_elapse(next, o->is_usec_shown);
		t = next;
	}
	printf("\n");
	schedule_free(s);
	return 0;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	char *end;
	int opt;

	o->iterations = 1;
	o->base_usec = (int64_t)time(NULL) * 1000000;
	o->is_usec_shown = 0;
	while ((opt = getopt(argc, argv, "n:b:u")) != -1) {
		if (opt == 'n') {
			o->iterations = strtol(optarg, &end, 10);
			if (*end != '\0' || o->iterations < 1)
				return -1;
		} else if (opt == 'b') {
			o->base_usec = strtoll(optarg, &end, 10) * 1000000;
			if (*end != '\0')
				return -1;
		} else if (opt == 'u') {
			o->is_usec_shown = 1;
		} else {
			return -1;
		}
	}
	return optind < argc ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct options o;
	int status = 0;

	if (parse_options(argc, argv, &o) != 0) {
		fprintf(
		    stderr,
		    "usage: schedule-next [-n ITERATIONS] [-b BASE_EPOCH_SECONDS] [-u] EXPR...\n");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		if (show_one(argv[i], &o) != 0)
			status = 1;
	}
	schedule_cache_free();
	return status;
}
