/*
 * childrun.c — running a command for a plugin (see childrun.h): the fork
 * and the child's side before exec, the loop that reads its output and
 * signals it on a stop or a timeout, and its end.
 *
 * Why the exec error comes through a pipe of its own: the exit code alone
 * cannot tell "the program is missing" from a program that exits 127, and
 * the words of errno belong in the plugin's message, not in the command's
 * output.  The pipe is close-on-exec, so it reads empty once exec worked.
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
#include <unistd.h>

#include <caretaker/errors.h>

#include "childrun.h"
#include "monotonic.h"

/* How often the loop looks at the stop request and the clock while the
 * pipes are quiet, and while the command runs with its pipes closed. */
#define CHILDRUN_POLL_MS 200
#define CHILDRUN_REAP_POLL_MS 10

/* What the child writes on the exec pipe when it cannot run. */
struct childrun_failure {
	int exit_code; /* 126: cwd, 127: exec */
	int errnum;
};

/* The loop's state: the pipes, the clock, what was sent. */
struct childrun_loop {
	const struct childrun_params *p;
	struct childrun_result *r;
	struct pollfd fds[2];
	pid_t pid;
	int is_reaped;
	int64_t start_ms;
	int64_t drain_end_ms; /* reading stops then, once reaped */
	int64_t kill_at_ms;   /* SIGKILL then, once SIGTERM was sent; 0 before */
	int wait_errno;       /* waitpid's failure, or 0 */
};

/* ---- the child ------------------------------------------------------------ */

static void
child_clear_env(void)
{
	static const char *const kept[] = {"PATH", "HOME", "USER", "LOGNAME", "LANG", NULL};
	char *saved[5] = {NULL};

	for (size_t i = 0; kept[i] != NULL; i++)
		saved[i] = getenv(kept[i]) != NULL ? strdup(getenv(kept[i])) : NULL;
	clearenv();
	for (size_t i = 0; kept[i] != NULL; i++)
		if (saved[i] != NULL)
			setenv(kept[i], saved[i], 1);
	if (getenv("PATH") == NULL)
		setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
}

/* Signals as a fresh process has them: the job's stop handler and an
 * ignored SIGPIPE are the plugin's, not the command's. */
