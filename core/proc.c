/*
 * proc.c — process helpers (see proc.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/errors.h>

#ifdef CT_COVERAGE
#include <dlfcn.h>
#include <link.h>
#endif

#include "proc.h"
#include "xmalloc.h"

const char *
proc_signal_name(int sig)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {
	    {SIGSEGV, "SIGSEGV"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
	    {SIGILL, "SIGILL"},   {SIGKILL, "SIGKILL"}, {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"},
	    {SIGHUP, "SIGHUP"},   {SIGPIPE, "SIGPIPE"}, {SIGQUIT, "SIGQUIT"}, {SIGTRAP, "SIGTRAP"},
	    {SIGSYS, "SIGSYS"},   {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGALRM, "SIGALRM"},
	    {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"},
	};
	static char buf[32];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
	snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

void
proc_signals_reset(void)
{
	struct sigaction sa;
	sigset_t all;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

void
proc_child_quiet(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	proc_signals_reset();
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

#ifdef CT_COVERAGE
/* libgcov's: writes the counts of the object it is linked into. */
void __gcov_dump(void);

/* Each plugin carries its own copy of libgcov (a copy writing another's
 * counts leaves files the next merge refuses): each writes its own. */
static int
proc_gcov_dump_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	void (*dump)(void) = NULL;
	void *h = NULL;

	(void)size;
	(void)data;
	if (info->dlpi_name != NULL && info->dlpi_name[0] != '\0')
		h = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
	if (h != NULL)
		*(void **)&dump = dlsym(h, "__gcov_dump");
	if (dump != NULL && dump != __gcov_dump)
		dump();
	if (h != NULL)
		dlclose(h);
	return 0;
}
#endif

void
proc_child_exit(int status)
{
#ifdef CT_COVERAGE
	/* gcov writes its counts at exit(), which a child never reaches: what
	 * it ran (the job's code, the plugins) would count for nothing. */
	__gcov_dump();
	dl_iterate_phdr(proc_gcov_dump_cb, NULL);
#endif
	_exit(status);
}

static void
proc_exit_now_cb(int status, void *arg)
{
	(void)arg;
	proc_child_exit(status);
}

void
proc_child_exit_guard(void)
{
	/* Handlers run last-registered first, so this one runs before any the
	 * parent registered. */
	on_exit(proc_exit_now_cb, NULL);
}

int64_t
proc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
proc_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
capbuf_init(struct capbuf *c, size_t limit)
{
	memset(c, 0, sizeof(*c));
	c->limit = limit < 2 ? 2 : limit;
}

static void
capbuf_tail_push(struct capbuf *c, const char *p, size_t len)
{
	size_t cap = c->limit / 2;

	if (c->tail == NULL)
		c->tail = xmalloc(cap);
	if (len >= cap) {
		memcpy(c->tail, p + len - cap, cap);
		c->tail_pos = 0;
		c->tail_len = cap;
		return;
	}
	for (size_t i = 0; i < len; i++) {
		c->tail[c->tail_pos] = p[i];
		c->tail_pos = (c->tail_pos + 1) % cap;
	}
	c->tail_len = c->tail_len + len > cap ? cap : c->tail_len + len;
}

void
capbuf_append(struct capbuf *c, const void *data, size_t len)
{
	const char *p = data;
	size_t head_cap = c->limit - c->limit / 2;

	c->total += len;
	if (c->head == NULL)
		c->head = xmalloc(c->limit + 1);
	/* Until the limit is reached everything goes to head; afterwards head
	 * holds its first half and the ring keeps the newest bytes. */
	if (c->tail == NULL && c->head_len + len <= c->limit) {
		memcpy(c->head + c->head_len, p, len);
		c->head_len += len;
		return;
	}
	if (c->tail == NULL && c->head_len > head_cap) {
		capbuf_tail_push(c, c->head + head_cap, c->head_len - head_cap);
		c->head_len = head_cap;
	}
	if (c->head_len < head_cap) {
		size_t take = head_cap - c->head_len < len ? head_cap - c->head_len : len;

		memcpy(c->head + c->head_len, p, take);
		c->head_len += take;
		p += take;
		len -= take;
	}
	capbuf_tail_push(c, p, len);
}

char *
capbuf_text(const struct capbuf *c)
{
	uint64_t kept = c->head_len + c->tail_len;
	size_t cap = c->limit / 2, start;
	char marker[80] = "";
	char *out;
	size_t n = 0;

	if (c->total > kept)
		snprintf(marker, sizeof(marker), "\n[... %llu bytes dropped ...]\n",
		         (unsigned long long)(c->total - kept));
	out = xmalloc(c->head_len + strlen(marker) + c->tail_len + 1);
	if (c->head_len > 0)
		memcpy(out, c->head, c->head_len);
	n = c->head_len;
	memcpy(out + n, marker, strlen(marker));
	n += strlen(marker);
	start = c->tail_len < cap ? 0 : c->tail_pos;
	for (size_t i = 0; i < c->tail_len; i++)
		out[n++] = c->tail[(start + i) % cap];
	out[n] = '\0';
	return out;
}

void
capbuf_free(struct capbuf *c)
{
	free(c->head);
	free(c->tail);
	memset(c, 0, sizeof(*c));
}

static void
capture_append(struct proc_capture *out, const char *buf, size_t n, size_t max_bytes)
{
	if (out->len + n > max_bytes)
		n = max_bytes - out->len;
	out->data = xreallocarray(out->data, out->len + n + 1, 1);
	memcpy(out->data + out->len, buf, n);
	out->len += n;
	out->data[out->len] = '\0';
}

void
proc_read_until_exit(int fd, pid_t pid, int64_t timeout_ms, size_t max_bytes,
                     struct proc_capture *out, int *status, int *is_timed_out)
{
	int64_t deadline = proc_now_ms() + timeout_ms;
	char buf[8192];

	*is_timed_out = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - proc_now_ms();
		ssize_t n;

		if (left <= 0) {
			*is_timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			break;
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		capture_append(out, buf, (size_t)n, max_bytes);
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

int
proc_mkdir_p(const char *path, unsigned mode)
{
	char *copy = NULL;
	int rc = 0;

	/* Most calls find the folder there: one system call, not one per
	 * component of the path. */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	copy = xstrdup(path);
	for (char *p = copy + 1; *p != '\0' && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) != 0 && errno != EEXIST)
			rc = CT_ESYS;
		*p = '/';
	}
	if (rc == 0 && mkdir(copy, mode) != 0 && errno != EEXIST)
		rc = CT_ESYS;
	free(copy);
	return rc;
}
