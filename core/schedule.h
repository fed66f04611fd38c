/*
 * schedule.h — when a job runs.
 *
 * A job's "schedule =" may be written three ways:
 *
 *   - a systemd calendar expression, as OnCalendar= takes it
 *     (systemd.time(7)): "Mon..Fri *-*-* 02:00", "*:0/15", "*-02~03",
 *     "2025-*-01 06:30:00 Europe/Berlin";
 *   - a systemd shorthand: minutely hourly daily weekly monthly quarterly
 *     semiannually yearly annually, with systemd's meanings (weekly is
 *     Monday 00:00, quarterly is Jan/Apr/Jul/Oct 1st 00:00);
 *   - a 5-field cron expression ("0 1 * * 0", "0-59/15 * * * *", names
 *     such as "sun" and "jan") or an @nickname (@hourly @daily @midnight @weekly
 *     @monthly @yearly @annually), with cron's meanings (@weekly is Sunday
 *     00:00), optionally followed by a time zone.
 *
 * Without a zone an expression is evaluated in the process's local time
 * ($TZ, else /etc/localtime); a trailing "UTC" or zone name such as
 * "Europe/Berlin" selects that zone.  Elapses are computed exactly as
 * systemd 252 computes them for a .timer unit, daylight saving time
 * included: a local time that a DST change skips does not elapse that day
 * (the search moves on to the next matching time after the gap), and a
 * local time that occurs twice elapses once, at its first occurrence when
 * the search reaches it from before.  Cron expressions get the same
 * treatment (they are translated to calendar expressions first), not Vixie
 * cron's DST catch-up.
 *
 * Not thread-safe: time zone data is cached process-wide.
 */
#ifndef CARETAKER_SCHEDULE_H
#define CARETAKER_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

/* A parsed schedule expression; opaque. */
struct schedule;

enum schedule_syntax {
	SCHEDULE_SYNTAX_CALENDAR,  /* systemd calendar expression */
	SCHEDULE_SYNTAX_SHORTHAND, /* daily, weekly, ... */
	SCHEDULE_SYNTAX_CRON,      /* 5-field cron or @nickname */
	SCHEDULE_SYNTAX__LAST      /* never use */
};

/* Parse EXPR (not NULL; surrounding blanks are the caller's to trim, as
 * systemd refuses them).  On success *out is a new schedule the caller
 * frees with schedule_free().  On failure returns CT_EINVAL, leaves *out
 * alone and writes a one-line lowercase reason naming the offending part
 * into err (size err_size, truncated to fit; err may be NULL), e.g.
 * "25:00: hour must be 0-23", "foo: unknown weekday",
 * "*-13-01: month must be 1-12". */
int schedule_parse(const char *expr, struct schedule **out, char *err, size_t err_size);

/* Free S; accepts NULL. */
void schedule_free(struct schedule *s);

/* First elapse strictly after AFTER_USEC (microseconds since the epoch,
 * UTC) into *next_usec.  Returns 0; CT_ENOENT when the schedule never
 * elapses again (e.g. a date in the past, "*-02-30"); CT_EINVAL when
 * AFTER_USEC is negative or beyond year 9999.  *next_usec is set on
 * success only. */
int schedule_next(const struct schedule *s, int64_t after_usec, int64_t *next_usec);

/* Whether a schedule goes on elapsing (schedule_find_end). */
enum schedule_end {
	SCHEDULE_ENDLESS,  /* it elapses for as long as the search looks */
	SCHEDULE_ENDS,     /* it elapses a bounded number of times, then never */
	SCHEDULE_ENDED,    /* it never elapses again */
	SCHEDULE_END__LAST /* never use */
};

/* Does S stop elapsing after AFTER_USEC?  Follows its elapses one from the
 * other, as `run --due` and a timer do, with schedule_next(): a chain of
 * elapses can break where a search from another time would not (systemd
 * 252's search loops on some expressions in zones with DST, and so does
 * ours).  Then it asks whether S elapses after the year 2150 at all;
 * nearly every schedule does (the search gives up after 2199, as
 * systemd's does, and an endless schedule's longest gap is a weekday on
 * 29 February, 40 years).  On SCHEDULE_ENDS, *last_usec is the last
 * elapse.  An AFTER_USEC schedule_next() refuses counts as endless. */
enum schedule_end schedule_find_end(const struct schedule *s, int64_t after_usec,
                                    int64_t *last_usec);

/* The schedule as systemd OnCalendar= text in systemd's normalized form,
 * zone kept: "daily" gives "*-*-* 00:00:00", "0 1 * * 0" gives
 * "Sun *-*-* 01:00:00".  A cron expression that restricts both day of
 * month and day of week runs when either matches, which needs two
 * OnCalendar= lines: the result then holds two expressions separated by
 * one newline, e.g. "0 0 13 * 5" gives
 * "*-*-13 00:00:00\nFri *-*-* 00:00:00"; write one OnCalendar= line per
 * expression.  Owned by S, valid until schedule_free(S). */
const char *schedule_to_oncalendar(const struct schedule *s);

/* Which syntax S was written in. */
enum schedule_syntax schedule_syntax(const struct schedule *s);

/* "calendar", "shorthand" or "cron"; static storage. */
const char *schedule_syntax_name(enum schedule_syntax syntax);

/* Release cached time zone data.  Call at exit, after every schedule has
 * been freed; later parses reload what they need. */
void schedule_cache_free(void);

#endif
