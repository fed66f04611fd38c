/*
 * timers.c — `caretaker timers` (see timers.h and docs/timers.md).
 *
 * Three steps: plan (which unit pairs, and what a run of each may do),
 * render (the unit text, every value escaped for systemd's parser), apply
 * (compare with the output folder, write atomically, list or prune stale
 * units).  This file owns the unit text and the files it puts in the output
 * folder.  It does not translate schedules (schedule.c gives OnCalendar=
 * text), run anything (the TimeoutStartSec= bound follows runner.c's
 * behaviour) or talk to systemd: it never calls systemctl.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "inspect.h"
#include "loader.h"
#include "options.h"
#include "proc.h"
#include "exitcode.h"
#include "schedule.h"
#include "timers.h"
#include "xmalloc.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A run costs more than its timeout and kill grace: the runner probes the
 * plugin (up to 10 s), drains the child's pipes (1 s) and writes history. */
#define TIMERS_RUN_MARGIN_MS 15000
/* Each invocation also loads the configuration and scans plugin_path. */
#define TIMERS_START_MARGIN_MS 30000
/* After systemd's SIGTERM, caretaker's own kill grace runs, then it reaps
 * the child and records the stopped run. */
#define TIMERS_STOP_MARGIN_MS 30000
/* Units read back for comparison; ours are about 1 KiB. */
#define TIMERS_MAX_UNIT_BYTES (1u << 20)
#define TIMERS_DUE_UNIT "caretaker-due"
#define TIMERS_DUE_CALENDAR "*:0/5"
#define TIMERS_PREFIX "caretaker-"

/* What one start of a service may run, and what follows for its unit. */
struct run_scope {
	int64_t start_bound_ms; /* TimeoutStartSec=; INT64_MAX is infinity */
	int is_state_only;      /* every plugin writes only under state_dir */
	int is_using_pg;        /* some plugin connects to PostgreSQL */
	int is_nice_shared;     /* every job sets the same nice */
	int nice;
};

/* One .service/.timer pair. */
struct plan {
	char *unit;           /* "caretaker-JOB", without suffix */
	char *description;
	const char *calendar; /* OnCalendar= expressions, one per line */
	int is_persistent;
	int64_t jitter_ms;
	const char *run_arg;  /* what follows `run`: the job, or --due */
	struct run_scope scope;
};

struct unit_file {
	char *name; /* "caretaker-JOB.timer" */
	char *text;
	size_t len;
};

/* One `caretaker timers` invocation. */
struct timers {
	struct config *cfg;
	const struct timers_options *opts;
	const char *dir;
	char *exec_path;
	char *config_path;
	struct unit_file *units;
	size_t n_units;
	size_t n_same, n_written, n_differ, n_missing, n_stale, n_removed;
	int is_any_hardened;
	int is_any_failed;
	int is_write_failed; /* the folder refuses writes: stop trying */
};

/* What the output folder holds under a unit's name. */
enum on_disk {
	DISK_MISSING,
	DISK_SAME,
	DISK_DIFFERENT,
	DISK_FOREIGN,   /* a file without our marker: someone else's */
	DISK_MASKED,    /* a link to /dev/null: systemctl mask, the admin's call */
	DISK_NOT_FILE,  /* another link, or a folder */
	DISK_UNREADABLE,
};

/* ---- plan --------------------------------------------------------------- */

static size_t
job_index(const struct config *cfg, const struct job *job)
{
	for (size_t i = 0; i < cfg->n_jobs; i++)
		if (cfg->jobs[i] == job)
			return i;
	return cfg->n_jobs;
}

/* Mark the job and every job a run of it may start, as runner.c does:
 * its requires and its on_failure handler, each with theirs. */
