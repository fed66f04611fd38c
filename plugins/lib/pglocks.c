/*
 * pglocks.c — the sessions in a maintenance statement's way (see
 * pglocks.h), from pg_locks and pg_stat_activity.
 *
 * The conflict table is PostgreSQL's ("Conflicting Lock Modes" in the
 * manual's explicit locking chapter); a statement asking for `mode` waits
 * for (or, with SKIP_LOCKED, skips on) a granted lock of any mode listed
 * against it.  Autovacuum workers have no application name: their query
 * ("autovacuum: VACUUM public.t") says what they are, and that word is
 * shown instead of the query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "pglocks.h"

static const struct {
	const char *mode;
	const char *conflicts; /* an SQL list of the modes it waits for */
} lock_conflicts[] = {
    {"AccessShareLock", "'AccessExclusiveLock'"},
    {"RowShareLock", "'ExclusiveLock','AccessExclusiveLock'"},
    {"RowExclusiveLock",
     "'ShareLock','ShareRowExclusiveLock','ExclusiveLock','AccessExclusiveLock'"},
    {"ShareUpdateExclusiveLock", "'ShareUpdateExclusiveLock','ShareLock',"
                                 "'ShareRowExclusiveLock','ExclusiveLock','AccessExclusiveLock'"},
    {"ShareLock", "'RowExclusiveLock','ShareUpdateExclusiveLock','ShareRowExclusiveLock',"
                  "'ExclusiveLock','AccessExclusiveLock'"},
    {"ShareRowExclusiveLock", "'RowExclusiveLock','ShareUpdateExclusiveLock','ShareLock',"
                              "'ShareRowExclusiveLock','ExclusiveLock','AccessExclusiveLock'"},
    {"ExclusiveLock", "'RowShareLock','RowExclusiveLock','ShareUpdateExclusiveLock','ShareLock',"
                      "'ShareRowExclusiveLock','ExclusiveLock','AccessExclusiveLock'"},
    {"AccessExclusiveLock",
     "'AccessShareLock','RowShareLock','RowExclusiveLock','ShareUpdateExclusiveLock',"
     "'ShareLock','ShareRowExclusiveLock','ExclusiveLock','AccessExclusiveLock'"},
};

/* Who a session is, after a column naming it: who, state, seconds. */
#define SESSION_COLUMNS                                                                            \
	"CASE WHEN a.query LIKE 'autovacuum:%%' THEN 'autovacuum' "                                \
	"ELSE coalesce(nullif(a.application_name, ''), a.usename::text, '?') END, "                \
	"coalesce(a.state, '?'), "                                                                 \
	"coalesce(extract(epoch FROM now() - a.xact_start)::bigint, 0)"

/* Printf formats (hence "%%"): the relation's oid and the conflicting
 * modes; nothing. */
#define HOLDERS_SQL                                                                                \
	"SELECT coalesce('pid ' || l.pid, 'a prepared transaction'), " SESSION_COLUMNS ", l.mode " \
	"FROM pg_catalog.pg_locks l "                                                              \
	"LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "                                \
	"WHERE l.locktype = 'relation' AND l.relation = %u AND l.granted "                         \
	"AND l.database = (SELECT oid FROM pg_catalog.pg_database "                                \
	"WHERE datname = current_database()) "                                                     \
	"AND l.pid IS DISTINCT FROM pg_backend_pid() AND l.mode IN (%s) "                          \
	"ORDER BY a.xact_start NULLS LAST LIMIT 3"
#define OLDEST_SQL                                                                                 \
	"SELECT 'pid ' || a.pid, " SESSION_COLUMNS " FROM pg_catalog.pg_stat_activity a "          \
	"WHERE a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL "                            \
	"AND a.datname = current_database() ORDER BY a.xact_start LIMIT 1"

static const char *
conflicts_of(const char *mode)
{
	for (size_t i = 0; i < sizeof(lock_conflicts) / sizeof(lock_conflicts[0]); i++)
		if (strcmp(mode, lock_conflicts[i].mode) == 0)
			return lock_conflicts[i].conflicts;
	return NULL;
}

/* Row `i` of a result with SESSION_COLUMNS first, appended to buf. */
static void
describe_row(const PGresult *res, int i, char *buf, size_t size)
{
	size_t used = strlen(buf);
	int has_mode = PQnfields(res) > 4;

	if (used + 1 >= size)
		return;
	snprintf(buf + used, size - used, "%s%s (%s, %s, transaction open %ss)%s%s",
	         used > 0 ? "; " : "", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
	         PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), has_mode ? " holds " : "",
	         has_mode ? PQgetvalue(res, i, 4) : "");
}

static int
describe_query(PGconn *conn, const char *sql, pgquery_stop_cb *should_stop, void *stop_ctx,
               char *buf, size_t size, char *err, size_t err_size)
{
	PGresult *res = NULL;
	int rc;

	buf[0] = '\0';
	rc = pgquery_exec(conn, sql, should_stop, stop_ctx, &res, err, err_size);
	if (rc != 0)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
		describe_row(res, i, buf, size);
	PQclear(res);
	return 0;
}

int
pglocks_holders(PGconn *conn, uint32_t relation_oid, const char *mode, pgquery_stop_cb *should_stop,
                void *stop_ctx, char *buf, size_t size, char *err, size_t err_size)
{
	const char *conflicts = conflicts_of(mode);
	char sql[sizeof(HOLDERS_SQL) + 512];

	if (conflicts == NULL) {
		snprintf(err, err_size, "unknown lock mode '%s'", mode);
		return CT_EINVAL;
	}
	snprintf(sql, sizeof(sql), HOLDERS_SQL, relation_oid, conflicts);
	return describe_query(conn, sql, should_stop, stop_ctx, buf, size, err, err_size);
}

int
pglocks_oldest_xact(PGconn *conn, pgquery_stop_cb *should_stop, void *stop_ctx, char *buf,
                    size_t size, char *err, size_t err_size)
{
	char sql[sizeof(OLDEST_SQL)];

	snprintf(sql, sizeof(sql), OLDEST_SQL);
	return describe_query(conn, sql, should_stop, stop_ctx, buf, size, err, err_size);
}
