/*
 * supervise.h — watching one job's child process from the parent: its
 * report and capture pipes, its deadline, caretaker's own stop signals, and
 * the end of its process group.
 *
 * The runner forks the child (runner.c) and hands it here; this module
 * knows nothing of jobs or plugins, only of a process, two pipes and a
 * clock.  It learns of the child's exit from a pidfd, or, where the kernel
 * refuses one (before 5.3, seccomp filters, valgrind), from SIGCHLD: every
 * deadline and stop signal works either way.  What the child said goes
 * into a struct run_result (result.c); how it ended comes back in a struct
 * supervise_outcome for the runner's verdict.
 */
#ifndef CT_SUPERVISE_H
#define CT_SUPERVISE_H

#include <stdint.h>
#include <sys/types.h>

struct run_result;

struct supervise_params {
	pid_t pid;             /* the child, leader of its own process group */
	int report_fd;         /* read end of the report pipe; closed here */
	int capture_fd;        /* read end of the stdout/stderr pipe; closed here */
	int64_t timeout_ms;    /* SIGTERM to the group after this long */
	int64_t kill_grace_ms; /* then SIGKILL after this long */
	/* Optional: tick_cb(tick_ctx) is called from the watch loop about every
	 * tick_interval_ms (never from a signal handler, never while the loop
	 * waits past it) for work that must go on while the child is silent,
	 * such as redrawing a progress line.  NULL: no ticks. */
	void (*tick_cb)(void *ctx);
	void *tick_ctx;
	int64_t tick_interval_ms;
};

struct supervise_outcome {
	int wait_status;  /* waitpid()'s status of the child */
	int is_timed_out; /* the deadline passed */
	int stop_signal;  /* caretaker was told to stop by this signal, or 0 */
	int n_escaped;    /* processes outside the child's group ended after it */
};

/* Catch SIGTERM, SIGINT and SIGHUP (remembered, passed on to a running
 * job's group by supervise_child) and ignore SIGPIPE. */
void supervise_install_stop_handlers(void);
/* The stop signal caretaker received, or 0. */
int supervise_stop_signal(void);

/*
 * Watch the child until it has exited and its pipes are drained (or the
 * drain time after its exit has passed): report lines into `r`, stray
 * output into `r`'s plugin-output stream.  When the child is gone, what is
 * left of its process group is killed, the child reaped, and then every
 * other child of the caller ended (reap.h): with the caller a subreaper
 * for the run, those are what the job left outside its group when its
 * child died (a timeout's SIGKILL, a crash).  SIGCHLD's disposition is
 * borrowed for the call when there is no pidfd, and restored.
 */
void supervise_child(const struct supervise_params *p, struct run_result *r,
                     struct supervise_outcome *out);

#endif
