/*
 * runner.c — running jobs (see runner.h).
 *
 * Every run is a child process in its own process group:
 *
 *   parent                              child
 *   flock state_dir/locks/JOB.lock
 *   pipe: report, capture
 *   subreaper on
 *   fork ------------------------------> setpgid, signals reset, nice,
 *                                       stdout/stderr -> capture pipe,
 *                                       user switch, parent-death signal,
 *                                       subreaper, load plugin,
 *                                       init -> run -> report -> fini,
 *                                       messages -> report pipe,
 *                                       end what is left below, _exit(0)
 *   poll(report, capture, pidfd or SIGCHLD)
 *     deadline: SIGTERM to the group, grace, SIGKILL
 *   child gone: SIGKILL what is left of the group, reap,
 *               end what it left outside the group
 *   subreaper off
 *   result -> history, one line on stdout
 *
 * Nothing of a job outlives its run: processes that leave the job's
 * process group (setsid, daemons) are ended by the child after fini, both
 * being subreapers (reap.h), and the child ends its group when caretaker
 * dies without doing it (SIGKILL, the OOM killer).
 *
 * The parent's side of that loop (pipes, deadlines, the end of the group)
 * lives in supervise.c; this file decides what runs, in which order, under
 * which locks, and what the outcome means.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "chain.h"
#include "config.h"
#include "due.h"
#include "fdio.h"
#include "fleet.h"
#include "history.h"
#include "loader.h"
#include "log.h"
#include "proc.h"
#include "progress.h"
#include "prometheus.h"
#include "reap.h"
#include "result.h"
#include "runner.h"
#include "state.h"
#include "supervise.h"
#include "task.h"
#include "utf8.h"
#include "xmalloc.h"

enum job_state { JOB_PENDING = 0, JOB_VISITING, JOB_DONE };

struct runner {
	struct config *cfg;
	const struct runner_options *opts;
	struct loader_policy pol;
	struct arena *arena;
	enum job_state *state;           /* per cfg->jobs index */
	int *status;                     /* ct_status of finished jobs */
	int *is_blocking;                /* finished without success: dependents skip */
	int64_t *elapse_us;              /* run --due: the elapse each due job handles */
	struct chain_log *chain;         /* the runs so far, for on_failure jobs */
	const struct task_cause **cause; /* per job: why it runs as on_failure */
	int is_any_failed;
	int is_any_locked;
	int is_any_config_error;
};

char *
runner_lock_path(const struct config *cfg, const char *job)
{
	return xasprintf("%s/locks/%s.lock", cfg->settings.state_dir, job);
}

char *
runner_job_state_dir(const struct config *cfg, const char *job)
{
	return xasprintf("%s/jobs/%s", cfg->settings.state_dir, job);
}

static size_t
job_index(const struct config *cfg, const struct job *job)
{
	(void)cfg;
	return job->index;
}

/* ---- the per-job lock -------------------------------------------------- */

/* Take the job's flock.  Returns the descriptor, -1 with *holder set when
 * another run holds it, or -2 on error (reason in err). */
static int
lock_take(const struct config *cfg, const char *job, long *holder, char *err, size_t err_size)
{
	char *path = runner_lock_path(cfg, job);
	char buf[32] = "", why[384];
	int fd = -1;

	/* The lock holds only a pid: readable by all, like a pid file. */
	if (fdio_open_regular(path, O_RDWR | O_CREAT, 0644, &fd, why, sizeof(why)) != 0) {
		/* The reason becomes the run's one-line reason: no hint line. */
		snprintf(err, err_size, "cannot open lock %.*s", (int)strcspn(why, "\n"), why);
		free(path);
		return -2;
	}
	free(path);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

		buf[n > 0 ? n : 0] = '\0';
		*holder = strtol(buf, NULL, 10);
		close(fd);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, strlen(buf), 0) < 0)
		log_warn("%s: cannot record the pid in its lock file", job);
	return fd;
}

/* ---- the child --------------------------------------------------------- */

