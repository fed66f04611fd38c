/*
 * logrotate_scripts.c — prerotate and postrotate: argv run without a
 * shell, as a child of the job's process (it stays in the job's process
 * group, so the job's timeout and the host's clean-up end it with the
 * job), stdout and stderr captured into the report's stream of the
 * command's name.  Once a run, like logrotate's sharedscripts.  A daemon
 * the command starts may keep the output open: the run goes on a second
 * after the command itself exited.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "logrotate.h"

static void
script_child(char *const *argv, int out_fd, int status_fd)
{
	int e;

	dup2(out_fd, STDOUT_FILENO);
	dup2(out_fd, STDERR_FILENO);
	signal(SIGPIPE, SIG_DFL);
	if (chdir("/") != 0)
		_exit(126);
	execvp(argv[0], argv);
	e = errno;
	if (write(status_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* How long output is still read once the command has exited: a daemon it
 * started may keep its stdout open for ever (the host ends such processes
 * with the run), as in the exec plugin. */
#define SCRIPT_DRAIN_MS 1000

static int64_t
script_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Everything the command writes goes into the report, until it closes its
 * output or SCRIPT_DRAIN_MS after it exited.  Sets *status and returns 1
 * once the command was reaped here. */
static int
script_pump(struct lr_run *run, const char *name, int fd, pid_t pid, int *status)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int64_t deadline_ms = INT64_MAX;
	int is_reaped = 0;
	char buf[8192];
	ssize_t n = 1;

	while (n != 0 && script_now_ms() < deadline_ms) {
		if (poll(&p, 1, 200) > 0) {
			n = read(fd, buf, sizeof(buf));
			if (n < 0 && errno != EINTR)
				break;
			if (n > 0)
				run->host.ct->add_output(run->host.t, name, buf, (size_t)n);
		}
		if (!is_reaped && waitpid(pid, status, WNOHANG) == pid) {
			is_reaped = 1;
			deadline_ms = script_now_ms() + SCRIPT_DRAIN_MS;
		}
	}
	return is_reaped;
}

static int
script_wait(struct lr_run *run, const char *name, char *const *argv, pid_t pid, int status_fd,
            int is_reaped, int status)
{
	int e = 0;

	while (!is_reaped && waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return plugin_host_fail(&run->host, CT_ECHILD, "%s: waitpid: %s", name,
			                        strerror(errno));
	if (read(status_fd, &e, sizeof(e)) == (ssize_t)sizeof(e))
		return plugin_host_fail(&run->host, CT_ECHILD, "%s: cannot run %s: %s", name,
		                        argv[0], strerror(e));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		return plugin_host_fail(&run->host, CT_ECHILD, "%s: %s killed by signal %d", name,
		                        argv[0], WTERMSIG(status));
	return plugin_host_fail(&run->host, CT_ECHILD, "%s: %s exited %d", name, argv[0],
	                        WEXITSTATUS(status));
}

int
lr_script_run(struct lr_run *run, const char *name, char *const *argv)
{
	int out[2], status[2], rc;
	pid_t pid;

	lr_note(run, "running %s: %s", name, argv[0]);
	if (pipe2(out, O_CLOEXEC) != 0)
		return plugin_host_fail(&run->host, CT_ESYS, "%s: pipe: %s", name, strerror(errno));
	if (pipe2(status, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		return plugin_host_fail(&run->host, CT_ESYS, "%s: pipe: %s", name, strerror(errno));
	}
	pid = fork();
	if (pid == 0)
		script_child(argv, out[1], status[1]);
	close(out[1]);
	close(status[1]);
	if (pid < 0)
		rc = plugin_host_fail(&run->host, CT_ESYS, "%s: fork: %s", name, strerror(errno));
	else {
		int child_status = 0,
		    is_reaped = script_pump(run, name, out[0], pid, &child_status);

		rc = script_wait(run, name, argv, pid, status[0], is_reaped, child_status);
	}
	close(out[0]);
	close(status[0]);
	return rc;
}