static void
scope_mark(const struct config *cfg, const struct job *job, char *is_in)
{
	size_t idx = job_index(cfg, job);
	const struct job *handler = NULL;

	if (idx >= cfg->n_jobs || is_in[idx])
		return;
	is_in[idx] = 1;
	for (size_t i = 0; i < job->n_requires; i++) {
		const struct job *dep = config_find_job(cfg, job->requires[i]);

		if (dep != NULL)
			scope_mark(cfg, dep, is_in);
	}
	if (job->on_failure != NULL)
		handler = config_find_job(cfg, job->on_failure);
	if (handler != NULL)
		scope_mark(cfg, handler, is_in);
}

static int64_t
add_saturating(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static void
scope_add_job(struct run_scope *s, const struct settings *set, const struct job *job,
	      int is_first)
{
	uint32_t flags = job->plugin_info != NULL ? job->plugin_info->flags : 0;
	int64_t cost = add_saturating(job->timeout_ms, set->kill_grace_ms);

	s->start_bound_ms = add_saturating(s->start_bound_ms, cost);
	s->start_bound_ms = add_saturating(s->start_bound_ms, TIMERS_RUN_MARGIN_MS);
	s->is_state_only &= (flags & CT_PLUGIN_STATE_ONLY) != 0;
	s->is_using_pg |= (flags & CT_PLUGIN_USES_PG) != 0;
	if (is_first) {
		s->is_nice_shared = job->is_nice_set;
		s->nice = job->nice;
	} else {
		s->is_nice_shared &= job->is_nice_set && job->nice == s->nice;
	}
}

static void
scope_collect(const struct config *cfg, const char *is_in, struct run_scope *s)
{
	int is_first = 1;

	memset(s, 0, sizeof(*s));
	s->start_bound_ms = TIMERS_START_MARGIN_MS;
	s->is_state_only = 1;
	for (size_t i = 0; i < cfg->n_jobs; i++) {
		if (!is_in[i])
			continue;
		scope_add_job(s, &cfg->settings, cfg->jobs[i], is_first);
		is_first = 0;
	}
}

static int
job_has_timer(const struct job *job)
{
	return job->is_enabled && job->sched != NULL;
}

static void
plan_for_job(const struct config *cfg, const struct job *job, struct plan *p)
{
	char *is_in = xcalloc(cfg->n_jobs + 1, 1);

	memset(p, 0, sizeof(*p));
	p->unit = xasprintf(TIMERS_PREFIX "%s", job->name);
	p->description = job->description != NULL
				 ? xasprintf("caretaker job %s: %s", job->name, job->description)
				 : xasprintf("caretaker job %s", job->name);
	p->calendar = schedule_to_oncalendar(job->sched);
	/* catch_up = skip: an elapse missed while the host was down is dropped. */
	p->is_persistent = job->is_catching_up;
	p->jitter_ms = job->jitter_ms;
	p->run_arg = job->name;
	scope_mark(cfg, job, is_in);
	scope_collect(cfg, is_in, &p->scope);
	free(is_in);
}

/* `run --due` may start every scheduled job, so its scope is all of them.
 * Not Persistent=: run --due makes up missed elapses from its own state. */
static void
plan_for_due(const struct config *cfg, struct plan *p)
{
	char *is_in = xcalloc(cfg->n_jobs + 1, 1);

	memset(p, 0, sizeof(*p));
	p->unit = xstrdup(TIMERS_DUE_UNIT);
	p->description = xstrdup("caretaker: run the jobs that are due");
	p->calendar = TIMERS_DUE_CALENDAR;
	p->run_arg = "--due";
	for (size_t i = 0; i < cfg->n_jobs; i++)
		if (job_has_timer(cfg->jobs[i]))
			scope_mark(cfg, cfg->jobs[i], is_in);
	scope_collect(cfg, is_in, &p->scope);
	free(is_in);
}

static void
plan_clear(struct plan *p)
{
	free(p->unit);
	free(p->description);
}

/* ---- render: escaping ---------------------------------------------------- */

/* A free-text value (Description=, a comment).  systemd expands specifiers
 * in Description=, so a literal % is %%; a trailing backslash would join
 * the next line to this one, and a control character has no place. */
static void
put_text(FILE *f, const char *s)
{
	size_t len = strlen(s);

	while (len > 0 && s[len - 1] == '\\')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%')
			fputc('%', f);
		fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
	}
}

