/*
 * exec — run any command, the seed's `manage.py check --deploy`,
 * `clearsessions` and friends done properly: argv split with shell-style
 * quoting but never run by a shell, its own environment and working
 * folder, accepted exit codes, and stdout/stderr captured into the report.
 *
 * The command stays in the job's process group, so the core's timeout and
 * kill reach it; `user` and `timeout` are the core's job keys.
 */
#define _GNU_SOURCE /* pipe2, clearenv */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "argv.h"
#include "causeenv.h"

extern char **environ;

struct exec_state {
	char **argv;
	size_t argc;
	const char *cwd;
	const char *const *env;
	size_t n_env;
	char **cause_env;             /* CARETAKER_FAILED_* and artifacts, NULL-terminated */
	const char *const *artifacts; /* KIND=PATH the command writes */
	size_t n_artifacts;
	int is_clearing_env;
	int ok_codes[256];   /* 1 where the exit code counts as success */
	int warn_codes[256]; /* 1 where it counts as a warning */
	int exit_code;       /* -1 until known */
	int term_signal;
	double seconds;
	char last_line[256]; /* last non-empty line of output, for the summary */
};

static const struct ct_option exec_options[] = {
    {.key = "command",
     .type = CT_OPT_STRING,
     .flags = CT_OPTF_REQUIRED,
     .help = "program and arguments, quoted like a shell would, but never run by one"},
    {.key = "cwd", .type = CT_OPT_PATH, .help = "working folder (default: /)"},
    {.key = "env",
     .type = CT_OPT_LIST,
     .help = "NAME=value pairs added to the environment, comma-separated"},
    {.key = "clear_env",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "start from an empty environment (PATH, HOME, USER, LANG kept)"},
    {.key = "ok_exit_codes",
     .type = CT_OPT_LIST,
     .default_value = "0",
     .help = "exit codes that mean success"},
    {.key = "warn_exit_codes",
     .type = CT_OPT_LIST,
     .help = "exit codes that mean done, with a warning"},
    {.key = "artifacts",
     .type = CT_OPT_LIST,
     .help = "KIND=/absolute/path files the command writes, recorded as the run's artifacts "
             "when it succeeds (a later on_failure job gets them)"},
    {.key = NULL},
};

static int
parse_codes(struct ct_task *t, const struct ct_services *ct, const char *key, int *codes)
{
	const char *const *items = NULL;
	size_t n = 0;

	if (ct->opt_list(t, key, &items, &n) != CT_OK)
		return CT_OK;
	for (size_t i = 0; i < n; i++) {
		char *end;
		long v = strtol(items[i], &end, 10);

		if (end == items[i] || *end != '\0' || v < 0 || v > 255) {
			ct->set_status(t, CT_STATUS_FAIL, "%s: '%s' is not an exit code (0-255)",
			               key, items[i]);
			return CT_EINVAL;
		}
		codes[v] = 1;
	}
	return CT_OK;
}

/* Checks a list of NAME=value items. */
static int
check_pairs(struct ct_task *t, const struct ct_services *ct, const char *key,
            const char *const *items, size_t n)
{
	int is_env = strcmp(key, "env") == 0;

	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(items[i], '=');

		if (eq == NULL || items[i][0] == '=' || (!is_env && eq[1] != '/')) {
			ct->set_status(t, CT_STATUS_FAIL, "%s: '%s' is not %s", key, items[i],
			               is_env ? "NAME=value" : "KIND=/absolute/path");
			return CT_EINVAL;
		}
	}
	return CT_OK;
}

