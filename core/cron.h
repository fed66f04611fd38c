/*
 * cron.h — cron expressions, translated to systemd calendar expressions.
 * Internal to the schedule module.
 *
 * Owns: the 5-field crontab time syntax ("minute hour day month weekday")
 * with lists, ranges, steps and month/weekday names, the @nicknames, an
 * optional trailing time zone, and Vixie cron's day rule: when both day of
 * month and day of week are restricted (neither field starts with '*'), a
 * day matches if EITHER does.  One OnCalendar= expression cannot say
 * "either", so that case becomes two expressions whose elapses are merged.
 *
 * Does not own: when anything elapses (calendar_next.c computes it from
 * the translation, so a cron job fires exactly when the .timer unit made
 * from the same translation would).
 */
#ifndef CARETAKER_CRON_H
#define CARETAKER_CRON_H

#include <stdbool.h>
#include <stddef.h>

#define CRON_EXPRS_MAX 2

struct cron_translation {
	size_t n;
	char *expr[CRON_EXPRS_MAX]; /* OnCalendar= texts, malloc'd */
};

/* Is EXPR meant as cron: an @nickname, or five or more blank-separated
 * fields (a systemd expression has at most four)? */
bool cron_is_cron(const char *expr);

/* Does EXPR look like cron with too few fields ("0 1 * *")?  Then *n_fields
 * is how many it has; used to explain why it did not parse as a calendar
 * expression either. */
bool cron_is_miscounted(const char *expr, size_t *n_fields);

/* Translate EXPR.  On success *out holds one or two expressions the caller
 * releases with cron_translation_clear().  On failure returns CT_EINVAL and
 * writes "<part>: <reason>" into err (may be NULL). */
int cron_translate(const char *expr, struct cron_translation *out, char *err, size_t err_size);

void cron_translation_clear(struct cron_translation *t);

#endif
