/*
 * audit_findings.c — the run's findings, kept until the report emits them,
 * and the words of failed-login hits, which read the same whether the
 * event table or the auth log showed them.
 *
 * Why kept and not reported at once: the job's status depends on the
 * highest severity found (warn_on, fail_on), which is known only at the
 * end, and the report is where a plugin sets it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <caretaker/plugin.h>

#include "audit.h"

static char *
vformat(const char *fmt, va_list ap)
{
	va_list copy;
	char *s;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s != NULL)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

static int
findings_grow(struct audit_findings *f)
{
	size_t cap = f->cap ? f->cap * 2 : 64;
	struct audit_finding *items;

	if (f->n < f->cap)
		return 0;
	items = realloc(f->items, cap * sizeof(*items));
	if (items == NULL)
		return CT_ENOMEM;
	f->items = items;
	f->cap = cap;
	return 0;
}

int
audit_findings_add(struct audit_findings *f, int severity, const char *object, const char *fmt, ...)
{
	struct audit_finding it = {.severity = severity};
	va_list ap;

	va_start(ap, fmt);
	it.message = vformat(fmt, ap);
	va_end(ap);
	if (object != NULL)
		it.object = strdup(object);
	if (it.message == NULL || (object != NULL && it.object == NULL) || findings_grow(f) != 0) {
		free(it.message);
		free(it.object);
		f->n_dropped++;
		return CT_ENOMEM;
	}
	f->items[f->n++] = it;
	return 0;
}

int
audit_findings_max(const struct audit_findings *f)
{
	int max = -1;

	for (size_t i = 0; i < f->n; i++)
		if (f->items[i].severity > max)
			max = f->items[i].severity;
	return max;
}

void
audit_findings_free(struct audit_findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->items[i].object);
		free(f->items[i].message);
	}
	free(f->items);
	memset(f, 0, sizeof(*f));
}

/* ---- durations and times for messages ---- */

void
audit_format_duration(int64_t ms, char *buf, size_t size)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "min"}, {1000, "s"}, {1, "ms"}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms >= units[i].ms && ms % units[i].ms == 0) {
			snprintf(buf, size, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
			return;
		}
	snprintf(buf, size, "%lldms", (long long)ms);
}

void
audit_format_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "@%lld", (long long)t);
}

/* ---- failed-login hits ---- */

int
audit_logins_add_hit(struct audit_logins *l, const struct audit_hit *hit)
{
	if (l->n_hits == l->cap_hits) {
		size_t cap = l->cap_hits ? l->cap_hits * 2 : 32;
		struct audit_hit *hits = realloc(l->hits, cap * sizeof(*hits));

		if (hits == NULL)
			return CT_ENOMEM;
		l->hits = hits;
		l->cap_hits = cap;
	}
	l->hits[l->n_hits++] = *hit;
	return 0;
}

void
audit_logins_free(struct audit_logins *l)
{
	free(l->hits);
	l->hits = NULL;
	l->n_hits = l->cap_hits = 0;
}

/* Strongest first within each kind; logins after a burst by time. */

static int
cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int
cmp_hits(const void *pa, const void *pb)
{
	const struct audit_hit *a = pa, *b = pb;
	int by_distinct = a->kind == AUDIT_HIT_STUFFING || a->kind == AUDIT_HIT_USER;
	int c = a->kind - b->kind;

	if (c == 0 && a->kind == AUDIT_HIT_SUCCESS)
		c = cmp_i64((int64_t)a->last, (int64_t)b->last);
	if (c == 0 && by_distinct)
		c = cmp_i64(b->distinct, a->distinct);
	if (c == 0)
		c = cmp_i64(b->count, a->count);
	return c != 0 ? c : strcmp(a->object, b->object);
}

void
audit_logins_sort(struct audit_logins *l)
{
	if (l->n_hits > 1) /* qsort wants a real array, even of none */
		qsort(l->hits, l->n_hits, sizeof(*l->hits), cmp_hits);
}

/* What a hit's words need besides the hit. */
struct hit_words {
	const struct audit_opts *o;
	const struct audit_logins *l;
	char window[32];
	char burst[32];
};

static void
hit_ip(const struct hit_words *w, const struct audit_hit *x, struct audit_findings *f)
{
	char first[32], last[32];

	audit_format_time(x->first, first, sizeof(first));
	audit_format_time(x->last, last, sizeof(last));
	audit_findings_add(f, CT_SEV_WARNING, x->object,
	                   "%lld failed logins in %s (threshold %lld), %s to %s, against %lld "
	                   "user name(s) [%s]",
	                   (long long)x->count, w->window, (long long)w->o->th.threshold, first,
	                   last, (long long)x->distinct, w->l->label);
}

static void
hit_stuffing(const struct hit_words *w, const struct audit_hit *x, struct audit_findings *f)
{
	audit_findings_add(f, CT_SEV_WARNING, x->object,
	                   "credential stuffing: failed logins against %lld user names "
	                   "(threshold %lld) in %s, %lld failures [%s]",
	                   (long long)x->distinct, (long long)w->o->th.stuffing_users, w->window,
	                   (long long)x->count, w->l->label);
}