static int
child_switch_user(const char *user, int report_fd)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		task_fail_early(report_fd, "setup", "user '%s' does not exist", user);
		return -1;
	}
	if (geteuid() != 0) {
		if (pw->pw_uid == geteuid())
			return 0;
		task_fail_early(report_fd, "setup",
		                "user = %s needs caretaker to run as root (it runs as uid %u)",
		                user, (unsigned)geteuid());
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0 || (pw->pw_uid != 0 && setuid(0) == 0)) {
		task_fail_early(report_fd, "setup", "cannot switch to user %s: %s", user,
		                strerror(errno));
		return -1;
	}
	setenv("USER", pw->pw_name, 1);
	setenv("LOGNAME", pw->pw_name, 1);
	setenv("HOME", pw->pw_dir, 1);
	return 0;
}

static void
child_setup_fds(int capture_fd)
{
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null_fd >= 0) {
		dup2(null_fd, STDIN_FILENO);
		close(null_fd);
	}
	dup2(capture_fd, STDOUT_FILENO);
	dup2(capture_fd, STDERR_FILENO);
	close(capture_fd);
}

/* ---- the child, when caretaker dies -------------------------------------- */

/*
 * A job must not outlive caretaker (kill -9, the OOM killer): its child
 * holds the job's lock, inherited across fork, and would run unwatched.
 * The kernel sends the child CHILD_ORPHAN_SIGNAL when caretaker dies
 * (PR_SET_PDEATHSIG), and the child ends the job as caretaker would have.
 * The first signal sends SIGTERM to the group, so that the plugin and its
 * commands can clean up, and forks a helper that sends the signal again
 * after kill_grace: a handler must return for the plugin to stop.  The
 * second kills and reaps everything below the child, escaped processes
 * included (reap_descendants makes system calls only), and exits.  Should
 * that handler never run (a plugin blocked the signal), the helper sends
 * SIGKILL to the group a second later.  A real-time signal: plugins may
 * catch or ignore the classic ones for their own ends.
 */
#define CHILD_ORPHAN_SIGNAL (SIGRTMIN + 2)
#define CHILD_ORPHAN_LAST_RESORT_MS 1000

static int64_t child_orphan_grace_ms;
static volatile sig_atomic_t child_is_orphaned;

