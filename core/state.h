/*
 * state.h — what caretaker remembers per job between invocations:
 * state_dir/state.json.
 *
 *   {"format": 1, "jobs": {"JOB": {
 *       "last_elapse_us": ...,   newest schedule elapse handled by run --due
 *       "last_success_us": ...,  start of the newest run that ended ok/warn
 *       "last": {...}            the newest run's history record, without
 *                                its captured output and log lines; with
 *                                "history_error" when that record could
 *                                not be written to history (and why)
 *   }}}
 *
 * Every update takes state_dir/state.lock (flock), reads the file, changes
 * one job, writes a temporary file, fsyncs it, renames it over the old one
 * and fsyncs the folder, so a crash leaves the old or the new state, never a
 * mix.  The file is mode 0640: it holds the jobs' last summaries.
 *
 * A file that was read whole but does not parse, or has no "jobs", is moved
 * aside (state.json.corrupt-TIME) with a warning and rebuilt from history:
 * damage never stops the jobs.  A file that cannot be read (permissions,
 * state_dir not a folder, not a regular file) is an error and stays where
 * it is: moving it would lose a good state for a passing problem.
 */
#ifndef CT_STATE_H
#define CT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct state;

/* Read state_dir/state.json (rebuilding it from history when it is missing
 * or damaged) into *out, set on success only; free with state_free.  0, or
 * CT_EIO/CT_ESYS with the file, the reason and a hint in err. */
int state_load(const char *state_dir, struct state **out, char *err, size_t err_size);
void state_free(struct state *st);

/* Per-job values; 0 (or NULL) when unknown or when `st` is NULL. */
int64_t state_last_elapse_us(const struct state *st, const char *job);
int64_t state_last_success_us(const struct state *st, const char *job);
/* The newest run's record (borrowed), or NULL. */
json_t *state_last_run(const struct state *st, const char *job);
/* Why the newest run is missing from history (borrowed), or NULL when it
 * is there. */
const char *state_history_error(const struct state *st, const char *job);

/*
 * Record a finished run (its history record) and, when elapse_us is not 0,
 * the elapse it handled — under the lock, re-reading the file first so
 * concurrent runs of other jobs are kept.  `history_error` is NULL when the
 * record is in history, else why it is not (its first line is kept with
 * the record for status).  0 or an error with err filled.
 */
int state_record_run(const char *state_dir, const json_t *record, int64_t elapse_us,
                     const char *history_error, char *err, size_t err_size);
/* Record only that `elapse_us` was handled (a skipped catch-up). */
int state_record_elapse(const char *state_dir, const char *job, int64_t elapse_us, char *err,
                        size_t err_size);

#endif
