/*
 * apt_cmd.c — running apt's commands for the plugin (see apt.h).
 *
 * Every command gets the noninteractive environment (no debconf question,
 * no apt-listchanges pager) and LC_ALL=C, so that what it prints is the
 * English the parsers expect.  stdout and stderr share one pipe, so the
 * report shows apt's errors where they happened.  The command stays in the
 * job's process group, so the host's timeout reaches it, and it gets
 * SIGTERM when the host asks the run to stop.
 *
 * Locks: dpkg's lock is waited for by apt itself (DPkg::Lock::Timeout,
 * apt 1.9.11 and later); apt-get update does not wait for the lists lock,
 * and older apt not for dpkg's, so a run that failed on a held lock is run
 * again, once a second, until lock_timeout has passed.
 */
#define _GNU_SOURCE /* pipe2 */
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

#include "apt.h"

/* More output than this is not kept for parsing (it still reaches the
 * report, which keeps its head and tail). */
#define APT_OUTPUT_MAX (64u << 20)
#define APT_ARGS_MAX 512

static int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* program, -o NAME=VALUE for apt's own commands, then args. */
static int
build_argv(const struct apt_opts *o, const char *program, const char *const *args, int64_t wait_s,
           char *lock_opt, size_t lock_size, const char **argv)
{
	size_t n = 0;
	int is_apt = strncmp(program, "apt", 3) == 0;

	argv[n++] = program;
	for (size_t i = 0; is_apt && i < o->n_apt_options && n + 2 < APT_ARGS_MAX; i++) {
		argv[n++] = "-o";
		argv[n++] = o->apt_options[i];
	}
	if (is_apt) {
		snprintf(lock_opt, lock_size, "DPkg::Lock::Timeout=%lld", (long long)wait_s);
		argv[n++] = "-o";
		argv[n++] = lock_opt;
	}
	for (size_t i = 0; args[i] != NULL; i++) {
		if (n + 1 >= APT_ARGS_MAX)
			return CT_EINVAL;
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	return CT_OK;
}

/* In the child, before exec. */
static void
child_exec(const char **argv, int out_fd)
{
	int null_fd = open("/dev/null", O_RDONLY);

	if (null_fd >= 0)
		dup2(null_fd, STDIN_FILENO);
	dup2(out_fd, STDOUT_FILENO);
	dup2(out_fd, STDERR_FILENO);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	setenv("DEBIAN_FRONTEND", "noninteractive", 1);
	setenv("APT_LISTCHANGES_FRONTEND", "none", 1);
	setenv("LC_ALL", "C", 1);
	execvp(argv[0], (char *const *)argv);
	dprintf(STDERR_FILENO, "E: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void
output_append(struct apt_output *out, const char *buf, size_t n)
{
	char *grown;

	if (out->len + n + 1 > APT_OUTPUT_MAX)
		return;
	grown = realloc(out->text, out->len + n + 1);
	if (grown == NULL)
		return;
	out->text = grown;
	memcpy(out->text + out->len, buf, n);
	out->len += n;
	out->text[out->len] = '\0';
}

/* Reads the pipe until it closes; SIGTERM to the command on a stop. */
static void
pump(struct plugin_host *h, int fd, pid_t pid, const char *stream, struct apt_output *out)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int is_term_sent = 0;
	char buf[65536];

	for (;;) {
		ssize_t n;

		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			break;
		if (!is_term_sent && plugin_host_should_stop(h)) {
			kill(pid, SIGTERM);
			is_term_sent = 1;
		}
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		output_append(out, buf, (size_t)n);
		if (stream != NULL)
			h->ct->add_output(h->t, stream, buf, (size_t)n);
	}
}

static int
run_once(struct plugin_host *h, const char **argv, const char *stream, struct apt_output *out)
{
	int pipefd[2], status = 0;
	pid_t pid;

	out->len = 0;
	out->exit_code = -1;
	if (out->text != NULL)
		out->text[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return plugin_host_fail(h, CT_ESYS, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0)
		child_exec(argv, pipefd[1]);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return plugin_host_fail(h, CT_ESYS, "fork for %s: %s", argv[0], strerror(errno));
	}
	pump(h, pipefd[0], pid, stream, out);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return plugin_host_fail(h, CT_ECHILD, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status))
		out->exit_code = WEXITSTATUS(status);
	return CT_OK;
}

/* Non-zero when apt said it could not take a lock another program holds. */
static int
is_lock_failure(const struct apt_output *out)
{
	return out->exit_code != 0 && out->text != NULL &&
	       (strstr(out->text, "Could not get lock") != NULL ||
	        strstr(out->text, "Unable to acquire the dpkg frontend lock") != NULL);
}

/* Sleeps a second, or less when a stop is requested. */
static void
wait_a_second(struct plugin_host *h)
{
	for (int i = 0; i < 10 && !plugin_host_should_stop(h); i++)
		usleep(100000);
}

int
apt_cmd_run(struct plugin_host *h, const struct apt_opts *o, const char *program,
            const char *const *args, const char *stream, struct apt_output *out)
{
	const char *argv[APT_ARGS_MAX];
	int64_t deadline_ms = monotonic_ms() + o->lock_timeout_ms;
	char lock_opt[64];
	int rc, is_waiting_said = 0;

	for (;;) {
		int64_t left_ms = deadline_ms - monotonic_ms();

		rc = build_argv(o, program, args, left_ms > 0 ? (left_ms + 999) / 1000 : 0,
		                lock_opt, sizeof(lock_opt), argv);
		if (rc != CT_OK)
			return plugin_host_fail(h, rc, "%s: too many arguments", program);
		rc = run_once(h, argv, stream, out);
		if (rc != CT_OK || !is_lock_failure(out) || monotonic_ms() >= deadline_ms ||
		    plugin_host_should_stop(h))
			return rc;
		if (!is_waiting_said)
			h->ct->log(h->t, CT_LOG_NOTICE, "%s: a lock is held; waiting up to %llds",
			           program, (long long)(o->lock_timeout_ms / 1000));
		is_waiting_said = 1;
		wait_a_second(h);
	}
}

void
apt_output_free(struct apt_output *out)
{
	free(out->text);
	out->text = NULL;
	out->len = 0;
}

void
apt_output_error(const struct apt_output *out, char *buf, size_t size)
{
	const char *text = out->text != NULL ? out->text : "", *line = text, *chosen = NULL;
	const char *last = NULL;

	for (; *line != '\0'; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "") {
		if (strncmp(line, "E: ", 3) == 0 && chosen == NULL)
			chosen = line; /* the first error says why; the rest follow from it */
		if (*line != '\n')
			last = line;
	}
	if (chosen == NULL)
		chosen = last != NULL ? last : "no output";
	snprintf(buf, size, "%.*s", (int)strcspn(chosen, "\n"), chosen);
}
