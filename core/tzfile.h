/*
 * tzfile.h — time zones for the schedule module, read from TZif files.
 *
 * Owns: loading /usr/share/zoneinfo files (and POSIX TZ strings) into a
 * process-wide cache, converting UTC seconds to local broken-down time, and
 * the reverse conversion.  The reverse conversion reproduces glibc's
 * mktime() result for result, including its handling of local times that
 * do not exist (spring-forward gaps) or exist twice (fall-back overlaps),
 * because systemd computes timer elapses with glibc's mktime() and the
 * schedule module must agree with it to the second.
 *
 * Does not own: anything about calendar expressions (calendar.c).
 *
 * Zones live until tzfile_cache_free(); callers borrow them.  Not
 * thread-safe: caretaker's scheduler is single-threaded.
 */
#ifndef CARETAKER_TZFILE_H
#define CARETAKER_TZFILE_H

#include <stdbool.h>
#include <stdint.h>

struct tzfile_zone;

/* Broken-down time.  Unlike struct tm, year is the full year; mon is
 * 0-11 like tm_mon.  Fields may be out of range on input to
 * tzfile_mktime(), which normalizes them. */
struct tzfile_tm {
	int year;
	int mon;
	int mday;
	int hour;
	int min;
	int sec;
	int wday;  /* 0 = Sunday; output only */
	int yday;  /* 0-365; output only */
	int isdst; /* 1, 0, or -1 for "work it out" on input to mktime */
	int32_t gmtoff_sec;
};

/* Does NAME pass systemd's time zone check (a TZif file under the zoneinfo
 * directory, or "UTC")?  Same rules as systemd's timezone_is_valid(). */
bool tzfile_name_is_valid(const char *name);

/* The zone called NAME (e.g. "Europe/Berlin"), loaded once and cached.
 * On success *out is borrowed from the cache.  Returns 0, CT_ENOENT when
 * there is no such zone, CT_ECORRUPT when the file is not a usable TZif
 * file, CT_EUNSUPPORTED for zones with leap seconds ("right/..."). */
int tzfile_zone_get(const char *name, const struct tzfile_zone **out);

/* The process's local zone as glibc resolves it from $TZ (unset:
 * /etc/localtime; empty: UTC; ":NAME", "NAME", a path, or a POSIX TZ
 * string).  Reloaded when $TZ changes.  Never fails: falls back to UTC
 * as glibc does. */
const struct tzfile_zone *tzfile_zone_local(void);

/* The built-in UTC zone. */
const struct tzfile_zone *tzfile_zone_utc(void);

/* Abbreviation glibc puts in tzname[ISDST ? 1 : 0] after tzset() for
 * this zone ("CET"/"CEST").  Owned by the zone. */
const char *tzfile_zone_abbr(const struct tzfile_zone *z, int isdst);

/* UTC seconds T to local time in Z (glibc localtime_r semantics). */
void tzfile_localtime(const struct tzfile_zone *z, int64_t t, struct tzfile_tm *tm);

/* Local time *TM to UTC seconds in *T, with glibc mktime() semantics:
 * *tm is normalized in place on success (and left alone on failure).
 * *GUESS carries glibc's per-process offset hint from call to call (start
 * it at 0); results for nonexistent or repeated local times depend on it
 * exactly as glibc's do.  Returns 0, or CT_EINVAL where glibc's mktime()
 * would return -1. */
int tzfile_mktime(const struct tzfile_zone *z, struct tzfile_tm *tm, int64_t *guess, int64_t *t);

/* Free every cached zone.  Zones handed out before become invalid: call
 * at exit, after the last schedule has been freed. */
void tzfile_cache_free(void);

#endif
