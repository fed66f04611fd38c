/*
 * status.h — the views built from schedules and state.json rather than from
 * the full history: `caretaker status` (is every job fine?), `caretaker
 * next` (when does it run?) and the Prometheus textfile.
 */
#ifndef CT_STATUS_H
#define CT_STATUS_H

#include <stddef.h>
#include <stdint.h>

struct config;

/* `caretaker status`: one line per job, OK / WARN / FAIL / OVERDUE /
 * SKIPPED / PENDING / DISABLED.  Returns 1 when any job is failing or
 * overdue, 0 otherwise (78 when the state cannot be read). */
int status_show(const struct config *cfg, int64_t now_us);

struct next_options {
	const char *job;     /* NULL: every scheduled job, soonest first */
	size_t count;        /* elapses per job (default 5 for one job, 1 for all) */
	int64_t base_us;     /* compute from this time; 0 for now */
};

/* `caretaker next`: upcoming elapses, local and UTC. */
int status_next(const struct config *cfg, const struct next_options *opts);

/* The Prometheus text exposition of every job (last run, last success,
 * duration, status, plugin metrics) into a new string (caller frees). */
int status_prometheus_text(const struct config *cfg, char **out, char *err, size_t err_size);
/* Write it atomically to [caretaker] prometheus_dir/caretaker.prom. */
int status_write_prometheus(const struct config *cfg, char *err, size_t err_size);

/* Parse a --base-time: "YYYY-MM-DD HH:MM[:SS]" (local, or with a trailing
 * "UTC"), "@EPOCH_SECONDS", or "now".  0 or CT_EINVAL. */
int status_parse_time(const char *s, int64_t *out_us);

#endif
