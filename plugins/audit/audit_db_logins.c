/*
 * audit_db_logins.c — failed logins counted in SQL over the event table,
 * to the definitions audit_count.c states for the auth log, plus the
 * checks that say whether the counts can be trusted: the address with
 * most events (an application that logs its proxy) and the oldest event
 * (a retention rule shorter than the window).
 *
 * Every query starts from the same two sets: `ev`, the failures since the
 * window's start with a flag for allowlisted addresses, and `f`, those
 * without the allowlisted ones.  Values are parameters; the names come
 * quoted from audit_db.c ({table}, {type}, ...).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "audit.h"

#define EPOCH(x) "extract(epoch FROM (" x ")::timestamptz)::bigint"

/* $1 failure types, $2 the window's start, $3 the allowlist. */
#define FAILURES                                                                                   \
	"WITH ev AS (SELECT {time} AS ts, {ip} AS ip, {user} AS username, "                        \
	"COALESCE({ip} <<= ANY ($3::inet[]), false) AS is_allowed FROM {table} "                   \
	"WHERE {type} = ANY ($1::text[]) AND {time} >= $2::timestamptz), "                         \
	"f AS (SELECT ts, ip, username FROM ev WHERE NOT is_allowed) "

static const char totals_sql[] =
    FAILURES "SELECT count(*) FILTER (WHERE NOT is_allowed), count(*) FILTER (WHERE is_allowed), "
             "count(DISTINCT ip) FILTER (WHERE NOT is_allowed) FROM ev";

/* $4 threshold, $5 stuffing_users. */
static const char addresses_sql[] =
    FAILURES "SELECT pg_catalog.host(ip), count(*), count(DISTINCT username), " EPOCH(
        "min(ts)") ", " EPOCH("max(ts)") " FROM f WHERE ip IS NOT NULL GROUP BY ip "
                                         "HAVING count(*) >= $4::bigint "
                                         "OR count(DISTINCT username) >= $5::bigint";

/* $4 burst_window, $5 burst_threshold. */
static const char bursts_sql[] =
    FAILURES "SELECT DISTINCT ON (ip) pg_catalog.host(ip), n, " EPOCH("first") ", " EPOCH(
        "ts") " FROM (SELECT ip, ts, count(*) OVER w AS n, min(ts) OVER w AS first "
              "FROM f WHERE ip IS NOT NULL WINDOW w AS (PARTITION BY ip ORDER BY ts "
              "RANGE BETWEEN $4::interval PRECEDING AND CURRENT ROW)) b "
              "WHERE n >= $5::bigint ORDER BY ip, n DESC, ts";

/* $4 distributed_ips. */
static const char users_sql[] =
    FAILURES "SELECT COALESCE(username, ''), count(DISTINCT ip), count(*), " EPOCH(
        "min(ts)") ", " EPOCH("max(ts)") " FROM f WHERE ip IS NOT NULL GROUP BY username "
                                         "HAVING count(DISTINCT ip) >= $4::bigint";

/* $4 success types, $5 burst_window, $6 burst_threshold.  Logins and
 * failures of the same addresses in one time line, each login counting the
 * failures within burst_window up to it: one sort, where a join of every
 * login with every failure of its address would grow with their product. */
static const char successes_sql[] =
    FAILURES ", s AS (SELECT {time} AS ts, {ip} AS ip, {user} AS username FROM {table} "
             "WHERE {type} = ANY ($4::text[]) AND {time} >= $2::timestamptz), "
             "u AS (SELECT ts, ip, username, false AS is_login FROM f WHERE ip IS NOT NULL "
             "UNION ALL SELECT ts, ip, username, true FROM s "
             "WHERE ip IN (SELECT ip FROM f) AND NOT COALESCE(ip <<= ANY ($3::inet[]), false)), "
             "w AS (SELECT ts, ip, username, is_login, "
             "count(*) FILTER (WHERE NOT is_login) OVER b AS n, "
             "min(ts) FILTER (WHERE NOT is_login) OVER b AS first FROM u "
             "WINDOW b AS (PARTITION BY ip ORDER BY ts "
             "RANGE BETWEEN $5::interval PRECEDING AND CURRENT ROW)) "
             "SELECT pg_catalog.host(ip), COALESCE(username, ''), n, " EPOCH("first") ", " EPOCH(
                 "ts") " FROM w WHERE is_login AND n >= $6::bigint";

/* $1 the window's start, $2 private ranges and proxies.  Every event
 * type, allowlisted addresses too: an allowlisted proxy is the case. */
