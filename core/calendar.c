/*
 * calendar.c — parsing and checking systemd calendar expressions.
 *
 * Owns the grammar of systemd.time(7) as systemd 252 implements it:
 * "[WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [ZONE]" with lists,
 * "a..b" ranges, "/step" repetitions, "~" counting days back from the end
 * of the month, "@EPOCH" one-shots, the shorthands, and a trailing " UTC",
 * local zone abbreviation or zone name.  It accepts exactly what systemd
 * accepts and normalizes exactly as systemd does (sorted, de-duplicated
 * lists; steps trimmed to the last value they reach; two-digit years
 * widened), so that the normalized text is what systemd-analyze prints.  Unlike
 * systemd it says what is wrong: every error names the part of the
 * expression at fault.
 *
 * Does not own: the normalized text (calendar_format.c), the next-elapse
 * search (calendar_next.c), zone data (tzfile.c).
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "caretaker/errors.h"
#include "civil.h"
#include "tzfile.h"
#include "xmalloc.h"

#define USEC_PER_SEC 1000000
#define CAL_BITS_WEEKDAYS 127
/* systemd refuses chains of more than 241 comma-separated components. */
#define CAL_COMPONENTS_MAX 241

struct cal_field_info {
	const char *name;
	int from;
	int to;
};

static const struct cal_field_info field_info[CALENDAR_FIELD_COUNT] = {
    [CALENDAR_YEAR] = {"year", 1970, 2199}, [CALENDAR_MONTH] = {"month", 1, 12},
    [CALENDAR_DAY] = {"day", 1, 31},        [CALENDAR_HOUR] = {"hour", 0, 23},
    [CALENDAR_MINUTE] = {"minute", 0, 59},  [CALENDAR_USEC] = {"second", 0, 60 * USEC_PER_SEC - 1},
};

/* Longer names first: "Mon" is a prefix of "Monday". */
static const struct {
	const char *name;
	int nr;
} weekday_names[] = {
    {"Monday", 0},   {"Mon", 0},      {"Tuesday", 1}, {"Tue", 1},    {"Wednesday", 2},
    {"Wed", 2},      {"Thursday", 3}, {"Thu", 3},     {"Friday", 4}, {"Fri", 4},
    {"Saturday", 5}, {"Sat", 5},      {"Sunday", 6},  {"Sun", 6},
};

/* Each shorthand is parsed as the expression it stands for, so it goes
 * through the same normalization as anything typed out. */
static const struct {
	const char *name;
	const char *expansion;
} shorthands[] = {
    {"minutely", "*-*-* *:*:00"},
    {"hourly", "*-*-* *:00:00"},
    {"daily", "*-*-* 00:00:00"},
    {"monthly", "*-*-01 00:00:00"},
    {"weekly", "Mon *-*-* 00:00:00"},
    {"yearly", "*-01-01 00:00:00"},
    {"annually", "*-01-01 00:00:00"},
    {"anually", "*-01-01 00:00:00"}, /* systemd keeps this misspelling */
    {"quarterly", "*-01,04,07,10-01 00:00:00"},
    {"semiannually", "*-01,07-01 00:00:00"},
    {"semi-annually", "*-01,07-01 00:00:00"},
    {"biannually", "*-01,07-01 00:00:00"},
    {"bi-annually", "*-01,07-01 00:00:00"},
};

struct cal_parser {
	const char *text; /* what is being parsed, zone suffix removed */
	const char *p;    /* cursor into text */
	struct calendar_spec *spec;
	const char *field_at[CALENDAR_FIELD_COUNT]; /* where each chain was written, for messages */
	char *err;
	size_t err_size;
};