/* Inside one word of ExecStart= or ReadWritePaths= systemd expands
 * specifiers, unquotes "..." and undoes C escapes. */
static const struct {
	unsigned char c;
	const char *as;
} word_escapes[] = {
	{'%', "%%"}, {'\\', "\\\\"}, {'"', "\\\""}, {'\'', "\\'"},
};

static void
put_word_char(FILE *f, unsigned char c, int is_command)
{
	for (size_t i = 0; i < ARRAY_SIZE(word_escapes); i++) {
		if (c == word_escapes[i].c) {
			fputs(word_escapes[i].as, f);
			return;
		}
	}
	if (c == '$' && is_command) /* ExecStart= expands $VAR when it runs */
		fputs("$$", f);
	else if (c < 0x20 || c == 0x7f)
		fprintf(f, "\\x%02x", c);
	else
		fputc(c, f);
}

/* One word; quoted when it holds a blank, which would split it. */
static void
put_word(FILE *f, const char *s, int is_command)
{
	int is_quoted = s[0] == '\0' || strchr(s, ' ') != NULL;

	if (is_quoted)
		fputc('"', f);
	for (; *s != '\0'; s++)
		put_word_char(f, (unsigned char)*s, is_command);
	if (is_quoted)
		fputc('"', f);
}

static void
put_timespan(FILE *f, const char *key, int64_t ms)
{
	char buf[64];

	if (ms == INT64_MAX) {
		fprintf(f, "%s=infinity\n", key);
		return;
	}
	value_format_duration(ms, buf, sizeof(buf));
	fprintf(f, "%s=%s\n", key, buf);
}

/* ---- render: the units ---------------------------------------------------- */

static void
render_head(FILE *f, const struct timers *t, const struct plan *p, const char *suffix)
{
	fputs(TIMERS_MARKER " timers from ", f);
	put_text(f, t->config_path);
	fprintf(f, "; edits are lost when it\n# runs again: put them in a drop-in "
		   "(systemctl edit %s%s)\n[Unit]\nDescription=", p->unit, suffix);
	put_text(f, p->description);
	fputs("\nDocumentation=man:caretaker(8)\n", f);
}

static void
render_exec(FILE *f, const struct timers *t, const struct plan *p)
{
	const char *argv[] = {t->exec_path, "-c", t->config_path, "run", p->run_arg};

	fputs("ExecStart=", f);
	for (size_t i = 0; i < ARRAY_SIZE(argv); i++) {
		if (i > 0)
			fputc(' ', f);
		put_word(f, argv[i], 1);
	}
	fputc('\n', f);
}

/*
 * TimeoutStartSec= is a backstop above caretaker's own deadlines: every job
 * the run may start gets its timeout, then SIGTERM, kill_grace, SIGKILL
 * from caretaker, which records "timed out" in history and runs the
 * on_failure handler.  Were systemd's limit to come first, its SIGTERM
 * would stop caretaker mid-chain.  KillMode=mixed sends systemd's SIGTERM
 * to caretaker alone, which passes it on to the job's process group and
 * records the stopped run; only the final SIGKILL goes to the whole
 * cgroup, and TimeoutStopSec= leaves room for caretaker's kill grace first.
 * When caretaker itself dies, systemd has no main process to wait for and
 * sends that SIGKILL to the whole cgroup at once: every process of the
 * job, whatever its process group or session (runner.c also ends the job
 * from its child when caretaker dies, for runs outside systemd).
 */
static void
render_timeouts(FILE *f, const struct timers *t, const struct plan *p)
{
	put_timespan(f, "TimeoutStartSec", p->scope.start_bound_ms);
	fputs("KillMode=mixed\n", f);
	put_timespan(f, "TimeoutStopSec",
		     add_saturating(t->cfg->settings.kill_grace_ms, TIMERS_STOP_MARGIN_MS));
}

