/*
 * progress.c — a running job's progress, from the plugin's call to the
 * operator's eyes (see progress.h).
 *
 * Three places meet here.  In the job's child, task.c asks
 * progress_throttle_pass() whether a call becomes a message, so a plugin
 * calling progress in its innermost loop costs neither the pipe nor the
 * parent anything.  In the parent, result.c keeps the newest report in a
 * fixed-size struct progress_sample, and the watch loop's tick (about four
 * a second) lets this file redraw one live line on a terminal and rewrite
 * state_dir/running/JOB.PID.json.  From any shell, `status` reads those
 * files and shows the runs whose caretaker is still alive.
 *
 * The running file names caretaker's pid and that process's start time
 * (field 22 of /proc/PID/stat): after a crash of caretaker the file stays
 * behind, and its pid may by then belong to another process, which the
 * start time tells apart.  Such stale files are skipped and removed by the
 * next `run` or `status` that may remove them.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/errors.h>
#include <jansson.h>

#include "durable.h"
#include "log.h"
#include "options.h"
#include "proc.h"
#include "progress.h"
#include "xmalloc.h"

/* The child: one message per 100 ms, and step changes in bursts of ten. */
#define THROTTLE_GAP_MS 100
#define THROTTLE_STEP_BURST 10
/* No estimate of the time left from less than this much of a step. */
#define ETA_MIN_SPAN_MS 3000
/* The running file is rewritten at most this often. */
#define RUNNING_WRITE_GAP_MS 1000
/* A run with no report yet gets a live line after this long. */
#define LIVE_QUIET_MS 1000
/* "last report N ago" once the newest report is older than this. */
#define REPORT_AGE_SHOWN_MS 60000
#define RUNNING_FILE_MAX_BYTES 65536

double
progress_fraction_clean(double fraction)
{
	if (isnan(fraction) || fraction < 0)
		return -1;
	return fraction > 1 ? 1 : fraction;
}

/* Copy at most size-1 bytes of `s`, never ending inside a UTF-8 sequence. */
static void
words_cut(const char *s, char *out, size_t size)
{
	size_t n = strlen(s);

	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

/* Control characters (C0, DEL and C1's two bytes in UTF-8) become '?': the
 * words end up on a terminal, and must not move its cursor or colour it. */
static void
words_sanitize(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p != '\0'; p++) {
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			p[0] = '?';
			*++p = '?';
		} else if (*p < 0x20 || *p == 0x7f) {
			*p = '?';
		}
	}
}

/* ---- the child ----------------------------------------------------------- */

/* A token bucket for step changes, kept as its theoretical arrival time. */
static int
throttle_take_step(struct progress_throttle *pt, int64_t now_ms)
{
	int64_t tat = pt->step_tat_ms > now_ms ? pt->step_tat_ms : now_ms;

	if (tat - now_ms > (int64_t)(THROTTLE_STEP_BURST - 1) * THROTTLE_GAP_MS)
		return 0;
	pt->step_tat_ms = tat + THROTTLE_GAP_MS;
	return 1;
}

int
progress_throttle_pass(struct progress_throttle *pt, int64_t now_ms, double fraction,
                       const char *what)
{
	char cut[PROGRESS_WHAT_SIZE];
	double f = progress_fraction_clean(fraction);
	int is_step, is_due;

	words_cut(what != NULL ? what : "", cut, sizeof(cut));
	is_step = strcmp(cut, pt->what) != 0 || (f >= 1 && pt->fraction < 1);
	if (pt->is_started && !is_step && f == pt->fraction)
		return 0;
	is_due = !pt->is_started || now_ms - pt->sent_ms >= THROTTLE_GAP_MS;
	if (!is_due && !(is_step && throttle_take_step(pt, now_ms)))
		return 0;
	pt->is_started = 1;
	pt->sent_ms = now_ms;
	pt->fraction = f;
	memcpy(pt->what, cut, sizeof(cut));
	return 1;
}

/* ---- the parent's sample ------------------------------------------------- */

void
progress_sample_set(struct progress_sample *s, double fraction, const char *what, int64_t now_ms)
{
	s->fraction = progress_fraction_clean(fraction);
	words_cut(what != NULL ? what : "", s->what, sizeof(s->what));
	words_sanitize(s->what);
	s->at_ms = now_ms;
	s->n++;
}

/* ---- words and estimates ------------------------------------------------- */

