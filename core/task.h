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
 */
#ifndef CT_TASK_H
#define CT_TASK_H

#include <caretaker/plugin.h>

struct config;
struct job;

/* Run the plugin described by `desc` for `job`, writing messages to
 * report_fd.  Called in the job's child process; returns when fini has
 * returned (the caller then _exit()s). */
void task_execute(const struct ct_plugin *desc, const struct config *cfg,
		  const struct job *job, const char *state_dir, int is_dry_run, int report_fd);

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