/*
 * Sandboxing only where it cannot break a job: when every plugin the run
 * may load declares CT_PLUGIN_STATE_ONLY (it writes nothing outside
 * state_dir).  Other plugins (exec, backup, prune...) write where the job
 * says, run commands that may use sudo or setuid helpers, or talk to
 * services through /tmp.  NoNewPrivileges= does not hinder `user =`: the
 * core drops from root with setgid/setuid, which gains nothing; it only
 * stops exec'ing setuid and file-capability programs.  PrivateTmp= also
 * waits for a run with no PostgreSQL client, whose server may keep its
 * socket in /tmp (connecting to a socket on a read-only mount still works).
 */
enum { NEEDS_STATE_ONLY = 1u, NEEDS_NO_PG = 2u };

static const struct {
	const char *line;
	unsigned needs;
} hardening_lines[] = {
	{"NoNewPrivileges=yes", NEEDS_STATE_ONLY},
	{"PrivateTmp=yes", NEEDS_STATE_ONLY | NEEDS_NO_PG},
	{"ProtectSystem=strict", NEEDS_STATE_ONLY},
	{"ProtectHome=read-only", NEEDS_STATE_ONLY},
};

/* ProtectSystem=strict leaves writable only what caretaker itself writes:
 * state_dir (history, locks, plugin state) and the Prometheus textfile.
 * "-": a missing folder is caretaker's error to report, not a namespace
 * failure (status 226) with no word about which path. */
static void
render_writable_paths(FILE *f, const struct settings *set)
{
	const char *paths[] = {set->state_dir, set->prometheus_dir};

	fputs("ReadWritePaths=", f);
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		char *word;

		if (paths[i] == NULL)
			continue;
		word = xasprintf("-%s", paths[i]);
		fputs(i > 0 ? " " : "", f);
		put_word(f, word, 0);
		free(word);
	}
	fputc('\n', f);
}

static void
render_hardening(FILE *f, const struct timers *t, const struct run_scope *s)
{
	unsigned have = (s->is_state_only ? NEEDS_STATE_ONLY : 0) |
			(s->is_using_pg ? 0 : NEEDS_NO_PG);

	for (size_t i = 0; i < ARRAY_SIZE(hardening_lines); i++)
		if ((hardening_lines[i].needs & have) == hardening_lines[i].needs)
			fprintf(f, "%s\n", hardening_lines[i].line);
	if (s->is_state_only)
		render_writable_paths(f, &t->cfg->settings);
}

/*
 * Exit 75 means the job's lock was held: another run of it (a manual
 * `caretaker run`, a chain, run --due) is doing the work and records the
 * result, so the unit does not turn "failed" and page anyone.  Nice= only
 * when every job of the run shares it: the core sets each job's nice in
 * the child anyway, and a unit-wide value would leak into prerequisites.
 * No User=: caretaker needs root for its locks and history and switches to
 * the job's user itself.  No IOSchedulingClass=idle: on a busy database
 * host an idle-class backup or vacuum can starve until its timeout, holding
 * a snapshot all the while.
 */
static void
render_service(FILE *f, const struct timers *t, const struct plan *p)
{
	render_head(f, t, p, ".service");
	fputs("Wants=network-online.target\nAfter=network-online.target postgresql.service\n"
	      "\n[Service]\nType=oneshot\n", f);
	render_exec(f, t, p);
	fputs("SuccessExitStatus=75\n", f);
	render_timeouts(f, t, p);
	if (p->scope.is_nice_shared)
		fprintf(f, "Nice=%d\n", p->scope.nice);
	render_hardening(f, t, &p->scope);
}

static void
render_calendar(FILE *f, const char *calendar)
{
	const char *line = calendar;

	while (*line != '\0') {
		size_t len = strcspn(line, "\n");
		char *one = xstrndup(line, len);

		fputs("OnCalendar=", f);
		put_text(f, one);
		fputc('\n', f);
		free(one);
		line += len + (line[len] == '\n');
	}
}