static void
child_sleep_ms(int64_t ms)
{
	struct timespec left = {.tv_sec = (time_t)(ms / 1000),
	                        .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
}

/* The helper runs with every signal blocked (the handler's mask).  It
 * signals the job's child only while that is still its parent: once the
 * child is gone its pid may be another process's. */
static void
child_orphan_helper(pid_t job_child)
{
	child_sleep_ms(child_orphan_grace_ms);
	if (getppid() == job_child)
		kill(job_child, CHILD_ORPHAN_SIGNAL);
	child_sleep_ms(CHILD_ORPHAN_LAST_RESORT_MS);
	kill(0, SIGKILL);
	_exit(0);
}

/* Async-signal-safe calls only. */
static void
child_orphaned_cb(int sig)
{
	struct sigaction ign = {.sa_handler = SIG_IGN};
	int saved_errno = errno;
	pid_t self = getpid();

	(void)sig;
	if (child_is_orphaned) {
		reap_descendants(self);
		_exit(0);
	}
	child_is_orphaned = 1;
	/* The report pipe has no reader any more: writes fail, not kill. */
	sigaction(SIGPIPE, &ign, NULL);
	if (_Fork() == 0)
		child_orphan_helper(self);
	kill(0, SIGTERM);
	errno = saved_errno;
}

/* After the user switch: a change of credentials clears the signal. */
static void
child_watch_parent(pid_t parent, int64_t grace_ms)
{
	struct sigaction sa;

	child_orphan_grace_ms = grace_ms;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_orphaned_cb;
	sigfillset(&sa.sa_mask);
	sigaction(CHILD_ORPHAN_SIGNAL, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, CHILD_ORPHAN_SIGNAL);
	/* Caretaker died before prctl (the child has another parent already),
	 * so before the plugin started: there is nothing else to end. */
	if (getppid() != parent)
		_exit(0);
}

/* ---- the child: the plugin, and what it leaves -------------------------- */

/* "ended 2 processes that had left the job's process group" */
static void
escaped_words(int n, char *buf, size_t size)
{
	snprintf(buf, size, "ended %d process%s that had left the job's process group", n,
	         n == 1 ? "" : "es");
}

/* After fini: end whatever the job left running below its child. */
static void
child_end_leftovers(int report_fd)
{
	int n = reap_descendants(getpid());
	char words[128];

	if (n == 0)
		return;
	escaped_words(n, words, sizeof(words));
	task_report_log(report_fd, CT_LOG_WARNING, "%s", words);
}

struct child_args {
	const char *state_dir;
	int report_fd;
	int capture_fd;
	pid_t parent;
};

static void
runner_child(struct runner *rn, const struct job *job, const struct child_args *a)
{
	struct loaded_plugin lp = {0};
	const struct plugin_info *info = job->plugin_info;
	char err[1024];

	setpgid(0, 0);
	proc_child_exit_guard();
	proc_signals_reset();
	task_install_stop_handler();
	child_setup_fds(a->capture_fd);
	if (job->is_nice_set && setpriority(PRIO_PROCESS, 0, job->nice) != 0)
		fprintf(stderr, "caretaker: nice %d: %s\n", job->nice, strerror(errno));
	if (job->user != NULL && child_switch_user(job->user, a->report_fd) != 0)
		proc_child_exit(0);
	child_watch_parent(a->parent, rn->cfg->settings.kill_grace_ms);
	reap_set_subreaper(1);
	if (loader_open(info->path, info->name, &rn->pol, &lp, err, sizeof(err)) != 0) {
		task_fail_early(a->report_fd, "load", "plugin %s refused: %s", info->name, err);
		proc_child_exit(0);
	}
	task_execute(lp.desc, rn->cfg, job, a->state_dir, rn->opts->is_dry_run, a->report_fd,
	             rn->cause[job->index]);
	child_end_leftovers(a->report_fd);
	proc_child_exit(0);
}

/* ---- the verdict ------------------------------------------------------- */

static void
run_verdict(const struct supervise_outcome *w, const struct job *job, struct run_result *r)
{
	char took[64];

	if (w->is_timed_out) {
		value_format_duration(job->timeout_ms, took, sizeof(took));
		result_set(r, CT_STATUS_FAIL, "timed out after %s", took);
	} else if (w->stop_signal) {
		result_set(r, CT_STATUS_FAIL, "stopped: caretaker received %s",
		           proc_signal_name(w->stop_signal));
	} else if (WIFSIGNALED(w->wait_status)) {
		result_set(r, CT_STATUS_FAIL, "crashed (%s)",
		           proc_signal_name(WTERMSIG(w->wait_status)));
	} else if (WIFEXITED(w->wait_status) && WEXITSTATUS(w->wait_status) != 0) {
		result_set(r, CT_STATUS_FAIL,
		           "exited with status %d (the plugin called exit(), which it must not)",
		           WEXITSTATUS(w->wait_status));
	} else if (!r->is_ended) {
		result_set(r, CT_STATUS_FAIL,
		           "exited before finishing (the plugin called exit(0)?)");
	}
}

/* ---- one run ------------------------------------------------------------ */

/* caretaker's own words in the record, through the path the child's take. */
static void
run_note_escaped(struct run_result *r, int n)
{
	char words[128], *line;
	json_t *msg;

	if (n == 0)
		return;
	escaped_words(n, words, sizeof(words));
	msg = json_pack("{s:s, s:i, s:s}", "t", "log", "level", LOG_LEVEL_WARNING, "msg", words);
	line = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	if (line != NULL)
		result_apply_line(r, line, strlen(line));
	free(line);
	json_decref(msg);
}

static void
run_supervise(struct runner *rn, const struct job *job, struct supervise_params *sp,
              struct run_result *r)
{
	struct supervise_outcome so = {0};
	struct progress_run pr;

	setpgid(sp->pid, sp->pid);
	sp->timeout_ms = job->timeout_ms;
	sp->kill_grace_ms = rn->cfg->settings.kill_grace_ms;
	progress_run_begin(&pr,
	                   &(struct progress_run_params){.state_dir = rn->cfg->settings.state_dir,
	                                                 .job = job->name,
	                                                 .child_pid = sp->pid,
	                                                 .sample = &r->progress,
	                                                 .is_quiet = rn->opts->is_quiet});
	sp->tick_cb = progress_run_tick_cb;
	sp->tick_ctx = &pr;
	sp->tick_interval_ms = PROGRESS_TICK_MS;
	supervise_child(sp, r, &so);
	progress_run_end(&pr);
	run_note_escaped(r, so.n_escaped);
	run_verdict(&so, job, r);
	result_finish(r);
}

/* caretaker is a subreaper for the length of the run, so that what the
 * job's child leaves when it dies (a timeout's SIGKILL, a crash) comes
 * here rather than to init, and supervise_child ends it. */
static int
run_spawn(struct runner *rn, const struct job *job, const char *state_dir, struct run_result *r)
{
	int report[2], capture[2];
	struct child_args a = {.state_dir = state_dir, .parent = getpid()};
	struct supervise_params sp = {0};

	if (pipe2(report, O_CLOEXEC) != 0 || pipe2(capture, O_CLOEXEC) != 0) {
		result_set(r, CT_STATUS_FAIL, "cannot create pipes: %s", strerror(errno));
		return CT_ESYS;
	}
	fflush(stdout);
	fflush(stderr);
	reap_set_subreaper(1);
	sp.pid = fork();
	if (sp.pid == 0) {
		close(report[0]);
		close(capture[0]);
		a.report_fd = report[1];
		a.capture_fd = capture[1];
		runner_child(rn, job, &a);
	}
	close(report[1]);
	close(capture[1]);
	if (sp.pid < 0) {
		result_set(r, CT_STATUS_FAIL, "cannot fork: %s", strerror(errno));
		close(report[0]);
		close(capture[0]);
		reap_set_subreaper(0);
		return CT_ESYS;
	}
	sp.report_fd = report[0];
	sp.capture_fd = capture[0];
	run_supervise(rn, job, &sp, r);
	reap_set_subreaper(0);
	return 0;
}

static int
run_prepare_state_dir(struct runner *rn, const struct job *job, const char *dir,
                      struct run_result *r)
{
	struct passwd *pw;

	if (proc_mkdir_p(dir, 0700) != 0) {
		result_set(r, CT_STATUS_FAIL, "cannot create %s: %s", dir, strerror(errno));
		return CT_ESYS;
	}
	if (job->user != NULL && geteuid() == 0 && (pw = getpwnam(job->user)) != NULL &&
	    chown(dir, pw->pw_uid, pw->pw_gid) != 0)
		log_warn("%s: cannot chown %s to %s: %s", job->name, dir, job->user,
		         strerror(errno));
	(void)rn;
	return 0;
}

/* Reasons not to start; sets the result and returns non-zero. */
static int
run_precheck(struct runner *rn, const struct job *job, int is_named, struct run_result *r)
{
	const struct diag *dg = diag_first_error_for(&rn->cfg->diags, job->name);

	if (dg != NULL) {
		char *where = diag_format(dg);

		r->is_config_error = 1;
		result_set(r, CT_STATUS_FAIL, "configuration error: %s", where);
		free(where);
		return 1;
	}
	if (!job->is_enabled && !is_named) {
		result_set(r, CT_STATUS_SKIPPED, "disabled (enabled = no)");
		return 1;
	}
	if (job->only_if_exists != NULL && access(job->only_if_exists, F_OK) != 0) {
		result_set(r, CT_STATUS_SKIPPED, "%s does not exist (only_if_exists)",
		           job->only_if_exists);
		return 1;
	}
	if (rn->opts->is_dry_run && !(job->plugin_info->flags & CT_PLUGIN_DRY_RUN)) {
		result_set(r, CT_STATUS_SKIPPED, "plugin %s does not support --dry-run",
		           job->plugin);
		return 1;
	}
	return 0;
}

/*
 * History first (the record of truth), then the state: the elapse a due
 * run handled, and the last success only once the run really succeeded.
 * A run that cannot be recorded fails the command (exit 1), whatever the
 * job did: under a timer nobody would otherwise learn that the history
 * stopped.  When only the history failed, state.json keeps the record with
 * the reason, so `status` says the newest run is missing from history.
 */
static void
run_record(struct runner *rn, struct run_result *r, int64_t elapse_us)
{
	const char *dir = rn->cfg->settings.state_dir;
	json_t *rec = result_to_json(r);
	char err[512], history_err[512];
	int is_recorded;

	if (rec == NULL) {
		log_err("%s: the run is not recorded: cannot encode its record", r->job);
		rn->is_any_failed = 1;
		return;
	}
	is_recorded = history_append(dir, rn->cfg->settings.history_max_size, rec, history_err,
	                             sizeof(history_err)) == 0;
	if (!is_recorded)
		log_err("%s: history not written: %s", r->job, history_err);
	if (state_record_run(dir, rec, elapse_us, is_recorded ? NULL : history_err, err,
	                     sizeof(err)) != 0) {
		log_err("%s: state not written: %s", r->job, err);
		is_recorded = 0;
	}
	rn->is_any_failed |= !is_recorded;
	if (rn->cfg->settings.is_history_in_database &&
	    fleet_history_append(rn->cfg, rec, err, sizeof(err)) != 0)
		log_err("%s: history not written to the database: %s", r->job, err);
	json_decref(rec);
	if (rn->cfg->settings.prometheus_dir != NULL &&
	    prometheus_write(rn->cfg, err, sizeof(err)) != 0)
		log_err("prometheus textfile not written: %s", err);
}

/* The result line; the plugin's words escaped (utf8_escape), so they can
 * neither rewrite the terminal nor forge a line. */
static void
run_print(const struct runner *rn, const struct run_result *r)
{
	char *what, *summary;
	int w = config_name_width(rn->cfg);

	if (rn->opts->is_quiet)
		return;
	what = utf8_escape(r->reason ? r->reason : r->summary ? r->summary : "", 0);
	summary = utf8_escape(r->summary ? r->summary : "", 0);
	printf("%-8s %-*s %8.2fs  %s\n", result_status_word(r->status), w, r->job,
	       (double)r->duration_ms / 1000.0, what);
	if (r->reason != NULL && summary[0] != '\0')
		printf("%-8s %-*s %9s  %s\n", "", w, "", "", summary);
	fflush(stdout);
	free(what);
	free(summary);
}

/* The fleet lock of a `lock = database` job: 0 when held (or not needed),
 * otherwise the result says why the run does not happen. */
static int
run_take_fleet_lock(struct runner *rn, const struct job *job, struct fleet_lock **lock,
                    struct run_result *r)
{
	char holder[128], err[512];
	int rc;

	if (job->lock != JOB_LOCK_DATABASE)
		return 0;
	rc = fleet_lock_take(rn->cfg, job, lock, holder, sizeof(holder), err, sizeof(err));
	if (rc == CT_ELOCKED)
		result_set(r, CT_STATUS_SKIPPED, "running on %s", holder);
	else if (rc != 0)
		result_set(r, CT_STATUS_FAIL, "cannot take the database lock: %s", err);
	return rc;
}

/* The host lock; 0 when held (or lock = none). */
static int
run_take_host_lock(struct runner *rn, const struct job *job, int *lock_fd, struct run_result *r)
{
	char err[512];
	long holder = 0;

	if (job->lock == JOB_LOCK_NONE)
		return 0;
	*lock_fd = lock_take(rn->cfg, job->name, &holder, err, sizeof(err));
	if (*lock_fd == -1) {
		r->is_locked = 1;
		result_set(r, CT_STATUS_SKIPPED, "already running (pid %ld)", holder);
		return CT_ELOCKED;
	}
	if (*lock_fd == -2) {
		result_set(r, CT_STATUS_FAIL, "%s", err);
		return CT_ESYS;
	}
	return 0;
}

/* A job that did not succeed blocks the jobs that require it, whatever
 * the reason: skipped because it is disabled, its only_if_exists path is
 * missing or another host runs it count too.  An upgrade that requires a
 * backup must not run because the backup was switched off. */
static void
run_account(struct runner *rn, const struct job *job, const struct run_result *r)
{
	rn->is_any_failed |= r->status == CT_STATUS_FAIL && !r->is_config_error;
	rn->is_any_config_error |= r->is_config_error;
	rn->is_any_locked |= r->is_locked;
	rn->is_blocking[job_index(rn->cfg, job)] =
	    r->status == CT_STATUS_FAIL || r->status == CT_STATUS_SKIPPED || r->is_locked;
}

/* Lock, spawn, record.  Returns the run's status. */
static int
run_one(struct runner *rn, const struct job *job, int is_named)
{
	struct run_result *r = result_new(job->name, job->plugin, rn->cfg->settings.output_limit);
	int64_t t0 = proc_now_ms();
	char *state_dir = runner_job_state_dir(rn->cfg, job->name);
	struct fleet_lock *fleet = NULL;
	int lock_fd = -1, status;

	r->start_us = proc_wall_us();
	r->is_dry_run = rn->opts->is_dry_run;
	if (run_precheck(rn, job, is_named, r) == 0 &&
	    run_take_host_lock(rn, job, &lock_fd, r) == 0 &&
	    run_take_fleet_lock(rn, job, &fleet, r) == 0 &&
	    run_prepare_state_dir(rn, job, state_dir, r) == 0)
		run_spawn(rn, job, state_dir, r);
	r->end_us = proc_wall_us();
	r->duration_ms = proc_now_ms() - t0;
	if (!r->is_locked)
		run_record(rn, r, rn->elapse_us[job_index(rn->cfg, job)]);
	run_print(rn, r);
	run_account(rn, job, r);
	chain_log_add(rn->chain, job, r);
	status = r->status;
	fleet_lock_release(fleet);
	if (lock_fd >= 0)
		close(lock_fd);
	result_free(r);
	free(state_dir);
	return status;
}

/* ---- ordering ---------------------------------------------------------- */

static void run_with_requires(struct runner *rn, struct job *job, int is_named);

static void
run_skip(struct runner *rn, const struct job *job, const char *why)
{
	struct run_result *r = result_new(job->name, job->plugin, 1024);

	r->start_us = r->end_us = proc_wall_us();
	result_set(r, CT_STATUS_SKIPPED, "%s", why);
	run_record(rn, r, rn->elapse_us[job_index(rn->cfg, job)]);
	run_print(rn, r);
	rn->is_blocking[job_index(rn->cfg, job)] = 1;
	result_free(r);
}

/* Run prerequisites; the name of the first that did not succeed, or NULL. */
static const char *
run_requirements(struct runner *rn, struct job *job)
{
	for (size_t i = 0; i < job->n_requires; i++) {
		struct job *dep = config_find_job(rn->cfg, job->requires[i]);

		if (dep == NULL)
			continue; /* a configuration error of `job` already */
		run_with_requires(rn, dep, 0);
		if (rn->is_blocking[job_index(rn->cfg, dep)])
			return dep->name;
	}
	return NULL;
}

static void
run_with_requires(struct runner *rn, struct job *job, int is_named)
{
	size_t idx = job_index(rn->cfg, job);
	const char *failed_dep;
	char why[256];

	if (rn->state[idx] != JOB_PENDING || supervise_stop_signal() != 0)
		return;
	rn->state[idx] = JOB_VISITING;
	failed_dep = run_requirements(rn, job);
	if (supervise_stop_signal() != 0) {
		rn->state[idx] = JOB_DONE;
		return;
	}
	if (failed_dep != NULL) {
		snprintf(why, sizeof(why), "requires %s, which did not succeed", failed_dep);
		run_skip(rn, job, why);
		rn->status[idx] = CT_STATUS_SKIPPED;
	} else {
		rn->status[idx] = run_one(rn, job, is_named);
	}
	rn->state[idx] = JOB_DONE;
	if (rn->status[idx] == CT_STATUS_FAIL && job->on_failure != NULL) {
		struct job *handler = config_find_job(rn->cfg, job->on_failure);

		if (handler != NULL) {
			log_notice("%s failed: running %s (on_failure)", job->name, handler->name);
			if (rn->cause[handler->index] == NULL)
				rn->cause[handler->index] =
				    chain_log_cause(rn->chain, rn->cfg, job);
			run_with_requires(rn, handler, 1);
		}
	}
}

/* ---- preparation ------------------------------------------------------- */

static void
prepare_mark(struct runner *rn, struct job *job, char *needed)
{
	size_t idx = job_index(rn->cfg, job);

	if (needed[idx])
		return;
	needed[idx] = 1;
	for (size_t i = 0; i < job->n_requires; i++) {
		struct job *dep = config_find_job(rn->cfg, job->requires[i]);

		if (dep != NULL)
			prepare_mark(rn, dep, needed);
	}
	if (job->on_failure != NULL && config_find_job(rn->cfg, job->on_failure) != NULL)
		prepare_mark(rn, config_find_job(rn->cfg, job->on_failure), needed);
}

static void
prepare_bind(struct runner *rn, struct job *job)
{
	struct plugin_info *info = NULL;

	for (size_t i = 0; i < rn->cfg->n_jobs; i++) {
		struct job *other = rn->cfg->jobs[i];

		if (other != job && other->plugin_info != NULL &&
		    strcmp(other->plugin, job->plugin) == 0)
			info = (struct plugin_info *)other->plugin_info;
	}
	if (info == NULL && job->plugin[0] != '\0')
		info = loader_find(&rn->pol, job->plugin, rn->arena);
	if (info == NULL)
		config_bind_plugin(rn->cfg, job, NULL, "no such plugin in plugin_path");
	else if (info->refusal != NULL)
		config_bind_plugin(rn->cfg, job, NULL,
		                   arena_sprintf(rn->arena, "%s: %s", info->path, info->refusal));
	else
		config_bind_plugin(rn->cfg, job, info, NULL);
}

static int
prepare_state_dirs(const struct config *cfg)
{
	static const char *const subdirs[] = {"", "/locks", "/cache", NULL};
	int rc = 0;

	for (size_t i = 0; subdirs[i] != NULL && rc == 0; i++) {
		char *dir = xasprintf("%s%s", cfg->settings.state_dir, subdirs[i]);

		rc = proc_mkdir_p(dir, 0755);
		if (rc != 0)
			log_err("cannot create %s: %s", dir, strerror(errno));
		free(dir);
	}
	return rc;
}

static void
runner_init(struct runner *rn, struct config *cfg, const struct runner_options *opts)
{
	memset(rn, 0, sizeof(*rn));
	rn->cfg = cfg;
	rn->opts = opts;
	rn->arena = arena_new();
	loader_policy_from_config(cfg, rn->arena, &rn->pol);
	rn->state = xcalloc(cfg->n_jobs + 1, sizeof(*rn->state));
	rn->status = xcalloc(cfg->n_jobs + 1, sizeof(*rn->status));
	rn->is_blocking = xcalloc(cfg->n_jobs + 1, sizeof(*rn->is_blocking));
	rn->elapse_us = xcalloc(cfg->n_jobs + 1, sizeof(*rn->elapse_us));
	rn->chain = chain_log_new();
	rn->cause = xcalloc(cfg->n_jobs + 1, sizeof(*rn->cause));
}

static void
runner_fini(struct runner *rn)
{
	free(rn->state);
	free(rn->status);
	free(rn->is_blocking);
	free(rn->elapse_us);
	free(rn->cause);
	chain_log_free(rn->chain);
	arena_free(rn->arena);
}

static int
runner_exit_code(const struct runner *rn)
{
	if (rn->is_any_failed)
		return EXIT_JOB_FAILED;
	if (rn->is_any_config_error)
		return EXIT_CONFIG;
	if (rn->is_any_locked)
		return EXIT_LOCKED;
	if (supervise_stop_signal() != 0)
		return EXIT_JOB_FAILED;
	return EXIT_OK;
}

/* Record what needs no run (first sight, a missed elapse to skip). */
static void
due_note(struct runner *rn, const struct job *job, enum due_verdict v, int64_t elapse_us)
{
	char err[512];

	if (v == DUE_BASELINE)
		log_info("%s: first seen by run --due; it runs from its next elapse", job->name);
	else
		log_notice("%s: skipping a missed elapse (catch_up = skip)", job->name);
	if (state_record_elapse(rn->cfg->settings.state_dir, job->name, elapse_us, err,
	                        sizeof(err)) != 0)
		log_err("%s: state not written: %s", job->name, err);
}

/* Mark every enabled, scheduled job whose schedule elapsed. */
static int
runner_select_due(struct runner *rn, char *needed, char *is_named)
{
	int64_t now = rn->opts->now_us ? rn->opts->now_us : proc_wall_us();
	struct state *st = NULL;
	char err[512];

	if (prepare_state_dirs(rn->cfg) != 0 ||
	    state_load(rn->cfg->settings.state_dir, &st, err, sizeof(err)) != 0) {
		log_err("run --due: %s", err);
		return EXIT_CONFIG;
	}
	for (size_t i = 0; i < rn->cfg->n_jobs; i++) {
		struct job *job = rn->cfg->jobs[i];
		int64_t e = 0;
		enum due_verdict v;

		if (!job->is_enabled || job->sched == NULL)
			continue;
		v = due_check(job, st, now, rn->cfg->settings.due_window_ms, &e);
		if (v == DUE_RUN) {
			rn->elapse_us[i] = e;
			is_named[i] = 1;
			prepare_mark(rn, job, needed);
		} else if (v != DUE_NOT) {
			due_note(rn, job, v, e);
		}
	}
	state_free(st);
	return 0;
}

static int
runner_select(struct runner *rn, const char *const *names, size_t n, char *needed, char *is_named)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		struct job *job = config_find_job(rn->cfg, names[i]);

		if (job == NULL) {
			log_err("no job named '%s' (`caretaker list` shows the jobs)", names[i]);
			rc = EXIT_USAGE;
			continue;
		}
		is_named[job_index(rn->cfg, job)] = 1;
		prepare_mark(rn, job, needed);
	}
	for (size_t i = 0; rn->opts->is_all && i < rn->cfg->n_jobs; i++)
		if (rn->cfg->jobs[i]->is_enabled)
			prepare_mark(rn, rn->cfg->jobs[i], needed);
	if (rn->opts->is_due && rc == 0)
		rc = runner_select_due(rn, needed, is_named);
	return rc;
}