static void cal_errf(struct cal_parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int cal_fail(struct cal_parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write the whole message; messages longer than the sink are cut. */
static void
cal_errf(struct cal_parser *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->err == NULL || ps->err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err, ps->err_size, fmt, ap);
	va_end(ap);
}

/* Fail naming the space-delimited token of ps->text that contains AT (the
 * token before it when AT is the end). */
static int
cal_fail(struct cal_parser *ps, const char *at, const char *fmt, ...)
{
	const char *start = at, *end = at;
	char reason[160];
	va_list ap;

	if (*start == '\0' && start > ps->text)
		start--;
	while (start > ps->text && start[-1] != ' ')
		start--;
	while (*end != '\0' && *end != ' ')
		end++;
	if (end == start)
		end = start + strlen(start);
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	cal_errf(ps, "%.*s: %s", (int)(end - start), start, reason);
	return CT_EINVAL;
}

/* Fail naming the word (letters) that starts at AT. */
static int
cal_fail_word(struct cal_parser *ps, const char *at, const char *reason)
{
	size_t n = 0;

	while (isalpha((unsigned char)at[n]))
		n++;
	if (n == 0)
		return cal_fail(ps, at, "invalid weekday list");
	cal_errf(ps, "%.*s: %s", (int)n, at, reason);
	return CT_EINVAL;
}

static bool
cal_is_last_token(const char *at)
{
	return strchr(at, ' ') == NULL;
}

/* A syntax error at AT.  A word where a number belongs is most likely a
 * misspelt weekday at the front, or a misspelt zone at the end. */
static int
cal_fail_syntax(struct cal_parser *ps, const char *at, const char *reason)
{
	bool at_token_start = at == ps->text || at[-1] == ' ';

	if (at_token_start && isalpha((unsigned char)*at)) {
		if (at != ps->text && cal_is_last_token(at))
			return cal_fail(ps, at, "unknown time zone");
		return cal_fail_word(ps, at, "unknown weekday");
	}
	return cal_fail(ps, at, "%s", reason);
}

/* An unexpected character at T.  "*" followed by a step is a common slip
 * (cron habit) worth its own message. */
static int
cal_fail_unexpected(struct cal_parser *ps, const char *t, const char *reason)
{
	if (*t == '/' && t > ps->text && t[-1] == '*')
		return cal_fail(ps, t, "a step needs a start value: write 0/N, not */N");
	return cal_fail_syntax(ps, t, reason);
}

static void
chain_append(struct calendar_chain *ch, int start, int stop, int repeat)
{
	ch->items = xreallocarray(ch->items, ch->n + 1, sizeof(*ch->items));
	ch->items[ch->n++] = (struct calendar_component){start, stop, repeat};
}

static void
chain_clear(struct calendar_chain *ch)
{
	free(ch->items);
	ch->items = NULL;
	ch->n = 0;
}

/* Digits after a decimal point as microseconds: six digits, padded, the
 * seventh rounding up, any further ones ignored (systemd's
 * parse_fractional_part_u). */
static int
cal_parse_fraction(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;
	int i;

	for (i = 0; i < 6 && isdigit((unsigned char)*s); i++, s++)
		v = v * 10 + (unsigned)(*s - '0');
	if (i == 0)
		return CT_EINVAL;
	for (; i < 6; i++)
		v *= 10;
	if (*s >= '5' && *s <= '9')
		v++;
	while (isdigit((unsigned char)*s))
		s++;
	*p = s;
	*out = v;
	return 0;
}

/* One number; for seconds, with an optional fraction, in microseconds. */
static int
cal_parse_decimal(struct cal_parser *ps, const char **p, bool is_usec, int *out)
{
	const char *s = *p, *next;
	unsigned long v;
	unsigned add;
	char *end;

	if (!isdigit((unsigned char)*s))
		return cal_fail_syntax(ps, s, *s == '\0' ? "number missing" : "expected a number");
	errno = 0;
	v = strtoul(s, &end, 10);
	next = end;
	if (errno != 0 || (is_usec && v > ULONG_MAX / USEC_PER_SEC))
		return cal_fail(ps, s, "number too large");
	if (is_usec)
		v *= USEC_PER_SEC;
	/* One "." is a decimal point, two are a range. */
	if (is_usec && end[0] == '.' && end[1] != '.') {
		next = end + 1;
		if (cal_parse_fraction(&next, &add) != 0)
			return cal_fail(ps, s, "expected digits after the decimal point");
		v += add;
	}
	if (v > INT_MAX)
		return cal_fail(ps, s, "number too large");
	*p = next;
	*out = (int)v;
	return 0;
}

/* "start[..stop][/repeat]" */
static int
cal_parse_component(struct cal_parser *ps, const char **p, bool is_usec, struct calendar_chain *ch)
{
	const char *e = *p;
	int start, stop = -1, repeat = 0;
	int rc;

	rc = cal_parse_decimal(ps, &e, is_usec, &start);
	if (rc == 0 && e[0] == '.' && e[1] == '.') {
		e += 2;
		rc = cal_parse_decimal(ps, &e, is_usec, &stop);
		repeat = is_usec ? USEC_PER_SEC : 1;
	}
	if (rc != 0)
		return rc;
	if (*e == '/') {
		e++;
		rc = cal_parse_decimal(ps, &e, is_usec, &repeat);
		if (rc != 0)
			return rc;
		if (repeat == 0)
			return cal_fail(ps, *p, "repetition must not be 0");
	} else if (start > INT_MAX - repeat) {
		return cal_fail(ps, *p, "number too large");
	} else if (is_usec && stop >= 0 && start + repeat > stop) {
		/* The implied step is 1s, so a shorter range never repeats. */
		return cal_fail(ps, *p, "a seconds range shorter than 1s needs an explicit /step");
	}
	if (*e != '\0' && strchr(" ,-~:", *e) == NULL)
		return cal_fail(ps, e, "unexpected '%c'", *e);
	*p = e;
	chain_append(ch, start, stop, repeat);
	return 0;
}

/* "*" or a comma list of components. */
static int
cal_parse_chain(struct cal_parser *ps, const char **p, bool is_usec, struct calendar_chain *ch)
{
	size_t n;
	int rc;

	if (**p == '*') {
		(*p)++;
		if (is_usec)
			chain_append(ch, 0, -1, USEC_PER_SEC);
		return 0;
	}
	for (n = 1;; n++) {
		if (n > CAL_COMPONENTS_MAX)
			return cal_fail(ps, *p, "more than %d comma-separated values",
			                CAL_COMPONENTS_MAX);
		rc = cal_parse_component(ps, p, is_usec, ch);
		if (rc != 0 || **p != ',')
			return rc;
		(*p)++;
	}
}

/* The weekday name at the cursor: its number, -1 when there is none, -2
 * when a name runs on into other letters ("Mond"). */
static int
cal_take_weekday(struct cal_parser *ps)
{
	size_t i, len;
	char next;

	for (i = 0; i < sizeof(weekday_names) / sizeof(weekday_names[0]); i++) {
		len = strlen(weekday_names[i].name);
		if (strncasecmp(ps->p, weekday_names[i].name, len) != 0)
			continue;
		next = ps->p[len];
		if (next != '\0' && strchr("-., ", next) == NULL)
			return -2;
		ps->p += len;
		return weekday_names[i].nr;
	}
	return -1;
}

/* Mark weekday NR, and the days since RANGE_FROM when closing a range. */
static int
cal_add_weekday(struct cal_parser *ps, const char *list, int nr, int range_from)
{
	int j;

	if (range_from > nr)
		return cal_fail(ps, list, "weekday range must run from Monday towards Sunday");
	ps->spec->weekdays_bits |= 1 << nr;
	for (j = range_from + 1; range_from >= 0 && j < nr; j++)
		ps->spec->weekdays_bits |= 1 << j;
	return 0;
}

/* After a weekday name: "..", "-" (older systemd syntax) or ",". */
static int
cal_parse_weekday_sep(struct cal_parser *ps, const char *list, int nr, int *range_from)
{
	if (*ps->p == '.' || *ps->p == '-') {
		if (*range_from >= 0)
			return cal_fail(ps, list, "weekday ranges cannot be chained");
		if (*ps->p == '.' && ps->p[1] != '.')
			return cal_fail(ps, list, "expected '..' in weekday range");
		*range_from = nr;
		ps->p += *ps->p == '.' ? 2 : 1;
	} else if (*ps->p == ',') {
		*range_from = -1;
		ps->p++;
	}
	return 0;
}

/* Optional leading weekday list: "Mon", "Mon..Fri", "Sat,Sun", "Mon-Wed,". */
static int
cal_parse_weekdays(struct cal_parser *ps)
{
	const char *list = ps->p;
	int range_from = -1;
	int nr, rc;

	for (bool is_first = true;; is_first = false) {
		nr = cal_take_weekday(ps);
		if (nr == -1 && is_first)
			return 0;
		if (nr < 0)
			return cal_fail_word(ps, ps->p, "unknown weekday");
		rc = cal_add_weekday(ps, list, nr, range_from);
		if (rc != 0)
			return rc;
		if (*ps->p == '\0' || *ps->p == ' ')
			break;
		rc = cal_parse_weekday_sep(ps, list, nr, &range_from);
		if (rc != 0)
			return rc;
		if (*ps->p != '\0' && *ps->p != ' ')
			continue;
		/* A trailing comma is fine, an open range is not. */
		if (range_from >= 0)
			return cal_fail(ps, list, "weekday range has no end");
		break;
	}
	ps->p += strspn(ps->p, " ");
	return 0;
}

static void
cal_const_field(struct cal_parser *ps, enum calendar_field f, int value)
{
	chain_append(&ps->spec->chain[f], value, -1, 0);
}

/* "@EPOCH": one instant, in UTC, and nothing may follow.  Signs and
 * leading blanks pass as strtoul() lets them through in systemd. */
static int
cal_parse_timestamp(struct cal_parser *ps)
{
	const char *at = ps->p;
	unsigned long value;
	int64_t t, days, year, secs;
	int mon, mday, yday;
	char *end;

	errno = 0;
	value = strtoul(at + 1, &end, 10);
	if (errno != 0 || end == at + 1)
		return cal_fail(
		    ps, at, errno != 0 ? "number too large" : "expected seconds since the epoch");
	t = (int64_t)value;
	days = civil_div_floor(t, CIVIL_SEC_PER_DAY);
	secs = t - days * CIVIL_SEC_PER_DAY;
	civil_from_days(days, &year, &mon, &mday, &yday);
	ps->spec->utc = true;
	cal_const_field(ps, CALENDAR_YEAR, year > INT_MAX ? INT_MAX : year < 0 ? -1 : (int)year);
	cal_const_field(ps, CALENDAR_MONTH, mon + 1);
	cal_const_field(ps, CALENDAR_DAY, mday);
	cal_const_field(ps, CALENDAR_HOUR, (int)(secs / 3600));
	cal_const_field(ps, CALENDAR_MINUTE, (int)(secs / 60 % 60));
	cal_const_field(ps, CALENDAR_USEC, (int)(secs % 60) * USEC_PER_SEC);
	for (int f = CALENDAR_YEAR; f < CALENDAR_FIELD_COUNT; f++)
		ps->field_at[f] = at;
	ps->p = end;
	return 0;
}

/* Hand the parsed date chains (YEAR may be NULL) to the spec and move the
 * cursor past the date at T. */
static void
cal_take_date(struct cal_parser *ps, const char *t, struct calendar_chain *year,
              struct calendar_chain *month, struct calendar_chain *day)
{
	struct calendar_chain *dst = ps->spec->chain;
	struct calendar_chain *src[] = {year, month, day};

	for (int f = CALENDAR_YEAR; f <= CALENDAR_DAY; f++) {
		if (src[f] == NULL)
			continue;
		dst[f] = *src[f];
		*src[f] = (struct calendar_chain){0};
		ps->field_at[f] = ps->p;
	}
	ps->p = t + strspn(t, " ");
}

/* After the first chain of a date, at its '-' or '~': "MONTH-DAY",
 * "MONTH~DAY", "YEAR-MONTH-DAY" or "YEAR-MONTH~DAY". */
static int
cal_parse_date_rest(struct cal_parser *ps, const char *t, struct calendar_chain ch[3])
{
	int rc;

	ps->spec->end_of_month = *t == '~';
	t++;
	rc = cal_parse_chain(ps, &t, false, &ch[1]);
	if (rc != 0)
		return rc;
	if (*t == '\0' || *t == ' ') {
		cal_take_date(ps, t, NULL, &ch[0], &ch[1]);
		return 0;
	}
	if (ps->spec->end_of_month)
		return cal_fail(ps, ps->p, "'~' may only come before the day");
	if (*t != '-' && *t != '~')
		return cal_fail_unexpected(ps, t, "invalid date, expected [YEAR-]MONTH-DAY");
	ps->spec->end_of_month = *t == '~';
	t++;
	rc = cal_parse_chain(ps, &t, false, &ch[2]);
	if (rc != 0)
		return rc;
	if (*t != '\0' && *t != ' ')
		return cal_fail(ps, t, "invalid date, expected [YEAR-]MONTH-DAY");
	cal_take_date(ps, t, &ch[0], &ch[1], &ch[2]);
	return 0;
}

/* Optional date.  Sets *is_final when an "@EPOCH" left nothing to parse. */
static int
cal_parse_date(struct cal_parser *ps, bool *is_final)
{
	struct calendar_chain ch[3] = {{0}};
	const char *t = ps->p;
	int rc;

	if (*t == '\0')
		return 0;
	if (*t == '@') {
		*is_final = true;
		return cal_parse_timestamp(ps);
	}
	rc = cal_parse_chain(ps, &t, false, &ch[0]);
	/* Nothing more, or a ':': this was the hour of a time, not a date. */
	if (rc == 0 && *t != '\0' && *t != ':') {
		if (*t == '-' || *t == '~')
			rc = cal_parse_date_rest(ps, t, ch);
		else
			rc = cal_fail_unexpected(ps, t, "invalid date or time");
	}
	for (int i = 0; i < 3; i++)
		chain_clear(&ch[i]);
	return rc;
}

/* Something other than ':' or the end follows a complete time. */
static int
cal_fail_after_time(struct cal_parser *ps, const char *t)
{
	if (*t != ' ')
		return cal_fail_unexpected(ps, t, "invalid time, expected HOUR:MINUTE[:SECOND]");
	t += strspn(t, " ");
	if (*t == '\0')
		return cal_fail(ps, t, "trailing blank");
	if (isalpha((unsigned char)*t))
		return cal_fail(ps, t, "unknown time zone");
	return cal_fail(ps, t, "unexpected text after the time");
}

/* "HOUR:MINUTE", leaving T after the minutes. */
static int
cal_parse_clock(struct cal_parser *ps, const char **t)
{
	struct calendar_chain *ch = ps->spec->chain;
	int rc;

	ps->field_at[CALENDAR_HOUR] = ps->field_at[CALENDAR_MINUTE] = ps->field_at[CALENDAR_USEC] =
	    *t;
	rc = cal_parse_chain(ps, t, false, &ch[CALENDAR_HOUR]);
	if (rc != 0)
		return rc;
	if (**t != ':')
		return cal_fail_unexpected(ps, *t, "invalid time, expected HOUR:MINUTE[:SECOND]");
	(*t)++;
	return cal_parse_chain(ps, t, false, &ch[CALENDAR_MINUTE]);
}

/* Optional "HOUR:MINUTE[:SECOND]": no time means 00:00:00, no seconds
 * mean :00. */
static int
cal_parse_time(struct cal_parser *ps)
{
	const char *t = ps->p;
	int rc;

	if (*t == '\0') {
		cal_const_field(ps, CALENDAR_HOUR, 0);
		cal_const_field(ps, CALENDAR_MINUTE, 0);
		cal_const_field(ps, CALENDAR_USEC, 0);
		return 0;
	}
	rc = cal_parse_clock(ps, &t);
	if (rc != 0)
		return rc;
	if (*t == '\0') {
		cal_const_field(ps, CALENDAR_USEC, 0);
	} else if (*t != ':') {
		return cal_fail_after_time(ps, t);
	} else {
		t++;
		rc = cal_parse_chain(ps, &t, true, &ps->spec->chain[CALENDAR_USEC]);
		if (rc == 0 && *t != '\0')
			rc = cal_fail_after_time(ps, t);
	}
	ps->p = t;
	return rc;
}

static int
cal_parse_body(struct cal_parser *ps)
{
	bool is_final = false;
	int rc;

	rc = cal_parse_weekdays(ps);
	if (rc == 0)
		rc = cal_parse_date(ps, &is_final);
	if (rc == 0 && !is_final)
		rc = cal_parse_time(ps);
	if (rc == 0 && *ps->p != '\0')
		rc = cal_fail(ps, ps->p, "unexpected text");
	return rc;
}

static const char *
cal_shorthand_lookup(const char *text)
{
	size_t i;

	for (i = 0; i < sizeof(shorthands) / sizeof(shorthands[0]); i++) {
		if (strcasecmp(text, shorthands[i].name) == 0)
			return shorthands[i].expansion;
	}
	return NULL;
}

/* Does TEXT end in " NAME" (any case) with something before it? */
static size_t
cal_suffix_len(const char *text, const char *name)
{
	size_t len = strlen(text), n = strlen(name);

	if (n == 0 || len <= n || text[len - n - 1] != ' ' || strcasecmp(text + len - n, name) != 0)
		return 0;
	return n + 1;
}

/* Split off the zone part the way systemd does: " UTC", else the local
 * zone's standard or daylight abbreviation (pinning DST), else a last word
 * that names a zone file.  Returns the rest, malloc'd. */
static char *
cal_split_zone(struct cal_parser *ps, const char *text)
{
	const char *space = strrchr(text, ' ');
	size_t len = strlen(text);
	size_t cut = len;

	if (len >= 4 && strcasecmp(text + len - 4, " UTC") == 0) {
		ps->spec->utc = true;
		return xstrndup(text, len - 4);
	}
	for (int j = 0; j <= 1 && cut == len; j++) {
		size_t n = cal_suffix_len(text, tzfile_zone_abbr(tzfile_zone_local(), j));

		if (n > 0) {
			ps->spec->dst = j;
			cut = len - n;
		}
	}
	if (cut == len && space != NULL && tzfile_name_is_valid(space + 1)) {
		ps->spec->timezone = xstrdup(space + 1);
		cut = (size_t)(space - text);
	}
	return xstrndup(text, cut);
}

static int
component_cmp(const void *a, const void *b)
{
	const struct calendar_component *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->stop != y->stop)
		return x->stop < y->stop ? -1 : 1;
	return (x->repeat > y->repeat) - (x->repeat < y->repeat);
}