static void
render_timer(FILE *f, const struct timers *t, const struct plan *p)
{
	render_head(f, t, p, ".timer");
	fputs("\n[Timer]\n", f);
	render_calendar(f, p->calendar);
	fprintf(f, "Persistent=%s\n", p->is_persistent ? "true" : "false");
	if (p->jitter_ms > 0)
		put_timespan(f, "RandomizedDelaySec", p->jitter_ms);
	fprintf(f, "Unit=%s.service\n\n[Install]\nWantedBy=timers.target\n", p->unit);
}

typedef void render_fn(FILE *f, const struct timers *t, const struct plan *p);

static void
units_add(struct timers *t, const struct plan *p, const char *suffix, render_fn *render)
{
	struct unit_file *u;
	FILE *f;

	t->units = xreallocarray(t->units, t->n_units + 1, sizeof(*t->units));
	u = &t->units[t->n_units++];
	u->name = xasprintf("%s%s", p->unit, suffix);
	u->text = NULL;
	f = open_memstream(&u->text, &u->len);
	if (f == NULL) {
		fputs("caretaker: out of memory\n", stderr);
		abort();
	}
	render(f, t, p);
	if (fclose(f) != 0) {
		fputs("caretaker: out of memory\n", stderr);
		abort();
	}
}

static void
units_add_plan(struct timers *t, struct plan *p)
{
	t->is_any_hardened |= p->scope.is_state_only;
	units_add(t, p, ".service", render_service);
	units_add(t, p, ".timer", render_timer);
	plan_clear(p);
}

/* The hardened units cannot create state_dir themselves. */
static void
warn_missing_state_dir(const struct timers *t)
{
	const char *dir = t->cfg->settings.state_dir;

	if (!t->is_any_hardened || t->opts->is_check || access(dir, F_OK) == 0)
		return;
	fprintf(stderr,
		"caretaker: warning: state_dir %s does not exist, and ProtectSystem=strict keeps "
		"the hardened units from creating it\n  hint: create it (caretaker run creates it "
		"on its first run)\n",
		dir);
}

static void
units_render_all(struct timers *t)
{
	struct plan p;

	if (t->opts->is_due_timer) {
		plan_for_due(t->cfg, &p);
		units_add_plan(t, &p);
	}
	for (size_t i = 0; i < t->cfg->n_jobs && !t->opts->is_due_timer; i++) {
		if (!job_has_timer(t->cfg->jobs[i]))
			continue;
		plan_for_job(t->cfg, t->cfg->jobs[i], &p);
		units_add_plan(t, &p);
	}
	if (t->n_units == 0)
		fprintf(stderr, "caretaker: no enabled job has a schedule: no units to write\n");
	warn_missing_state_dir(t);
}

/* ---- apply: reading what is there ---------------------------------------- */

static char *
unit_path(const struct timers *t, const char *name)
{
	return xasprintf("%s/%s", t->dir, name);
}

static int
text_has_marker(const char *text, size_t len)
{
	size_t n = strlen(TIMERS_MARKER);

	return len >= n && memcmp(text, TIMERS_MARKER, n) == 0;
}

static int
fd_read_capped(int fd, char *buf, size_t cap, size_t *len)
{
	size_t used = 0;

	while (used < cap) {
		ssize_t n = read(fd, buf + used, cap - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return CT_EIO;
		if (n == 0)
			break;
		used += (size_t)n;
	}
	*len = used;
	return 0;
}

/* Read a regular file (NUL-terminated; caller frees *text), at most one
 * byte more than TIMERS_MAX_UNIT_BYTES: enough to tell that it is not
 * ours.  CT_ENOENT; CT_EPERM when it is not a regular file (a symbolic link
 * is not followed, a FIFO not waited on); CT_EIO with errno set. */
static int
unit_read(const char *path, char **text, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	int rc = 0, saved_errno;

	if (fd < 0)
		return errno == ENOENT ? CT_ENOENT : errno == ELOOP ? CT_EPERM : CT_EIO;
	if (fstat(fd, &st) != 0) {
		rc = CT_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = CT_EPERM;
		goto out;
	}
	buf = xmalloc(TIMERS_MAX_UNIT_BYTES + 2);
	rc = fd_read_capped(fd, buf, TIMERS_MAX_UNIT_BYTES + 1, len);
	if (rc != 0)
		goto out;
	buf[*len] = '\0';
	*text = buf;
	buf = NULL;
out:
	saved_errno = errno;
	free(buf);
	close(fd);
	errno = saved_errno;
	return rc;
}

static int
link_is_mask(const char *path)
{
	char target[16];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n < 0)
		return 0;
	target[n] = '\0';
	return strcmp(target, "/dev/null") == 0;
}

