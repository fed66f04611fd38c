/*
 * tzfile.c — TZif time zone files, the zone cache, and local time
 * conversion in both directions.
 *
 * Owns: reading version 1-4 TZif files (RFC 8536) without leap seconds,
 * resolving $TZ the way glibc does, caching loaded zones for the life of
 * the process, and the conversions.  localtime follows glibc's
 * __tzfile_compute(): before the first transition the first standard-time
 * type applies; from the last transition on, the footer rule does.
 * mktime reproduces glibc's __mktime_internal() probing step by step,
 * because its answer for a local time inside a DST gap or overlap depends
 * on the probe sequence and on the offset remembered from the previous
 * call, and systemd's timer arithmetic inherits exactly those answers.
 *
 * Does not own: POSIX TZ rule strings (tzrule.c), calendar logic.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caretaker/errors.h"
#include "civil.h"
#include "tzfile.h"
#include "tzrule.h"
#include "xmalloc.h"

#ifndef TZFILE_ZONEINFO_DIR
#define TZFILE_ZONEINFO_DIR "/usr/share/zoneinfo"
#endif
#define TZFILE_LOCALTIME_PATH "/etc/localtime"
#define TZFILE_MAX_BYTES (1024 * 1024)
#define TZFILE_HEADER_BYTES 44

struct tzfile_type {
	int32_t utoff_sec;
	int isdst;
	const char *abbr; /* into abbrs */
};

struct tzfile_zone {
	char *key; /* cache key: zone name, or $TZ text for the local zone */
	size_t n_trans;
	int64_t *trans;      /* UTC seconds, ascending */
	uint8_t *trans_type; /* index into types, one per transition */
	size_t n_types;
	struct tzfile_type *types;
	char *abbrs;
	size_t type_before; /* type in force before the first transition */
	bool has_rule;      /* footer rule governs times from the last transition on */
	bool rule_only;     /* no file: the rule governs all times */
	struct tzrule rule;
	const char *tzname[2];
	struct tzfile_zone *next;
};

/* Counts from a TZif header. */
struct tzfile_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static struct tzfile_type utc_type = {0, 0, "UTC"};
static struct tzfile_zone utc_zone = {
    .key = "UTC",
    .n_types = 1,
    .types = &utc_type,
    .tzname = {"UTC", "UTC"},
};

static struct tzfile_zone *zone_cache;
static struct tzfile_zone *local_zone;

