/*
 * tzrule.h — POSIX TZ rule strings ("CET-1CEST,M3.5.0,M10.5.0/3").
 *
 * Owns: parsing such a string and telling which offset is in force at a
 * given instant, with glibc's reading of the rules (transitions computed
 * for the UTC year of the instant).  Used for the footer of TZif files,
 * which governs times after the last listed transition, and for a $TZ that
 * names no file.  Does not own: TZif files or the zone cache (tzfile.c).
 */
#ifndef CARETAKER_TZRULE_H
#define CARETAKER_TZRULE_H

#include <stdbool.h>
#include <stdint.h>

#define TZRULE_ABBR_SIZE 16

/* One "start" or "end" date of a rule. */
struct tzrule_date {
	char kind;        /* 'J': Jn (1-365, Feb 29 never counted), 'N': n (0-365), 'M': Mm.w.d */
	int day;          /* for 'J' and 'N' */
	int month;        /* 1-12, for 'M' */
	int week;         /* 1-5, 5 = last, for 'M' */
	int wday;         /* 0 = Sunday, for 'M' */
	int32_t time_sec; /* local time of day of the change, may be negative or past 24h */
};

struct tzrule {
	char std_abbr[TZRULE_ABBR_SIZE];
	char dst_abbr[TZRULE_ABBR_SIZE];
	int32_t std_off_sec; /* seconds east of UTC */
	int32_t dst_off_sec;
	bool has_dst;
	struct tzrule_date start; /* daylight time begins, in standard time */
	struct tzrule_date end;   /* daylight time ends, in daylight time */
};

/* Parse TEXT into *out.  Returns 0 or CT_EINVAL. */
int tzrule_parse(const char *text, struct tzrule *out);

/* Offset, DST flag and abbreviation in force at UTC second T.  *abbr
 * points into *r. */
void tzrule_lookup(const struct tzrule *r, int64_t t, int32_t *off_sec, int *isdst,
                   const char **abbr);

#endif