static enum on_disk
unit_on_disk(const struct timers *t, const struct unit_file *u)
{
	char *path = unit_path(t, u->name);
	char *text = NULL;
	size_t len = 0;
	int rc = unit_read(path, &text, &len);
	enum on_disk v = DISK_DIFFERENT;

	if (rc == CT_ENOENT)
		v = DISK_MISSING;
	else if (rc == CT_EPERM)
		v = link_is_mask(path) ? DISK_MASKED : DISK_NOT_FILE;
	else if (rc != 0)
		v = DISK_UNREADABLE;
	else if (!text_has_marker(text, len))
		v = DISK_FOREIGN;
	else if (len == u->len && memcmp(text, u->text, len) == 0)
		v = DISK_SAME;
	if (v == DISK_UNREADABLE)
		fprintf(stderr, "caretaker: error: cannot read %s: %s\n", path, strerror(errno));
	free(text);
	free(path);
	return v;
}

/* ---- apply: --check --------------------------------------------------------- */

static void
say(const struct timers *t, const char *what, const char *name)
{
	if (!t->opts->is_quiet)
		printf("%-9s %s/%s\n", what, t->dir, name);
}

static void
check_one(struct timers *t, const struct unit_file *u)
{
	enum on_disk v = unit_on_disk(t, u);

	if (v == DISK_SAME) {
		t->n_same++;
	} else if (v == DISK_MASKED) {
		printf("%-9s %s/%s (left alone)\n", "masked", t->dir, u->name);
	} else if (v == DISK_MISSING) {
		t->n_missing++;
		printf("%-9s %s/%s\n", "missing", t->dir, u->name);
	} else if (v == DISK_UNREADABLE) {
		t->is_any_failed = 1;
	} else {
		t->n_differ++;
		printf("%-9s %s/%s%s\n", "differs", t->dir, u->name,
		       v == DISK_DIFFERENT ? "" : " (not written by caretaker)");
	}
}

/* ---- apply: writing -------------------------------------------------------- */

/* The unit replaced atomically (proc_write_file_atomic); the folder is
 * fsynced once, at the end. */
static int
unit_write_atomic(const struct timers *t, const struct unit_file *u)
{
	char *path = unit_path(t, u->name);
	int rc = proc_write_file_atomic(path, u->text, u->len, 0644, 0);

	if (rc != 0) {
		int saved_errno = errno;

		fprintf(stderr, "caretaker: error: cannot write %s: %s\n", path,
			strerror(saved_errno));
		if (saved_errno == EACCES || saved_errno == EPERM || saved_errno == EROFS)
			fputs("  hint: run it as root, or write elsewhere with --output DIR\n", stderr);
	}
	free(path);
	return rc;
}

static const char *const not_ours_why[] = {
	[DISK_FOREIGN] = "was not written by caretaker (it lacks the \"" TIMERS_MARKER
			 "\" line)",
	[DISK_NOT_FILE] = "is a symbolic link or not a regular file",
};

static void
install_one(struct timers *t, const struct unit_file *u)
{
	enum on_disk v = unit_on_disk(t, u);

	if (v == DISK_SAME) {
		t->n_same++;
		say(t, "unchanged", u->name);
	} else if (v == DISK_MASKED) {
		printf("%-9s %s/%s (left alone)\n", "masked", t->dir, u->name);
	} else if (v == DISK_FOREIGN || v == DISK_NOT_FILE) {
		t->is_any_failed = 1;
		fprintf(stderr, "caretaker: error: %s/%s %s: not replacing it\n  hint: move it "
				"away, or rename the job\n", t->dir, u->name, not_ours_why[v]);
	} else if (v == DISK_UNREADABLE) {
		t->is_any_failed = 1;
	} else if (unit_write_atomic(t, u) != 0) {
		t->is_any_failed = t->is_write_failed = 1;
	} else {
		t->n_written++;
		say(t, "wrote", u->name);
	}
}

