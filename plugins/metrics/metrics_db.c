/*
 * metrics_db.c — the database's figures, in one statement: client
 * connections by state, idle-in-transaction sessions and the oldest's
 * age, the share of max_connections in use, the longest open transaction,
 * the size of every database, the cache hit ratio, and on a replica the
 * replay lag.
 *
 * Why one statement: each round trip costs the server a parse and the
 * job a wake-up; the runbook's get_db_connections needed one too.  Its
 * rows are (family, label, value), and a NULL value (a figure that does
 * not apply: the lag on a primary, the size of a database the role may
 * not connect to) is left out.
 *
 * Why only client backends, and not this session: the runbook counted
 * every row of pg_stat_activity by state, so autovacuum workers, the WAL
 * writer and the collecting session itself showed up as "connections".
 * The share of max_connections counts this session, which holds a slot.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "metrics.h"
#include "pgquery.h"

static const char metrics_sql[] =
    "WITH a AS (SELECT state, xact_start, state_change FROM pg_stat_activity "
    "           WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()), "
    "m AS (SELECT current_setting('max_connections')::float8 AS n) "
    "SELECT 'db_connections', s, (SELECT count(*) FROM a WHERE a.state = s)::float8, '' "
    "  FROM unnest(ARRAY['active', 'idle', 'idle in transaction', "
    "                    'idle in transaction (aborted)', 'fastpath function call', "
    "                    'disabled']) s "
    "UNION ALL SELECT 'db_connections_total', '', count(*), '' FROM a "
    "UNION ALL SELECT 'db_max_connections', '', n, '' FROM m "
    "UNION ALL SELECT 'db_connections_used_ratio', '', ((SELECT count(*) FROM a) + 1) / n, "
    "  'ratio' FROM m "
    "UNION ALL SELECT 'db_idle_in_transaction', '', count(*), '' FROM a "
    "  WHERE state LIKE 'idle in transaction%' "
    "UNION ALL SELECT 'db_idle_in_transaction_oldest_seconds', '', "
    "  coalesce(extract(epoch FROM max(now() - state_change)), 0), 'seconds' FROM a "
    "  WHERE state LIKE 'idle in transaction%' "
    "UNION ALL SELECT 'db_longest_transaction_seconds', '', "
    "  coalesce(extract(epoch FROM max(now() - xact_start)), 0), 'seconds' FROM a "
    "UNION ALL SELECT 'db_size_bytes', datname, "
    "  CASE WHEN has_database_privilege(oid, 'CONNECT') THEN pg_database_size(oid) END, "
    "  'bytes' FROM pg_database WHERE datallowconn AND NOT datistemplate "
    "UNION ALL SELECT 'db_cache_hit_ratio', '', "
    "  coalesce(sum(blks_hit) / nullif(sum(blks_hit) + sum(blks_read), 0), 1), 'ratio' "
    "  FROM pg_stat_database "
    "UNION ALL SELECT 'db_is_replica', '', pg_is_in_recovery()::int, '' "
    "UNION ALL SELECT 'db_replication_lag_seconds', '', "
    "  CASE WHEN NOT pg_is_in_recovery() THEN NULL "
    "       WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "       ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) "
    "  END, 'seconds'";

int
metrics_db_session(struct plugin_host *h, PGconn *conn, const struct metrics_opts *o)
{
	PGresult *res = NULL;
	char sql[96], err[512];
	int rc;

	/* A number the host parsed, never text from the configuration. */
	snprintf(sql, sizeof(sql), "SET statement_timeout = '%" PRId64 "ms'",
	         o->statement_timeout_ms);
	rc = pgquery_exec(conn, sql, plugin_host_should_stop, h, &res, err, sizeof(err));
	if (rc == 0)
		rc =
		    pgquery_check(res, PGRES_COMMAND_OK, "SET statement_timeout", err, sizeof(err));
	PQclear(res);
	if (rc != 0)
		return plugin_host_fail(h, rc, "%s", err);
	return 0;
}

/* A unit from the row, as one of the static words the report needs. */
static const char *
unit_word(const char *unit)
{
	static const char *const units[] = {"bytes", "seconds", "ratio"};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i]) == 0)
			return units[i];
	return "";
}

int
metrics_db_collect(struct plugin_host *h, PGconn *conn, struct metrics_samples *s)
{
	PGresult *res = NULL;
	char err[512];
	int rc;

	h->ct->progress(h->t, -1, "querying the database");
	rc = pgquery_exec(conn, metrics_sql, plugin_host_should_stop, h, &res, err, sizeof(err));
	if (rc == 0)
		rc =
		    pgquery_check(res, PGRES_TUPLES_OK, "the database's figures", err, sizeof(err));
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		if (PQgetisnull(res, i, 2))
			continue;
		rc = metrics_samples_add(s, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		                         strtod(PQgetvalue(res, i, 2), NULL),
		                         unit_word(PQgetvalue(res, i, 3)));
		if (rc != 0)
			snprintf(err, sizeof(err), "out of memory");
	}
	PQclear(res);
	if (rc != 0)
		return plugin_host_fail(h, rc, "%s", err);
	return 0;
}
