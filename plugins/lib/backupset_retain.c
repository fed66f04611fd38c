/*
 * backupset_retain.c — which backups retention keeps (see backupset.h).
 *
 * Grandfather-father-son: keep_daily = 7 keeps the newest backup of each of
 * the 7 newest days that have one (not "of the last 7 calendar days"), so a
 * host that was off for a week still keeps 7 daily backups.  Only backups
 * verified to L2 fill those slots: a backup nobody has shown to be
 * readable must not push a good one out.
 */
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "backupset.h"

#define SECONDS_PER_DAY 86400

/* Floor division, so that times before 1970 fall in the right period. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t
day_of(time_t at)
{
	return floor_div((int64_t)at, SECONDS_PER_DAY);
}

/* 1970-01-01 was a Thursday: adding 3 days makes weeks start on Monday. */
static int64_t
week_of(time_t at)
{
	return floor_div(day_of(at) + 3, 7);
}

static int64_t
month_of(time_t at)
{
	struct tm tm;

	gmtime_r(&at, &tm);
	return (int64_t)tm.tm_year * 12 + tm.tm_mon;
}

struct period_rule {
	int64_t (*period_of)(time_t at);
	unsigned bit;
};

static const struct period_rule period_rules[] = {
    {day_of, BACKUPSET_KEEP_DAILY},
    {week_of, BACKUPSET_KEEP_WEEKLY},
    {month_of, BACKUPSET_KEEP_MONTHLY},
};

static int64_t
rule_limit(const struct backupset_policy *p, unsigned bit)
{
	if (bit == BACKUPSET_KEEP_DAILY)
		return p->daily;
	if (bit == BACKUPSET_KEEP_WEEKLY)
		return p->weekly;
	return p->monthly;
}

int
backupset_policy_is_active(const struct backupset_policy *p)
{
	return p->daily > 0 || p->weekly > 0 || p->monthly > 0 || p->days > 0 || p->min > 0;
}

struct ranked {
	time_t at;
	size_t index;
};

/* Newest first; equal times keep their input order. */
static int
by_time_desc(const void *a, const void *b)
{
	const struct ranked *ra = a, *rb = b;

	if (ra->at != rb->at)
		return ra->at > rb->at ? -1 : 1;
	return ra->index < rb->index ? -1 : (ra->index > rb->index);
}

/* Walks counted items newest first; the first item of each new period is
 * that period's newest, kept while the rule has slots left. */
static void
apply_period(struct backupset_item *items, const size_t *order, size_t n, int64_t limit,
             const struct period_rule *rule)
{
	int64_t used = 0, last = 0;
	int has_last = 0;

	for (size_t k = 0; k < n && used < limit; k++) {
		struct backupset_item *it = &items[order[k]];
		int64_t period;

		if (!it->is_counted)
			continue;
		period = rule->period_of(it->at);
		if (has_last && period == last)
			continue;
		has_last = 1;
		last = period;
		it->keep |= rule->bit;
		used++;
	}
}

/* The rules that look at each item alone or at its rank. */
static void
apply_rank_and_age(struct backupset_item *items, const size_t *order, size_t n,
                   const struct backupset_policy *p, time_t now)
{
	int64_t rank = 0;

	for (size_t k = 0; k < n; k++) {
		struct backupset_item *it = &items[order[k]];

		if (!it->is_counted) {
			it->keep |= BACKUPSET_KEEP_UNCOUNTED;
			continue;
		}
		if (rank == 0)
			it->keep |= BACKUPSET_KEEP_NEWEST;
		if (rank < p->min)
			it->keep |= BACKUPSET_KEEP_MIN;
		if (p->days > 0 && (int64_t)now - (int64_t)it->at < p->days * SECONDS_PER_DAY)
			it->keep |= BACKUPSET_KEEP_DAYS;
		rank++;
	}
}

int
backupset_select(struct backupset_item *items, size_t n, const struct backupset_policy *p,
                 time_t now)
{
	struct ranked *ranked;
	size_t *order;

	for (size_t i = 0; i < n; i++)
		items[i].keep = backupset_policy_is_active(p) ? 0 : BACKUPSET_KEEP_ALL;
	if (n == 0 || !backupset_policy_is_active(p))
		return 0;
	ranked = calloc(n, sizeof(*ranked));
	order = calloc(n, sizeof(*order));
	if (ranked == NULL || order == NULL) {
		free(ranked);
		free(order);
		return CT_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		ranked[i] = (struct ranked){items[i].at, i};
	qsort(ranked, n, sizeof(*ranked), by_time_desc);
	for (size_t k = 0; k < n; k++)
		order[k] = ranked[k].index;
	apply_rank_and_age(items, order, n, p, now);
	for (size_t r = 0; r < sizeof(period_rules) / sizeof(period_rules[0]); r++)
		apply_period(items, order, n, rule_limit(p, period_rules[r].bit), &period_rules[r]);
	free(ranked);
	free(order);
	return 0;
}

const char *
backupset_keep_text(unsigned keep, char *buf, size_t size)
{
	static const struct {
		unsigned bit;
		const char *word;
	} words[] = {
	    {BACKUPSET_KEEP_NEWEST, "newest verified"}, {BACKUPSET_KEEP_MIN, "keep_min"},
	    {BACKUPSET_KEEP_DAYS, "keep_days"},         {BACKUPSET_KEEP_DAILY, "daily"},
	    {BACKUPSET_KEEP_WEEKLY, "weekly"},          {BACKUPSET_KEEP_MONTHLY, "monthly"},
	    {BACKUPSET_KEEP_UNCOUNTED, "not verified"}, {BACKUPSET_KEEP_ALL, "retention off"},
	};
	size_t len = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		int n;

		if ((keep & words[i].bit) == 0 || len >= size)
			continue;
		n = snprintf(buf + len, size - len, "%s%s", len > 0 ? ", " : "", words[i].word);
		len += n > 0 ? (size_t)n : 0;
	}
	return buf;
}
