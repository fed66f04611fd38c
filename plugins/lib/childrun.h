/*
 * childrun.h — running a command for a plugin (libctchild): an argv
 * looked up in PATH and never given to a shell, stdin from /dev/null, its
 * stdout and stderr read as they come (to a callback, and kept in a buffer
 * up to a cap), a stop request of the host and an optional timeout
 * answered with SIGTERM and, after a grace, SIGKILL, and its end in a
 * result: exit code or signal, and why it could not run.
 *
 * The command stays in the caller's process group unless it asks for one
 * of its own: a job's command is then reached by the host's timeout and
 * clean-up with the job, as the host's records of escaped processes
 * expect.  Output is read until the command's pipes close, or for
 * drain_ms (a second by default) after the command itself has exited: a
 * daemon it started may keep them open for ever, and the host ends such
 * processes when the run ends.
 *
 * Between fork and exec the child sets its environment (putenv, and
 * clearenv with is_clearing_env), which may allocate: a caller whose
 * other threads could hold the allocator's lock at fork time passes no
 * environment, or uses pgtools.h's spawn, which does only
 * async-signal-safe work there.
 */
#ifndef CARETAKER_PLUGINS_CHILDRUN_H
#define CARETAKER_PLUGINS_CHILDRUN_H

#include <stddef.h>
#include <stdint.h>

/* How long output is still read once the command has exited. */
#define CHILDRUN_DRAIN_MS 1000
/* How long a command may take to end after SIGTERM before SIGKILL. */
#define CHILDRUN_GRACE_MS 5000

/* What the command wrote, as it came: `stream` is "stdout" or "stderr"
 * ("stdout" for both when they are merged). */
typedef void childrun_output_cb(void *arg, const char *stream, const char *buf, size_t n);
/* Non-zero once the host wants the run to end (plugin_host_should_stop fits). */
typedef int childrun_stop_cb(void *arg);

/* Zeroed for the defaults; fill what differs with designated initializers. */
struct childrun_params {
	char *const *argv;             /* NULL-terminated; argv[0] looked up in PATH */
	const char *cwd;               /* where it runs; NULL: where the caller is */
	const char *const *env;        /* NAME=value added to its environment */
	size_t n_env;                  /* items of env */
	int is_clearing_env;           /* start from PATH, HOME, USER, LOGNAME and LANG only */
	int is_merging_stderr;         /* stderr into the same pipe as stdout */
	int is_own_group;              /* a process group of its own, signalled as a whole */
	int64_t timeout_ms;            /* 0: none (the job's own timeout still applies) */
	int64_t grace_ms;              /* SIGTERM to SIGKILL; 0: CHILDRUN_GRACE_MS */
	int64_t drain_ms;              /* 0: CHILDRUN_DRAIN_MS */
	size_t capture_max;            /* bytes of stdout (and merged stderr) kept; 0: none */
	childrun_output_cb *on_output; /* NULL: output only captured */
	void *output_arg;
	childrun_stop_cb *should_stop; /* may be NULL */
	void *stop_arg;
};

struct childrun_result {
	int exit_code;      /* 0-255 once it exited; -1 when a signal ended it */
	int term_signal;    /* the signal that ended it, or 0 */
	int exec_errno;     /* why it could not run (then exit_code 127, or 126 for cwd) */
	int is_timed_out;   /* timeout_ms passed and it was signalled */
	int is_stopped;     /* the host asked to stop and it was signalled */
	int is_output_held; /* it exited, but something kept its output open past drain_ms */
	int is_truncated;   /* capture_max cut the captured output */
	double seconds;     /* from the fork to its end */
	char *output;       /* captured output, NUL-terminated, or NULL; owned */
	size_t output_len;
	char error[512]; /* "cannot run PROGRAM: ..." or "cannot enter FOLDER: ..." */
};

/*
 * Run p->argv to its end.  0 once the command ran or failed to start
 * (result->exec_errno and result->error say why); CT_ESYS or CT_ECHILD
 * when no command could be started or waited for, with the reason in
 * `err`.  The result's output is freed by childrun_result_free, also on
 * failure.
 */
int childrun_run(const struct childrun_params *p, struct childrun_result *result, char *err,
                 size_t err_size);

/* How it ended, in words: "exited 3", "killed by signal 9", or its error. */
void childrun_describe(const struct childrun_result *result, char *buf, size_t size);

void childrun_result_free(struct childrun_result *result);

#endif
