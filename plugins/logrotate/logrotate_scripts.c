/*
 * logrotate_scripts.c — prerotate and postrotate: argv run without a
 * shell, as a child of the job's process (it stays in the job's process
 * group, so the job's timeout and the host's clean-up end it with the
 * job), stdout and stderr captured into the report's stream of the
 * command's name.  Once a run, like logrotate's sharedscripts.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
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

/* Everything the command writes, into the report, until it closes its
 * output. */
static void
script_pump(struct lr_run *run, const char *name, int fd)
{
	char buf[8192];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		run->host.ct->add_output(run->host.t, name, buf, (size_t)n);
	}
}

static int
script_wait(struct lr_run *run, const char *name, char *const *argv, pid_t pid, int status_fd)
{
	int status = 0, e = 0;

	while (waitpid(pid, &status, 0) < 0)
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
		script_pump(run, name, out[0]);
		rc = script_wait(run, name, argv, pid, status[0]);
	}
	close(out[0]);
	close(status[0]);
	return rc;
}