/* The advance is measured up to now, not up to the newest report: a step
 * that stalls sees its estimate grow instead of counting down to nothing. */
int64_t
progress_eta_ms(double f0, int64_t t0_ms, double f1, int64_t now_ms)
{
	double left;

	if (f0 < 0 || f1 < 0 || f1 <= f0 || now_ms - t0_ms < ETA_MIN_SPAN_MS)
		return -1;
	left = (1 - f1) * (double)(now_ms - t0_ms) / (f1 - f0);
	return left < 1e12 ? (int64_t)llround(left) : -1;
}

void
progress_format_span(int64_t ms, char *buf, size_t size)
{
	if (ms < 0)
		ms = 0;
	if (ms >= 3600000)
		ms = ms / 60000 * 60000;
	else
		ms = ms / 1000 * 1000;
	value_format_duration(ms, buf, size);
}

void
progress_format_state(char *buf, size_t size, const char *what, double fraction, int64_t eta_ms)
{
	char pct[16] = "", eta[64] = "", span[32];
	int is_estimated = fraction >= 0 && fraction < 1 && eta_ms >= 0;

	if (fraction >= 0)
		snprintf(pct, sizeof(pct), " %d%%", (int)floor(fraction * 100));
	if (is_estimated && eta_ms >= 1000) {
		progress_format_span(eta_ms, span, sizeof(span));
		snprintf(eta, sizeof(eta), ", about %s left", span);
	} else if (is_estimated) {
		snprintf(eta, sizeof(eta), ", almost done");
	}
	snprintf(buf, size, "%s%s%s", what[0] != '\0' ? what : "running", pct, eta);
}

/* "; last report 12min ago" when the newest report is old, else "".  Only
 * asked for a known fraction: a plugin that reports one is expected to
 * advance it, one that reports only its step is not. */
static void
format_report_age(int64_t age_ms, char *buf, size_t size)
{
	char span[32];

	buf[0] = '\0';
	if (age_ms < REPORT_AGE_SHOWN_MS)
		return;
	progress_format_span(age_ms, span, sizeof(span));
	snprintf(buf, size, "; last report %s ago", span);
}

/* ---- the live line ------------------------------------------------------- */

/* The one run whose line is on the terminal, for the log's callback. */
static struct progress_run *live_run;

static int
live_is_wanted(int is_quiet)
{
	const char *term = getenv("TERM");

	return !is_quiet && isatty(STDERR_FILENO) && !log_is_journal() && term != NULL &&
	       term[0] != '\0' && strcmp(term, "dumb") != 0;
}

static size_t
live_columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col < 20)
		return 80;
	return ws.ws_col;
}

static void
live_write(const char *s, size_t len)
{
	if (write(STDERR_FILENO, s, len) < 0) {
		/* A terminal that went away: nothing to clear either. */
	}
}

/* Before a log line: the live line goes, the next tick draws it again. */
static void
live_clear_cb(void)
{
	if (live_run == NULL || !live_run->is_line_shown)
		return;
	live_write("\r\033[K", 4);
	live_run->is_line_shown = 0;
	live_run->line[0] = '\0';
}

/* "\r" + the text cut to the terminal's width (a wrapped line could not be
 * cleared with one "\r") + erase to the end of the line. */
static void
live_draw(struct progress_run *pr, const char *text)
{
	char buf[sizeof(pr->line) + 8];
	size_t cols = live_columns() - 1, used = 1, n = 0;

	buf[0] = '\r';
	for (const char *p = text; *p != '\0' && used < sizeof(buf) - 4; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80 && n++ == cols)
			break;
		buf[used++] = *p;
	}
	memcpy(buf + used, "\033[K", 3);
	live_write(buf, used + 3);
	snprintf(pr->line, sizeof(pr->line), "%s", text);
	pr->is_line_shown = 1;
}

static void
live_update(struct progress_run *pr, int64_t now_ms)
{
	const struct progress_sample *s = pr->p.sample;
	char state[256], span[32], age[64], text[sizeof(pr->line)];
	int64_t eta = -1;

	if (s->n == 0 && now_ms - pr->start_ms < LIVE_QUIET_MS)
		return;
	if (s->n > 0 && strcmp(s->what, pr->base_what) == 0)
		eta = progress_eta_ms(pr->base_fraction, pr->base_ms, s->fraction, now_ms);
	progress_format_state(state, sizeof(state), s->what, s->n > 0 ? s->fraction : -1, eta);
	progress_format_span(now_ms - pr->start_ms, span, sizeof(span));
	format_report_age(s->n > 0 && s->fraction >= 0 ? now_ms - s->at_ms : 0, age, sizeof(age));
	snprintf(text, sizeof(text), "%s: %s (%s%s)", pr->p.job, state, span, age);
	if (!pr->is_line_shown || strcmp(text, pr->line) != 0)
		live_draw(pr, text);
}

