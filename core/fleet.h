/*
 * fleet.h — several hosts sharing one database: `lock = database` (one host
 * runs a job at a time) and `[caretaker] history = database` (every host's
 * runs in one table).
 *
 * The lock is a PostgreSQL session advisory lock, keyed
 * (hashtext('caretaker'), hashtext(JOB)), held on a connection of its own
 * for the length of the run; the server releases it if the host dies.
 * Its holder is found through pg_locks and pg_stat_activity, where the
 * connection's application_name reads "caretaker HOST pid N".
 *
 * The history table (created on first use):
 *
 *   CREATE TABLE caretaker_history (
 *       id bigserial PRIMARY KEY, job text NOT NULL, plugin text NOT NULL,
 *       host text NOT NULL, started_at timestamptz NOT NULL,
 *       ended_at timestamptz NOT NULL, duration_s double precision,
 *       status text NOT NULL, summary text, reason text,
 *       record jsonb NOT NULL);   -- the history record, as in the file
 *   CREATE INDEX caretaker_history_job_started ON caretaker_history (job, started_at);
 */
#ifndef CT_FLEET_H
#define CT_FLEET_H

#include <stddef.h>

#include <jansson.h>

struct config;
struct history_query;
struct job;
struct fleet_lock;

/*
 * Take the job's fleet lock.  0 and *out on success; CT_ELOCKED when
 * another session holds it (holder gets "HOST (pid N)"); CT_EPG when the
 * database cannot be reached or asked (err says why).
 */
int fleet_lock_take(const struct config *cfg, const struct job *job, struct fleet_lock **out,
                    char *holder, size_t holder_size, char *err, size_t err_size);
/* Release and disconnect; accepts NULL. */
void fleet_lock_release(struct fleet_lock *lock);

/* Insert a history record into caretaker_history.  0 or CT_EPG. */
int fleet_history_append(const struct config *cfg, const json_t *record, char *err,
                         size_t err_size);
/* Read records like history_read, oldest first.  0 or CT_EPG. */
int fleet_history_read(const struct config *cfg, const struct history_query *q, json_t **out,
                       char *err, size_t err_size);

#endif
