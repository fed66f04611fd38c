/*
 * result.h — the parent's record of one job run: built from the child's
 * report messages (see task.h) and from how the child ended, turned into
 * the JSON record that history.c appends and report.c renders.
 *
 * Nothing the child says is lost without words: a message that is too long
 * or malformed, and items past the caps below, are counted and named in
 * warnings kept in the record, and a failed run always has a summary or a
 * reason.
 */
#ifndef CT_RESULT_H
#define CT_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "proc.h"
#include "progress.h"

struct arena;

/* Metrics, findings and artifacts kept per run; more are counted. */
#define RESULT_MAX_ITEMS 10000
/* Warning and error log lines kept per run; more are counted. */
#define RESULT_MAX_LOGS 1000
/* Output streams a plugin may name per run; output to more is counted.
 * The host's own two ("protocol" for lines that are not messages,
 * "plugin-output" for what the child writes outside them) always find
 * room: a plugin naming many streams must not hide them. */
#define RESULT_MAX_STREAMS 16
/* Unusable messages named one by one; more are counted. */
#define RESULT_MAX_NOTES 10

struct run_metric {
	const char *name;
	double value;
	const char *unit;
};

struct run_finding {
	int severity;
	const char *object;
	const char *msg;
};

struct run_artifact {
	const char *kind;
	const char *path;
};

struct run_stream {
	const char *name;
	struct capbuf buf;
};

struct run_log {
	int level;
	const char *msg;
};

struct run_result {
	struct arena *arena;
	const char *job;
	const char *plugin;
	int status; /* enum ct_status */
	const char *summary;
	const char *reason; /* how it ended when not by itself, or NULL */
	int64_t start_us;   /* wall clock */
	int64_t end_us;
	int64_t duration_ms; /* monotonic */
	int is_dry_run;
	int is_locked;       /* skipped: another run holds the lock */
	int is_config_error; /* not run: configuration */
	int is_ended;        /* the child sent its end message */
	int end_rc;
	const char *end_phase;
	size_t output_limit;
	struct run_metric *metrics;
	size_t n_metrics;
	struct run_finding *findings;
	size_t n_findings;
	struct run_artifact *artifacts;
	size_t n_artifacts;
	struct run_stream *streams;
	size_t n_streams;
	struct run_log *logs; /* warnings and errors only */
	size_t n_logs;
	char *summary_owned;   /* what summary points to after a status message */
	int is_status_set;     /* the child sent a status */
	size_t n_bad_messages; /* dropped (too long) or ignored (malformed) */
	const char *first_bad; /* words for the first of them */
	size_t n_metrics_unkept, n_findings_unkept, n_artifacts_unkept;
	size_t n_logs_unkept, n_outputs_unkept; /* past their caps */
	struct progress_sample progress;        /* the newest report, while it runs */
};

struct run_result *result_new(const char *job, const char *plugin, size_t output_limit);
void result_free(struct run_result *r);

/* Apply one message line from the child.  Log lines are also printed via
 * log.c at once, escaped.  Text longer than its limit (task.h) is shortened
 * with a marker.  A line that is not a JSON message is kept as output of
 * stream "protocol"; it and a message whose members have the wrong types
 * are counted and named in a warning.  Unknown message types are ignored
 * (a newer SDK may send more). */
void result_apply_line(struct run_result *r, const char *line, size_t len);
/* Note a line the reader dropped unread: `len` bytes, over `limit`. */
void result_drop_line(struct run_result *r, size_t len, size_t limit);
/* Append raw bytes the child wrote to its stdout/stderr. */
void result_add_stray_output(struct run_result *r, const void *data, size_t len);
/* Set the final status with a reason of the host's ("crashed (SIGSEGV)"). */
void result_set(struct run_result *r, int status, const char *reason_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Once the verdict is in: put what was not kept into warnings, and give a
 * failed run with neither summary nor reason a reason that says why. */
void result_finish(struct run_result *r);

/* The history record (new reference). */
json_t *result_to_json(const struct run_result *r);
/* A string member of a record, or "" when absent or not a string. */
const char *result_json_str(json_t *record, const char *key);

/* "ok", "warn", "failed", "skipped". */
const char *result_status_word(int status);
/* Inverse of result_status_word; -1 when unknown. */
int result_status_from_word(const char *word);

#endif
