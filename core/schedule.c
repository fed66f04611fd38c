/*
 * schedule.c — the schedule module's front: which syntax an expression is
 * written in, and the one or two calendar expressions that stand for it.
 *
 * Owns: dispatch between cron (cron.c) and systemd calendar expressions
 * (calendar.c), the merged next elapse of a cron expression that needs
 * two calendar expressions, whether a schedule stops elapsing, and the
 * OnCalendar= text.  Does not own the grammars or the arithmetic.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "caretaker/errors.h"
#include "cron.h"
#include "schedule.h"
#include "tzfile.h"
#include "xmalloc.h"

struct schedule {
	enum schedule_syntax syntax;
	size_t n_specs;
	struct calendar_spec *specs[CRON_EXPRS_MAX];
	char *oncalendar; /* normalized forms, newline-separated */
};

static const char *const syntax_names[SCHEDULE_SYNTAX__LAST] = {
    [SCHEDULE_SYNTAX_CALENDAR] = "calendar",
    [SCHEDULE_SYNTAX_SHORTHAND] = "shorthand",
    [SCHEDULE_SYNTAX_CRON] = "cron",
};

/* The normalized forms of the specs, one per line. */
static void
schedule_build_oncalendar(struct schedule *s)
{
	char *parts[CRON_EXPRS_MAX] = {NULL};
	size_t len = 0, used = 0, n;

	for (size_t i = 0; i < s->n_specs; i++) {
		parts[i] = calendar_spec_format(s->specs[i]);
		len += strlen(parts[i]) + 1;
	}
	s->oncalendar = xmalloc(len);
	for (size_t i = 0; i < s->n_specs; i++) {
		n = strlen(parts[i]);
		memcpy(s->oncalendar + used, parts[i], n);
		used += n;
		s->oncalendar[used++] = i + 1 < s->n_specs ? '\n' : '\0';
		free(parts[i]);
	}
}

static int
schedule_parse_cron(struct schedule *s, const char *expr, char *err, size_t err_size)
{
	struct cron_translation tr = {0};
	int rc;

	rc = cron_translate(expr, &tr, err, err_size);
	for (size_t i = 0; rc == 0 && i < tr.n; i++) {
		rc = calendar_spec_parse(tr.expr[i], &s->specs[i], err, err_size);
		if (rc == 0)
			s->n_specs++;
	}
	cron_translation_clear(&tr);
	s->syntax = SCHEDULE_SYNTAX_CRON;
	return rc;
}

static int
schedule_parse_calendar(struct schedule *s, const char *expr, char *err, size_t err_size)
{
	size_t n_fields;
	int rc;

	rc = calendar_spec_parse(expr, &s->specs[0], err, err_size);
	if (rc != 0 && cron_is_miscounted(expr, &n_fields) && err != NULL && err_size > 0)
		snprintf(err, err_size,
		         "%s: expected 5 cron fields (minute hour day month weekday), got %zu",
		         expr, n_fields);
	if (rc != 0)
		return rc;
	s->n_specs = 1;
	s->syntax =
	    s->specs[0]->is_shorthand ? SCHEDULE_SYNTAX_SHORTHAND : SCHEDULE_SYNTAX_CALENDAR;
	return 0;
}

int
schedule_parse(const char *expr, struct schedule **out, char *err, size_t err_size)
{
	struct schedule *s = xcalloc(1, sizeof(*s));
	int rc;

	if (err != NULL && err_size > 0)
		err[0] = '\0';
	if (cron_is_cron(expr))
		rc = schedule_parse_cron(s, expr, err, err_size);
	else
		rc = schedule_parse_calendar(s, expr, err, err_size);
	if (rc != 0)
		goto out;
	schedule_build_oncalendar(s);
	*out = s;
	s = NULL;
out:
	schedule_free(s);
	return rc;
}

void
schedule_free(struct schedule *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_specs; i++)
		calendar_spec_free(s->specs[i]);
	free(s->oncalendar);
	free(s);
}

/* The earliest next elapse over all specs. */
int
schedule_next(const struct schedule *s, int64_t after_usec, int64_t *next_usec)
{
	int64_t best = 0, t;
	bool is_found = false;
	int rc;

	for (size_t i = 0; i < s->n_specs; i++) {
		rc = calendar_spec_next(s->specs[i], after_usec, &t);
		if (rc == CT_ENOENT)
			continue;
		if (rc != 0)
			return rc;
		if (!is_found || t < best)
			best = t;
		is_found = true;
	}
	if (!is_found)
		return CT_ENOENT;
	*next_usec = best;
	return 0;
}

/* How many elapses schedule_find_end() follows one from the other: years
 * of a schedule that elapses a few times a year (where chains have been
 * seen to break, at a year's end), for about 0.1 ms per job; every command
 * that reads the configuration pays it. */
#define SCHEDULE_END_WALK 32
/* 2150-01-01 00:00:00 UTC (see schedule_find_end in schedule.h). */
#define SCHEDULE_END_HORIZON_USEC INT64_C(5680281600000000)

/* The last elapse of S, knowing it elapses after LO and not after HI.  The
 * elapses of a schedule that ends by its dates thin out monotonically, so
 * halving the interval finds the edge in about 50 searches. */
static int64_t
schedule_last_before(const struct schedule *s, int64_t lo, int64_t hi)
{
	int64_t t = 0;

	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (schedule_next(s, mid, &t) == 0)
			lo = mid;
		else
			hi = mid;
	}
	(void)schedule_next(s, lo, &t);
	return t;
}

enum schedule_end
schedule_find_end(const struct schedule *s, int64_t after_usec, int64_t *last_usec)
{
	int64_t e, next;
	int rc = schedule_next(s, after_usec, &next);

	if (rc != 0)
		return rc == CT_ENOENT ? SCHEDULE_ENDED : SCHEDULE_ENDLESS;
	for (int i = 0; i < SCHEDULE_END_WALK && next < SCHEDULE_END_HORIZON_USEC; i++) {
		e = next;
		rc = schedule_next(s, e, &next);
		if (rc == CT_ENOENT) {
			*last_usec = e;
			return SCHEDULE_ENDS;
		}
		if (rc != 0)
			return SCHEDULE_ENDLESS;
	}
	if (next >= SCHEDULE_END_HORIZON_USEC ||
	    schedule_next(s, SCHEDULE_END_HORIZON_USEC, &e) != CT_ENOENT)
		return SCHEDULE_ENDLESS;
	*last_usec = schedule_last_before(s, next - 1, SCHEDULE_END_HORIZON_USEC);
	return SCHEDULE_ENDS;
}

const char *
schedule_to_oncalendar(const struct schedule *s)
{
	return s->oncalendar;
}

enum schedule_syntax
schedule_syntax(const struct schedule *s)
{
	return s->syntax;
}

const char *
schedule_syntax_name(enum schedule_syntax syntax)
{
	if ((int)syntax < 0 || syntax >= SCHEDULE_SYNTAX__LAST)
		return "unknown";
	return syntax_names[syntax];
}

void
schedule_cache_free(void)
{
	tzfile_cache_free();
}
