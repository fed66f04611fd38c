/*
 * pgmaint.h — the advisory lock that keeps caretaker's dumps and its
 * strong-lock maintenance apart, on one database server.
 *
 * The problem: pg_dump holds ACCESS SHARE locks on every table it dumps
 * until it ends.  A VACUUM FULL, REINDEX (not CONCURRENTLY), CLUSTER or
 * ALTER TABLE that asks for ACCESS EXCLUSIVE meanwhile waits behind the
 * dump, and every query of the application then queues behind that waiting
 * request: a maintenance job turns a harmless dump into an outage.
 *
 * The contract, for every bundled and third-party plugin:
 *  - a job that dumps (the `backup` plugin) holds the key below in SHARED
 *    mode, session level, on its own connection while pg_dump runs:
 *        SELECT pg_advisory_lock_shared(PGMAINT_LOCK_KEYS)
 *    Several dumps may run at once.
 *  - a job that takes strong table locks (a vacuum/reindex plugin) first
 *    tries the key EXCLUSIVELY and, when a dump holds it, skips the run
 *    (status SKIPPED, "a backup is running") instead of queueing:
 *        SELECT pg_try_advisory_lock(PGMAINT_LOCK_KEYS)
 *    and releases it with pg_advisory_unlock(PGMAINT_LOCK_KEYS) when done
 *    (or simply by closing the connection).
 *  - a dump that starts while maintenance holds the key exclusively waits
 *    for it: dumping on top of a running REINDEX would be the same queue.
 * Advisory locks are per database; all of them live in the database the
 * job connects to, which for both kinds of job is the application's.
 *
 * The two int4 keys are hashtext() of fixed words, computed by the server,
 * so every client (C, psql, a Python job) names the same lock.  The core's
 * `lock = database` job key is a different lock: one run of one job per
 * fleet.
 */
#ifndef CARETAKER_PLUGINS_PGMAINT_H
#define CARETAKER_PLUGINS_PGMAINT_H

/* The key pair, as SQL arguments. */
#define PGMAINT_LOCK_KEYS "hashtext('caretaker'), hashtext('maintenance')"

/* For dumps: wait for maintenance to finish, then share with other dumps. */
#define PGMAINT_SQL_LOCK_SHARED "SELECT pg_advisory_lock_shared(" PGMAINT_LOCK_KEYS ")"
#define PGMAINT_SQL_TRY_LOCK_SHARED "SELECT pg_try_advisory_lock_shared(" PGMAINT_LOCK_KEYS ")"
#define PGMAINT_SQL_UNLOCK_SHARED "SELECT pg_advisory_unlock_shared(" PGMAINT_LOCK_KEYS ")"

/* For strong-lock maintenance: take it or skip the run; never wait. */
#define PGMAINT_SQL_TRY_LOCK "SELECT pg_try_advisory_lock(" PGMAINT_LOCK_KEYS ")"
#define PGMAINT_SQL_UNLOCK "SELECT pg_advisory_unlock(" PGMAINT_LOCK_KEYS ")"

#endif
