/*
 * causeenv.h — what an `exec` job started as another job's on_failure
 * hands its command: the failure and the chain's artifacts as environment
 * variables (docs/updates.md, caretaker.ini(5)):
 *
 *   CARETAKER_FAILED_JOB, CARETAKER_FAILED_STATUS, CARETAKER_FAILED_SUMMARY
 *   CARETAKER_CHAIN_ARTIFACTS             how many artifacts, N
 *   CARETAKER_CHAIN_<i>_JOB, _KIND, _PATH each one exactly, i = 1..N
 *   CARETAKER_ARTIFACT_<JOB>_<KIND>       the path, for scripts that know
 *                                         the job and kind they want
 *
 * In the last form JOB and KIND are upper-cased and every byte that is not
 * a letter or a digit becomes '_'; when two artifacts map to the same
 * name, the later one wins (the numbered variables keep both).
 */
#ifndef CARETAKER_EXEC_CAUSEENV_H
#define CARETAKER_EXEC_CAUSEENV_H

#include <stddef.h>

#include <caretaker/plugin.h>

/* Builds the NAME=value strings, NULL-terminated, into *env (free with
 * cause_env_free); *env is NULL when the run was not started by a failure
 * or the host predates ABI 1.1.  Returns CT_OK or CT_ENOMEM. */
int cause_env_build(struct ct_task *t, const struct ct_services *ct, char ***env);

/* The variable name for an artifact's job and kind, into buf. */
void cause_env_artifact_name(const char *job, const char *kind, char *buf, size_t size);

/* Accepts NULL. */
void cause_env_free(char **env);

#endif
