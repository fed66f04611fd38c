/*
 * calendar.h — systemd calendar event expressions (systemd.time(7)),
 * internal to the schedule module.
 *
 * Owns: the parsed form of one OnCalendar= expression, its parser with
 * precise error messages (calendar.c), its normalized text, what
 * systemd-analyze shows as "Normalized form" (calendar_format.c), and the
 * next-elapse search (calendar_next.c).  The grammar, the normalization
 * and the search mirror systemd 252's calendarspec.c so that caretaker and
 * a systemd .timer unit agree on every elapse, DST cases included.
 *
 * Does not own: shorthand/cron dispatch (schedule.c, cron.c), time zone
 * data (tzfile.c).
 */
#ifndef CARETAKER_CALENDAR_H
#define CARETAKER_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tzfile_zone;

enum calendar_field {
	CALENDAR_YEAR,
	CALENDAR_MONTH,
	CALENDAR_DAY,
	CALENDAR_HOUR,
	CALENDAR_MINUTE,
	CALENDAR_USEC, /* seconds, in microseconds */
	CALENDAR_FIELD_COUNT
};

/* "start", "start..stop" (repeat 1) or "start[..stop]/repeat"; stop is -1
 * when open. */
struct calendar_component {
	int start;
	int stop;
	int repeat;
};

/* Comma list of components, sorted and unique; n == 0 means "*". */
struct calendar_chain {
	size_t n;
	struct calendar_component *items;
};

struct calendar_spec {
	int weekdays_bits; /* bit 0 = Monday .. bit 6 = Sunday; -1 = any day */
	bool end_of_month; /* day counts back from the month's end ("~") */
	bool utc;
	int dst;                        /* -1, or 0/1 when a local zone abbreviation was given */
	bool is_shorthand;              /* came from "daily", "weekly", ... */
	char *timezone;                 /* zone name, or NULL for local time / UTC */
	const struct tzfile_zone *zone; /* timezone resolved; borrowed from the cache */
	struct calendar_chain chain[CALENDAR_FIELD_COUNT];
};

/* Parse TEXT (one OnCalendar= value, shorthands included).  On success
 * *out is the caller's, freed with calendar_spec_free().  On failure
 * returns CT_EINVAL and writes "<part>: <reason>" into err (may be NULL). */
int calendar_spec_parse(const char *text, struct calendar_spec **out, char *err, size_t err_size);

void calendar_spec_free(struct calendar_spec *spec);

/* systemd's normalized form of SPEC, e.g. "Mon *-*-* 00:00:00", as a
 * malloc'd string the caller frees. */
char *calendar_spec_format(const struct calendar_spec *spec);

/* First elapse strictly after AFTER_USEC (UTC microseconds since the
 * epoch) into *next_usec.  Returns 0, CT_ENOENT when there is none,
 * CT_EINVAL when AFTER_USEC is out of range. */
int calendar_spec_next(const struct calendar_spec *spec, int64_t after_usec, int64_t *next_usec);

#endif
