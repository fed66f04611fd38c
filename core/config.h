/*
 * config.h — caretaker.ini and the conf.d INI files: reading, the [caretaker]
 * settings, the jobs, and their validation against the core's keys and
 * their plugin's option table.
 *
 * Loading reads every file before any plugin is loaded and never stops at
 * the first problem: every error and warning goes to cfg->diags with its
 * file:line.  Errors inside a job section belong to that job (it will not
 * run, the others still do); errors outside any job are global.
 */
#ifndef CT_CONFIG_H
#define CT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "options.h"

struct arena;
struct plugin_info;
struct schedule;
struct strmap;

enum job_lock { JOB_LOCK_HOST = 0, JOB_LOCK_DATABASE, JOB_LOCK_NONE };

struct settings {
	const char **plugin_path;
	size_t n_plugin_path;
	const char *state_dir;
	const char *conninfo; /* default for jobs; may be "" (libpq defaults) */
	int is_trusting_plugin_dirs;
	int64_t probe_timeout_ms;   /* a plugin still loading after this is refused */
	int64_t timeout_ms;         /* default job timeout */
	int64_t kill_grace_ms;      /* SIGTERM -> SIGKILL */
	uint64_t output_limit;      /* bytes kept per captured stream */
	int64_t due_window_ms;      /* run --due: older elapses were missed */
	int64_t overdue_slack_ms;   /* status: period + this without success */
	const char *prometheus_dir; /* NULL: no textfile */
	int is_history_in_database;
	uint64_t history_max_size; /* rotate history.jsonl past this; 0: never */
};

struct job {
	size_t index; /* position in cfg->jobs */
	const char *name;
	const char *file; /* where its section starts */
	int line;
	struct option_input *inputs; /* every key = value of the section */
	size_t n_inputs;
	struct opt_set core;                   /* the core keys, bound */
	struct opt_set opts;                   /* the plugin's keys, bound by config_bind_plugin */
	const struct plugin_info *plugin_info; /* set by config_bind_plugin */

	/* Decoded core keys. */
	const char *plugin;
	const char *description;
	const char *schedule;
	int64_t timeout_ms;
	const char **requires;
	size_t n_requires;
	const char *on_failure;
	const char *user;
	enum job_lock lock;
	int nice;
	int is_nice_set;
	int is_enabled;
	const char *only_if_exists;
	int64_t jitter_ms;
	int is_catching_up;     /* catch_up = once */
	struct schedule *sched; /* parsed `schedule`, NULL when none or bad */
};

struct config {
	struct arena *arena;
	const char *path; /* the main file */
	const char *dir;  /* its folder: relative paths resolve here */
	struct settings settings;
	struct job **jobs; /* in file order: main file, then conf.d by name */
	size_t n_jobs;
	struct strmap *by_name; /* job name -> job */
	struct diag_list diags;
};

/*
 * Read `path` and the *.ini files of the conf.d folder beside it.  Always
 * returns a config (to be freed with config_free), with every problem in
 * cfg->diags; returns CT_ECONFIG as well when there are global errors (the
 * main file is missing, a file is binary, a syntax error...).
 */
int config_load(const char *path, struct config **out);
void config_free(struct config *cfg);

/* The job named `name`, or NULL. */
struct job *config_find_job(const struct config *cfg, const char *name);

/*
 * Check the job's plugin keys against the plugin's option table (info may
 * be NULL when the plugin was not found or was refused: then the job gets
 * the error `why`).  Errors go to cfg->diags, tagged with the job.
 */
void config_bind_plugin(struct config *cfg, struct job *job, const struct plugin_info *info,
                        const char *why);

/* Check `requires` and `on_failure` name existing jobs and form no cycle. */
void config_check_graph(struct config *cfg);

/* The longest job name (at least 4), for aligned columns. */
int config_name_width(const struct config *cfg);

/* Non-zero when the job has an error of its own in cfg->diags. */
int config_job_has_error(const struct config *cfg, const struct job *job);

/* The core's per-job keys and [caretaker] keys, for `caretaker describe`. */
extern const struct ct_option config_job_keys[];
extern const struct ct_option config_settings_keys[];

/*
 * Follow the schedule of each job in names[0..n) (every job when n is 0)
 * forward: one that never elapses again becomes an error of its job, one
 * that stops after a while a warning naming its last elapse.  Not part of
 * config_load because it costs tens of microseconds per job, and `run
 * JOB` needs it only for JOB; `check`, `list`, `status`, `next`, `timers`
 * and `run --due`/`--all` ask for every job.
 */
void config_check_schedule_ends(struct config *cfg, const char *const *names, size_t n);

#endif