/* ---- the running file ---------------------------------------------------- */

static char *
running_dir(const char *state_dir)
{
	return xasprintf("%s/running", state_dir);
}

/* A monotonic time as wall clock microseconds. */
static int64_t
wall_us_of(int64_t ms, int64_t now_ms, int64_t now_us)
{
	return now_us - (now_ms - ms) * 1000;
}

static json_t *
running_json(const struct progress_run *pr, int64_t now_ms)
{
	const struct progress_sample *s = pr->p.sample;
	int64_t now_us = proc_wall_us();
	int is_based = s->n > 0 && s->fraction >= 0 && strcmp(s->what, pr->base_what) == 0;

	return json_pack(
	    "{s:i, s:s, s:I, s:I, s:I, s:I, s:s, s:o, s:o, s:o, s:I, s:I}", "format", 1, "job",
	    pr->p.job, "pid", (json_int_t)getpid(), "pid_start", (json_int_t)pr->pid_start,
	    "child_pid", (json_int_t)pr->p.child_pid, "start_us", (json_int_t)pr->start_us, "step",
	    s->what, "fraction", s->fraction >= 0 ? json_real(s->fraction) : json_null(),
	    "base_fraction", is_based ? json_real(pr->base_fraction) : json_null(), "base_us",
	    is_based ? json_integer(wall_us_of(pr->base_ms, now_ms, now_us)) : json_null(),
	    "updated_us",
	    (json_int_t)(s->n > 0 ? wall_us_of(s->at_ms, now_ms, now_us) : pr->start_us),
	    "written_us", (json_int_t)now_us);
}

/* Mode 0640: the words are the plugin's, and may say more than others
 * should read.  After a failure (a full disk) the run goes on without
 * further tries; the file is still removed at the end.  Not synced: it
 * describes this process only, and after a crash it is stale anyway
 * (progress_running_is_alive). */
static void
running_write(struct progress_run *pr, int64_t now_ms)
{
	json_t *j = running_json(pr, now_ms);
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
	int rc = CT_ENOMEM;

	if (text != NULL)
		rc = durable_replace(pr->running_path, text, strlen(text), 0640, 0, NULL, 0);
	if (rc != 0) {
		log_warn("%s: cannot write %s (`status` will not show this run): %s", pr->p.job,
		         pr->running_path, text != NULL ? strerror(errno) : "out of memory");
		pr->is_running_broken = 1;
	}
	pr->written_ms = now_ms;
	pr->written_n = pr->p.sample->n;
	free(text);
	json_decref(j);
}

/* The run's file, written once it has run for PROGRESS_RUNNING_AFTER_MS: a
 * run that ends sooner (most runs of most jobs) costs no file at all, and
 * `status` from another shell could hardly have caught it anyway. */
static void
running_start(struct progress_run *pr, int64_t now_ms)
{
	char *dir = running_dir(pr->p.state_dir);
	struct progress_running *stale = NULL;
	size_t n = 0;

	pr->is_running_started = 1;
	/* Listing removes the files of runs that died without removing theirs. */
	if (progress_running_list(pr->p.state_dir, 1, &stale, &n) == 0)
		free(stale);
	(void)progress_pid_start(getpid(), &pr->pid_start);
	if (proc_mkdir_p(dir, 0750) != 0) {
		log_warn("%s: cannot create %s (`status` will not show this run): %s", pr->p.job,
		         dir, strerror(errno));
	} else {
		pr->running_path = xasprintf("%s/%s.%ld.json", dir, pr->p.job, (long)getpid());
		running_write(pr, now_ms);
	}
	free(dir);
}

/* ---- one run ------------------------------------------------------------- */

void
progress_run_begin(struct progress_run *pr, const struct progress_run_params *p)
{
	memset(pr, 0, sizeof(*pr));
	pr->p = *p;
	pr->start_ms = proc_now_ms();
	pr->start_us = proc_wall_us();
	pr->base_fraction = -1;
	pr->is_live = live_is_wanted(p->is_quiet);
	if (pr->is_live) {
		live_run = pr;
		log_set_line_cb(live_clear_cb);
	}
}

