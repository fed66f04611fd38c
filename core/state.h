/*
 * state.h — what caretaker remembers per job between invocations:
 * state_dir/state.json.
 *
 *   {"format": 1, "jobs": {"JOB": {
 *       "last_elapse_us": ...,   newest schedule elapse handled by run --due
 *       "last_success_us": ...,  start of the newest run that ended ok/warn
 *       "last": {...}            the newest run's history record, without
 *                                its captured output and log lines
 *   }}}
 *
 * Every update takes state_dir/state.lock (flock), reads the file, changes
 * one job, writes a temporary file, fsyncs it, renames it over the old one
 * and fsyncs the folder, so a crash leaves the old or the new state, never a
 * mix.  A file that does not parse is moved aside (state.json.corrupt-TIME)
 * with a warning and rebuilt from history: it never stops the jobs.
 */
#ifndef CT_STATE_H
#define CT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct state;

/* Read state_dir/state.json (rebuilding it from history when it is missing
 * or corrupt) into *out; free with state_free.  0, or CT_EIO/CT_ESYS with
 * the reason in err. */
int state_load(const char *state_dir, struct state **out, char *err, size_t err_size);
void state_free(struct state *st);

/* Per-job values; 0 when unknown. */
int64_t state_last_elapse_us(const struct state *st, const char *job);
int64_t state_last_success_us(const struct state *st, const char *job);
/* The newest run's record (borrowed), or NULL. */
json_t *state_last_run(const struct state *st, const char *job);

/*
 * Record a finished run (its history record) and, when elapse_us is not 0,
 * the elapse it handled — under the lock, re-reading the file first so
 * concurrent runs of other jobs are kept.  0 or an error with err filled.
 */
int state_record_run(const char *state_dir, const json_t *record, int64_t elapse_us, char *err,
		     size_t err_size);
/* Record only that `elapse_us` was handled (a skipped catch-up). */
int state_record_elapse(const char *state_dir, const char *job, int64_t elapse_us, char *err,
			size_t err_size);

#endif