static const char top_sql[] =
    "SELECT pg_catalog.host(ip), n, total, COALESCE(ip <<= ANY ($2::inet[]), false) "
    "FROM (SELECT ip, count(*) AS n, sum(count(*)) OVER () AS total "
    "FROM (SELECT {ip} AS ip FROM {table} WHERE {time} >= $1::timestamptz) a GROUP BY ip) g "
    "WHERE ip IS NOT NULL ORDER BY n DESC, ip LIMIT 1";

static const char oldest_sql[] = "SELECT " EPOCH("min({time})") " FROM {table}";

/* What the queries share: the session, and values $1..$3. */
struct login_query {
	struct plugin_host *h;
	const struct audit_opts *o;
	const struct audit_db *db;
	struct audit_logins *l;
	char *failure_types;
	char *allow;
	char *success_types;
	char *private_ranges; /* and the proxies */
	char burst_window[32];
	char what[600];
};

static int64_t
int_at(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Runs `tmpl` with $1..$3 and `extra` values after them. */
static int
run(struct login_query *q, const char *tmpl, const char *const *extra, int n_extra, PGresult **res)
{
	const char *values[8] = {q->failure_types, q->db->cutoff, q->allow};
	char *sql = audit_db_expand(q->db, tmpl);
	int rc;

	if (sql == NULL)
		return plugin_host_fail(q->h, CT_ENOMEM, "out of memory");
	for (int i = 0; i < n_extra; i++)
		values[3 + i] = extra[i];
	rc = audit_db_query(q->h, q->db, q->what, sql, values, 3 + n_extra, res);
	free(sql);
	return rc;
}

static int
count_totals(struct login_query *q)
{
	PGresult *res = NULL;
	int rc = run(q, totals_sql, NULL, 0, &res);

	if (rc != 0)
		return rc;
	q->l->failures = int_at(res, 0, 0);
	q->l->allowed = int_at(res, 0, 1);
	q->l->addresses = int_at(res, 0, 2);
	PQclear(res);
	return 0;
}

static int
add_hit(struct login_query *q, int kind, const PGresult *res, int row,
        const struct audit_hit *counts)
{
	struct audit_hit x = *counts;

	x.kind = kind;
	snprintf(x.object, sizeof(x.object), "%s", PQgetvalue(res, row, 0));
	if (audit_logins_add_hit(q->l, &x) != 0)
		return plugin_host_fail(q->h, CT_ENOMEM, "out of memory");
	return 0;
}

static int
count_addresses(struct login_query *q)
{
	char threshold[32], stuffing[32];
	const char *extra[2] = {threshold, stuffing};
	PGresult *res = NULL;
	int rc;

	snprintf(threshold, sizeof(threshold), "%lld", (long long)q->o->th.threshold);
	snprintf(stuffing, sizeof(stuffing), "%lld", (long long)q->o->th.stuffing_users);
	rc = run(q, addresses_sql, extra, 2, &res);
	for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
		struct audit_hit x = {.count = int_at(res, r, 1),
		                      .distinct = int_at(res, r, 2),
		                      .first = (time_t)int_at(res, r, 3),
		                      .last = (time_t)int_at(res, r, 4)};

		if (x.count >= q->o->th.threshold)
			rc = add_hit(q, AUDIT_HIT_IP, res, r, &x);
		if (rc == 0 && x.distinct >= q->o->th.stuffing_users)
			rc = add_hit(q, AUDIT_HIT_STUFFING, res, r, &x);
	}
	PQclear(res);
	return rc;
}

static int
count_bursts(struct login_query *q)
{
	char burst[32];
	const char *extra[2] = {q->burst_window, burst};
	PGresult *res = NULL;
	int rc;

	snprintf(burst, sizeof(burst), "%lld", (long long)q->o->th.burst_threshold);
	rc = run(q, bursts_sql, extra, 2, &res);
	for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
		struct audit_hit x = {.count = int_at(res, r, 1),
		                      .first = (time_t)int_at(res, r, 2),
		                      .last = (time_t)int_at(res, r, 3)};

		rc = add_hit(q, AUDIT_HIT_BURST, res, r, &x);
	}
	PQclear(res);
	return rc;
}

static int
count_users(struct login_query *q)
{
	char ips[32];
	const char *extra[1] = {ips};
	PGresult *res = NULL;
	int rc;

	snprintf(ips, sizeof(ips), "%lld", (long long)q->o->th.distributed_ips);
	rc = run(q, users_sql, extra, 1, &res);
	for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
		struct audit_hit x = {.distinct = int_at(res, r, 1),
		                      .count = int_at(res, r, 2),
		                      .first = (time_t)int_at(res, r, 3),
		                      .last = (time_t)int_at(res, r, 4)};

		rc = add_hit(q, AUDIT_HIT_USER, res, r, &x);
	}
	PQclear(res);
	return rc;
}