/* Jobs named on the command line in the order given; then (run --all,
 * run --due) the selected jobs in the configuration's order.  Each with
 * its `requires` first; a job runs once however often it is reached. */
static void
runner_run_selected(struct runner *rn, const char *const *names, size_t n, const char *is_named)
{
	for (size_t i = 0; i < n; i++)
		run_with_requires(rn, config_find_job(rn->cfg, names[i]), 1);
	for (size_t i = 0; i < rn->cfg->n_jobs; i++)
		if (is_named[i] || (rn->opts->is_all && rn->cfg->jobs[i]->is_enabled))
			run_with_requires(rn, rn->cfg->jobs[i], is_named[i]);
}

int
runner_run(struct config *cfg, const char *const *names, size_t n,
           const struct runner_options *opts)
{
	struct runner rn;
	char *needed = xcalloc(cfg->n_jobs + 1, 1), *is_named = xcalloc(cfg->n_jobs + 1, 1);
	int rc;

	runner_init(&rn, cfg, opts);
	rc = runner_select(&rn, names, n, needed, is_named);
	if (rc == 0 && prepare_state_dirs(cfg) != 0)
		rc = EXIT_CONFIG;
	if (rc != 0)
		goto out;
	for (size_t i = 0; i < cfg->n_jobs; i++)
		if (needed[i])
			prepare_bind(&rn, cfg->jobs[i]);
	config_check_graph(cfg);
	supervise_install_stop_handlers();
	runner_run_selected(&rn, names, n, is_named);
	rc = runner_exit_code(&rn);
out:
	free(needed);
	free(is_named);
	runner_fini(&rn);
	return rc;
}