static void
zone_free(struct tzfile_zone *z)
{
	if (z == NULL || z == &utc_zone)
		return;
	free(z->key);
	free(z->trans);
	free(z->trans_type);
	free(z->types);
	free(z->abbrs);
	free(z);
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Read all of PATH, a regular file of at most TZFILE_MAX_BYTES, into a
 * malloc'd buffer. */
static int
tzfile_read_all(const char *path, unsigned char **out, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t n = 0;
	ssize_t got;
	int fd, rc = CT_ECORRUPT;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return CT_ENOENT;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TZFILE_MAX_BYTES)
		goto out;
	buf = xmalloc((size_t)st.st_size + 1);
	do {
		got = read(fd, buf + n, (size_t)st.st_size + 1 - n);
		if (got > 0)
			n += (size_t)got;
	} while ((got > 0 && n <= (size_t)st.st_size) || (got < 0 && errno == EINTR));
	/* A file that changed size while read is not trusted. */
	if (got < 0 || n != (size_t)st.st_size)
		goto out;
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static int
tzfile_parse_header(const unsigned char *p, size_t len, struct tzfile_counts *c)
{
	if (len < TZFILE_HEADER_BYTES || memcmp(p, "TZif", 4) != 0)
		return CT_ECORRUPT;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	/* Leap-second ("right/") zones would need glibc's leap correction;
	 * caretaker does not model them. */
	if (c->leap != 0)
		return CT_EUNSUPPORTED;
	if (c->type == 0 || c->type > 256 || c->chars == 0)
		return CT_ECORRUPT;
	return 0;
}

/* Bytes of the data block after a header with counts C and TIME_SIZE-byte
 * timestamps. */
static size_t
tzfile_block_size(const struct tzfile_counts *c, size_t time_size)
{
	return (size_t)c->time * (time_size + 1) + (size_t)c->type * 6 + c->chars +
	       (size_t)c->leap * (time_size + 4) + c->isstd + c->isut;
}

static void
tzfile_alloc(struct tzfile_zone *z, const struct tzfile_counts *c)
{
	z->n_trans = c->time;
	z->n_types = c->type;
	z->trans = xcalloc((size_t)c->time + 1, sizeof(*z->trans));
	z->trans_type = xcalloc((size_t)c->time + 1, 1);
	z->types = xcalloc(c->type, sizeof(*z->types));
	z->abbrs = xcalloc((size_t)c->chars + 1, 1);
}

static int
tzfile_parse_types(struct tzfile_zone *z, const unsigned char *p, const struct tzfile_counts *c)
{
	size_t i;

	for (i = 0; i < z->n_trans; i++) {
		z->trans_type[i] = p[i];
		if (p[i] >= c->type)
			return CT_ECORRUPT;
	}
	p += z->n_trans;
	memcpy(z->abbrs, p + 6 * c->type, c->chars);
	for (i = 0; i < c->type; i++, p += 6) {
		z->types[i].utoff_sec = (int32_t)be32(p);
		z->types[i].isdst = p[4] != 0;
		if (p[5] >= c->chars)
			return CT_ECORRUPT;
		z->types[i].abbr = z->abbrs + p[5];
	}
	return 0;
}

/* Parse one data block of TIME_SIZE-byte timestamps starting at P. */
static int
tzfile_parse_block(struct tzfile_zone *z, const unsigned char *p, const struct tzfile_counts *c,
                   size_t time_size)
{
	size_t i;

	tzfile_alloc(z, c);
	for (i = 0; i < z->n_trans; i++, p += time_size) {
		z->trans[i] = time_size == 8 ? be64(p) : (int32_t)be32(p);
		if (i > 0 && z->trans[i] <= z->trans[i - 1])
			return CT_ECORRUPT;
	}
	return tzfile_parse_types(z, p, c);
}

/* The footer "\nTZ-STRING\n" after the version 2+ block. */
static void
tzfile_parse_footer(struct tzfile_zone *z, const unsigned char *p, size_t len)
{
	char text[128];
	const unsigned char *end;

	if (len < 2 || p[0] != '\n')
		return;
	end = memchr(p + 1, '\n', len - 1);
	if (end == NULL || end == p + 1 || (size_t)(end - p - 1) >= sizeof(text))
		return;
	memcpy(text, p + 1, (size_t)(end - p - 1));
	text[end - p - 1] = '\0';
	z->has_rule = tzrule_parse(text, &z->rule) == 0;
}

/* glibc's tzname after tzset(): scanning back from the last transition,
 * the first standard and the first daylight abbreviation seen. */
static void
tzfile_set_tzname(struct tzfile_zone *z)
{
	size_t i = z->n_trans;
	size_t k;

	while (i > 0 && (z->tzname[0] == NULL || z->tzname[1] == NULL)) {
		const struct tzfile_type *ty = &z->types[z->trans_type[--i]];

		if (z->tzname[ty->isdst] == NULL)
			z->tzname[ty->isdst] = ty->abbr;
	}
	if (z->tzname[0] == NULL)
		z->tzname[0] = z->types[0].abbr;
	if (z->tzname[1] == NULL)
		z->tzname[1] = z->tzname[0];
	/* Before the first transition glibc uses the first standard type,
	 * or type 0 when all are daylight types. */
	for (k = 0; k < z->n_types && z->types[k].isdst; k++)
		;
	z->type_before = k < z->n_types ? k : 0;
}

static int
tzfile_parse(struct tzfile_zone *z, const unsigned char *buf, size_t len)
{
	struct tzfile_counts c;
	size_t size1, size2;
	int rc;

	rc = tzfile_parse_header(buf, len, &c);
	if (rc != 0)
		return rc;
	size1 = tzfile_block_size(&c, 4);
	if (buf[4] == '\0') {
		if (TZFILE_HEADER_BYTES + size1 > len)
			return CT_ECORRUPT;
		rc = tzfile_parse_block(z, buf + TZFILE_HEADER_BYTES, &c, 4);
	} else {
		buf += TZFILE_HEADER_BYTES + size1;
		len = len < TZFILE_HEADER_BYTES + size1 ? 0 : len - TZFILE_HEADER_BYTES - size1;
		rc = tzfile_parse_header(buf, len, &c);
		size2 = tzfile_block_size(&c, 8);
		if (rc == 0 && TZFILE_HEADER_BYTES + size2 > len)
			rc = CT_ECORRUPT;
		if (rc == 0)
			rc = tzfile_parse_block(z, buf + TZFILE_HEADER_BYTES, &c, 8);
		if (rc == 0)
			tzfile_parse_footer(z, buf + TZFILE_HEADER_BYTES + size2,
			                    len - TZFILE_HEADER_BYTES - size2);
	}
	if (rc == 0)
		tzfile_set_tzname(z);
	return rc;
}

static struct tzfile_zone *
tzfile_zone_new(const char *key)
{
	struct tzfile_zone *z = xcalloc(1, sizeof(*z));

	z->key = xstrdup(key);
	return z;
}

/* Load the TZif file at PATH as a zone keyed KEY. */
static int
tzfile_load_path(const char *key, const char *path, struct tzfile_zone **out)
{
	struct tzfile_zone *z = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = tzfile_read_all(path, &buf, &len);
	if (rc != 0)
		goto out;
	z = tzfile_zone_new(key);
	rc = tzfile_parse(z, buf, len);
	if (rc != 0)
		goto out;
	*out = z;
	z = NULL;
out:
	zone_free(z);
	free(buf);
	return rc;
}

/* systemd's rules for a zone name: letters, digits, "-_+", and single
 * slashes neither first nor last. */
static bool
tzfile_name_is_clean(const char *name)
{
	bool is_slash = true;

	for (const char *p = name; *p != '\0'; p++) {
		bool is_alnum = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		                (*p >= 'A' && *p <= 'Z');

		if (!is_alnum && *p != '-' && *p != '_' && *p != '+' && *p != '/')
			return false;
		if (*p == '/' && is_slash)
			return false;
		is_slash = *p == '/';
	}
	return *name != '\0' && !is_slash;
}

bool
tzfile_name_is_valid(const char *name)
{
	char path[4096];
	char magic[4];
	struct stat st;
	bool is_tzif = false;
	int fd;

	if (name == NULL || !tzfile_name_is_clean(name))
		return false;
	/* systemd accepts "UTC" even without time zone data. */
	if (strcmp(name, "UTC") == 0)
		return true;
	/* A loaded zone passed this check when it was loaded. */
	for (const struct tzfile_zone *z = zone_cache; z != NULL; z = z->next) {
		if (strcmp(z->key, name) == 0)
			return true;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", TZFILE_ZONEINFO_DIR, name) >=
	    sizeof(path))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, magic, 4) == 4)
		is_tzif = memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return is_tzif;
}