/* ---- apply: stale units ------------------------------------------------------ */

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

static int
stale_name_filter(const struct dirent *e)
{
	return strncmp(e->d_name, TIMERS_PREFIX, strlen(TIMERS_PREFIX)) == 0 &&
	       (has_suffix(e->d_name, ".service") || has_suffix(e->d_name, ".timer"));
}

static int
unit_is_wanted(const struct timers *t, const char *name)
{
	for (size_t i = 0; i < t->n_units; i++)
		if (strcmp(t->units[i].name, name) == 0)
			return 1;
	return 0;
}

static int
unit_is_ours(const struct timers *t, const char *name)
{
	char *path = unit_path(t, name);
	char *text = NULL;
	size_t len = 0;
	int is_ours = unit_read(path, &text, &len) == 0 && text_has_marker(text, len);

	free(text);
	free(path);
	return is_ours;
}

/* systemctl enable linked the timer into timers.target.wants/; once the
 * timer is gone that link dangles (systemd finds units by the link's name,
 * so a link of that name is ours whatever it points to). */
static void
prune_wants_link(const struct timers *t, const char *name)
{
	char *rel = xasprintf("timers.target.wants/%s", name);
	char *link = unit_path(t, rel);
	struct stat st;

	if (lstat(link, &st) == 0 && S_ISLNK(st.st_mode) && unlink(link) == 0)
		say(t, "removed", rel);
	free(link);
	free(rel);
}

static void
stale_one(struct timers *t, const char *name)
{
	char *path = unit_path(t, name);

	t->n_stale++;
	if (!t->opts->is_pruning || t->opts->is_check) {
		printf("%-9s %s\n", "stale", path);
	} else if (unlink(path) != 0) {
		t->is_any_failed = 1;
		fprintf(stderr, "caretaker: error: cannot remove %s: %s\n", path, strerror(errno));
	} else {
		t->n_removed++;
		say(t, "removed", name);
		if (has_suffix(name, ".timer"))
			prune_wants_link(t, name);
	}
	free(path);
}