static void
child_reset_signals(void)
{
	sigset_t none;

	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void
child_fail(int status_fd, int exit_code)
{
	struct childrun_failure f = {.exit_code = exit_code, .errnum = errno};

	if (write(status_fd, &f, sizeof(f)) < 0)
		_exit(exit_code);
	_exit(exit_code);
}

static void
child_exec(const struct childrun_params *p, const int *out, const int *err, int status_fd)
{
	int null_fd = open("/dev/null", O_RDONLY);

	if (p->is_own_group)
		setpgid(0, 0);
	if (null_fd >= 0)
		dup2(null_fd, STDIN_FILENO);
	dup2(out[1], STDOUT_FILENO);
	dup2(p->is_merging_stderr ? out[1] : err[1], STDERR_FILENO);
	child_reset_signals();
	if (p->is_clearing_env)
		child_clear_env();
	for (size_t i = 0; i < p->n_env; i++)
		putenv((char *)p->env[i]);
	if (p->cwd != NULL && chdir(p->cwd) != 0)
		child_fail(status_fd, 126);
	execvp(p->argv[0], p->argv);
	child_fail(status_fd, 127);
}

/* ---- the parent: output ---------------------------------------------------- */

static void
capture_append(const struct childrun_params *p, struct childrun_result *r, const char *buf,
               size_t n)
{
	char *grown;

	if (r->output_len + n > p->capture_max) {
		r->is_truncated = 1;
		n = p->capture_max - r->output_len;
	}
	if (n == 0)
		return;
	grown = realloc(r->output, r->output_len + n + 1);
	if (grown == NULL) {
		r->is_truncated = 1;
		return;
	}
	r->output = grown;
	memcpy(r->output + r->output_len, buf, n);
	r->output_len += n;
	r->output[r->output_len] = '\0';
}

/* Read what one pipe has (0: stdout, 1: stderr, which is empty when
 * merged); at its end the pipe is closed and its fd -1. */
static void
loop_read(struct childrun_loop *l, int which)
{
	static const char *const streams[] = {"stdout", "stderr"};
	struct pollfd *pfd = &l->fds[which];
	char buf[65536];
	ssize_t n;

	if (pfd->fd < 0 || !(pfd->revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	n = read(pfd->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(pfd->fd);
		pfd->fd = -1;
		return;
	}
	if (l->p->capture_max > 0 && which == 0)
		capture_append(l->p, l->r, buf, (size_t)n);
	if (l->p->on_output != NULL)
		l->p->on_output(l->p->output_arg, streams[which], buf, (size_t)n);
}

/* ---- the parent: signals and the end ---------------------------------------- */

static void
loop_signal(const struct childrun_loop *l, int sig)
{
	if (l->is_reaped)
		return; /* its pid may be another process's by now */
	if (l->p->is_own_group && kill(-l->pid, sig) == 0)
		return;
	kill(l->pid, sig);
}

static int64_t
loop_grace_ms(const struct childrun_loop *l)
{
	return l->p->grace_ms > 0 ? l->p->grace_ms : CHILDRUN_GRACE_MS;
}

/* SIGTERM on a stop request or at the timeout, SIGKILL after the grace. */
static void
loop_check_clock(struct childrun_loop *l, int64_t now_ms)
{
	const struct childrun_params *p = l->p;

	if (l->is_reaped)
		return;
	if (l->kill_at_ms == 0) {
		if (p->should_stop != NULL && p->should_stop(p->stop_arg))
			l->r->is_stopped = 1;
		else if (p->timeout_ms > 0 && now_ms - l->start_ms >= p->timeout_ms)
			l->r->is_timed_out = 1;
		else
			return;
		loop_signal(l, SIGTERM);
		l->kill_at_ms = now_ms + loop_grace_ms(l);
	} else if (now_ms >= l->kill_at_ms) {
		loop_signal(l, SIGKILL);
		l->kill_at_ms = INT64_MAX;
	}
}

static void
loop_note_exit(struct childrun_loop *l, int status)
{
	l->is_reaped = 1;
	l->drain_end_ms =
	    monotonic_ms() + (l->p->drain_ms > 0 ? l->p->drain_ms : CHILDRUN_DRAIN_MS);
	if (WIFEXITED(status))
		l->r->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		l->r->term_signal = WTERMSIG(status);
}

/* A waitpid that fails for another reason than a signal ends the wait:
 * the command is not this process's child any more. */
static void
loop_try_reap(struct childrun_loop *l)
{
	int status = 0;
	pid_t pid;

	if (l->is_reaped)
		return;
	pid = waitpid(l->pid, &status, WNOHANG);
	if (pid == l->pid)
		loop_note_exit(l, status);
	else if (pid < 0 && errno != EINTR) {
		l->wait_errno = errno;
		l->is_reaped = 1;
		l->drain_end_ms = 0;
	}
}

static int
loop_is_done(const struct childrun_loop *l, int64_t now_ms)
{
	int is_open = l->fds[0].fd >= 0 || l->fds[1].fd >= 0;

	return l->is_reaped && (!is_open || now_ms >= l->drain_end_ms);
}

/* Read, signal and reap until the command is gone and its output read. */
static void
loop_run(struct childrun_loop *l)
{
	int64_t now_ms = monotonic_ms();

	while (!loop_is_done(l, now_ms)) {
		int is_open = l->fds[0].fd >= 0 || l->fds[1].fd >= 0;

		if (poll(l->fds, 2, is_open ? CHILDRUN_POLL_MS : CHILDRUN_REAP_POLL_MS) > 0) {
			loop_read(l, 0);
			loop_read(l, 1);
		}
		loop_try_reap(l);
		now_ms = monotonic_ms();
		loop_check_clock(l, now_ms);
	}
	l->r->is_output_held = l->fds[0].fd >= 0 || l->fds[1].fd >= 0;
	for (int i = 0; i < 2; i++)
		if (l->fds[i].fd >= 0)
			close(l->fds[i].fd);
}

/* What the exec pipe says: nothing once exec worked. */
static void
result_note_failure(const struct childrun_params *p, struct childrun_result *r, int status_fd)
{
	struct childrun_failure f;

	if (read(status_fd, &f, sizeof(f)) != (ssize_t)sizeof(f))
		return;
	r->exec_errno = f.errnum;
	if (f.exit_code == 126)
		snprintf(r->error, sizeof(r->error), "cannot enter %s: %s", p->cwd,
		         strerror(f.errnum));
	else
		snprintf(r->error, sizeof(r->error), "cannot run %s: %s", p->argv[0],
		         strerror(f.errnum));
}

/* ---- the entry points ------------------------------------------------------- */

static void
pipes_close(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int
pipes_open(int *out, int *err, int *status, char *errbuf, size_t err_size)
{
	if (pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0 &&
	    pipe2(status, O_CLOEXEC) == 0)
		return 0;
	snprintf(errbuf, err_size, "pipe: %s", strerror(errno));
	return CT_ESYS;
}

/* Fork the command and keep the parent's ends of its pipes in l. */
static int
run_start(const struct childrun_params *p, struct childrun_loop *l, int *fds, char *err,
          size_t err_size)
{
	int fork_errno;

	l->start_ms = monotonic_ms();
	l->pid = fork();
	if (l->pid == 0)
		child_exec(p, &fds[0], &fds[2], fds[5]);
	fork_errno = errno;
	/* As the child does, so that a signal sent before it did reaches it. */
	if (l->pid > 0 && p->is_own_group)
		setpgid(l->pid, l->pid);
	pipes_close((int[]){fds[1], fds[3], fds[5]}, 3);
	fds[1] = fds[3] = fds[5] = -1;
	if (l->pid < 0) {
		snprintf(err, err_size, "fork for %s: %s", p->argv[0], strerror(fork_errno));
		return CT_ESYS;
	}
	l->fds[0] = (struct pollfd){.fd = fds[0], .events = POLLIN};
	l->fds[1] = (struct pollfd){.fd = fds[2], .events = POLLIN};
	fds[0] = fds[2] = -1;
	return 0;
}

int
childrun_run(const struct childrun_params *p, struct childrun_result *result, char *err,
             size_t err_size)
{
	int fds[6] = {-1, -1, -1, -1, -1, -1}; /* out, err, exec status: read, write */
	struct childrun_loop l = {.p = p, .r = result, .drain_end_ms = INT64_MAX};
	int rc;

	memset(result, 0, sizeof(*result));
	result->exit_code = -1;
	rc = pipes_open(&fds[0], &fds[2], &fds[4], err, err_size);
	if (rc == 0)
		rc = run_start(p, &l, fds, err, err_size);
	if (rc != 0)
		goto out;
	loop_run(&l);
	result->seconds = (double)(monotonic_ms() - l.start_ms) / 1000.0;
	result_note_failure(p, result, fds[4]);
	if (l.wait_errno != 0) {
		snprintf(err, err_size, "waitpid for %s: %s", p->argv[0], strerror(l.wait_errno));
		rc = CT_ECHILD;
	}
out:
	pipes_close(fds, 6);
	return rc;
}

void
childrun_describe(const struct childrun_result *result, char *buf, size_t size)
{
	if (result->exec_errno != 0)
		snprintf(buf, size, "%s", result->error);
	else if (result->term_signal != 0)
		snprintf(buf, size, "killed by signal %d", result->term_signal);
	else
		snprintf(buf, size, "exited %d", result->exit_code);
}

void
childrun_result_free(struct childrun_result *result)
{
	if (result == NULL)
		return;
	free(result->output);
	result->output = NULL;
	result->output_len = 0;
}