static void
hit_burst(const struct hit_words *w, const struct audit_hit *x, struct audit_findings *f)
{
	char first[32], last[32];

	audit_format_time(x->first, first, sizeof(first));
	audit_format_time(x->last, last, sizeof(last));
	audit_findings_add(f, CT_SEV_WARNING, x->object,
	                   "burst: %lld failed logins within %s (threshold %lld), %s to %s [%s]",
	                   (long long)x->count, w->burst, (long long)w->o->th.burst_threshold,
	                   first, last, w->l->label);
}

static void
hit_user(const struct hit_words *w, const struct audit_hit *x, struct audit_findings *f)
{
	audit_findings_add(f, CT_SEV_WARNING, x->object,
	                   "distributed guessing: this user name failed to log in from %lld "
	                   "addresses (threshold %lld) in %s, %lld failures [%s]",
	                   (long long)x->distinct, (long long)w->o->th.distributed_ips, w->window,
	                   (long long)x->count, w->l->label);
}

static void
hit_success(const struct hit_words *w, const struct audit_hit *x, struct audit_findings *f)
{
	char first[32], last[32];

	audit_format_time(x->first, first, sizeof(first));
	audit_format_time(x->last, last, sizeof(last));
	audit_findings_add(f, CT_SEV_CRITICAL, x->object,
	                   "login as '%s' at %s right after %lld failed logins from the same "
	                   "address within %s (since %s) [%s]\nhint: check that account: a "
	                   "guessed password looks like this",
	                   x->user, last, (long long)x->count, w->burst, first, w->l->label);
}

typedef void hit_words_fn(const struct hit_words *w, const struct audit_hit *x,
                          struct audit_findings *f);

static const struct {
	hit_words_fn *fn;
	int severity;
	const char *more; /* what the hits past list_limit are */
} hit_kinds[AUDIT_HIT__LAST] = {
    [AUDIT_HIT_IP] = {hit_ip, CT_SEV_WARNING, "addresses at or above the threshold"},
    [AUDIT_HIT_STUFFING] = {hit_stuffing, CT_SEV_WARNING,
                            "addresses failing against many user names"},
    [AUDIT_HIT_BURST] = {hit_burst, CT_SEV_WARNING, "addresses with a burst"},
    [AUDIT_HIT_USER] = {hit_user, CT_SEV_WARNING, "user names failing from many addresses"},
    [AUDIT_HIT_SUCCESS] = {hit_success, CT_SEV_CRITICAL, "logins right after a burst"},
};

static void
report_proxy(const struct hit_words *w, struct audit_findings *f)
{
	const struct audit_logins *l = w->l;

	if (!l->is_top_private || l->top_total <= 0 || l->top_count < w->o->th.threshold ||
	    l->top_count * 100 < w->o->th.proxy_share_pct * l->top_total)
		return;
	audit_findings_add(f, CT_SEV_WARNING, l->top_ip,
	                   "%lld of %lld events (%lld%%) in %s come from this private or proxy "
	                   "address [%s]: the application seems to log its proxy, not the "
	                   "client, so counts per address say little\nhint: have the "
	                   "application take the client from X-Forwarded-For (set by the "
	                   "proxy it trusts); list other proxies in `proxies`",
	                   (long long)l->top_count, (long long)l->top_total,
	                   (long long)(l->top_count * 100 / l->top_total), w->window, l->label);
}

/* The window reaches further back than the events: another job's
 * retention, or a young table. */
static void
report_retention(const struct hit_words *w, struct audit_findings *f)
{
	const struct audit_logins *l = w->l;
	char oldest[32], span[32];

	if (l->oldest == 0) {
		audit_findings_add(f, CT_SEV_WARNING, l->label,
		                   "no events at all: is the application recording them?");
		return;
	}
	if (l->oldest <= l->cutoff)
		return;
	audit_format_time(l->oldest, oldest, sizeof(oldest));
	audit_format_duration(((int64_t)(l->now - l->oldest) / 3600) * 3600000, span, sizeof(span));
	audit_findings_add(f, CT_SEV_WARNING, l->label,
	                   "the oldest event is from %s, %s ago, inside the %s window: the counts "
	                   "cover less than the window\nhint: %s",
	                   oldest, l->now - l->oldest < 3600 ? "under 1h" : span, w->window,
	                   l->retention_hint);
}

void
audit_logins_report(const struct audit_opts *o, const struct audit_logins *l,
                    struct audit_findings *f, int64_t counts[AUDIT_HIT__LAST])
{
	struct hit_words w = {.o = o, .l = l};

	audit_format_duration(o->th.window_ms, w.window, sizeof(w.window));
	audit_format_duration(o->th.burst_window_ms, w.burst, sizeof(w.burst));
	for (size_t i = 0; i < l->n_hits; i++) {
		const struct audit_hit *x = &l->hits[i];

		if (counts[x->kind]++ < o->list_limit)
			hit_kinds[x->kind].fn(&w, x, f);
	}
	for (int k = 0; k < AUDIT_HIT__LAST; k++)
		if (counts[k] > o->list_limit)
			audit_findings_add(f, hit_kinds[k].severity, l->label,
			                   "%lld more %s, not listed (list_limit = %lld)",
			                   (long long)(counts[k] - o->list_limit),
			                   hit_kinds[k].more, (long long)o->list_limit);
	report_proxy(&w, f);
	report_retention(&w, f);
}