int
tzfile_zone_get(const char *name, const struct tzfile_zone **out)
{
	struct tzfile_zone *z;
	char path[4096];
	int rc;

	for (z = zone_cache; z != NULL; z = z->next) {
		if (strcmp(z->key, name) == 0) {
			*out = z;
			return 0;
		}
	}
	if (!tzfile_name_is_valid(name))
		return CT_ENOENT;
	if (strcmp(name, "UTC") == 0 && access(TZFILE_ZONEINFO_DIR "/UTC", R_OK) != 0) {
		*out = &utc_zone;
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", TZFILE_ZONEINFO_DIR, name);
	rc = tzfile_load_path(name, path, &z);
	if (rc != 0)
		return rc;
	z->next = zone_cache;
	zone_cache = z;
	*out = z;
	return 0;
}

/* A zone made from a POSIX TZ string alone. */
static int
tzfile_load_rule(const char *key, const char *text, struct tzfile_zone **out)
{
	struct tzfile_zone *z = tzfile_zone_new(key);
	int rc;

	rc = tzrule_parse(text, &z->rule);
	if (rc != 0) {
		zone_free(z);
		return rc;
	}
	z->has_rule = z->rule_only = true;
	z->tzname[0] = z->rule.std_abbr;
	z->tzname[1] = z->rule.has_dst ? z->rule.dst_abbr : z->rule.std_abbr;
	*out = z;
	return 0;
}

/* glibc's order: a file (absolute, or under the zoneinfo directory), then
 * a POSIX TZ string, then UTC. */
static struct tzfile_zone *
tzfile_load_local(const char *key, const char *tz)
{
	struct tzfile_zone *z = NULL;
	char path[4096];

	if (tz == NULL)
		tz = TZFILE_LOCALTIME_PATH;
	else if (*tz == '\0')
		tz = "Universal";
	else if (*tz == ':')
		tz++;
	if (*tz == '/')
		snprintf(path, sizeof(path), "%s", tz);
	else
		snprintf(path, sizeof(path), "%s/%s", TZFILE_ZONEINFO_DIR, tz);
	if (tzfile_load_path(key, path, &z) == 0)
		return z;
	if (tzfile_load_rule(key, tz, &z) == 0)
		return z;
	return &utc_zone;
}

const struct tzfile_zone *
tzfile_zone_local(void)
{
	/* "\1" cannot start a $TZ value, so it keys "TZ unset". */
	const char *tz = getenv("TZ");
	const char *key = tz != NULL ? tz : "\1";

	if (local_zone != NULL && strcmp(local_zone->key, key) == 0)
		return local_zone;
	zone_free(local_zone);
	local_zone = tzfile_load_local(key, tz);
	return local_zone;
}

const struct tzfile_zone *
tzfile_zone_utc(void)
{
	return &utc_zone;
}

const char *
tzfile_zone_abbr(const struct tzfile_zone *z, int isdst)
{
	return z->tzname[isdst ? 1 : 0];
}

void
tzfile_cache_free(void)
{
	while (zone_cache != NULL) {
		struct tzfile_zone *next = zone_cache->next;

		zone_free(zone_cache);
		zone_cache = next;
	}
	zone_free(local_zone);
	local_zone = NULL;
}

/* Offset and DST flag in force at UTC second T. */
static void
tzfile_lookup(const struct tzfile_zone *z, int64_t t, int32_t *off, int *isdst)
{
	const struct tzfile_type *ty;
	const char *abbr;
	size_t lo = 0, hi;

	if (z->rule_only || (z->has_rule && z->n_trans > 0 && t >= z->trans[z->n_trans - 1])) {
		tzrule_lookup(&z->rule, t, off, isdst, &abbr);
		return;
	}
	if (z->n_trans == 0 || t < z->trans[0]) {
		ty = &z->types[z->type_before];
	} else {
		/* Last transition at or before t. */
		hi = z->n_trans;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (z->trans[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		ty = &z->types[z->trans_type[lo]];
	}
	*off = ty->utoff_sec;
	*isdst = ty->isdst;
}

void
tzfile_localtime(const struct tzfile_zone *z, int64_t t, struct tzfile_tm *tm)
{
	int64_t local, days, secs, year;
	int32_t off;
	int isdst;

	tzfile_lookup(z, t, &off, &isdst);
	local = t + off;
	days = civil_div_floor(local, CIVIL_SEC_PER_DAY);
	secs = local - days * CIVIL_SEC_PER_DAY;
	civil_from_days(days, &year, &tm->mon, &tm->mday, &tm->yday);
	tm->year = (int)year;
	tm->hour = (int)(secs / 3600);
	tm->min = (int)(secs / 60 % 60);
	tm->sec = (int)(secs % 60);
	tm->wday = (int)((days % 7 + 7 + 4) % 7);
	tm->isdst = isdst;
	tm->gmtoff_sec = off;
}

/* Seconds of a local date-time counted as if UTC, with yday 0-based and
 * any field out of range. */
static int64_t
tzfile_local_seconds(int64_t year, int64_t yday, int hour, int min, int sec)
{
	return (civil_days_before_year(year) + yday) * CIVIL_SEC_PER_DAY + (int64_t)hour * 3600 +
	       (int64_t)min * 60 + sec;
}

static int64_t
tzfile_tm_seconds(const struct tzfile_tm *tm)
{
	return tzfile_local_seconds(tm->year, tm->yday, tm->hour, tm->min, tm->sec);
}

/* glibc's isdst_differ(): one zero, the other positive. */
static bool
tzfile_isdst_differ(int a, int b)
{
	return (!a != !b) && a >= 0 && b >= 0;
}

/* Guard against years an int cannot hold; glibc fails there too. */
static bool
tzfile_convert(const struct tzfile_zone *z, int64_t t, struct tzfile_tm *tm)
{
	if (t < -(INT64_C(1) << 50) || t > (INT64_C(1) << 50))
		return false;
	tzfile_localtime(z, t, tm);
	return true;
}

/* A converged probe has the wrong DST flag: look for a nearby instant with
 * the requested one, a week apart at a time in both directions, and use
 * its offset; failing that, assume a one-hour difference (glibc's stride,
 * bound and fallback). */
static bool
tzfile_search_isdst(const struct tzfile_zone *z, int isdst, int64_t want, int64_t *t,
                    struct tzfile_tm *tm)
{
	const int64_t stride = 601200;
	const int64_t bound = 457243209 / 2 + stride;
	int dst_difference = (isdst == 0) - (tm->isdst == 0);
	struct tzfile_tm otm;
	int64_t delta, gt;
	int dir;

	for (delta = stride; delta < bound; delta += stride) {
		for (dir = -1; dir <= 1; dir += 2) {
			if (!tzfile_convert(z, *t + delta * dir, &otm) ||
			    tzfile_isdst_differ(isdst, otm.isdst))
				continue;
			gt = *t + delta * dir + (want - tzfile_tm_seconds(&otm));
			if (tzfile_convert(z, gt, tm)) {
				*t = gt;
				return true;
			}
		}
	}
	*t += 3600 * dst_difference;
	return tzfile_convert(z, *t, tm);
}

/* The probing loop of glibc's mktime: start from the remembered offset,
 * correct by the error each time, and give up on a gap when the probes
 * oscillate, keeping the side glibc keeps. */
static int
tzfile_probe(const struct tzfile_zone *z, int isdst, int64_t want, int64_t *t, struct tzfile_tm *tm)
{
	int64_t t1 = *t, t2 = *t, dt;
	int remaining = 6, dst2 = 0;

	for (;;) {
		if (!tzfile_convert(z, *t, tm))
			return CT_EINVAL;
		dt = want - tzfile_tm_seconds(tm);
		if (dt == 0)
			break;
		if (*t == t1 && *t != t2 &&
		    (isdst < 0 ? dst2 <= (tm->isdst != 0) : (isdst != 0) != (tm->isdst != 0)))
			return 0;
		if (--remaining == 0)
			return CT_EINVAL;
		t1 = t2;
		t2 = *t;
		*t += dt;
		dst2 = tm->isdst != 0;
	}
	if (tzfile_isdst_differ(isdst, tm->isdst) && !tzfile_search_isdst(z, isdst, want, t, tm))
		return CT_EINVAL;
	return 0;
}

int
tzfile_mktime(const struct tzfile_zone *z, struct tzfile_tm *tm, int64_t *guess, int64_t *t)
{
	struct tzfile_tm res;
	int mon_rem = tm->mon % 12;
	int64_t year = (int64_t)tm->year + tm->mon / 12 - (mon_rem < 0);
	int sec = tm->sec < 0 ? 0 : tm->sec > 59 ? 59 : tm->sec;
	int64_t yday, want, t0, probe;
	int rc;

	if (mon_rem < 0)
		mon_rem += 12;
	if (year < -1000000 || year > 1000000)
		return CT_EINVAL;
	yday = civil_days_before_month(civil_is_leap(year), mon_rem) + (int64_t)tm->mday - 1;
	want = tzfile_local_seconds(year, yday, tm->hour, tm->min, sec);
	t0 = want + *guess;
	probe = t0;
	rc = tzfile_probe(z, tm->isdst, want, &probe, &res);
	if (rc != 0)
		return rc;
	*guess = probe - want;
	/* Seconds were clamped to 0-59 for the search; add back the rest. */
	if (tm->sec != res.sec) {
		probe += tm->sec - sec;
		if (!tzfile_convert(z, probe, &res))
			return CT_EINVAL;
	}
	*tm = res;
	*t = probe;
	return 0;
}
