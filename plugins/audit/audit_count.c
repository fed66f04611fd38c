/*
 * audit_count.c — the auth log's events, and failed logins counted over
 * them in C, to the same definitions as the SQL of audit_db_logins.c:
 *
 *   per address: failures in the window, at or above `threshold`;
 *   stuffing:    an address failing against `stuffing_users` user names;
 *   burst:       `burst_threshold` failures of one address within
 *                `burst_window` (both ends included);
 *   user:        a user name failing from `distributed_ips` addresses;
 *   success:     a login from an address with `burst_threshold` failures
 *                in the `burst_window` up to it.
 *
 * Allowlisted addresses count for nothing but the proxy check.  The events
 * are sorted by address and time (failures before a login of the same
 * second), so each address is one run of the array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "audit.h"

/* ---- the events, with each user name kept once ---- */

static uint64_t
name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The slot of `name`: where it is, or the empty slot it would take. */
static size_t
name_slot(const struct audit_events *ev, const char *name)
{
	size_t i = (size_t)(name_hash(name) & (ev->n_slots - 1));

	while (ev->user_slots[i] != 0 && strcmp(ev->users[ev->user_slots[i] - 1], name) != 0)
		i = (i + 1) & (ev->n_slots - 1);
	return i;
}

/* Keeps the table at most half full. */
static int
slots_grow(struct audit_events *ev)
{
	size_t n = ev->n_slots ? ev->n_slots * 2 : 256;
	uint32_t *old = ev->user_slots;

	if (2 * (ev->n_users + 1) <= ev->n_slots)
		return 0;
	ev->user_slots = calloc(n, sizeof(*ev->user_slots));
	if (ev->user_slots == NULL) {
		ev->user_slots = old;
		return CT_ENOMEM;
	}
	ev->n_slots = n;
	for (size_t u = 0; u < ev->n_users; u++)
		ev->user_slots[name_slot(ev, ev->users[u])] = (uint32_t)(u + 1);
	free(old);
	return 0;
}

static int
users_add(struct audit_events *ev, const char *name, size_t slot, uint32_t *id)
{
	char *copy;

	if (ev->n_users == ev->cap_users) {
		size_t cap = ev->cap_users ? ev->cap_users * 2 : 64;
		char **users = realloc(ev->users, cap * sizeof(*users));

		if (users == NULL)
			return CT_ENOMEM;
		ev->users = users;
		ev->cap_users = cap;
	}
	copy = strdup(name);
	if (copy == NULL)
		return CT_ENOMEM;
	ev->users[ev->n_users] = copy;
	ev->user_slots[slot] = (uint32_t)(++ev->n_users);
	*id = ev->user_slots[slot] - 1;
	return 0;
}

static int
user_intern(struct audit_events *ev, const char *name, uint32_t *id)
{
	size_t slot;
	int rc = slots_grow(ev);

	if (rc != 0)
		return rc;
	slot = name_slot(ev, name);
	if (ev->user_slots[slot] == 0)
		return users_add(ev, name, slot, id);
	*id = ev->user_slots[slot] - 1;
	return 0;
}

int
audit_events_add(struct audit_events *ev, const struct audit_event *e, const char *user)
{
	struct audit_event copy = *e;
	int rc;

	if (ev->n == ev->cap) {
		size_t cap = ev->cap ? ev->cap * 2 : 1024;
		struct audit_event *items = realloc(ev->items, cap * sizeof(*items));

		if (items == NULL)
			return CT_ENOMEM;
		ev->items = items;
		ev->cap = cap;
	}
	rc = user_intern(ev, user, &copy.user);
	if (rc == 0)
		ev->items[ev->n++] = copy;
	return rc;
}

void
audit_events_free(struct audit_events *ev)
{
	for (size_t i = 0; i < ev->n_users; i++)
		free(ev->users[i]);
	free(ev->users);
	free(ev->user_slots);
	free(ev->items);
	memset(ev, 0, sizeof(*ev));
}

/* ---- counting ---- */

static int
cmp_address_time(const void *pa, const void *pb)
{
	const struct audit_event *a = pa, *b = pb;
	int c = audit_addr_cmp(&a->addr, &b->addr);

	if (c != 0)
		return c;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return (int)a->is_success - (int)b->is_success;
}

