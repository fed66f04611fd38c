/*
 * civil.h — proleptic Gregorian calendar arithmetic on day numbers.
 *
 * Owns: converting between (year, month, day) and days since 1970-01-01,
 * for any year an int holds.  Header-only because the time zone code calls
 * these in its innermost loops.  Knows nothing about time zones.
 */
#ifndef CARETAKER_CIVIL_H
#define CARETAKER_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

#define CIVIL_SEC_PER_DAY 86400

static inline bool
civil_is_leap(int64_t year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* Floor division, because C's "/" truncates toward zero and dates before
 * an era boundary would land on the wrong day. */
static inline int64_t
civil_div_floor(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days from 1970-01-01 to YEAR-01-01. */
static inline int64_t
civil_days_before_year(int64_t year)
{
	int64_t y = year - 1;

	return 365 * (year - 1970) + civil_div_floor(y, 4) - civil_div_floor(y, 100) +
	       civil_div_floor(y, 400) - (492 - 19 + 4);
}

/* Days before month MON (0-11) in a year, leap or not. */
static inline int
civil_days_before_month(bool is_leap, int mon)
{
	static const short before[2][13] = {
	    {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
	    {0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366},
	};

	return before[is_leap ? 1 : 0][mon];
}

static inline int
civil_days_in_month(int64_t year, int mon)
{
	bool leap = civil_is_leap(year);

	return civil_days_before_month(leap, mon + 1) - civil_days_before_month(leap, mon);
}

/* Split DAYS since 1970-01-01 into year, month (0-11), day (1-31) and day
 * of year (0-365).  Whole 400-year cycles first (each is 146097 days
 * whatever year it starts on), then an underestimate of the year that is
 * at most two years short. */
static inline void
civil_from_days(int64_t days, int64_t *year, int *mon, int *mday, int *yday)
{
	int64_t cycles = civil_div_floor(days, 146097);
	int64_t rest = days - 146097 * cycles;
	int64_t y = 1970 + 400 * cycles + rest / 366;
	bool leap;
	int m = 0;

	rest = days - civil_days_before_year(y);
	while (rest >= (civil_is_leap(y) ? 366 : 365)) {
		rest -= civil_is_leap(y) ? 366 : 365;
		y++;
	}
	leap = civil_is_leap(y);
	while (m < 11 && rest >= civil_days_before_month(leap, m + 1))
		m++;
	*year = y;
	*mon = m;
	*mday = (int)(rest - civil_days_before_month(leap, m)) + 1;
	*yday = (int)rest;
}

#endif
