/*
 * calendar_next.c — when does a calendar expression elapse next?
 *
 * Owns the search of systemd 252's find_next(): starting from the local
 * time just after the base, settle year, month, day, weekday, hour, minute
 * and second in turn; each field either keeps its value, jumps to the next
 * matching one (zeroing the fields below), or rolls the field above over.
 * After every change the candidate goes through mktime(); a candidate that
 * normalizes to a later time (a local time skipped by a DST change, the
 * 31st of a short month) restarts the search from there, one that
 * normalizes to an earlier time rolls the field above over.
 *
 * A result that is not later than the local time the search started from
 * (possible when a zone abbreviation pins DST across a fall-back change)
 * counts as stuck: the search drops the DST pin and goes on an hour later.
 *
 * The mktime() calls are made in systemd's order on copies exactly where
 * systemd makes them: their answers for skipped and repeated local times
 * depend on the offset glibc remembers from the previous call (tzfile.c),
 * and matching systemd on DST days needs the same sequence.
 *
 * Does not own: parsing (calendar.c), zone data (tzfile.c).
 */
#include "autoconf.h"

#include "calendar.h"
#include "caretaker/errors.h"
#include "tzfile.h"

#define USEC_PER_SEC 1000000
#define CAL_BITS_WEEKDAYS 127
#define CAL_MAX_YEAR 2199
/* systemd gives up after this many rounds rather than loop forever. */
#define CAL_MAX_ITERATIONS 1000
/* The last instant systemd can format ("9999-12-30 23:59:59 UTC"). */
#define CAL_USEC_MAX INT64_C(253402214399000000)

enum cal_step {
	CAL_STEP_NEXT,    /* field settled, go on to the next one */
	CAL_STEP_RESTART, /* candidate moved, start over from the year */
	CAL_STEP_NONE,    /* no elapse ever */
};

struct cal_search {
	const struct calendar_spec *spec;
	const struct tzfile_zone *zone;
	int64_t guess;          /* glibc's mktime offset hint, see tzfile.h */
	struct tzfile_tm c;     /* the candidate */
	int usec;               /* its microseconds */
	struct tzfile_tm start; /* local time the search started from */
	int start_usec;
	bool is_dst_unpinned; /* stuck once: let mktime() decide DST */
};

/* mktime_or_timegm(): a negative result counts as failure, as in systemd. */
static int
cal_mktime(struct cal_search *s, struct tzfile_tm *tm)
{
	int64_t t;
	int rc;

	rc = tzfile_mktime(s->zone, tm, &s->guess, &t);
	if (rc != 0 || t < 0)
		return CT_EINVAL;
	return 0;
}

static int *
cal_field_ptr(struct tzfile_tm *tm, enum calendar_field f)
{
	switch (f) {
	case CALENDAR_YEAR:
		return &tm->year;
	case CALENDAR_MONTH:
		return &tm->mon;
	case CALENDAR_DAY:
		return &tm->mday;
	case CALENDAR_HOUR:
		return &tm->hour;
	case CALENDAR_MINUTE:
		return &tm->min;
	default:
		return &tm->sec;
	}
}

/* Set every field below F to its lowest value. */
static void
cal_reset_below(struct cal_search *s, enum calendar_field f)
{
	if (f < CALENDAR_MONTH)
		s->c.mon = 0;
	if (f < CALENDAR_DAY)
		s->c.mday = 1;
	if (f < CALENDAR_HOUR)
		s->c.hour = 0;
	if (f < CALENDAR_MINUTE)
		s->c.min = 0;
	s->c.sec = 0;
	s->usec = 0;
}

/* Day of the month that is DAY days back from the end of TM's month
 * (1 = the last day), or -1. */
static int
cal_end_of_month(struct cal_search *s, const struct tzfile_tm *tm, int day)
{
	struct tzfile_tm t = *tm;

	t.mon++;
	t.mday = 1 - day;
	if (cal_mktime(s, &t) != 0 || t.mon != tm->mon)
		return -1;
	return t.mday;
}

