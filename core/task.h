/*
 * task.h — the child side of a job run: struct ct_task, the services table
 * handed to plugins, and the calls init -> run -> report -> fini.
 *
 * Everything a plugin reports travels to the parent as newline-delimited
 * JSON messages on the report pipe, as it happens, so a crash or a timeout
 * loses nothing already said (result.c reads them):
 *
 *   {"t":"log","level":6,"msg":"..."}
 *   {"t":"status","status":1,"summary":"..."}
 *   {"t":"metric","name":"bytes","value":12.0,"unit":"bytes"}
 *   {"t":"finding","severity":1,"object":"...","msg":"..."}
 *   {"t":"artifact","kind":"backup","path":"..."}
 *   {"t":"output","stream":"stdout","data":"..."}
 *   {"t":"progress","fraction":0.5,"what":"..."}
 *   {"t":"end","rc":0,"phase":"run"}      the last message of a normal end
 *
 * A plugin's words have limits (plugin.h and docs/abi.md promise them, in
 * bytes of UTF-8): longer text is shortened here with a visible marker
 * ("... [N bytes cut]", utf8_shorten), and result.c applies the same limits
 * again in the parent, which does not trust the child.  Every message then
 * stays far below the parent's limit on a message line.
 */
#ifndef CT_TASK_H
#define CT_TASK_H

#include <stddef.h>

#include <caretaker/plugin.h>

struct config;
struct job;

/* A summary, a log line, a finding's message or object, an artifact's path,
 * a progress step. */
#define TASK_TEXT_MAX 4096
/* A metric's unit, an artifact's kind, an output stream's name, a phase. */
#define TASK_WORD_MAX 64

/* A metric name is 1 to 99 characters of [a-z0-9_] (it becomes part of a
 * Prometheus metric name). */
int task_metric_name_is_valid(const char *name);

/* One artifact of an earlier run in the same caretaker run. */
struct task_artifact {
	const char *job;
	const char *kind;
	const char *path;
};

/* What a job started as another job's `on_failure` is handed (the
 * failed_job and chain_artifact services, ABI 1.1; chain.h builds it). */
struct task_cause {
	const char *job;     /* the failed job */
	int status;          /* enum ct_status */
	const char *summary; /* its reason or summary, never NULL */
	const struct task_artifact *artifacts;
	size_t n_artifacts;
};

/* Run the plugin described by `desc` for `job`, writing messages to
 * report_fd.  `cause` is NULL unless the job runs as an on_failure
 * handler; it must outlive the call.  Called in the job's child process;
 * returns when fini has returned (the caller then _exit()s). */
void task_execute(const struct ct_plugin *desc, const struct config *cfg, const struct job *job,
                  const char *state_dir, int is_dry_run, int report_fd,
                  const struct task_cause *cause);

/* Send a status and the end message without any plugin (refused plugin,
 * failed privilege drop...). */
void task_fail_early(int report_fd, const char *phase, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Send a log message without any plugin: what the core itself did in the
 * child (after fini, the processes it ended). */
void task_report_log(int report_fd, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Install the SIGTERM handler that makes should_stop() true. */
void task_install_stop_handler(void);

/* The host's services table (exposed for tests). */
extern const struct ct_services task_services;

#endif
