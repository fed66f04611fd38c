/*
 * audit_sshd.c — one line of an auth log, as syslog writes sshd's
 * messages:
 *
 *   Mar  3 04:05:06 host sshd[812]: Failed password for root from 192.0.2.9 port 52144 ssh2
 *   2024-03-03T04:05:06.123456+00:00 host sshd[812]: Invalid user a b from 2001:db8::9 port 22
 *   Mar  3 04:05:07 host sshd[812]: message repeated 4 times: [ Failed password for ...]
 *
 * The classic syslog time (local, no year) and the RFC 3339 time of
 * rsyslog's high-precision format and journalctl -o short-iso are read;
 * the tag is sshd or OpenSSH 9.8's sshd-session.  A user name is whatever
 * sshd wrote between "user " (or "for ") and the address, spaces and all:
 * the address is found from the end, as the last " from ADDR" that is an
 * address followed by " port N" or the end of the message, so a name that
 * itself holds " from 10.0.0.1 port 22" cannot pass for the client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <caretaker/errors.h>

#include "audit.h"

/* A piece of the line still to read. */
struct cursor {
	const char *p;
	const char *end;
};

static int
cursor_skip(struct cursor *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return 0;
	c->p += n;
	return 1;
}

/* Reads `width` digits (exactly) as a number; -1 when they are not. */
static long
cursor_digits(struct cursor *c, int width)
{
	long v = 0;

	if (c->end - c->p < width)
		return -1;
	for (int i = 0; i < width; i++) {
		if (c->p[i] < '0' || c->p[i] > '9')
			return -1;
		v = v * 10 + (c->p[i] - '0');
	}
	c->p += width;
	return v;
}

/* Reads up to the next space (the host name) and the spaces after it. */
static int
cursor_skip_word(struct cursor *c)
{
	const char *start = c->p;

	while (c->p < c->end && *c->p != ' ')
		c->p++;
	if (c->p == start || c->p == c->end)
		return 0;
	while (c->p < c->end && *c->p == ' ')
		c->p++;
	return 1;
}

/* HH:MM:SS into tm. */
static int
parse_clock(struct cursor *c, struct tm *tm)
{
	tm->tm_hour = (int)cursor_digits(c, 2);
	if (tm->tm_hour < 0 || !cursor_skip(c, ":"))
		return CT_EINVAL;
	tm->tm_min = (int)cursor_digits(c, 2);
	if (tm->tm_min < 0 || !cursor_skip(c, ":"))
		return CT_EINVAL;
	tm->tm_sec = (int)cursor_digits(c, 2);
	return tm->tm_sec < 0 || tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60 ? CT_EINVAL
	                                                                                : 0;
}

static int
parse_month(struct cursor *c)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	if (c->end - c->p < 4 || c->p[3] != ' ')
		return -1;
	for (int m = 0; m < 12; m++)
		if (memcmp(c->p, months + 3 * m, 3) == 0) {
			c->p += 4;
			return m;
		}
	return -1;
}

/* "Mar  3 04:05:06 ": local time, in the year that puts it at or before
 * year_ref (a log is read after it was written; December's lines in a
 * file last written in January are last year's). */
static int
parse_bsd_time(struct cursor *c, time_t year_ref, time_t *ts)
{
	struct tm ref, tm = {0};

	tm.tm_mon = parse_month(c);
	if (tm.tm_mon < 0)
		return CT_EINVAL;
	if (cursor_skip(c, " "))
		tm.tm_mday = (int)cursor_digits(c, 1);
	else
		tm.tm_mday = (int)cursor_digits(c, 2);
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || !cursor_skip(c, " ") || parse_clock(c, &tm) != 0)
		return CT_EINVAL;
	if (localtime_r(&year_ref, &ref) == NULL)
		return CT_EINVAL;
	tm.tm_year = ref.tm_year;
	tm.tm_isdst = -1;
	*ts = mktime(&tm);
	if (*ts > year_ref + 86400) {
		tm.tm_year--;
		tm.tm_isdst = -1;
		*ts = mktime(&tm);
	}
	return *ts == (time_t)-1 ? CT_EINVAL : 0;
}

/* "Z", "+02:00" or "+0200" after the seconds: seconds east of UTC. */
static int
parse_offset(struct cursor *c, long *east)
{
	int sign;
	long hh, mm;

	if (cursor_skip(c, "Z")) {
		*east = 0;
		return 0;
	}
	if (c->p >= c->end || (*c->p != '+' && *c->p != '-'))
		return CT_EINVAL;
	sign = *c->p++ == '-' ? -1 : 1;
	hh = cursor_digits(c, 2);
	(void)cursor_skip(c, ":");
	mm = cursor_digits(c, 2);
	if (hh < 0 || mm < 0)
		return CT_EINVAL;
	*east = sign * (hh * 3600 + mm * 60);
	return 0;
}