/* Trim each range to the last value its step reaches, turn ranges that
 * reach only their start into single values, then sort and drop
 * duplicates — systemd's normalize_chain(). */
static void
cal_chain_normalize(struct calendar_chain *ch)
{
	size_t i, kept = 0;

	for (i = 0; i < ch->n; i++) {
		struct calendar_component *c = &ch->items[i];

		if (c->stop > c->start && c->repeat > 0)
			c->stop -= (c->stop - c->start) % c->repeat;
		if ((c->stop > c->start && c->repeat > 0 &&
		     (int64_t)c->start + c->repeat > c->stop) ||
		    c->start == c->stop) {
			c->repeat = 0;
			c->stop = -1;
		}
	}
	if (ch->n > 1)
		qsort(ch->items, ch->n, sizeof(ch->items[0]), component_cmp);
	for (i = 0; i < ch->n; i++) {
		if (kept == 0 || component_cmp(&ch->items[kept - 1], &ch->items[i]) != 0)
			ch->items[kept++] = ch->items[i];
	}
	ch->n = kept;
}

/* Two-digit years: 0-69 are 2000-2069, 70-99 are 1970-1999. */
static void
cal_chain_widen_years(struct calendar_chain *ch)
{
	for (size_t i = 0; i < ch->n; i++) {
		int *v[2] = {&ch->items[i].start, &ch->items[i].stop};

		for (int k = 0; k < 2; k++) {
			if (*v[k] >= 0 && *v[k] < 70)
				*v[k] += 2000;
			else if (*v[k] >= 70 && *v[k] < 100)
				*v[k] += 1900;
		}
	}
}