/* Bounds of component C, resolved against the month for "~" days. */
static void
cal_component_bounds(struct cal_search *s, enum calendar_field f,
                     const struct calendar_component *c, int *start, int *stop)
{
	*start = c->start;
	*stop = c->stop;
	if (f != CALENDAR_DAY || !s->spec->end_of_month)
		return;
	*start = cal_end_of_month(s, &s->c, c->start);
	*stop = cal_end_of_month(s, &s->c, c->stop);
	if (*stop > 0) {
		int tmp = *start;

		*start = *stop;
		*stop = tmp;
	}
}

/* Earliest value >= *val that field F's chain allows.  Returns 1 when *val
 * changed, 0 when it already matched, CT_ENOENT when nothing matches. */
static int
cal_match(struct cal_search *s, enum calendar_field f, int *val)
{
	const struct calendar_chain *ch = &s->spec->chain[f];
	int best = -1, start, stop, k;
	bool is_found = false;

	if (ch->n == 0)
		return 0;
	for (size_t i = 0; i < ch->n; i++) {
		cal_component_bounds(s, f, &ch->items[i], &start, &stop);
		if (start >= *val) {
			k = start;
		} else if (ch->items[i].repeat > 0) {
			int r = ch->items[i].repeat;

			k = start + r * ((*val - start + r - 1) / r);
			if (stop >= 0 && k > stop)
				continue;
		} else {
			continue;
		}
		if (!is_found || k < best)
			best = k;
		is_found = true;
	}
	if (!is_found)
		return CT_ENOENT;
	k = *val != best;
	*val = best;
	return k;
}

/* Does mktime() leave the candidate as it is?  1 yes; 0 it moved it
 * forward, and the candidate now is the moved time with the field below
 * the first changed one zeroed; negative when it moved it backward or
 * failed. */
static int
cal_within_bounds(struct cal_search *s)
{
	struct tzfile_tm t;
	struct tzfile_tm *c = &s->c;
	int cmp;

	if (c->year > CAL_MAX_YEAR)
		return CT_EINVAL;
	t = *c;
	if (cal_mktime(s, &t) != 0)
		return CT_EINVAL;
	if ((cmp = (t.year > c->year) - (t.year < c->year)) != 0)
		t.mon = 0;
	else if ((cmp = (t.mon > c->mon) - (t.mon < c->mon)) != 0)
		t.mday = 1;
	else if ((cmp = (t.mday > c->mday) - (t.mday < c->mday)) != 0)
		t.hour = 0;
	else if ((cmp = (t.hour > c->hour) - (t.hour < c->hour)) != 0)
		t.min = 0;
	else if ((cmp = (t.min > c->min) - (t.min < c->min)) != 0)
		t.sec = 0;
	else
		cmp = (t.sec > c->sec) - (t.sec < c->sec);
	if (cmp < 0)
		return CT_EINVAL;
	if (cmp > 0)
		*c = t;
	return cmp == 0;
}

static bool
cal_matches_weekday(struct cal_search *s)
{
	int bits = s->spec->weekdays_bits;
	struct tzfile_tm t = s->c;

	if (bits < 0 || bits >= CAL_BITS_WEEKDAYS)
		return true;
	if (cal_mktime(s, &t) != 0)
		return false;
	return (bits & (1 << (t.wday == 0 ? 6 : t.wday - 1))) != 0;
}

static enum cal_step
cal_step_year(struct cal_search *s)
{
	int r = cal_match(s, CALENDAR_YEAR, &s->c.year);

	if (r > 0)
		cal_reset_below(s, CALENDAR_YEAR);
	if (r < 0 || cal_within_bounds(s) <= 0)
		return CAL_STEP_NONE;
	return CAL_STEP_NEXT;
}

/* Month, day, hour or minute.  The month is 1-based in expressions and
 * 0-based in the candidate. */
