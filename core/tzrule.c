/*
 * tzrule.c — POSIX TZ rule strings: parsing and lookup.
 *
 * Owns the "std offset [dst [offset] [,start[/time],end[/time]]]" grammar
 * of POSIX.1 (with the RFC 8536 extensions: hours up to 167 and negative
 * times in the rule dates).  The lookup follows glibc's __tz_compute():
 * both changes are computed for the UTC year of the instant, and a start
 * later than the end in that year means the southern hemisphere.
 */
#include "autoconf.h"

#include <ctype.h>
#include <string.h>

#include "caretaker/errors.h"
#include "civil.h"
#include "tzrule.h"

/* A rule without dates ("EST5EDT") gets the US rules, as glibc does when no
 * posixrules file says otherwise. */
static const struct tzrule_date default_start = {'M', 0, 3, 2, 0, 7200};
static const struct tzrule_date default_end = {'M', 0, 11, 1, 0, 7200};

static int
rule_parse_abbr(const char **p, char *out)
{
	const char *s = *p;
	size_t n = 0;

	if (*s == '<') {
		for (s++; *s != '\0' && *s != '>'; s++) {
			if (!isalnum((unsigned char)*s) && *s != '+' && *s != '-')
				return CT_EINVAL;
			n++;
		}
		if (*s != '>' || n < 3 || n >= TZRULE_ABBR_SIZE)
			return CT_EINVAL;
		memcpy(out, *p + 1, n);
		*p = s + 1;
	} else {
		while (isalpha((unsigned char)s[n]))
			n++;
		if (n < 3 || n >= TZRULE_ABBR_SIZE)
			return CT_EINVAL;
		memcpy(out, s, n);
		*p = s + n;
	}
	out[n] = '\0';
	return 0;
}

/* One decimal field of at most MAX. */
static int
rule_parse_number(const char **p, int max, int *out)
{
	const char *s = *p;
	int v = 0;

	if (!isdigit((unsigned char)*s))
		return CT_EINVAL;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s - '0');
		if (v > max)
			return CT_EINVAL;
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

/* [+-]hh[:mm[:ss]] as signed seconds, sign as written. */
static int
rule_parse_hms(const char **p, int32_t *out)
{
	int sign = 1;
	int h = 0, m = 0, s = 0;
	int rc;

	if (**p == '+' || **p == '-') {
		sign = **p == '-' ? -1 : 1;
		(*p)++;
	}
	rc = rule_parse_number(p, 167, &h);
	if (rc == 0 && **p == ':') {
		(*p)++;
		rc = rule_parse_number(p, 59, &m);
	}
	if (rc == 0 && **p == ':') {
		(*p)++;
		rc = rule_parse_number(p, 59, &s);
	}
	if (rc != 0)
		return rc;
	*out = sign * (h * 3600 + m * 60 + s);
	return 0;
}

static int
rule_parse_mdate(const char **p, struct tzrule_date *d)
{
	int rc;

	rc = rule_parse_number(p, 12, &d->month);
	if (rc == 0 && **p != '.')
		rc = CT_EINVAL;
	if (rc == 0) {
		(*p)++;
		rc = rule_parse_number(p, 5, &d->week);
	}
	if (rc == 0 && **p != '.')
		rc = CT_EINVAL;
	if (rc == 0) {
		(*p)++;
		rc = rule_parse_number(p, 6, &d->wday);
	}
	if (rc == 0 && (d->month < 1 || d->week < 1))
		rc = CT_EINVAL;
	return rc;
}

static int
rule_parse_date(const char **p, struct tzrule_date *d)
{
	int rc;

	d->time_sec = 7200;
	if (**p == 'M') {
		d->kind = 'M';
		(*p)++;
		rc = rule_parse_mdate(p, d);
	} else if (**p == 'J') {
		d->kind = 'J';
		(*p)++;
		rc = rule_parse_number(p, 365, &d->day);
		if (rc == 0 && d->day < 1)
			rc = CT_EINVAL;
	} else {
		d->kind = 'N';
		rc = rule_parse_number(p, 365, &d->day);
	}
	if (rc == 0 && **p == '/') {
		(*p)++;
		rc = rule_parse_hms(p, &d->time_sec);
	}
	return rc;
}

