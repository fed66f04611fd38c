/*
 * audit_db_events.c — events that are listed one by one rather than
 * counted: permission changes (the runbook's audit_permission_changes) and
 * what the application itself flagged as suspicious
 * (audit_suspicious_activity), within events_window, oldest first, at most
 * list_limit of each with the number left out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "audit.h"

/* Details are cut here (characters): a finding is one look, not the
 * record. */
#define DETAILS_CHARS "300"

/* $1 types, $2 the window's start, $3 list_limit. */
static const char listed_sql[] =
    "SELECT {type}, extract(epoch FROM ({time})::timestamptz)::bigint, "
    "pg_catalog.host({ip}), {user}, pg_catalog.left({details}, " DETAILS_CHARS
    "), count(*) OVER () "
    "FROM {table} WHERE {type} = ANY ($1::text[]) AND {time} >= $2::timestamptz "
    "ORDER BY {time} LIMIT $3::bigint";

/* One kind of listed event. */
struct listing {
	const char *what; /* for messages: "permission changes" */
	const struct audit_list *types;
	int severity;
	int64_t *count;
};

static void
list_row(const PGresult *res, int r, const struct listing *k, struct audit_findings *f)
{
	char when[32];
	const char *ip = PQgetisnull(res, r, 2) ? "an unknown address" : PQgetvalue(res, r, 2);
	const char *user = PQgetvalue(res, r, 3);

	audit_format_time((time_t)strtoll(PQgetvalue(res, r, 1), NULL, 10), when, sizeof(when));
	audit_findings_add(f, k->severity, user[0] ? user : NULL, "%s at %s from %s%s%s",
	                   PQgetvalue(res, r, 0), when, ip, PQgetisnull(res, r, 4) ? "" : ": ",
	                   PQgetvalue(res, r, 4));
}

static int
list_kind(struct plugin_host *h, const struct audit_opts *o, const struct audit_db *db,
          const struct listing *k, struct audit_findings *f)
{
	char limit[32], *types = audit_db_array(k->types->items, k->types->n);
	char *sql = audit_db_expand(db, listed_sql), what[600];
	const char *values[3] = {types, db->events_cutoff, limit};
	PGresult *res = NULL;
	int rc;

	snprintf(limit, sizeof(limit), "%lld", (long long)o->list_limit);
	snprintf(what, sizeof(what), "listing %s in %s", k->what, o->src.table);
	rc = types && sql ? audit_db_query(h, db, what, sql, values, 3, &res)
	                  : plugin_host_fail(h, CT_ENOMEM, "out of memory");
	for (int r = 0; rc == 0 && r < PQntuples(res); r++)
		list_row(res, r, k, f);
	*k->count = rc == 0 && PQntuples(res) > 0 ? strtoll(PQgetvalue(res, 0, 5), NULL, 10) : 0;
	if (*k->count > o->list_limit)
		audit_findings_add(
		    f, k->severity, o->src.table, "%lld more %s, not listed (list_limit = %lld)",
		    (long long)(*k->count - o->list_limit), k->what, (long long)o->list_limit);
	PQclear(res);
	free(types);
	free(sql);
	return rc;
}

int
audit_db_events(struct plugin_host *h, const struct audit_opts *o, const struct audit_db *db,
                struct audit_findings *f, struct audit_listed *listed)
{
	const struct listing kinds[] = {
	    {"permission changes", &o->permission_events, o->permission_severity,
	     &listed->permission_changes},
	    {"suspicious events", &o->suspicious_events, CT_SEV_WARNING, &listed->suspicious},
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && rc == 0; i++)
		if (kinds[i].types->n > 0)
			rc = list_kind(h, o, db, &kinds[i], f);
	return rc;
}