static int
exec_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct exec_state *st = calloc(1, sizeof(*st));
	const char *command = NULL;
	char err[256];
	int rc;

	if (st == NULL)
		return CT_ENOMEM;
	*state = st;
	st->exit_code = -1;
	ct->opt_string(t, "command", &command);
	ct->opt_string(t, "cwd", &st->cwd);
	ct->opt_list(t, "env", &st->env, &st->n_env);
	ct->opt_bool(t, "clear_env", &st->is_clearing_env);
	rc = argv_split(command, &st->argv, &st->argc, err, sizeof(err));
	if (rc != CT_OK) {
		ct->set_status(t, CT_STATUS_FAIL, "command: %s", err);
		return rc;
	}
	ct->opt_list(t, "artifacts", &st->artifacts, &st->n_artifacts);
	rc = check_pairs(t, ct, "env", st->env, st->n_env);
	if (rc == CT_OK)
		rc = check_pairs(t, ct, "artifacts", st->artifacts, st->n_artifacts);
	if (rc == CT_OK)
		rc = cause_env_build(t, ct, &st->cause_env);
	if (rc == CT_OK)
		rc = parse_codes(t, ct, "ok_exit_codes", st->ok_codes);
	if (rc == CT_OK)
		rc = parse_codes(t, ct, "warn_exit_codes", st->warn_codes);
	return rc;
}

/* In the command's child: the environment it asked for. */
static void
child_environment(const struct exec_state *st)
{
	static const char *const kept[] = {"PATH", "HOME", "USER", "LOGNAME", "LANG", NULL};

	if (st->is_clearing_env) {
		char *saved[5] = {NULL};

		for (size_t i = 0; kept[i] != NULL; i++)
			saved[i] = getenv(kept[i]) ? strdup(getenv(kept[i])) : NULL;
		clearenv();
		for (size_t i = 0; kept[i] != NULL; i++)
			if (saved[i] != NULL)
				setenv(kept[i], saved[i], 1);
		if (getenv("PATH") == NULL)
			setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
	}
	for (size_t i = 0; st->cause_env != NULL && st->cause_env[i] != NULL; i++)
		putenv(st->cause_env[i]);
	for (size_t i = 0; i < st->n_env; i++)
		putenv((char *)st->env[i]);
}

