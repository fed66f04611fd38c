/*
 * timefmt.c — times for people and from them: local and UTC timestamps,
 * spans ("3h 5min"), and --base-time values (see timefmt.h).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "proc.h"
#include "timefmt.h"

void
timefmt_local(int64_t us, char *buf, size_t size)
{
	time_t t = (time_t)(us / US_PER_S);
	struct tm tm;

	if (us == 0) {
		snprintf(buf, size, "-");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm);
}

void
timefmt_utc(int64_t us, char *buf, size_t size)
{
	time_t t = (time_t)(us / US_PER_S);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* "3h 5min" for a span in microseconds (seconds precision). */
void
timefmt_span(int64_t us, char *buf, size_t size)
{
	int64_t ms = (us < 0 ? -us : us) / 1000;

	value_format_duration(ms >= 60000 ? ms / 60000 * 60000 : ms / 1000 * 1000, buf, size);
}

int
timefmt_parse(const char *s, int64_t *out_us)
{
	struct tm tm;
	const char *end;
	char *stop;
	long long epoch;

	if (strcmp(s, "now") == 0) {
		*out_us = proc_wall_us();
		return 0;
	}
	if (s[0] == '@') {
		epoch = strtoll(s + 1, &stop, 10);
		if (stop == s + 1 || *stop != '\0')
			return CT_EINVAL;
		*out_us = epoch * US_PER_S;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d %H:%M", &tm);
	if (end != NULL && *end == ':')
		end = strptime(end + 1, "%S", &tm);
	if (end == NULL)
		return CT_EINVAL;
	while (*end == ' ')
		end++;
	if (strcmp(end, "UTC") == 0) {
		*out_us = (int64_t)timegm(&tm) * US_PER_S;
		return 0;
	}
	if (*end != '\0')
		return CT_EINVAL;
	tm.tm_isdst = -1;
	*out_us = (int64_t)mktime(&tm) * US_PER_S;
	return 0;
}
