/*
 * reap.c — ending the processes a job leaves behind (see reap.h).
 *
 * The children of this process are found by a scan of /proc: the fourth
 * field of /proc/PID/stat is the parent's pid.  The children files under
 * /proc/PID/task/ would be cheaper, but they need CONFIG_PROC_CHILDREN,
 * which not every kernel has.  A child's pid cannot be reused before its
 * parent reaps it, so a pid the scan found as our child is never a
 * stranger's when we kill it.  Killing a process reparents its children
 * to the nearest subreaper, here: hence a new scan after every round,
 * until no child is left.  Most runs leave nothing, and waitpid(WNOHANG)
 * says so without a scan.
 *
 * The scan makes system calls only (getdents64, open, read), parses by
 * hand and allocates nothing, so that a signal handler may sweep: the
 * job's child does when caretaker died and the plugin did not stop.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "reap.h"

/* Children ended per round; the next scan finds the rest. */
#define REAP_BATCH 64

struct reap_child {
	pid_t pid;
	pid_t pgrp;
	char state; /* 'Z': it has exited already */
};

int
reap_set_subreaper(int is_on)
{
	return prctl(PR_SET_CHILD_SUBREAPER, is_on ? 1 : 0, 0, 0, 0) == 0 ? 0 : CT_ESYS;
}

/* The decimal number at *p, which moves past it; -1 when there is none. */
static long
reap_parse_number(const char **p)
{
	const char *s = *p;
	long v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9' && v < 100000000; s++)
		v = v * 10 + (*s - '0');
	*p = s;
	return v;
}

/* Read /proc/NAME/stat into buf (NUL-terminated); 0 or CT_ENOENT. */
static int
reap_read_stat_file(int proc_fd, const char *name, char *buf, size_t size)
{
	char path[32];
	size_t len = strlen(name);
	ssize_t n;
	int fd;

	if (len > sizeof(path) - sizeof("/stat"))
		return CT_ENOENT;
	memcpy(path, name, len);
	memcpy(path + len, "/stat", sizeof("/stat"));
	fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return CT_ENOENT;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? 0 : CT_ENOENT;
}

/* "PID (COMM) STATE PPID PGRP ...": 1 when process NAME is a child of
 * `self` (and *c describes it), 0 when not.  COMM may hold spaces and
 * parentheses, hence the last ')'. */
static int
reap_is_child(int proc_fd, const char *name, pid_t self, struct reap_child *c)
{
	const char *p = name;
	char buf[512];
	long pid = reap_parse_number(&p), ppid, pgrp;

	if (pid <= 0 || *p != '\0' || reap_read_stat_file(proc_fd, name, buf, sizeof(buf)) != 0)
		return 0;
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
		return 0;
	c->state = p[2];
	p += 4;
	ppid = reap_parse_number(&p);
	if (ppid != self || *p++ != ' ')
		return 0;
	pgrp = reap_parse_number(&p);
	c->pid = (pid_t)pid;
	c->pgrp = (pid_t)pgrp;
	return 1;
}

/* Up to `max` children of this process; returns how many. */
static size_t
reap_list_children(struct reap_child *kids, size_t max)
{
	union {
		struct dirent64 align;
		char bytes[4096];
	} buf;
	int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pid_t self = getpid();
	size_t n = 0;
	ssize_t len;

	if (proc_fd < 0)
		return 0;
	for (len = getdents64(proc_fd, buf.bytes, sizeof(buf)); len > 0 && n < max;
	     len = getdents64(proc_fd, buf.bytes, sizeof(buf)))
		for (ssize_t off = 0; off < len && n < max;) {
			const struct dirent64 *e = (const struct dirent64 *)(buf.bytes + off);

			off += e->d_reclen;
			n += (size_t)reap_is_child(proc_fd, e->d_name, self, &kids[n]);
		}
	close(proc_fd);
	return n;
}

/* SIGKILL a child and reap it: 1 when it was running outside `group`, 0
 * when not, CT_ESYS when it cannot be killed (it changed its real user). */
static int
reap_end(const struct reap_child *c, pid_t group)
{
	int is_running = c->state != 'Z';

	if (is_running && kill(c->pid, SIGKILL) != 0)
		return CT_ESYS;
	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
	return is_running && c->pgrp != group;
}

/* Reap every child that has exited; 1 when children are left running, 0
 * when none is (the common case, which then costs no scan). */
static int
reap_has_children(void)
{
	pid_t pid;

	do
		pid = waitpid(-1, NULL, WNOHANG);
	while (pid > 0);
	return pid == 0;
}

int
reap_descendants(pid_t group)
{
	struct reap_child kids[REAP_BATCH];
	int n_escaped = 0;

	while (reap_has_children()) {
		size_t n = reap_list_children(kids, REAP_BATCH);
		int n_ended = 0;

		for (size_t i = 0; i < n; i++) {
			int rc = reap_end(&kids[i], group);

			n_ended += rc >= 0;
			n_escaped += rc > 0;
		}
		if (n_ended == 0)
			break; /* none the scan could see (no /proc) or kill */
	}
	return n_escaped;
}