static void
stale_sweep(struct timers *t)
{
	struct dirent **names = NULL;
	int n = scandir(t->dir, &names, stale_name_filter, alphasort);

	if (n < 0 && errno != ENOENT) {
		t->is_any_failed = 1;
		fprintf(stderr, "caretaker: error: cannot read %s: %s\n", t->dir, strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		if (!unit_is_wanted(t, names[i]->d_name) && unit_is_ours(t, names[i]->d_name))
			stale_one(t, names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

/* ---- the command ------------------------------------------------------------- */

static int
timers_check(struct timers *t)
{
	for (size_t i = 0; i < t->n_units; i++)
		check_one(t, &t->units[i]);
	stale_sweep(t);
	if (!t->opts->is_quiet)
		printf("%zu identical, %zu differ, %zu missing, %zu stale in %s\n", t->n_same,
		       t->n_differ, t->n_missing, t->n_stale, t->dir);
	if (t->is_any_failed || t->n_differ + t->n_missing + t->n_stale > 0)
		return EXIT_JOB_FAILED; /* "regenerate", for config management */
	return EXIT_OK;
}

static void
install_hints(const struct timers *t)
{
	if (t->opts->is_quiet)
		return;
	fflush(stdout); /* the file lines first, when both go to one pipe */
	if (t->n_stale > t->n_removed)
		fprintf(stderr, "caretaker: %zu stale units (%s) stay in place\n  hint: caretaker "
				"timers --prune removes them\n", t->n_stale - t->n_removed,
			t->opts->is_due_timer ? "the caretaker-due pair replaces per-job units"
					      : "their job is gone, disabled or unscheduled");
	if (t->n_removed > 0)
		fprintf(stderr, "hint: stop the removed timers (systemctl stop UNIT.timer), "
				"then systemctl daemon-reload\n");
	if (t->n_written > 0)
		fprintf(stderr, "hint: systemctl daemon-reload, then systemctl enable --now "
				"UNIT.timer for each new timer\n");
}

static int
timers_install(struct timers *t)
{
	if (proc_mkdir_p(t->dir, 0755) != 0) {
		fprintf(stderr, "caretaker: error: cannot create %s: %s\n", t->dir,
			strerror(errno));
		return EXIT_JOB_FAILED;
	}
	for (size_t i = 0; i < t->n_units && !t->is_write_failed; i++)
		install_one(t, &t->units[i]);
	stale_sweep(t);
	if (t->n_written + t->n_removed > 0 && proc_fsync_dir(t->dir) != 0) {
		fprintf(stderr, "caretaker: error: cannot sync %s: %s\n", t->dir, strerror(errno));
		t->is_any_failed = 1;
	}
	install_hints(t);
	return t->is_any_failed ? EXIT_JOB_FAILED : EXIT_OK;
}

/* The binary that is running, for ExecStart=.  A binary replaced by an
 * upgrade while it runs reads as "PATH (deleted)"; PATH is the new one. */
static char *
self_exe_path(void)
{
	static const char deleted[] = " (deleted)";
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf));

	if (n <= 0 || (size_t)n >= sizeof(buf)) {
		fprintf(stderr, "caretaker: error: cannot find this program's path in "
				"/proc/self/exe: %s\n  hint: name it with --exec PATH\n",
			n < 0 ? strerror(errno) : "too long");
		return NULL;
	}
	buf[n] = '\0';
	if (has_suffix(buf, deleted))
		buf[(size_t)n - strlen(deleted)] = '\0';
	return xstrdup(buf);
}

/* -c for ExecStart=: the path as given when absolute (a symbolic link
 * managed by configuration management stays one), else in cfg->dir,
 * which config_load resolved. */
static char *
config_path_absolute(const struct config *cfg)
{
	const char *base = strrchr(cfg->path, '/');

	if (cfg->path[0] == '/')
		return xstrdup(cfg->path);
	return xasprintf("%s/%s", cfg->dir, base != NULL ? base + 1 : cfg->path);
}

/* Print the diagnostics; non-zero when there are errors. */
static int
timers_refuse_broken(const struct config *cfg)
{
	diag_print(&cfg->diags, stderr);
	if (cfg->diags.n_errors == 0)
		return 0;
	fprintf(stderr, "caretaker: error: no units for a configuration with errors\n"
			"  hint: fix them (caretaker check lists them), then run caretaker "
			"timers again\n");
	return 1;
}

static void
timers_fini(struct timers *t)
{
	for (size_t i = 0; i < t->n_units; i++) {
		free(t->units[i].name);
		free(t->units[i].text);
	}
	free(t->units);
	free(t->exec_path);
	free(t->config_path);
}

int
timers_generate(struct config *cfg, const struct timers_options *opts)
{
	struct plugin_list list = {0};
	struct arena *a = arena_new();
	struct timers t = {.cfg = cfg, .opts = opts};
	int rc = EXIT_CONFIG;

	t.dir = opts->output_dir != NULL ? opts->output_dir : TIMERS_DEFAULT_DIR;
	inspect_bind_plugins(cfg, &list, a);
	if (timers_refuse_broken(cfg))
		goto out;
	rc = EXIT_JOB_FAILED;
	t.exec_path = opts->exec_path != NULL ? xstrdup(opts->exec_path) : self_exe_path();
	if (t.exec_path == NULL)
		goto out;
	t.config_path = config_path_absolute(cfg);
	units_render_all(&t);
	rc = opts->is_check ? timers_check(&t) : timers_install(&t);
out:
	timers_fini(&t);
	plugin_list_clear(&list);
	arena_free(a);
	return rc;
}