static int
cmp_u32(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	return a < b ? -1 : a > b;
}

/* One address's run of events [begin, end), split for the counts. */
struct address_run {
	const struct audit_event *ev;
	size_t n;
	time_t *fail_ts; /* its failures' times, ascending */
	uint32_t *fail_users;
	size_t n_fail;
};

/* State across the runs. */
struct counter {
	const struct audit_thresholds *th;
	const struct audit_nets *nets;
	const struct audit_events *ev;
	struct audit_logins *l;
	time_t burst_s;
	time_t *fail_ts; /* scratch, one slot per event */
	uint32_t *fail_users;
};

static size_t
count_distinct(uint32_t *ids, size_t n)
{
	size_t d = 0;

	if (n > 1)
		qsort(ids, n, sizeof(*ids), cmp_u32);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || ids[i] != ids[i - 1])
			d++;
	return d;
}

static void
hit_init(struct audit_hit *x, int kind, const struct audit_addr *a)
{
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	audit_addr_format(a, x->object, sizeof(x->object));
}

static int
count_threshold(struct counter *c, const struct address_run *run, size_t n_users)
{
	struct audit_hit x;
	int rc = 0;

	hit_init(&x, AUDIT_HIT_IP, &run->ev[0].addr);
	x.count = (int64_t)run->n_fail;
	x.distinct = (int64_t)n_users;
	x.first = run->fail_ts[0];
	x.last = run->fail_ts[run->n_fail - 1];
	if (x.count >= c->th->threshold)
		rc = audit_logins_add_hit(c->l, &x);
	x.kind = AUDIT_HIT_STUFFING;
	if (rc == 0 && x.distinct >= c->th->stuffing_users)
		rc = audit_logins_add_hit(c->l, &x);
	return rc;
}

/* The largest number of failures within burst_window. */
static int
count_burst(struct counter *c, const struct address_run *run)
{
	struct audit_hit x;
	size_t lo = 0, best = 0, best_lo = 0, best_hi = 0;

	for (size_t hi = 0; hi < run->n_fail; hi++) {
		while (run->fail_ts[hi] - run->fail_ts[lo] > c->burst_s)
			lo++;
		if (hi - lo + 1 > best) {
			best = hi - lo + 1;
			best_lo = lo;
			best_hi = hi;
		}
	}
	if ((int64_t)best < c->th->burst_threshold)
		return 0;
	hit_init(&x, AUDIT_HIT_BURST, &run->ev[0].addr);
	x.count = (int64_t)best;
	x.first = run->fail_ts[best_lo];
	x.last = run->fail_ts[best_hi];
	return audit_logins_add_hit(c->l, &x);
}