/* systemd's chain_valid() for one component, with a reason. */
static int
cal_component_check(struct cal_parser *ps, enum calendar_field f,
                    const struct calendar_component *c)
{
	bool eom = f == CALENDAR_DAY && ps->spec->end_of_month;
	const char *name = eom ? "day counted back from the month's end" : field_info[f].name;
	const char *at = ps->field_at[f] != NULL ? ps->field_at[f] : ps->text;
	int div = f == CALENDAR_USEC ? USEC_PER_SEC : 1;
	int from = field_info[f].from;
	/* Days counted from the month's end stop at 28, so that "~29" cannot
	 * silently skip February. */
	int to = eom ? field_info[f].to - 3 : field_info[f].to;

	if (c->start < from || c->start > to || (c->stop >= 0 && (c->stop < from || c->stop > to)))
		return cal_fail(ps, at, "%s must be %d-%d", name, from / div, to / div);
	if (c->repeat > to - from)
		return cal_fail(ps, at, "%s step must be at most %d", name, (to - from) / div);
	if (c->stop >= 0 && c->start + c->repeat > c->stop)
		return cal_fail(ps, at, "%s range must not run backwards", name);
	if (c->stop < 0 && c->repeat > 0 &&
	    (eom ? c->start - c->repeat < from : c->start + c->repeat > to))
		return cal_fail(ps, at, "%s step is too large to repeat within %d-%d", name,
		                from / div, to / div);
	return 0;
}