static int
rule_parse_dst(const char **p, struct tzrule *r)
{
	int32_t off;
	int rc;

	rc = rule_parse_abbr(p, r->dst_abbr);
	if (rc != 0)
		return rc;
	r->has_dst = true;
	r->dst_off_sec = r->std_off_sec + 3600;
	if (**p != ',' && **p != '\0') {
		rc = rule_parse_hms(p, &off);
		if (rc != 0)
			return rc;
		r->dst_off_sec = -off;
	}
	r->start = default_start;
	r->end = default_end;
	if (**p != ',')
		return 0;
	(*p)++;
	rc = rule_parse_date(p, &r->start);
	if (rc == 0 && **p != ',')
		rc = CT_EINVAL;
	if (rc == 0) {
		(*p)++;
		rc = rule_parse_date(p, &r->end);
	}
	return rc;
}

int
tzrule_parse(const char *text, struct tzrule *out)
{
	struct tzrule r;
	const char *p = text;
	int32_t off;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = rule_parse_abbr(&p, r.std_abbr);
	if (rc == 0)
		rc = rule_parse_hms(&p, &off);
	if (rc != 0)
		return CT_EINVAL;
	/* POSIX offsets count west of Greenwich: "CET-1" is one hour east. */
	r.std_off_sec = -off;
	if (*p != '\0') {
		rc = rule_parse_dst(&p, &r);
		if (rc != 0 || *p != '\0')
			return CT_EINVAL;
	}
	*out = r;
	return 0;
}

/* Day number (since 1970-01-01) on which date D falls in YEAR. */
static int64_t
rule_date_day(const struct tzrule_date *d, int64_t year)
{
	bool leap = civil_is_leap(year);
	int64_t first = civil_days_before_year(year);
	int64_t month_first, wday_first;
	int mday;

	if (d->kind == 'J')
		return first + d->day - 1 + (leap && d->day >= 60 ? 1 : 0);
	if (d->kind == 'N')
		return first + d->day;
	month_first = first + civil_days_before_month(leap, d->month - 1);
	/* 1970-01-01 was a Thursday (4). */
	wday_first = (month_first % 7 + 7 + 4) % 7;
	mday = (int)((d->wday - wday_first + 7) % 7) + 1 + 7 * (d->week - 1);
	while (mday > civil_days_in_month(year, d->month - 1))
		mday -= 7;
	return month_first + mday - 1;
}

/* UTC second at which D happens in YEAR, the local clock then reading
 * OFF_SEC east of UTC. */
static int64_t
rule_change(const struct tzrule_date *d, int64_t year, int32_t off_sec)
{
	return rule_date_day(d, year) * CIVIL_SEC_PER_DAY + d->time_sec - off_sec;
}

static bool
rule_is_dst(const struct tzrule *r, int64_t t)
{
	int64_t year, start, end;
	int mon, mday, yday;

	civil_from_days(civil_div_floor(t, CIVIL_SEC_PER_DAY), &year, &mon, &mday, &yday);
	start = rule_change(&r->start, year, r->std_off_sec);
	end = rule_change(&r->end, year, r->dst_off_sec);
	if (start > end)
		return t < end || t >= start;
	return t >= start && t < end;
}

void
tzrule_lookup(const struct tzrule *r, int64_t t, int32_t *off_sec, int *isdst, const char **abbr)
{
	bool dst = r->has_dst && rule_is_dst(r, t);

	*off_sec = dst ? r->dst_off_sec : r->std_off_sec;
	*isdst = dst ? 1 : 0;
	*abbr = dst ? r->dst_abbr : r->std_abbr;
}
