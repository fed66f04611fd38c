/* Starts a process that leaves the job's process group (setsid, as a
 * daemonizing script does), writes its pid to escaped.pid in the job's
 * state folder, then hangs ignoring SIGTERM like hang: the core kills the
 * job's child after the timeout and must still end the escaped process. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "fault.h"

static void
escape_child(void)
{
	int null_fd = open("/dev/null", O_RDWR);

	setsid();
	dup2(null_fd, STDIN_FILENO);
	dup2(null_fd, STDOUT_FILENO);
	dup2(null_fd, STDERR_FILENO);
	execlp("sleep", "sleep", "300", (char *)NULL);
	_exit(127);
}

static void
escape_note_pid(struct ct_task *t, const struct ct_services *ct, pid_t pid)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/escaped.pid", ct->state_dir(t));
	f = fopen(path, "w");
	if (f == NULL)
		return;
	fprintf(f, "%ld\n", (long)pid);
	fclose(f);
}

static int
escape_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	pid_t pid = fork();

	(void)state;
	if (pid == 0)
		escape_child();
	escape_note_pid(t, ct, pid);
	signal(SIGTERM, SIG_IGN);
	ct->log(t, CT_LOG_NOTICE, "escaped process %ld started; hanging", (long)pid);
	for (;;)
		pause();
	return CT_OK;
}

FAULT_PLUGIN("escape", escape_run);
