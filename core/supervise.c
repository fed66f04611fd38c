/*
 * supervise.c — watching one job's child from the parent (see supervise.h).
 *
 * One poll loop over three descriptors: the report pipe (the child's
 * messages), the capture pipe (whatever the plugin or its commands wrote
 * to stdout/stderr) and one that becomes readable when the child exits:
 * its pidfd, or where pidfd_open(2) is refused (kernels before 5.3,
 * seccomp filters, valgrind) a pipe that a SIGCHLD handler writes to.
 * Either way the child is reaped only after what is left of its group was
 * killed: while the child is a zombie, its pid, the group's id, cannot be
 * reused.
 *
 * Deadlines are checked on every wake-up, and the poll never sleeps past
 * the next one: timeout -> SIGTERM to the group, kill_grace -> SIGKILL.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "reap.h"
#include "result.h"
#include "supervise.h"
#include "xmalloc.h"

/* Longest message line accepted from a child. */
#define SUPERVISE_MAX_LINE (1u << 20)
/* How long pipes may stay open after the child is gone (a process that
 * got them and could not be ended). */
#define SUPERVISE_DRAIN_MS 1000

static volatile sig_atomic_t supervise_stop;
/* The write end of the SIGCHLD pipe while a child is watched without a
 * pidfd, else -1. */
static volatile sig_atomic_t supervise_sigchld_fd = -1;

static void
supervise_stop_cb(int sig)
{
	supervise_stop = sig;
}

void
supervise_install_stop_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = supervise_stop_cb;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

int
supervise_stop_signal(void)
{
	return supervise_stop;
}

struct watch {
	pid_t pid;
	int report_fd;
	int capture_fd;
	int exit_fd;  /* readable once the child exited */
	int is_pidfd; /* exit_fd is a pidfd, not the SIGCHLD pipe */
	struct sigaction old_sigchld;
	int n_escaped;
	int64_t deadline_ms; /* SIGTERM at this time */
	int64_t kill_at_ms;  /* SIGKILL at this time, once SIGTERM was sent */
	int64_t drain_until_ms;
	int is_exited;
	int is_timed_out;
	int stop_signal; /* caretaker itself was told to stop */
	int wait_status;
	char *line;      /* partial report line */
	size_t line_len; /* its length, also past SUPERVISE_MAX_LINE */
	int is_line_overlong;
	const struct supervise_params *p; /* for its tick */
	int64_t next_tick_ms;
};

static void
watch_feed_report(struct watch *w, struct run_result *r, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (!w->is_line_overlong)
				result_apply_line(r, w->line, w->line_len);
			else
				result_drop_line(r, w->line_len, SUPERVISE_MAX_LINE);
			w->line_len = 0;
			w->is_line_overlong = 0;
			continue;
		}
		/* Past the limit, bytes are counted, not kept. */
		if (w->line_len >= SUPERVISE_MAX_LINE) {
			w->is_line_overlong = 1;
			w->line_len++;
			continue;
		}
		w->line[w->line_len++] = buf[i];
	}
}

/* Read what is there; returns 0 at EOF (and closes the descriptor). */
static int
watch_read(int *fd, struct watch *w, struct run_result *r, int is_report)
{
	char buf[65536];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	if (is_report)
		watch_feed_report(w, r, buf, (size_t)n);
	else
		result_add_stray_output(r, buf, (size_t)n);
	return 1;
}

static void
watch_signal_group(struct watch *w, int sig)
{
	if (kill(-w->pid, sig) != 0 && errno == ESRCH)
		kill(w->pid, sig);
}

static void
watch_check_clock(struct watch *w, int64_t grace_ms)
{
	int64_t now = proc_now_ms();

	if (!w->stop_signal && supervise_stop != 0 && w->kill_at_ms == 0) {
		w->stop_signal = supervise_stop;
		watch_signal_group(w, SIGTERM);
		w->kill_at_ms = now + grace_ms;
	}
	if (w->kill_at_ms == 0 && now >= w->deadline_ms) {
		w->is_timed_out = 1;
		watch_signal_group(w, SIGTERM);
		w->kill_at_ms = now + grace_ms;
	} else if (w->kill_at_ms != 0 && now >= w->kill_at_ms) {
		watch_signal_group(w, SIGKILL);
		w->kill_at_ms = INT64_MAX;
	}
}

/* ---- learning that the child exited ------------------------------------ */

static void
supervise_sigchld_cb(int sig)
{
	int saved_errno = errno;

	(void)sig;
	if (write(supervise_sigchld_fd, "x", 1) < 0) {
		/* Full: the loop has a wake-up pending already. */
	}
	errno = saved_errno;
}

/* Without a pidfd, SIGCHLD writes to a pipe the loop polls.  The child may
 * have exited before the handler was in place: one byte written now makes
 * the loop look at once.  Without a pipe either, the loop still looks at
 * every wake-up, at least once a second. */