static int
count_successes(struct login_query *q)
{
	char burst[32];
	const char *extra[3] = {q->success_types, q->burst_window, burst};
	PGresult *res = NULL;
	int rc;

	if (q->o->success_events.n == 0)
		return 0;
	snprintf(burst, sizeof(burst), "%lld", (long long)q->o->th.burst_threshold);
	rc = run(q, successes_sql, extra, 3, &res);
	for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
		struct audit_hit x = {.count = int_at(res, r, 2),
		                      .first = (time_t)int_at(res, r, 3),
		                      .last = (time_t)int_at(res, r, 4)};

		snprintf(x.user, sizeof(x.user), "%s", PQgetvalue(res, r, 1));
		rc = add_hit(q, AUDIT_HIT_SUCCESS, res, r, &x);
	}
	PQclear(res);
	return rc;
}

static int
find_top(struct login_query *q)
{
	const char *values[2] = {q->db->cutoff, q->private_ranges};
	char *sql = audit_db_expand(q->db, top_sql);
	PGresult *res = NULL;
	int rc;

	if (sql == NULL)
		return plugin_host_fail(q->h, CT_ENOMEM, "out of memory");
	rc = audit_db_query(q->h, q->db, q->what, sql, values, 2, &res);
	free(sql);
	if (rc == 0 && PQntuples(res) == 1) {
		snprintf(q->l->top_ip, sizeof(q->l->top_ip), "%s", PQgetvalue(res, 0, 0));
		q->l->top_count = int_at(res, 0, 1);
		q->l->top_total = int_at(res, 0, 2);
		q->l->is_top_private = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	}
	PQclear(res);
	return rc;
}

static int
find_oldest(struct login_query *q)
{
	char *sql = audit_db_expand(q->db, oldest_sql);
	PGresult *res = NULL;
	int rc;

	if (sql == NULL)
		return plugin_host_fail(q->h, CT_ENOMEM, "out of memory");
	rc = audit_db_query(q->h, q->db, q->what, sql, NULL, 0, &res);
	free(sql);
	if (rc == 0)
		q->l->oldest = (time_t)int_at(res, 0, 0);
	PQclear(res);
	return rc;
}

/* The values every query shares, as parameters. */
static int
query_values(struct login_query *q)
{
	const char **ranges = calloc(audit_n_private_ranges + q->o->proxies.n + 1, sizeof(*ranges));
	size_t n = 0;

	if (ranges == NULL)
		return CT_ENOMEM;
	for (size_t i = 0; i < audit_n_private_ranges; i++)
		ranges[n++] = audit_private_ranges[i];
	for (size_t i = 0; i < q->o->proxies.n; i++)
		ranges[n++] = q->o->proxies.items[i];
	q->private_ranges = audit_db_array(ranges, n);
	free(ranges);
	q->failure_types = audit_db_array(q->o->failure_events.items, q->o->failure_events.n);
	q->success_types = audit_db_array(q->o->success_events.items, q->o->success_events.n);
	q->allow = audit_db_array(q->o->allow.items, q->o->allow.n);
	snprintf(q->burst_window, sizeof(q->burst_window), "%lld milliseconds",
	         (long long)q->o->th.burst_window_ms);
	return q->private_ranges && q->failure_types && q->success_types && q->allow ? 0
	                                                                             : CT_ENOMEM;
}

int
audit_db_logins(struct plugin_host *h, const struct audit_opts *o, const struct audit_db *db,
                struct audit_logins *l)
{
	struct login_query q = {.h = h, .o = o, .db = db, .l = l};
	int rc;

	snprintf(l->label, sizeof(l->label), "table %s", o->src.table);
	snprintf(q.what, sizeof(q.what), "counting failed logins in %s", o->src.table);
	l->retention_hint = "a retention rule (another job's) deleting these events sooner than "
	                    "the window hides what this audit looks for; keep them longer";
	l->now = db->now_epoch;
	l->cutoff = db->cutoff_epoch;
	rc = query_values(&q);
	if (rc != 0)
		rc = plugin_host_fail(h, rc, "out of memory");
	if (rc == 0)
		rc = count_totals(&q);
	if (rc == 0)
		rc = count_addresses(&q);
	if (rc == 0)
		rc = count_bursts(&q);
	if (rc == 0)
		rc = count_users(&q);
	if (rc == 0)
		rc = count_successes(&q);
	if (rc == 0)
		rc = find_top(&q);
	if (rc == 0)
		rc = find_oldest(&q);
	if (rc == 0)
		audit_logins_sort(l);
	l->is_done = rc == 0;
	free(q.failure_types);
	free(q.allow);
	free(q.success_types);
	free(q.private_ranges);
	return rc;
}
