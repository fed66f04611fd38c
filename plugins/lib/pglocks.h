/*
 * pglocks.h — who is in the way: the sessions holding a lock on a table
 * that a maintenance statement waited for (or skipped on), and the oldest
 * open transaction, in words for a finding.  Part of libctpg.
 *
 * The words name the session (pid, application or user, state, how long
 * its transaction has been open) and the lock mode, never its query: a
 * query's text may hold the application's data.
 */
#ifndef CARETAKER_PLUGINS_PGLOCKS_H
#define CARETAKER_PLUGINS_PGLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "pgquery.h"

/*
 * The sessions (at most three, oldest transaction first) holding a lock on
 * relation `relation_oid` that conflicts with `mode` ("AccessExclusiveLock",
 * "ShareUpdateExclusiveLock", ... as pg_locks names them), as
 * "pid 123 (psql, idle in transaction, transaction open 40s) holds
 * AccessExclusiveLock; ...".  Returns 0 with the words in `buf` (empty when
 * nobody holds one), CT_EINVAL for an unknown mode, or the query's error.
 */
int pglocks_holders(PGconn *conn, uint32_t relation_oid, const char *mode,
                    pgquery_stop_cb *should_stop, void *stop_ctx, char *buf, size_t size, char *err,
                    size_t err_size);

/*
 * The session other than this one whose transaction has been open longest,
 * as "pid 123 (app, active, transaction open 5min)": what a concurrent
 * index build waits for.  Returns 0 with the words in `buf` (empty when
 * there is none), or the query's error.
 */
int pglocks_oldest_xact(PGconn *conn, pgquery_stop_cb *should_stop, void *stop_ctx, char *buf,
                        size_t size, char *err, size_t err_size);

#endif
