/*
 * cron.c — crontab time expressions to systemd calendar expressions.
 *
 * Owns: parsing the five crontab fields into sets of allowed values, and
 * writing each set back as a calendar chain ("*", "00/15", "01..05",
 * "01,15").  Field semantics follow Vixie cron (and cronie): 0 and 7 are
 * both Sunday; names are the first three letters, any case; "N/S" means
 * "N-max/S"; a field is "restricted" unless its text starts with '*', so
 * a day field of "*" or of "*" with a step counts as unrestricted for the
 * day rule.
 *
 * Timing is systemd's, not cron's: across DST changes a translated job
 * behaves like the equivalent OnCalendar= timer (a skipped local time does
 * not run late, as Vixie cron would make it).
 *
 * Does not own: calendar parsing or elapse arithmetic (calendar*.c).
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "caretaker/errors.h"
#include "cron.h"
#include "tzfile.h"
#include "xmalloc.h"

#define CRON_FIELDS 5
#define CRON_TOKENS_MAX 8
#define CRON_TEXT_MAX 512

enum cron_field { CRON_MINUTE, CRON_HOUR, CRON_DOM, CRON_MONTH, CRON_DOW };

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const struct cron_field_info {
	const char *name;
	int min;
	int max;
	const char *const *names; /* names[i] stands for min + i */
	size_t n_names;
	const char *name_kind; /* "month", "weekday": for "unknown ..." */
} fields[CRON_FIELDS] = {
    [CRON_MINUTE] = {"minute", 0, 59, NULL, 0, NULL},
    [CRON_HOUR] = {"hour", 0, 23, NULL, 0, NULL},
    [CRON_DOM] = {"day of month", 1, 31, NULL, 0, NULL},
    [CRON_MONTH] = {"month", 1, 12, month_names, 12, "month"},
    [CRON_DOW] = {"day of week", 0, 7, dow_names, 7, "weekday"},
};