static void
watch_open_sigchld_pipe(struct watch *w)
{
	struct sigaction sa;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_warn("cannot create the SIGCHLD pipe: %s", strerror(errno));
		return;
	}
	w->exit_fd = fds[0];
	supervise_sigchld_fd = fds[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = supervise_sigchld_cb;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, &w->old_sigchld);
	supervise_sigchld_cb(SIGCHLD);
}

static void
watch_open_exit_fd(struct watch *w)
{
	w->exit_fd = pidfd_open(w->pid, 0);
	w->is_pidfd = w->exit_fd >= 0;
	if (w->is_pidfd)
		return;
	log_debug("pidfd_open: %s; watching the child through SIGCHLD", strerror(errno));
	watch_open_sigchld_pipe(w);
}

static void
watch_close_exit_fd(struct watch *w)
{
	if (supervise_sigchld_fd >= 0) {
		sigaction(SIGCHLD, &w->old_sigchld, NULL);
		close(supervise_sigchld_fd);
		supervise_sigchld_fd = -1;
	}
	if (w->exit_fd >= 0)
		close(w->exit_fd);
	w->exit_fd = -1;
}

/* Whether the child exited, leaving it a zombie (WNOWAIT). */
static int
watch_is_child_gone(const struct watch *w, short revents)
{
	siginfo_t si;
	char buf[64];

	if (w->is_pidfd)
		return revents != 0;
	while (w->exit_fd >= 0 && read(w->exit_fd, buf, sizeof(buf)) > 0)
		;
	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == w->pid;
}

static void
watch_reap(struct watch *w)
{
	/* Still a zombie: the group id cannot be reused yet. */
	kill(-w->pid, SIGKILL);
	while (waitpid(w->pid, &w->wait_status, 0) < 0 && errno == EINTR)
		;
	/* The caller is a subreaper for the run: what the child left outside
	 * its group when it died (a timeout's SIGKILL, a crash) is ours now,
	 * and ends here, before it could hold the pipes open. */
	w->n_escaped = reap_descendants(w->pid);
	w->is_exited = 1;
	w->drain_until_ms = proc_now_ms() + SUPERVISE_DRAIN_MS;
	watch_close_exit_fd(w);
}

/* ---- the loop ------------------------------------------------------------ */

static int
watch_poll_timeout(const struct watch *w)
{
	int64_t now = proc_now_ms(), until = w->deadline_ms;

	if (w->kill_at_ms != 0)
		until = w->kill_at_ms;
	if (w->is_exited)
		until = w->drain_until_ms;
	if (until == INT64_MAX)
		return 1000;
	if (until - now > 1000)
		return 1000;
	return until <= now ? 0 : (int)(until - now);
}

/* Run the caller's tick when due; the poll timeout, shortened so the
 * next tick is not missed. */
static int
watch_tick(struct watch *w, int timeout_ms)
{
	int64_t now = proc_now_ms();

	if (w->p->tick_cb == NULL)
		return timeout_ms;
	if (now >= w->next_tick_ms) {
		w->p->tick_cb(w->p->tick_ctx);
		w->next_tick_ms =
		    now + (w->p->tick_interval_ms > 0 ? w->p->tick_interval_ms : 1000);
	}
	return w->next_tick_ms - now < timeout_ms ? (int)(w->next_tick_ms - now) : timeout_ms;
}

static void
watch_loop(struct watch *w, struct run_result *r, int64_t grace_ms)
{
	while (!w->is_exited || w->report_fd >= 0 || w->capture_fd >= 0) {
		struct pollfd p[3] = {
		    {.fd = w->report_fd, .events = POLLIN},
		    {.fd = w->capture_fd, .events = POLLIN},
		    {.fd = w->exit_fd, .events = POLLIN},
		};

		if (w->is_exited && proc_now_ms() >= w->drain_until_ms)
			break;
		if (poll(p, 3, watch_tick(w, watch_poll_timeout(w))) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			watch_read(&w->report_fd, w, r, 1);
		if (p[1].revents)
			watch_read(&w->capture_fd, w, r, 0);
		if (!w->is_exited && watch_is_child_gone(w, p[2].revents))
			watch_reap(w);
		if (!w->is_exited)
			watch_check_clock(w, grace_ms);
	}
	if (w->report_fd >= 0)
		close(w->report_fd);
	if (w->capture_fd >= 0)
		close(w->capture_fd);
}

void
supervise_child(const struct supervise_params *p, struct run_result *r,
                struct supervise_outcome *out)
{
	struct watch w = {0};

	w.pid = p->pid;
	w.report_fd = p->report_fd;
	w.capture_fd = p->capture_fd;
	w.deadline_ms = proc_now_ms() + p->timeout_ms;
	w.line = xmalloc(SUPERVISE_MAX_LINE);
	w.p = p;
	watch_open_exit_fd(&w);
	watch_loop(&w, r, p->kill_grace_ms);
	if (!w.is_exited)
		watch_reap(&w);
	free(w.line);
	out->wait_status = w.wait_status;
	out->is_timed_out = w.is_timed_out;
	out->stop_signal = w.stop_signal;
	out->n_escaped = w.n_escaped;
}