static int
cal_normalize(struct cal_parser *ps)
{
	struct calendar_spec *spec = ps->spec;
	int rc = 0;

	if (spec->timezone != NULL && strcmp(spec->timezone, "UTC") == 0) {
		spec->utc = true;
		free(spec->timezone);
		spec->timezone = NULL;
	}
	if (spec->weekdays_bits <= 0 || spec->weekdays_bits >= CAL_BITS_WEEKDAYS)
		spec->weekdays_bits = -1;
	if (spec->chain[CALENDAR_DAY].n == 0)
		spec->end_of_month = false;
	cal_chain_widen_years(&spec->chain[CALENDAR_YEAR]);
	for (int f = 0; f < CALENDAR_FIELD_COUNT && rc == 0; f++) {
		cal_chain_normalize(&spec->chain[f]);
		for (size_t i = 0; i < spec->chain[f].n && rc == 0; i++)
			rc = cal_component_check(ps, (enum calendar_field)f,
			                         &spec->chain[f].items[i]);
	}
	return rc;
}

static int
cal_resolve_zone(struct cal_parser *ps)
{
	struct calendar_spec *spec = ps->spec;

	int rc;

	if (spec->timezone == NULL || spec->utc)
		return 0;
	rc = tzfile_zone_get(spec->timezone, &spec->zone);
	if (rc == 0)
		return 0;
	/* It passed the name check, so the file is there but unusable. */
	if (rc == CT_EUNSUPPORTED)
		cal_errf(ps, "%s: time zones with leap seconds are not supported", spec->timezone);
	else
		cal_errf(ps, "%s: time zone file is unreadable or damaged", spec->timezone);
	return CT_EINVAL;
}