/* "2024-03-03T04:05:06[.123456](Z|+00:00|+0000)". */
static int
parse_iso_time(struct cursor *c, time_t *ts)
{
	struct tm tm = {0};
	long year, mon, day, east;

	year = cursor_digits(c, 4);
	if (year < 1970 || !cursor_skip(c, "-"))
		return CT_EINVAL;
	mon = cursor_digits(c, 2);
	if (mon < 1 || mon > 12 || !cursor_skip(c, "-"))
		return CT_EINVAL;
	day = cursor_digits(c, 2);
	if (day < 1 || day > 31 || !cursor_skip(c, "T") || parse_clock(c, &tm) != 0)
		return CT_EINVAL;
	if (cursor_skip(c, "."))
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	if (parse_offset(c, &east) != 0)
		return CT_EINVAL;
	tm.tm_year = (int)year - 1900;
	tm.tm_mon = (int)mon - 1;
	tm.tm_mday = (int)day;
	*ts = timegm(&tm) - east;
	return 0;
}

/* "sshd[812]: ", "sshd-session[812]: " or "sshd: ". */
static int
parse_tag(struct cursor *c, long *pid)
{
	char *end;

	*pid = 0;
	if (!cursor_skip(c, "sshd"))
		return CT_EINVAL;
	(void)cursor_skip(c, "-session");
	if (cursor_skip(c, "[")) {
		*pid = strtol(c->p, &end, 10);
		if (end == c->p || end >= c->end || *end != ']')
			return CT_EINVAL;
		c->p = end + 1;
	}
	return cursor_skip(c, ": ") ? 0 : CT_EINVAL;
}

/* After " from ": an address, then " port N", the end, or "]" ending a
 * repeated message.  Sets *addr. */
static int
parse_client(const char *p, const char *end, struct audit_addr *addr)
{
	const char *a = p;

	while (p < end && *p != ' ' && *p != ']')
		p++;
	if (audit_addr_parse(a, (size_t)(p - a), addr) != 0)
		return CT_EINVAL;
	if (p == end || *p == ']')
		return 0;
	return (size_t)(end - p) > 6 && memcmp(p, " port ", 6) == 0 && p[6] >= '0' && p[6] <= '9'
	           ? 0
	           : CT_EINVAL;
}

/* The last " from ADDR" of the message; *at points at its " from ". */
static int
find_client(const char *start, const char *end, const char **at, struct audit_addr *addr)
{
	if (end - start < 6)
		return CT_EINVAL;
	for (const char *p = end - 6; p >= start; p--)
		if (memcmp(p, " from ", 6) == 0 && parse_client(p + 6, end, addr) == 0) {
			*at = p;
			return 0;
		}
	return CT_EINVAL;
}

/* NAME FROM: the user name between `name` and the client's " from ". */
static int
parse_name_and_client(const char *name, const char *end, struct audit_sshd_line *out)
{
	const char *at;
	size_t len;

	if (find_client(name, end, &at, &out->addr) != 0 || at < name)
		return CT_EINVAL;
	len = (size_t)(at - name);
	if (len >= sizeof(out->user))
		len = sizeof(out->user) - 1;
	memcpy(out->user, name, len);
	out->user[len] = '\0';
	return 0;
}

/* The message proper, after the tag (and inside a repeated one). */
static void
parse_message(struct cursor *c, struct audit_sshd_line *out)
{
	int kind = AUDIT_SSHD_NONE;

	if (cursor_skip(c, "Failed password for ") ||
	    cursor_skip(c, "Failed keyboard-interactive/pam for ")) {
		kind = AUDIT_SSHD_FAILED;
		out->is_invalid_user = cursor_skip(c, "invalid user ");
	} else if (cursor_skip(c, "Invalid user ")) {
		kind = AUDIT_SSHD_INVALID;
	} else if (cursor_skip(c, "Accepted ")) {
		while (c->p < c->end && *c->p != ' ')
			c->p++;
		if (cursor_skip(c, " for "))
			kind = AUDIT_SSHD_ACCEPTED;
	}
	if (kind != AUDIT_SSHD_NONE && parse_name_and_client(c->p, c->end, out) == 0)
		out->kind = kind;
}

/* "message repeated 4 times: [ ...]" (rsyslog's reduction of repeats). */
static void
parse_repeat(struct cursor *c, struct audit_sshd_line *out)
{
	char *end;
	long n;

	if (!cursor_skip(c, "message repeated "))
		return;
	n = strtol(c->p, &end, 10);
	if (end == c->p || n < 1 || end >= c->end)
		return;
	c->p = end;
	if (!cursor_skip(c, " times: [ ") || c->end[-1] != ']')
		return;
	c->end--;
	out->repeat = n;
}

int
audit_sshd_parse(const char *line, size_t len, time_t year_ref, struct audit_sshd_line *out)
{
	struct cursor c = {.p = line, .end = line + len};
	int rc;

	memset(out, 0, sizeof(*out));
	out->repeat = 1;
	while (c.end > c.p && (c.end[-1] == '\r' || c.end[-1] == ' '))
		c.end--;
	if (len >= 4 && line[4] == '-')
		rc = parse_iso_time(&c, &out->ts);
	else
		rc = parse_bsd_time(&c, year_ref, &out->ts);
	if (rc != 0 || !cursor_skip(&c, " ") || !cursor_skip_word(&c))
		return CT_EINVAL;
	if (parse_tag(&c, &out->pid) != 0)
		return 0;
	parse_repeat(&c, out);
	parse_message(&c, out);
	return 0;
}
