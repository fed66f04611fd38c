/*
 * runner.h — running jobs: order (requires, on_failure), per-job locks, one
 * supervised child process per run, results into history.
 */
#ifndef CT_RUNNER_H
#define CT_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "exitcode.h"

struct config;

struct runner_options {
	int is_all;     /* every enabled job */
	int is_due;     /* every enabled job whose schedule elapsed (due.h) */
	int64_t now_us; /* run --due as if it were this time; 0 for now */
	int is_dry_run;
	int is_quiet; /* no per-job lines on stdout */
};

/*
 * Run the jobs named in names[0..n), in that order (each with its
 * `requires` first), or every enabled job with opts->is_all, or the due
 * ones with opts->is_due (both in the configuration's order).  Loads the
 * plugins the jobs need, validates every job before running any, and
 * returns an enum ct_exit (exitcode.h).
 */
int runner_run(struct config *cfg, const char *const *names, size_t n,
               const struct runner_options *opts);

/* Where a job's lock file and private state live (caller frees). */
char *runner_lock_path(const struct config *cfg, const char *job);
char *runner_job_state_dir(const struct config *cfg, const char *job);

#endif