/* systemd separates parts with spaces only, and none around the ends. */
static int
cal_check_blanks(struct cal_parser *ps, const char *text)
{
	size_t len = strlen(text);
	const char *reason = NULL;

	if (len == 0)
		reason = "empty schedule expression";
	else if (strpbrk(text, "\t\n\r\v\f") != NULL)
		reason = "separate parts with spaces, not tabs or line breaks";
	else if (text[0] == ' ')
		reason = "leading blank";
	else if (text[len - 1] == ' ')
		reason = "trailing blank";
	if (reason != NULL && len == 0)
		cal_errf(ps, "%s", reason);
	else if (reason != NULL)
		cal_errf(ps, "'%s': %s", text, reason);
	return reason != NULL ? CT_EINVAL : 0;
}

/* "daily Europe/Brln": a shorthand followed by what is not a zone. */
static bool
cal_is_shorthand_with_tail(const char *body)
{
	const char *space = strchr(body, ' ');
	char word[32];

	if (space == NULL || (size_t)(space - body) >= sizeof(word))
		return false;
	memcpy(word, body, (size_t)(space - body));
	word[space - body] = '\0';
	return cal_shorthand_lookup(word) != NULL;
}

/* The expression proper, after the zone was split off. */
static int
cal_parse_text(struct cal_parser *ps, const char *body)
{
	const char *expansion = cal_shorthand_lookup(body);

	ps->text = ps->p = body;
	if (*body == '\0') {
		cal_errf(ps, "missing date and time before the time zone");
		return CT_EINVAL;
	}
	if (cal_is_shorthand_with_tail(body))
		return cal_fail(ps, strrchr(body, ' ') + 1, "unknown time zone");
	if (expansion != NULL) {
		ps->spec->is_shorthand = true;
		ps->text = ps->p = expansion;
	}
	return cal_parse_body(ps);
}

int
calendar_spec_parse(const char *text, struct calendar_spec **out, char *err, size_t err_size)
{
	struct cal_parser ps = {.err = err, .err_size = err_size};
	struct calendar_spec *spec = xcalloc(1, sizeof(*spec));
	char *body = NULL;
	int rc;

	if (err != NULL && err_size > 0)
		err[0] = '\0';
	spec->dst = -1;
	ps.spec = spec;
	rc = cal_check_blanks(&ps, text);
	if (rc != 0)
		goto out;
	body = cal_split_zone(&ps, text);
	rc = cal_parse_text(&ps, body);
	if (rc == 0)
		rc = cal_normalize(&ps);
	if (rc == 0)
		rc = cal_resolve_zone(&ps);
	if (rc != 0)
		goto out;
	*out = spec;
	spec = NULL;
out:
	calendar_spec_free(spec);
	free(body);
	return rc;
}

void
calendar_spec_free(struct calendar_spec *spec)
{
	if (spec == NULL)
		return;
	for (int f = 0; f < CALENDAR_FIELD_COUNT; f++)
		chain_clear(&spec->chain[f]);
	free(spec->timezone);
	free(spec);
}
