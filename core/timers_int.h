/*
 * timers_int.h — what the three steps of `caretaker timers` share: plan
 * (timers_plan.c: which unit pairs, what a run of each may do), render
 * (timers_render.c: the unit text) and apply (timers_apply.c: the output
 * folder), driven by timers.c.  Private to those files.
 */
#ifndef CT_TIMERS_INT_H
#define CT_TIMERS_INT_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct job;
struct timers_options;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A run costs more than its timeout and kill grace: the runner probes the
 * plugin (up to 10 s), drains the child's pipes (1 s) and writes history. */
#define TIMERS_RUN_MARGIN_MS 15000
/* Each invocation also loads the configuration and scans plugin_path. */
#define TIMERS_START_MARGIN_MS 30000
/* After systemd's SIGTERM, caretaker's own kill grace runs, then it reaps
 * the child and records the stopped run. */
#define TIMERS_STOP_MARGIN_MS 30000
/* Units read back for comparison; ours are about 1 KiB. */
#define TIMERS_MAX_UNIT_BYTES (1u << 20)
#define TIMERS_DUE_UNIT "caretaker-due"
#define TIMERS_DUE_CALENDAR "*:0/5"
#define TIMERS_PREFIX "caretaker-"

/* What one start of a service may run, and what follows for its unit. */
struct run_scope {
	int64_t start_bound_ms; /* TimeoutStartSec=; INT64_MAX is infinity */
	int is_state_only;      /* every plugin writes only under state_dir */
	int is_using_pg;        /* some plugin connects to PostgreSQL */
	int is_nice_shared;     /* every job sets the same nice */
	int nice;
};

/* One .service/.timer pair. */
struct plan {
	char *unit; /* "caretaker-JOB", without suffix */
	char *description;
	const char *calendar; /* OnCalendar= expressions, one per line */
	int is_persistent;
	int64_t jitter_ms;
	const char *run_arg; /* what follows `run`: the job, or --due */
	struct run_scope scope;
};

struct unit_file {
	char *name; /* "caretaker-JOB.timer" */
	char *text;
	size_t len;
};

/* One `caretaker timers` invocation. */
struct timers {
	struct config *cfg;
	const struct timers_options *opts;
	const char *dir;
	char *exec_path;
	char *config_path;
	struct unit_file *units;
	size_t n_units;
	size_t n_same, n_written, n_differ, n_missing, n_stale, n_removed;
	int is_any_hardened;
	int is_any_failed;
	int is_write_failed; /* the folder refuses writes: stop trying */
};

/* What the output folder holds under a unit's name. */
enum on_disk {
	DISK_MISSING,
	DISK_SAME,
	DISK_DIFFERENT,
	DISK_FOREIGN,  /* a file without our marker: someone else's */
	DISK_MASKED,   /* a link to /dev/null: systemctl mask, the admin's call */
	DISK_NOT_FILE, /* another link, or a folder */
	DISK_UNREADABLE,
};

/* timers_plan.c */
int64_t timers_add_saturating(int64_t a, int64_t b);
/* Whether the job gets a unit pair: enabled, with a schedule. */
int timers_job_has_timer(const struct job *job);
/* The pair of one job, or of the one `run --due` timer; free with
 * timers_plan_clear. */
void timers_plan_for_job(const struct config *cfg, const struct job *job, struct plan *p);
void timers_plan_for_due(const struct config *cfg, struct plan *p);
void timers_plan_clear(struct plan *p);

/* timers_render.c: every unit of the invocation into t->units. */
void timers_render_all(struct timers *t);

/* timers_apply.c */
int timers_has_suffix(const char *s, const char *suffix);
/* --check: compare one unit with the folder, counting in t. */
void timers_check_one(struct timers *t, const struct unit_file *u);
/* Write one unit when it differs, atomically, counting in t. */
void timers_install_one(struct timers *t, const struct unit_file *u);
/* List (and with --prune remove) units of ours that no job wants. */
void timers_stale_sweep(struct timers *t);

#endif