static const struct {
	const char *name;
	const char *fields;
} nicknames[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* The blank-separated words of an expression. */
struct cron_tokens {
	size_t n;
	char text[CRON_TEXT_MAX];
	char *tok[CRON_TOKENS_MAX];
};

struct cron_parse {
	uint64_t bits[CRON_FIELDS];
	bool is_star[CRON_FIELDS];
	const char *zone;
	char *err;
	size_t err_size;
};

static int cron_fail(struct cron_parse *cp, const char *part, size_t part_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
cron_fail(struct cron_parse *cp, const char *part, size_t part_len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (cp->err == NULL || cp->err_size == 0)
		return CT_EINVAL;
	n = snprintf(cp->err, cp->err_size, "%.*s: ", (int)part_len, part);
	if (n >= 0 && (size_t)n < cp->err_size) {
		va_start(ap, fmt);
		vsnprintf(cp->err + n, cp->err_size - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return CT_EINVAL;
}

/* Split on blanks; false when there are too many words or too much text. */
static bool
cron_tokenize(const char *expr, struct cron_tokens *t)
{
	char *p;

	t->n = 0;
	if ((size_t)snprintf(t->text, sizeof(t->text), "%s", expr) >= sizeof(t->text))
		return false;
	for (p = t->text; *p != '\0';) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		if (t->n == CRON_TOKENS_MAX)
			return false;
		t->tok[t->n++] = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
	}
	return true;
}

bool
cron_is_cron(const char *expr)
{
	struct cron_tokens t;
	const char *p = expr + strspn(expr, " \t");

	if (p[0] == '@' && isalpha((unsigned char)p[1]))
		return true;
	return !cron_tokenize(expr, &t) || t.n >= CRON_FIELDS;
}

bool
cron_is_miscounted(const char *expr, size_t *n_fields)
{
	struct cron_tokens t;

	if (!cron_tokenize(expr, &t) || t.n < 2 || t.n >= CRON_FIELDS || strchr(expr, ':') != NULL)
		return false;
	/* A calendar expression starts with a weekday or a date; a cron
	 * minute field has only digits, '*', '/' and ','. */
	if (t.tok[0][strspn(t.tok[0], "0123456789*/,")] != '\0')
		return false;
	*n_fields = t.n;
	return true;
}

/* Digits at *P as a number (capped, so overflow cannot happen), or -1
 * when there are none. */
static long
cron_take_number(const char **p)
{
	long v = 0;

	if (!isdigit((unsigned char)**p))
		return -1;
	for (; isdigit((unsigned char)**p); (*p)++) {
		if (v < 100000)
			v = v * 10 + (**p - '0');
	}
	return v;
}

/* A three-letter month or weekday name at *P, any case. */
static int
cron_parse_name(struct cron_parse *cp, enum cron_field f, const char **p, int *out)
{
	const struct cron_field_info *fi = &fields[f];
	size_t n = 0;

	while (isalpha((unsigned char)(*p)[n]))
		n++;
	for (size_t i = 0; n == 3 && i < fi->n_names; i++) {
		if (strncasecmp(*p, fi->names[i], 3) == 0) {
			*out = fi->min + (int)i;
			*p += 3;
			return 0;
		}
	}
	if (fi->n_names > 0)
		return cron_fail(cp, *p, n, "unknown %s", fi->name_kind);
	return cron_fail(cp, *p, n, "%s must be a number %d-%d", fi->name, fi->min, fi->max);
}

/* A number or name in field F's range; ITEM names the list item in
 * messages. */
static int
cron_parse_value(struct cron_parse *cp, enum cron_field f, const char *item, size_t len,
                 const char **p, int *out)
{
	const struct cron_field_info *fi = &fields[f];
	const char *s = *p;
	long v;

	if (isalpha((unsigned char)*s))
		return cron_parse_name(cp, f, p, out);
	v = cron_take_number(p);
	if (v < 0)
		return cron_fail(cp, item, len, "expected a %s value", fi->name);
	if (v < fi->min || v > fi->max)
		return cron_fail(cp, s, (size_t)(*p - s), "%s must be %d-%d", fi->name, fi->min,
		                 fi->max);
	*out = (int)v;
	return 0;
}

/* "*", "N" or "N-M" at *P, setting *lo and *hi; *is_single for "N". */
static int
cron_parse_range(struct cron_parse *cp, enum cron_field f, const char *item, size_t len,
                 const char **p, int *lo, int *hi, bool *is_single)
{
	int rc;

	*is_single = false;
	if (**p == '*') {
		(*p)++;
		*lo = fields[f].min;
		*hi = fields[f].max;
		return 0;
	}
	rc = cron_parse_value(cp, f, item, len, p, lo);
	*hi = *lo;
	*is_single = **p != '-';
	if (rc != 0 || **p != '-')
		return rc;
	(*p)++;
	return cron_parse_value(cp, f, item, len, p, hi);
}

/* One list item: a range, then an optional "/step". */
static int
cron_parse_item(struct cron_parse *cp, enum cron_field f, const char *item, size_t len)
{
	const char *p = item;
	int lo, hi, v;
	long step = 1;
	bool is_single;
	int rc;

	rc = cron_parse_range(cp, f, item, len, &p, &lo, &hi, &is_single);
	if (rc != 0)
		return rc;
	if (*p == '/') {
		/* "N/S" is cronie's "N-max/S". */
		if (is_single)
			hi = fields[f].max;
		p++;
		step = cron_take_number(&p);
		if (step < 0)
			return cron_fail(cp, item, len, "step must be a number");
		if (step == 0)
			return cron_fail(cp, item, len, "step must be at least 1");
	}
	if (p != item + len)
		return cron_fail(cp, item, len, "unexpected '%c'", *p);
	if (lo > hi)
		return cron_fail(cp, item, len, "range must not run backwards");
	for (v = lo; v <= hi; v += (int)step)
		cp->bits[f] |= UINT64_C(1) << (f == CRON_DOW && v == 7 ? 0 : v);
	return 0;
}

static int
cron_parse_field(struct cron_parse *cp, enum cron_field f, const char *text)
{
	const char *p = text;
	size_t len;
	int rc;

	cp->is_star[f] = text[0] == '*';
	for (;;) {
		len = strcspn(p, ",");
		if (len == 0)
			return cron_fail(cp, text, strlen(text), "empty item in %s list",
			                 fields[f].name);
		rc = cron_parse_item(cp, f, p, len);
		if (rc != 0 || p[len] == '\0')
			return rc;
		p += len + 1;
	}
}

/* The common difference when VALS (N >= 3, ascending) is an arithmetic
 * progression, else 0. */
static int
cron_progression_step(const int *vals, int n)
{
	int step = n >= 3 ? vals[1] - vals[0] : 0;

	for (int i = 2; i < n && step > 0; i++) {
		if (vals[i] - vals[i - 1] != step)
			return 0;
	}
	return step;
}

/* VALS as a list, runs of three or more folded into "a..b". */
static void
cron_list_text(const int *vals, int n, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < size; i++) {
		int j = i;

		while (j + 1 < n && vals[j + 1] == vals[j] + 1)
			j++;
		if (j - i < 2)
			j = i;
		used +=
		    (size_t)snprintf(buf + used, size - used, "%s%02d", i > 0 ? "," : "", vals[i]);
		if (j > i && used < size)
			used += (size_t)snprintf(buf + used, size - used, "..%02d", vals[j]);
		i = j;
	}
}

/* A set of values LO..HI as a calendar chain: "*", "00/15" (a step that
 * runs to the end), "01..26/5", or a list such as "01..05,10".  BUF must
 * hold the longest list, three bytes a value. */
static void
cron_chain_text(uint64_t bits, int lo, int hi, char *buf, size_t size)
{
	int vals[64], n = 0, step;

	for (int i = lo; i <= hi; i++) {
		if (bits & (UINT64_C(1) << i))
			vals[n++] = i;
	}
	step = cron_progression_step(vals, n);
	if (n == hi - lo + 1)
		snprintf(buf, size, "*");
	else if (step > 1 && vals[n - 1] + step > hi)
		snprintf(buf, size, "%02d/%d", vals[0], step);
	else if (step > 1)
		snprintf(buf, size, "%02d..%02d/%d", vals[0], vals[n - 1], step);
	else
		cron_list_text(vals, n, buf, size);
}

/* Weekday bits (bit 0 = Sunday) as "Mon,Tue"; empty when all seven. */
static void
cron_weekday_text(uint64_t bits, char *buf, size_t size)
{
	static const char *const names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	size_t used = 0;

	buf[0] = '\0';
	if ((bits & 0x7f) == 0x7f)
		return;
	for (int d = 1; d <= 7; d++) {
		if (bits & (UINT64_C(1) << (d % 7)))
			used += (size_t)snprintf(buf + used, size - used, "%s%s",
			                         used > 0 ? "," : "", names[d % 7]);
	}
}

/* "[WEEKDAYS ]*-MONTH-DAY HOUR:MINUTE:00[ ZONE]" */
static char *
cron_format(const struct cron_parse *cp, bool use_dom, bool use_dow)
{
	char wd[64], mon[64], dom[128], hour[128], min[256], out[1024];

	cron_weekday_text(use_dow ? cp->bits[CRON_DOW] : 0x7f, wd, sizeof(wd));
	cron_chain_text(use_dom ? cp->bits[CRON_DOM] : ~UINT64_C(0), 1, 31, dom, sizeof(dom));
	cron_chain_text(cp->bits[CRON_MONTH], 1, 12, mon, sizeof(mon));
	cron_chain_text(cp->bits[CRON_HOUR], 0, 23, hour, sizeof(hour));
	cron_chain_text(cp->bits[CRON_MINUTE], 0, 59, min, sizeof(min));
	snprintf(out, sizeof(out), "%s%s*-%s-%s %s:%s:00%s%s", wd, *wd != '\0' ? " " : "", mon, dom,
	         hour, min, cp->zone != NULL ? " " : "", cp->zone != NULL ? cp->zone : "");
	return xstrdup(out);
}

/* Vixie cron: with both day fields restricted, either may match. */
static void
cron_emit(const struct cron_parse *cp, struct cron_translation *out)
{
	bool is_or = !cp->is_star[CRON_DOM] && !cp->is_star[CRON_DOW];

	out->n = is_or ? 2 : 1;
	out->expr[0] = cron_format(cp, true, !is_or);
	out->expr[1] = is_or ? cron_format(cp, false, true) : NULL;
}

/* Expand an @nickname in place into its five fields (plus zone). */
static int
cron_expand_nickname(struct cron_parse *cp, struct cron_tokens *t)
{
	char text[CRON_TEXT_MAX];

	for (size_t i = 0; i < sizeof(nicknames) / sizeof(nicknames[0]); i++) {
		if (strcasecmp(t->tok[0], nicknames[i].name) != 0)
			continue;
		snprintf(text, sizeof(text), "%s%s%s", nicknames[i].fields, t->n > 1 ? " " : "",
		         t->n > 1 ? t->tok[1] : "");
		if (t->n > 2)
			return cron_fail(cp, t->tok[2], strlen(t->tok[2]),
			                 "unexpected text after %s", t->tok[0]);
		if (t->n > 1 && !tzfile_name_is_valid(t->tok[1]))
			return cron_fail(cp, t->tok[1], strlen(t->tok[1]), "unknown time zone");
		cron_tokenize(text, t);
		return 0;
	}
	if (strcasecmp(t->tok[0], "@reboot") == 0)
		return cron_fail(cp, t->tok[0], strlen(t->tok[0]),
		                 "runs at boot, not on a schedule");
	return cron_fail(cp, t->tok[0], strlen(t->tok[0]), "unknown cron nickname");
}

static int
cron_check_count(struct cron_parse *cp, struct cron_tokens *t, const char *expr)
{
	const char *last = t->n > 0 ? t->tok[t->n - 1] : "";

	if (t->n == CRON_FIELDS + 1 && tzfile_name_is_valid(last)) {
		cp->zone = last;
		return 0;
	}
	if (t->n == CRON_FIELDS + 1 && isalpha((unsigned char)last[0]) && strchr(last, '/') != NULL)
		return cron_fail(cp, last, strlen(last), "unknown time zone");
	if (t->n != CRON_FIELDS)
		return cron_fail(cp, expr, strlen(expr),
		                 "expected 5 cron fields (minute hour day month weekday), got %zu",
		                 t->n);
	return 0;
}

int
cron_translate(const char *expr, struct cron_translation *out, char *err, size_t err_size)
{
	struct cron_parse cp = {.err = err, .err_size = err_size};
	struct cron_tokens t;
	int rc = 0;

	if (err != NULL && err_size > 0)
		err[0] = '\0';
	if (!cron_tokenize(expr, &t))
		return cron_fail(&cp, expr, strcspn(expr, " \t"), "cron expression too long");
	if (t.n > 0 && t.tok[0][0] == '@')
		rc = cron_expand_nickname(&cp, &t);
	if (rc == 0)
		rc = cron_check_count(&cp, &t, expr);
	for (int f = 0; f < CRON_FIELDS && rc == 0; f++)
		rc = cron_parse_field(&cp, (enum cron_field)f, t.tok[f]);
	if (rc == 0)
		cron_emit(&cp, out);
	return rc;
}

void
cron_translation_clear(struct cron_translation *t)
{
	for (size_t i = 0; i < CRON_EXPRS_MAX; i++) {
		free(t->expr[i]);
		t->expr[i] = NULL;
	}
	t->n = 0;
}