/* The first failure at or after t. */
static size_t
lower_bound(const time_t *ts, size_t n, time_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ts[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
count_successes(struct counter *c, const struct address_run *run)
{
	int rc = 0;

	for (size_t i = 0; i < run->n && rc == 0; i++) {
		const struct audit_event *e = &run->ev[i];
		size_t from, to;
		struct audit_hit x;

		if (!e->is_success)
			continue;
		from = lower_bound(run->fail_ts, run->n_fail, e->ts - c->burst_s);
		to = lower_bound(run->fail_ts, run->n_fail, e->ts + 1);
		if ((int64_t)(to - from) < c->th->burst_threshold)
			continue;
		hit_init(&x, AUDIT_HIT_SUCCESS, &e->addr);
		x.count = (int64_t)(to - from);
		x.first = run->fail_ts[from];
		x.last = e->ts;
		snprintf(x.user, sizeof(x.user), "%s", c->ev->users[e->user]);
		rc = audit_logins_add_hit(c->l, &x);
	}
	return rc;
}

/* The proxy check sees every event, allowlisted ones too. */
static void
note_top(struct counter *c, const struct address_run *run)
{
	struct audit_logins *l = c->l;
	const struct audit_addr *a = &run->ev[0].addr;

	l->top_total += (int64_t)run->n;
	if ((int64_t)run->n <= l->top_count)
		return;
	l->top_count = (int64_t)run->n;
	audit_addr_format(a, l->top_ip, sizeof(l->top_ip));
	l->is_top_private = audit_addr_is_private(a);
	for (size_t i = 0; i < c->nets->n_proxies; i++)
		l->is_top_private |= audit_cidr_contains(&c->nets->proxies[i], a);
}

static int
count_address(struct counter *c, const struct audit_event *ev, size_t n)
{
	struct address_run run = {
	    .ev = ev, .n = n, .fail_ts = c->fail_ts, .fail_users = c->fail_users};
	size_t n_users;
	int rc;

	note_top(c, &run);
	for (size_t i = 0; i < n; i++)
		if (!ev[i].is_success) {
			run.fail_ts[run.n_fail] = ev[i].ts;
			run.fail_users[run.n_fail++] = ev[i].user;
		}
	if (ev[0].is_allowed) {
		c->l->allowed += (int64_t)run.n_fail;
		return 0;
	}
	c->l->failures += (int64_t)run.n_fail;
	c->l->addresses += run.n_fail > 0;
	rc = count_successes(c, &run);
	if (rc != 0 || run.n_fail == 0)
		return rc;
	rc = count_burst(c, &run);
	n_users = count_distinct(run.fail_users, run.n_fail);
	return rc != 0 ? rc : count_threshold(c, &run, n_users);
}

/* ---- per user name, across addresses ---- */

static int
cmp_user_address(const void *pa, const void *pb)
{
	const struct audit_event *a = pa, *b = pb;

	if (a->user != b->user)
		return a->user < b->user ? -1 : 1;
	return cmp_address_time(pa, pb);
}

static int
count_user(struct counter *c, const struct audit_event *ev, size_t n)
{
	struct audit_hit x = {.kind = AUDIT_HIT_USER, .first = ev[0].ts, .last = ev[0].ts};

	for (size_t i = 0; i < n; i++) {
		x.distinct += i == 0 || audit_addr_cmp(&ev[i].addr, &ev[i - 1].addr) != 0;
		x.first = ev[i].ts < x.first ? ev[i].ts : x.first;
		x.last = ev[i].ts > x.last ? ev[i].ts : x.last;
	}
	x.count = (int64_t)n;
	if (x.distinct < c->th->distributed_ips)
		return 0;
	snprintf(x.object, sizeof(x.object), "%s", c->ev->users[ev[0].user]);
	return audit_logins_add_hit(c->l, &x);
}

/* Failures from addresses that are not allowlisted, by user name. */
static int
count_users(struct counter *c)
{
	struct audit_event *f = malloc((c->ev->n + 1) * sizeof(*f));
	size_t n = 0, start = 0;
	int rc = 0;

	if (f == NULL)
		return CT_ENOMEM;
	for (size_t i = 0; i < c->ev->n; i++)
		if (!c->ev->items[i].is_success && !c->ev->items[i].is_allowed)
			f[n++] = c->ev->items[i];
	if (n > 1)
		qsort(f, n, sizeof(*f), cmp_user_address);
	for (size_t i = 1; i <= n && rc == 0; i++)
		if (i == n || f[i].user != f[start].user) {
			rc = count_user(c, f + start, i - start);
			start = i;
		}
	free(f);
	return rc;
}

int
audit_count_logins(const struct audit_thresholds *th, const struct audit_nets *nets,
                   struct audit_events *ev, struct audit_logins *l)
{
	struct counter c = {.th = th,
	                    .nets = nets,
	                    .ev = ev,
	                    .l = l,
	                    .burst_s = (time_t)(th->burst_window_ms / 1000)};
	size_t start = 0;
	int rc = 0;

	c.fail_ts = malloc((ev->n + 1) * sizeof(*c.fail_ts));
	c.fail_users = malloc((ev->n + 1) * sizeof(*c.fail_users));
	if (c.fail_ts == NULL || c.fail_users == NULL)
		rc = CT_ENOMEM;
	if (rc == 0 && ev->n > 1)
		qsort(ev->items, ev->n, sizeof(*ev->items), cmp_address_time);
	for (size_t i = 1; rc == 0 && i <= ev->n; i++)
		if (i == ev->n || audit_addr_cmp(&ev->items[i].addr, &ev->items[start].addr) != 0) {
			rc = count_address(&c, ev->items + start, i - start);
			start = i;
		}
	if (rc == 0)
		rc = count_users(&c);
	if (rc == 0)
		audit_logins_sort(l);
	l->is_done = rc == 0;
	free(c.fail_ts);
	free(c.fail_users);
	return rc;
}
