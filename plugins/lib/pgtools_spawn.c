/*
 * pgtools_spawn.c — starting, feeding and reaping a client program (see
 * pgtools.h).
 *
 * The child between fork and exec does only async-signal-safe work
 * (dup2, sigaction, prctl, execve, write, _exit): the backup plugin forks
 * while compression threads run, and a lock one of them held at fork time
 * would never be released in the child.  argv and envp are built before.
 *
 * A child we feed reads its stdin from a socket, not a pipe: send() with
 * MSG_NOSIGNAL returns EPIPE when the child has gone, where write() on a
 * pipe would raise SIGPIPE and kill the whole plugin process.  Its stderr
 * then goes to a memory file, so a child that writes much to stderr while
 * we are blocked feeding it never deadlocks with us.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, F_SETPIPE_SZ, memfd_create */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "fdio.h"
#include "pgtools.h"

/* A pipe this large lets pg_dump run ahead while the compressor waits for
 * a block; the default 64 KiB stalls it (tests/bench/compress-file.c). */
#define STDOUT_PIPE_BYTES (1 << 20)

struct channels {
	int in[2];     /* [0] the child's, [1] ours */
	int out[2];    /* [0] ours, [1] the child's */
	int err[2];    /* [0] ours, [1] the child's (the same memfd twice) */
	int status[2]; /* exec failure: errno, child to parent */
	int null_fd;
};

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
channels_close(struct channels *ch)
{
	for (int i = 0; i < 2; i++) {
		close_fd(&ch->in[i]);
		close_fd(&ch->out[i]);
		close_fd(&ch->err[i]);
		close_fd(&ch->status[i]);
	}
	close_fd(&ch->null_fd);
}

static int
channels_open_err(struct channels *ch, unsigned flags)
{
	if ((flags & PGTOOLS_STDERR_BUFFER) == 0)
		return pipe2(ch->err, O_CLOEXEC);
	ch->err[0] = memfd_create("pgtools-stderr", MFD_CLOEXEC);
	if (ch->err[0] < 0)
		return -1;
	ch->err[1] = fcntl(ch->err[0], F_DUPFD_CLOEXEC, 3);
	return ch->err[1] < 0 ? -1 : 0;
}

static int
channels_open(struct channels *ch, unsigned flags)
{
	*ch = (struct channels){{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}, -1};
	ch->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (ch->null_fd < 0 || pipe2(ch->status, O_CLOEXEC) != 0 ||
	    channels_open_err(ch, flags) != 0)
		return -1;
	if ((flags & PGTOOLS_STDIN) &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ch->in) != 0)
		return -1;
	if ((flags & PGTOOLS_STDOUT) && pipe2(ch->out, O_CLOEXEC) != 0)
		return -1;
	if (flags & PGTOOLS_STDIN) {
		int bytes = STDOUT_PIPE_BYTES;

		(void)shutdown(ch->in[0], SHUT_WR);
		(void)setsockopt(ch->in[1], SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
	}
	if (flags & PGTOOLS_STDOUT)
		(void)fcntl(ch->out[0], F_SETPIPE_SZ, STDOUT_PIPE_BYTES); /* best effort */
	return 0;
}

/* In the child: async-signal-safe calls only. */
static void
child_exec(const char *path, char *const argv[], char *const envp[], const struct channels *ch)
{
	static const int defaulted[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD};
	struct sigaction sa;
	sigset_t none;
	int e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sizeof(defaulted) / sizeof(defaulted[0]); i++)
		sigaction(defaulted[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Dies with the plugin instead of dumping on into a dead pipe. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (dup2(ch->in[0] >= 0 ? ch->in[0] : ch->null_fd, STDIN_FILENO) < 0 ||
	    dup2(ch->out[1] >= 0 ? ch->out[1] : ch->null_fd, STDOUT_FILENO) < 0 ||
	    dup2(ch->err[1], STDERR_FILENO) < 0)
		_exit(127);
	execve(path, argv, envp);
	e = errno;
	if (write(ch->status[1], &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* errno of a failed exec, or 0 once exec closed the status pipe. */
static int
exec_errno(int status_fd)
{
	int e = 0;
	ssize_t n;

	do
		n = read(status_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(e) ? e : 0;
}

static void
child_take_channels(struct pgtools_child *c, struct channels *ch)
{
	c->in_fd = ch->in[1];
	c->out_fd = ch->out[0];
	c->err_fd = ch->err[0];
	ch->in[1] = ch->out[0] = ch->err[0] = -1;
}

int
pgtools_spawn(const char *path, char *const argv[], char *const envp[], unsigned flags,
              struct pgtools_child *c, char *err, size_t err_size)
{
	struct channels ch;
	int e, status;
	pid_t pid;

	*c = (struct pgtools_child){0, -1, -1, -1, flags};
	if (channels_open(&ch, flags) != 0) {
		snprintf(err, err_size, "cannot start %s: %s", path, strerror(errno));
		channels_close(&ch);
		return CT_ESYS;
	}
	pid = fork();
	if (pid == 0)
		child_exec(path, argv, envp, &ch);
	e = errno;
	close_fd(&ch.status[1]);
	if (pid > 0)
		e = exec_errno(ch.status[0]);
	if (pid < 0 || e != 0) {
		snprintf(err, err_size, "cannot %s %s: %s", pid < 0 ? "fork for" : "run", path,
		         strerror(e));
		if (pid > 0)
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
		channels_close(&ch);
		return pid < 0 ? CT_ESYS : CT_ECHILD;
	}
	c->pid = pid;
	child_take_channels(c, &ch);
	channels_close(&ch);
	return 0;
}

int
pgtools_feed(struct pgtools_child *c, const void *buf, size_t len)
{
	return fdio_send_all(c->in_fd, buf, len);
}

void
pgtools_close_stdin(struct pgtools_child *c)
{
	close_fd(&c->in_fd);
}

int
pgtools_wait(struct pgtools_child *c, int *status)
{
	pid_t r;

	close_fd(&c->in_fd);
	close_fd(&c->out_fd);
	if ((c->flags & PGTOOLS_STDERR_BUFFER) == 0)
		close_fd(&c->err_fd);
	if (c->pid <= 0)
		return CT_ECHILD;
	do
		r = waitpid(c->pid, status, 0);
	while (r < 0 && errno == EINTR);
	c->pid = 0;
	return r < 0 ? CT_ECHILD : 0;
}

void
pgtools_stop(struct pgtools_child *c)
{
	int status;

	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		pgtools_wait(c, &status);
	}
	pgtools_child_close(c);
}

void
pgtools_child_close(struct pgtools_child *c)
{
	close_fd(&c->in_fd);
	close_fd(&c->out_fd);
	close_fd(&c->err_fd);
}

size_t
pgtools_read_stderr(const struct pgtools_child *c, char *buf, size_t size)
{
	ssize_t n;

	if (size == 0)
		return 0;
	n = c->err_fd >= 0 ? pread(c->err_fd, buf, size - 1, 0) : -1;
	n = n < 0 ? 0 : n;
	buf[n] = '\0';
	return (size_t)n;
}

void
pgtools_status_text(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by SIG%s",
		         sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
	else
		snprintf(buf, size, "ended with wait status %d", status);
}
