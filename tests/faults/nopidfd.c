/*
 * Not a plugin: an LD_PRELOAD shim that makes pidfd_open(2) fail with
 * ENOSYS, as it does on kernels before 5.3, under seccomp filters that
 * deny it and under valgrind.  The core must then learn of its child's
 * exit another way.  Each refusal appends a line to the file named by
 * $CT_NOPIDFD_LOG (when set), so a test can tell the shim was in force.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

static void
note_refusal(void)
{
	static const char line[] = "pidfd_open refused\n";
	const char *path = getenv("CT_NOPIDFD_LOG");
	int fd;

	if (path == NULL)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, strlen(line)) < 0) {
		/* Nothing to do: the test will see no note and say so. */
	}
	close(fd);
}

__attribute__((visibility("default"))) int
pidfd_open(pid_t pid, unsigned int flags)
{
	(void)pid;
	(void)flags;
	note_refusal();
	errno = ENOSYS;
	return -1;
}