static void
child_exec(const struct exec_state *st, int out_fd, int err_fd, int status_fd)
{
	int e;

	dup2(out_fd, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	signal(SIGPIPE, SIG_DFL);
	child_environment(st);
	if (chdir(st->cwd ? st->cwd : "/") != 0) {
		e = errno;
		if (write(status_fd, &e, sizeof(e)) < 0)
			_exit(126);
		_exit(126);
	}
	execvp(st->argv[0], st->argv);
	e = errno;
	if (write(status_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static void
remember_last_line(struct exec_state *st, const char *buf, size_t n)
{
	size_t end = n, start;

	while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r' || buf[end - 1] == ' '))
		end--;
	if (end == 0)
		return;
	start = end;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	if (end - start >= sizeof(st->last_line))
		start = end - (sizeof(st->last_line) - 1);
	memcpy(st->last_line, buf + start, end - start);
	st->last_line[end - start] = '\0';
}

/* Milliseconds on the monotonic clock. */
static int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long output is still read once the command itself has exited:
 * what it wrote last is in the pipes, but a process it left behind (a
 * daemon that kept stdout) may hold them open for ever.  The host ends
 * such processes when the run ends. */
#define EXEC_DRAIN_MS 1000

/* The command's exit status into st; once reaped, *is_reaped is set. */
static void
note_exit(struct exec_state *st, int status, int *is_reaped)
{
	*is_reaped = 1;
	if (WIFEXITED(status))
		st->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		st->term_signal = WTERMSIG(status);
}

/* Reaps the command if it has exited; then returns when reading stops. */
static int64_t
drain_deadline(struct exec_state *st, pid_t pid, int *is_reaped, int64_t deadline_ms)
{
	int status;

	if (*is_reaped || waitpid(pid, &status, WNOHANG) != pid)
		return deadline_ms;
	note_exit(st, status, is_reaped);
	return monotonic_ms() + EXEC_DRAIN_MS;
}

/* Read what one pipe has; at its end the pipe is closed and its fd -1. */
static void
pump_one(struct ct_task *t, const struct ct_services *ct, struct exec_state *st, struct pollfd *p,
         const char *name)
{
	char buf[65536];
	ssize_t n;

	if (p->fd < 0 || !(p->revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	n = read(p->fd, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		close(p->fd);
		p->fd = -1;
		return;
	}
	ct->add_output(t, name, buf, (size_t)n);
	remember_last_line(st, buf, (size_t)n);
}

/* Forward the command's output until both pipes close, or until
 * EXEC_DRAIN_MS after the command exited.  Sets *is_reaped when the
 * command was reaped here. */
static void
pump_output(struct ct_task *t, const struct ct_services *ct, struct exec_state *st, int out_fd,
            int err_fd, pid_t pid, int *is_reaped)
{
	struct pollfd p[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
	int64_t deadline_ms = INT64_MAX;
	int is_term_sent = 0;

	while ((p[0].fd >= 0 || p[1].fd >= 0) && monotonic_ms() < deadline_ms) {
		if (poll(p, 2, 200) < 0 && errno != EINTR)
			break;
		if (ct->should_stop(t) && !is_term_sent) {
			kill(pid, SIGTERM);
			is_term_sent = 1;
		}
		pump_one(t, ct, st, &p[0], "stdout");
		pump_one(t, ct, st, &p[1], "stderr");
		deadline_ms = drain_deadline(st, pid, is_reaped, deadline_ms);
	}
	if (p[0].fd >= 0 || p[1].fd >= 0)
		ct->log(t, CT_LOG_WARNING,
		        "%s exited, but a process it started still holds its output open: not "
		        "waited for (caretaker ends it when the run ends)",
		        st->argv[0]);
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
}

static int
wait_child(struct exec_state *st, pid_t pid)
{
	int status, is_reaped = 0;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return CT_ECHILD;
	note_exit(st, status, &is_reaped);
	return CT_OK;
}

/* The exec status pipe says errno when execvp or chdir failed. */
static int
exec_failed(struct ct_task *t, const struct ct_services *ct, struct exec_state *st, int status_fd)
{
	int e = 0;
	ssize_t n = read(status_fd, &e, sizeof(e));

	if (n != (ssize_t)sizeof(e))
		return 0;
	if (st->exit_code == 126)
		ct->set_status(t, CT_STATUS_FAIL, "cannot enter %s: %s", st->cwd ? st->cwd : "/",
		               strerror(e));
	else
		ct->set_status(t, CT_STATUS_FAIL, "cannot run %s: %s", st->argv[0], strerror(e));
	return 1;
}

static int
spawn_and_wait(struct ct_task *t, const struct ct_services *ct, struct exec_state *st)
{
	int out[2], err[2], status[2], is_reaped = 0;
	struct timespec t0, t1;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
	    pipe2(status, O_CLOEXEC) != 0) {
		ct->set_status(t, CT_STATUS_FAIL, "pipe: %s", strerror(errno));
		return CT_ESYS;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0)
		child_exec(st, out[1], err[1], status[1]);
	close(out[1]);
	close(err[1]);
	close(status[1]);
	if (pid < 0) {
		ct->set_status(t, CT_STATUS_FAIL, "fork: %s", strerror(errno));
		return CT_ESYS;
	}
	pump_output(t, ct, st, out[0], err[0], pid, &is_reaped);
	if (!is_reaped)
		wait_child(st, pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (exec_failed(t, ct, st, status[0]))
		st->exit_code = -1;
	close(status[0]);
	return CT_OK;
}

/* "running pg_repack": the program's name only, since its arguments may
 * hold what the running file and the terminal should not show.  How far a
 * command has got is not known. */
static void
progress_running(struct ct_task *t, const struct ct_services *ct, const char *program)
{
	const char *slash = strrchr(program, '/');
	char what[128];

	snprintf(what, sizeof(what), "running %s", slash != NULL ? slash + 1 : program);
	ct->progress(t, -1, what);
}

static int
exec_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct exec_state *st = state;

	if (ct->is_dry_run(t)) {
		ct->set_status(t, CT_STATUS_OK, "would run %s (%zu argument(s))", st->argv[0],
		               st->argc - 1);
		return CT_OK;
	}
	ct->log(t, CT_LOG_INFO, "running %s", st->argv[0]);
	progress_running(t, ct, st->argv[0]);
	return spawn_and_wait(t, ct, st);
}

/* The files the job says the command writes, once it succeeded. */
static void
add_artifacts(struct ct_task *t, const struct ct_services *ct, const struct exec_state *st)
{
	for (size_t i = 0; i < st->n_artifacts; i++) {
		const char *eq = strchr(st->artifacts[i], '=');
		char kind[65];

		snprintf(kind, sizeof(kind), "%.*s", (int)(eq - st->artifacts[i]),
		         st->artifacts[i]);
		if (access(eq + 1, F_OK) != 0)
			ct->log(t, CT_LOG_WARNING, "artifact %s: %s: %s", kind, eq + 1,
			        strerror(errno));
		else
			ct->add_artifact(t, kind, eq + 1);
	}
}

static int
exec_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct exec_state *st = state;
	const char *tail = st->last_line[0] ? st->last_line : "no output";

	if (ct->is_dry_run(t))
		return CT_OK;
	ct->add_metric(t, "duration_seconds", st->seconds, "seconds");
	if (st->term_signal != 0) {
		ct->set_status(t, CT_STATUS_FAIL, "%s killed by signal %d: %s", st->argv[0],
		               st->term_signal, tail);
		return CT_OK;
	}
	if (st->exit_code < 0)
		return CT_OK; /* exec_failed said why */
	ct->add_metric(t, "exit_code", st->exit_code, "");
	if (st->ok_codes[st->exit_code] || st->warn_codes[st->exit_code]) {
		ct->set_status(t, st->ok_codes[st->exit_code] ? CT_STATUS_OK : CT_STATUS_WARN,
		               "%s exited %d: %s", st->argv[0], st->exit_code, tail);
		add_artifacts(t, ct, st);
	} else {
		ct->set_status(t, CT_STATUS_FAIL, "%s exited %d: %s", st->argv[0], st->exit_code,
		               tail);
	}
	return CT_OK;
}

static void
exec_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct exec_state *st = state;

	(void)t;
	(void)ct;
	if (st == NULL)
		return;
	argv_free(st->argv);
	cause_env_free(st->cause_env);
	free(st);
}

CT_PLUGIN_DEFINE(.name = "exec", .version = "1.0",
                 .summary = "runs a command: argv without a shell, env, cwd, exit codes, output",
                 .help = "The command is split into words like a shell would (quotes and "
                         "backslashes), but no shell runs it: no variables, globs, pipes or "
                         "redirections. Its stdout and stderr are captured into the report "
                         "(`caretaker report JOB` shows them; head and tail are kept past "
                         "[caretaker] output_limit). The job's timeout and user keys apply to "
                         "the command. Exit codes in ok_exit_codes succeed, those in "
                         "warn_exit_codes warn, any other fails. The job ends a second after "
                         "the command exits, even when a process it started (a daemon) still "
                         "holds its output open; caretaker ends such processes with the run. "
                         "Run as another job's on_failure, the command gets the failure and the "
                         "artifacts of that job's chain as CARETAKER_FAILED_JOB, "
                         "CARETAKER_FAILED_STATUS, CARETAKER_FAILED_SUMMARY, "
                         "CARETAKER_CHAIN_ARTIFACTS, CARETAKER_CHAIN_<i>_JOB/_KIND/_PATH and "
                         "CARETAKER_ARTIFACT_<JOB>_<KIND> (caretaker.ini(5), on_failure; "
                         "docs/updates.md).",
                 .flags = CT_PLUGIN_DRY_RUN, .options = exec_options, .init = exec_init,
                 .run = exec_run, .report = exec_report, .fini = exec_fini);