/* The estimate's first point: the first known fraction of the current
 * step, taken again when the step changes or the fraction goes back. */
static void
run_note_sample(struct progress_run *pr)
{
	const struct progress_sample *s = pr->p.sample;

	if (s->n == pr->seen_n)
		return;
	pr->seen_n = s->n;
	if (strcmp(s->what, pr->base_what) == 0 && pr->base_fraction >= 0 && s->fraction >= 0 &&
	    s->fraction >= pr->base_fraction)
		return;
	snprintf(pr->base_what, sizeof(pr->base_what), "%s", s->what);
	pr->base_fraction = s->fraction;
	pr->base_ms = s->at_ms;
}

void
progress_run_tick_cb(void *ctx)
{
	struct progress_run *pr = ctx;
	int64_t now_ms = proc_now_ms();

	run_note_sample(pr);
	if (pr->is_live)
		live_update(pr, now_ms);
	if (!pr->is_running_started && now_ms - pr->start_ms >= PROGRESS_RUNNING_AFTER_MS)
		running_start(pr, now_ms);
	else if (pr->running_path != NULL && !pr->is_running_broken &&
	         pr->p.sample->n != pr->written_n &&
	         now_ms - pr->written_ms >= RUNNING_WRITE_GAP_MS)
		running_write(pr, now_ms);
}

void
progress_run_end(struct progress_run *pr)
{
	if (pr->is_live) {
		live_clear_cb();
		log_set_line_cb(NULL);
		live_run = NULL;
	}
	if (pr->running_path != NULL && unlink(pr->running_path) != 0 && errno != ENOENT)
		log_warn("%s: cannot remove %s: %s", pr->p.job, pr->running_path, strerror(errno));
	free(pr->running_path);
	pr->running_path = NULL;
}

/* ---- running files, read from any shell ---------------------------------- */

/* Past "PID (COMM) ": COMM may hold spaces and parentheses, so the last
 * ')' ends it.  Field 3 is the state, field 22 the start time. */
static int
stat_parse(const char *text, unsigned long long *start)
{
	const char *p = strrchr(text, ')');
	char *end;

	if (p == NULL || p[1] != ' ')
		return CT_ECORRUPT;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return CT_ENOENT;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return CT_ECORRUPT;
		p++;
	}
	*start = strtoull(p, &end, 10);
	return end == p ? CT_ECORRUPT : 0;
}

/* Without /proc, only whether the pid exists can be known. */
static int
pid_start_without_proc(pid_t pid, unsigned long long *start)
{
	*start = 0;
	return kill(pid, 0) == 0 || errno == EPERM ? 0 : CT_ENOENT;
}

int
progress_pid_start(pid_t pid, unsigned long long *start)
{
	char path[64], text[1024];
	ssize_t n;
	int fd;

	*start = 0;
	if (pid <= 0)
		return CT_ENOENT;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && access("/proc/self/stat", R_OK) != 0)
		return pid_start_without_proc(pid, start);
	if (fd < 0)
		return CT_ENOENT;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return CT_ENOENT;
	text[n] = '\0';
	if (stat_parse(text, start) == CT_ENOENT)
		return CT_ENOENT;
	return 0;
}

int
progress_running_is_alive(const struct progress_running *r)
{
	unsigned long long start = 0;

	if (progress_pid_start(r->pid, &start) != 0)
		return 0;
	return r->pid_start == 0 || start == 0 || start == r->pid_start;
}

/* The file's bytes: a regular file, opened without following a link or
 * waiting on a FIFO, and small. */
static int
running_slurp(const char *path, char *buf, size_t size, size_t *len, char *err, size_t err_size)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0) {
		snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
		return errno == ENOENT ? CT_ENOENT : CT_EIO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size >= (off_t)size) {
		snprintf(err, err_size, "%s is not a small regular file", path);
		close(fd);
		return CT_EIO;
	}
	n = read(fd, buf, size);
	close(fd);
	if (n < 0) {
		snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
		return CT_EIO;
	}
	*len = (size_t)n;
	return 0;
}

