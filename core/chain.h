/*
 * chain.h — what one caretaker run remembers of the jobs it ran, so that a
 * job started as another's `on_failure` can be handed the failure and the
 * artifacts of the chain that led to it (struct task_cause, ABI 1.1).
 *
 * The chain of a failed job is the job itself and every job it requires,
 * directly or not.  Its artifacts are those of the chain's runs in this
 * caretaker run, in the order the runs ended and, within a run, the order
 * the plugin added them.  A job that ran in another caretaker run (an
 * earlier timer) is not part of it: a rollback must not restore a backup
 * older than the one taken for this update.
 */
#ifndef CT_CHAIN_H
#define CT_CHAIN_H

#include <stddef.h>

struct config;
struct job;
struct run_result;
struct task_cause;

struct chain_log;

struct chain_log *chain_log_new(void);
/* Accepts NULL. */
void chain_log_free(struct chain_log *log);

/* Remember the ended run `r` of `job`: status, words, artifacts (copied). */
void chain_log_add(struct chain_log *log, const struct job *job, const struct run_result *r);

/*
 * The cause handed to `failed`'s on_failure job: the newest run of
 * `failed` and the artifacts of its chain (see above).  The cause and
 * everything it points to belong to `log` and live until chain_log_free.
 * NULL when `failed` has not run in this caretaker run.
 */
const struct task_cause *chain_log_cause(struct chain_log *log, const struct config *cfg,
                                         const struct job *failed);

#endif