static enum cal_step
cal_step_field(struct cal_search *s, enum calendar_field f)
{
	int *val = cal_field_ptr(&s->c, f);
	int shift = f == CALENDAR_MONTH ? 1 : 0;
	int r;

	*val += shift;
	r = cal_match(s, f, val);
	*val -= shift;
	if (r > 0)
		cal_reset_below(s, f);
	if (r >= 0)
		r = cal_within_bounds(s);
	if (r < 0) {
		(*cal_field_ptr(&s->c, f - 1))++;
		cal_reset_below(s, f - 1);
	}
	return r > 0 ? CAL_STEP_NEXT : CAL_STEP_RESTART;
}

static enum cal_step
cal_step_weekday(struct cal_search *s)
{
	if (cal_matches_weekday(s))
		return CAL_STEP_NEXT;
	s->c.mday++;
	cal_reset_below(s, CALENDAR_DAY);
	return CAL_STEP_RESTART;
}

/* Seconds and microseconds are matched as one number. */
static enum cal_step
cal_step_usec(struct cal_search *s)
{
	int r;

	s->c.sec = s->c.sec * USEC_PER_SEC + s->usec;
	r = cal_match(s, CALENDAR_USEC, &s->c.sec);
	s->usec = s->c.sec % USEC_PER_SEC;
	s->c.sec /= USEC_PER_SEC;
	if (r >= 0)
		r = cal_within_bounds(s);
	if (r < 0) {
		s->c.min++;
		s->c.sec = 0;
		s->usec = 0;
	}
	return r > 0 ? CAL_STEP_NEXT : CAL_STEP_RESTART;
}

static enum cal_step
cal_round(struct cal_search *s)
{
	static const enum calendar_field fields[] = {CALENDAR_MONTH, CALENDAR_DAY, CALENDAR_HOUR,
	                                             CALENDAR_MINUTE};
	enum cal_step st;

	/* Normalize the candidate; only the zone decides DST from here on,
	 * unless the expression pinned it with a zone abbreviation. */
	(void)cal_mktime(s, &s->c);
	if (!s->is_dst_unpinned)
		s->c.isdst = s->spec->dst;
	st = cal_step_year(s);
	for (size_t i = 0; i < 4 && st == CAL_STEP_NEXT; i++) {
		st = cal_step_field(s, fields[i]);
		if (st == CAL_STEP_NEXT && fields[i] == CALENDAR_DAY)
			st = cal_step_weekday(s);
	}
	if (st == CAL_STEP_NEXT)
		st = cal_step_usec(s);
	return st;
}

/* Is the candidate not after the start (fields, then microseconds)? */
static bool
cal_is_stuck(const struct cal_search *s)
{
	const struct tzfile_tm *a = &s->start, *b = &s->c;
	const int x[] = {a->year, a->mon, a->mday, a->hour, a->min, a->sec, s->start_usec};
	const int y[] = {b->year, b->mon, b->mday, b->hour, b->min, b->sec, s->usec + 1};

	for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++) {
		if (x[i] != y[i])
			return x[i] > y[i];
	}
	return true;
}

int
calendar_spec_next(const struct calendar_spec *spec, int64_t after_usec, int64_t *next_usec)
{
	struct cal_search s = {.spec = spec};
	int64_t base, t;

	if (after_usec < 0 || after_usec > CAL_USEC_MAX)
		return CT_EINVAL;
	s.zone = spec->utc            ? tzfile_zone_utc()
	         : spec->zone != NULL ? spec->zone
	                              : tzfile_zone_local();
	base = after_usec + 1;
	tzfile_localtime(s.zone, base / USEC_PER_SEC, &s.c);
	s.usec = (int)(base % USEC_PER_SEC);
	s.start = s.c;
	s.start_usec = s.usec;
	for (int i = 0; i < CAL_MAX_ITERATIONS; i++) {
		enum cal_step st = cal_round(&s);

		if (st == CAL_STEP_NONE)
			return CT_ENOENT;
		if (st != CAL_STEP_NEXT)
			continue;
		if (cal_is_stuck(&s)) {
			s.is_dst_unpinned = true;
			s.c.hour++;
			continue;
		}
		if (tzfile_mktime(s.zone, &s.c, &s.guess, &t) != 0 || t < 0)
			return CT_EINVAL;
		*next_usec = t * USEC_PER_SEC + s.usec;
		return 0;
	}
	return CT_ENOENT;
}