static int64_t
jint(json_t *j, const char *key, int64_t absent)
{
	json_t *v = json_object_get(j, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : absent;
}

static double
jfraction(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	return json_is_number(v) ? progress_fraction_clean(json_number_value(v)) : -1;
}

static void
running_from_json(json_t *j, struct progress_running *r)
{
	const char *job = json_string_value(json_object_get(j, "job"));
	const char *step = json_string_value(json_object_get(j, "step"));

	words_cut(job != NULL ? job : "?", r->job, sizeof(r->job));
	words_sanitize(r->job);
	words_cut(step != NULL ? step : "", r->step, sizeof(r->step));
	words_sanitize(r->step);
	r->pid = (pid_t)jint(j, "pid", 0);
	r->pid_start = (unsigned long long)jint(j, "pid_start", 0);
	r->child_pid = (pid_t)jint(j, "child_pid", 0);
	r->start_us = jint(j, "start_us", 0);
	r->fraction = jfraction(j, "fraction");
	r->base_fraction = jfraction(j, "base_fraction");
	r->base_us = jint(j, "base_us", 0);
	r->updated_us = jint(j, "updated_us", r->start_us);
	r->written_us = jint(j, "written_us", r->updated_us);
}

int
progress_running_read(const char *path, struct progress_running *r, char *err, size_t err_size)
{
	char *buf = xmalloc(RUNNING_FILE_MAX_BYTES);
	size_t len = 0;
	json_t *j = NULL;
	int rc = running_slurp(path, buf, RUNNING_FILE_MAX_BYTES, &len, err, err_size);

	if (rc != 0)
		goto out;
	j = json_loadb(buf, len, 0, NULL);
	if (!json_is_object(j) || jint(j, "pid", 0) <= 0) {
		snprintf(err, err_size, "%s is not a running file", path);
		rc = CT_ECORRUPT;
		goto out;
	}
	memset(r, 0, sizeof(*r));
	running_from_json(j, r);
out:
	json_decref(j);
	free(buf);
	return rc;
}

static int
name_is_running_file(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".json") == 0;
}

/* Read one entry of the folder: 1 when alive and kept in *r. */
static int
running_take(const char *dir, const char *name, int is_cleaning, struct progress_running *r)
{
	char *path = xasprintf("%s/%s", dir, name);
	char err[512];
	int is_alive = 0;

	if (progress_running_read(path, r, err, sizeof(err)) == 0) {
		is_alive = progress_running_is_alive(r);
		if (!is_alive && is_cleaning)
			(void)unlink(path);
	}
	free(path);
	return is_alive;
}

static int
running_cmp(const void *a, const void *b)
{
	const struct progress_running *x = a, *y = b;

	return (x->start_us > y->start_us) - (x->start_us < y->start_us);
}

int
progress_running_list(const char *state_dir, int is_cleaning, struct progress_running **out,
                      size_t *n)
{
	char *dir = running_dir(state_dir);
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (!name_is_running_file(e->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*out = xreallocarray(*out, cap, sizeof(**out));
		}
		*n += (size_t)running_take(dir, e->d_name, is_cleaning, &(*out)[*n]);
	}
	if (d != NULL)
		closedir(d);
	free(dir);
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), running_cmp);
	return 0;
}

static void
show_one(const struct progress_running *r, int width, int64_t now_us)
{
	int64_t now_ms = now_us / 1000, eta = -1;
	char state[256], span[32], age[64];

	if (r->base_us != 0)
		eta = progress_eta_ms(r->base_fraction, r->base_us / 1000, r->fraction, now_ms);
	progress_format_state(state, sizeof(state), r->step, r->fraction, eta);
	progress_format_span((now_us - r->start_us) / 1000, span, sizeof(span));
	format_report_age(r->fraction >= 0 ? (now_us - r->updated_us) / 1000 : 0, age, sizeof(age));
	printf("%-*s %-8ld %-10s %s%s\n", width, r->job, (long)r->pid, span, state, age);
}

void
progress_show_running(const char *state_dir, int64_t now_us)
{
	struct progress_running *runs = NULL;
	size_t n = 0;
	int width = 7;

	if (progress_running_list(state_dir, 1, &runs, &n) != 0 || n == 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(runs[i].job) > width)
			width = (int)strlen(runs[i].job);
	printf("\n%-*s %-8s %-10s %s\n", width, "RUNNING", "PID", "FOR", "PROGRESS");
	for (size_t i = 0; i < n; i++)
		show_one(&runs[i], width, now_us);
out:
	free(runs);
}
