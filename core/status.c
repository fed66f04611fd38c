/*
 * status.c — status, next and the Prometheus textfile (see status.h).
 *
 * All three read state.json (one small file) and the parsed schedules, so
 * they stay fast with thousands of jobs and a long history.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "config.h"
#include "log.h"
#include "options.h"
#include "proc.h"
#include "progress.h"
#include "result.h"
#include "exitcode.h"
#include "schedule.h"
#include "state.h"
#include "status.h"
#include "utf8.h"
#include "xmalloc.h"

#define US_PER_S 1000000LL

static void
format_local(int64_t us, char *buf, size_t size)
{
	time_t t = (time_t)(us / US_PER_S);
	struct tm tm;

	if (us == 0) {
		snprintf(buf, size, "-");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm);
}

static void
format_utc(int64_t us, char *buf, size_t size)
{
	time_t t = (time_t)(us / US_PER_S);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* "3h 5min" for a span in microseconds (seconds precision). */
static void
format_span(int64_t us, char *buf, size_t size)
{
	int64_t ms = (us < 0 ? -us : us) / 1000;

	value_format_duration(ms >= 60000 ? ms / 60000 * 60000 : ms / 1000 * 1000, buf, size);
}

int
status_parse_time(const char *s, int64_t *out_us)
{
	struct tm tm;
	const char *end;
	char *stop;
	long long epoch;

	if (strcmp(s, "now") == 0) {
		*out_us = proc_wall_us();
		return 0;
	}
	if (s[0] == '@') {
		epoch = strtoll(s + 1, &stop, 10);
		if (stop == s + 1 || *stop != '\0')
			return CT_EINVAL;
		*out_us = epoch * US_PER_S;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d %H:%M", &tm);
	if (end != NULL && *end == ':')
		end = strptime(end + 1, "%S", &tm);
	if (end == NULL)
		return CT_EINVAL;
	while (*end == ' ')
		end++;
	if (strcmp(end, "UTC") == 0) {
		*out_us = (int64_t)timegm(&tm) * US_PER_S;
		return 0;
	}
	if (*end != '\0')
		return CT_EINVAL;
	tm.tm_isdst = -1;
	*out_us = (int64_t)mktime(&tm) * US_PER_S;
	return 0;
}

/* ---- status ------------------------------------------------------------ */

/* The schedule's period around `now`: the gap between its next two elapses. */
static int64_t
schedule_period_us(const struct schedule *sched, int64_t now_us)
{
	int64_t a, b;

	if (schedule_next(sched, now_us, &a) != 0 || schedule_next(sched, a, &b) != 0)
		return 0;
	return b - a;
}

static const char *
job_state_word(const struct config *cfg, const struct job *job, const struct state *st,
	       int64_t now_us)
{
	json_t *last = state_last_run(st, job->name);
	int status = last ? result_status_from_word(json_string_value(json_object_get(last, "status")))
			  : -1;
	int64_t success = state_last_success_us(st, job->name);
	int64_t period = job->sched ? schedule_period_us(job->sched, now_us) : 0;
	int is_overdue = period > 0 && success > 0 &&
			 now_us - success > period + cfg->settings.overdue_slack_ms * 1000;

	if (!job->is_enabled)
		return "DISABLED";
	if (state_history_error(st, job->name) != NULL)
		return "UNRECORDED";
	if (status == CT_STATUS_FAIL)
		return "FAIL";
	if (is_overdue)
		return "OVERDUE";
	if (status == CT_STATUS_WARN)
		return "WARN";
	if (status == CT_STATUS_OK)
		return "OK";
	return status == CT_STATUS_SKIPPED ? "SKIPPED" : "PENDING";
}

static void
status_line(const struct config *cfg, const struct job *job, const struct state *st,
	    int64_t now_us, const char *word, size_t name_width)
{
	json_t *last = state_last_run(st, job->name);
	const char *summary = last ? json_string_value(json_object_get(last, "reason")) : NULL;
	const char *history_error = state_history_error(st, job->name);
	char when[64], ago[48] = "";
	int64_t last_us = last ? json_integer_value(json_object_get(last, "start_us")) : 0;
	char *safe;

	(void)cfg;
	if (summary == NULL && last != NULL)
		summary = json_string_value(json_object_get(last, "summary"));
	format_local(last_us, when, sizeof(when));
	if (last_us != 0)
		format_span(now_us - last_us, ago, sizeof(ago));
	/* The plugin's words and the error, escaped: they cannot rewrite the
	 * terminal. */
	if (history_error != NULL) {
		char *text = xasprintf("ended %s, not in history: %s",
				       result_json_str(last, "status"), history_error);

		safe = utf8_escape(text, 0);
		free(text);
	} else {
		safe = utf8_escape(summary ? summary : "", 0);
	}
	printf("%-*s %-10s %-28s %-10s %s\n", (int)name_width, job->name, word, when, ago, safe);
	free(safe);
}

int
status_show(const struct config *cfg, int64_t now_us)
{
	struct state *st = NULL;
	char err[512];
	size_t width = 4;
	int is_bad = 0;

	if (state_load(cfg->settings.state_dir, &st, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return EXIT_JOB_FAILED;
	}
	for (size_t i = 0; i < cfg->n_jobs; i++)
		if (strlen(cfg->jobs[i]->name) > width)
			width = strlen(cfg->jobs[i]->name);
	printf("%-*s %-10s %-28s %-10s %s\n", (int)width, "JOB", "STATE", "LAST RUN", "AGO",
	       "SUMMARY");
	for (size_t i = 0; i < cfg->n_jobs; i++) {
		const char *word = job_state_word(cfg, cfg->jobs[i], st, now_us);

		is_bad |= strcmp(word, "FAIL") == 0 || strcmp(word, "OVERDUE") == 0 ||
			  strcmp(word, "UNRECORDED") == 0;
		status_line(cfg, cfg->jobs[i], st, now_us, word, width);
	}
	progress_show_running(cfg->settings.state_dir, now_us);
	state_free(st);
	return is_bad ? EXIT_JOB_FAILED : EXIT_OK;
}

/* ---- next -------------------------------------------------------------- */

static void
next_one_job(const struct job *job, const struct state *st, const struct next_options *opts,
	     int64_t base)
{
	json_t *last = state_last_run(st, job->name);
	int64_t last_us = last ? json_integer_value(json_object_get(last, "start_us")) : 0;
	int64_t t = base;
	char local[64], utc[64], span[48];

	printf("%s\n  schedule:   %s (%s)\n  oncalendar: ", job->name, job->schedule,
	       schedule_syntax_name(schedule_syntax(job->sched)));
	for (const char *p = schedule_to_oncalendar(job->sched); *p; p++) {
		if (*p == '\n')
			fputs("\n              ", stdout); /* a second OnCalendar line */
		else
			putchar(*p);
	}
	format_local(last_us, local, sizeof(local));
	format_span(base - last_us, span, sizeof(span));
	if (st == NULL)
		printf("\n  last run:   unknown (state.json cannot be read)\n");
	else
		printf("\n  last run:   %s%s%s%s\n", local, last_us ? " (" : "",
		       last_us ? span : "", last_us ? " ago)" : "");
	for (size_t i = 0; i < opts->count; i++) {
		if (schedule_next(job->sched, t, &t) != 0) {
			printf("  next:       never again\n");
			break;
		}
		format_local(t, local, sizeof(local));
		format_utc(t, utc, sizeof(utc));
		format_span(t - base, span, sizeof(span));
		printf("  %s %s  %s  in %s\n", i == 0 ? "next:      " : "           ", local, utc,
		       span);
	}
}

struct next_row {
	const struct job *job;
	int64_t at;
};

static int
next_row_cmp(const void *a, const void *b)
{
	const struct next_row *x = a, *y = b;

	return (x->at > y->at) - (x->at < y->at);
}

static void
next_table(const struct config *cfg, int64_t base)
{
	struct next_row *rows = xcalloc(cfg->n_jobs + 1, sizeof(*rows));
	size_t n = 0;
	char local[64], utc[64], span[48];

	for (size_t i = 0; i < cfg->n_jobs; i++) {
		const struct job *job = cfg->jobs[i];

		if (job->sched == NULL || !job->is_enabled ||
		    schedule_next(job->sched, base, &rows[n].at) != 0)
			continue;
		rows[n++].job = job;
	}
	qsort(rows, n, sizeof(*rows), next_row_cmp);
	printf("%-27s %-23s %-12s %s\n", "NEXT", "UTC", "LEFT", "JOB");
	for (size_t i = 0; i < n; i++) {
		format_local(rows[i].at, local, sizeof(local));
		format_utc(rows[i].at, utc, sizeof(utc));
		format_span(rows[i].at - base, span, sizeof(span));
		printf("%-27s %-23s %-12s %s\n", local, utc, span, rows[i].job->name);
	}
	free(rows);
}

int
status_next(const struct config *cfg, const struct next_options *opts)
{
	int64_t base = opts->base_us ? opts->base_us : proc_wall_us();
	const struct job *job = opts->job ? config_find_job(cfg, opts->job) : NULL;
	struct state *st = NULL;
	struct next_options o = *opts;
	char err[512];
	int rc;

	if (opts->job != NULL && job == NULL) {
		log_err("no job named '%s' (`caretaker list` shows the jobs)", opts->job);
		return EXIT_USAGE;
	}
	if (job == NULL) {
		next_table(cfg, base);
		return EXIT_OK;
	}
	if (job->sched == NULL) {
		log_err("%s has no schedule", job->name);
		return EXIT_USAGE;
	}
	/* The schedule is worth showing without the last run; the exit
	 * status still says something is wrong. */
	rc = state_load(cfg->settings.state_dir, &st, err, sizeof(err));
	if (rc != 0)
		log_err("%s", err);
	if (o.count == 0)
		o.count = 5;
	next_one_job(job, st, &o, base);
	state_free(st);
	return rc != 0 ? EXIT_JOB_FAILED : EXIT_OK;
}

/* ---- Prometheus -------------------------------------------------------- */

struct buf {
	char *data;
	size_t len;
};

static void
buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	b->data = xreallocarray(b->data, b->len + strlen(s) + 1, 1);
	memcpy(b->data + b->len, s, strlen(s) + 1);
	b->len += strlen(s);
	free(s);
}

/* Label values escape backslash, double quote and newline. */
static void
buf_label(struct buf *b, const char *value)
{
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_printf(b, "\\n");
		else
			buf_printf(b, "%c", *p);
	}
}

/* HELP text from a plugin (a unit): escaped like any text for a terminal,
 * then with the escape Prometheus' format needs for a backslash, so it can
 * neither forge a sample nor break the file. */
static void
buf_help(struct buf *b, const char *text)
{
	char *safe = utf8_escape(text, 0);

	for (const char *p = safe; *p; p++) {
		if (*p == '\\')
			buf_printf(b, "\\\\");
		else
			buf_printf(b, "%c", *p);
	}
	free(safe);
}

struct job_gauge {
	const char *name;
	const char *help;
	double (*value)(const struct state *st, const char *job, int *is_known);
};

static double
gauge_last_run(const struct state *st, const char *job, int *is_known)
{
	json_t *last = state_last_run(st, job);

	*is_known = last != NULL;
	return last ? (double)json_integer_value(json_object_get(last, "start_us")) / 1e6 : 0;
}

static double
gauge_last_success(const struct state *st, const char *job, int *is_known)
{
	int64_t us = state_last_success_us(st, job);

	*is_known = us != 0;
	return (double)us / 1e6;
}

static double
gauge_duration(const struct state *st, const char *job, int *is_known)
{
	json_t *last = state_last_run(st, job);

	*is_known = last != NULL;
	return last ? json_number_value(json_object_get(last, "duration_s")) : 0;
}

static double
gauge_status(const struct state *st, const char *job, int *is_known)
{
	json_t *last = state_last_run(st, job);

	*is_known = last != NULL;
	return last ? result_status_from_word(json_string_value(json_object_get(last, "status")))
		    : 0;
}

static const struct job_gauge job_gauges[] = {
	{"caretaker_job_last_run_timestamp_seconds", "Start of the job's newest run.",
	 gauge_last_run},
	{"caretaker_job_last_success_timestamp_seconds",
	 "Start of the job's newest run that ended ok or with a warning.", gauge_last_success},
	{"caretaker_job_duration_seconds", "Duration of the job's newest run.", gauge_duration},
	{"caretaker_job_status",
	 "Outcome of the job's newest run: 0 ok, 1 warn, 2 failed, 3 skipped.", gauge_status},
};

static void
prom_job_gauges(const struct config *cfg, const struct state *st, struct buf *b)
{
	for (size_t g = 0; g < sizeof(job_gauges) / sizeof(job_gauges[0]); g++) {
		buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", job_gauges[g].name,
			   job_gauges[g].help, job_gauges[g].name);
		for (size_t i = 0; i < cfg->n_jobs; i++) {
			int is_known = 0;
			double v = job_gauges[g].value(st, cfg->jobs[i]->name, &is_known);

			if (!is_known)
				continue;
			buf_printf(b, "%s{job=\"", job_gauges[g].name);
			buf_label(b, cfg->jobs[i]->name);
			buf_printf(b, "\"} %.17g\n", v);
		}
	}
}

/* Plugin metrics become caretaker_PLUGIN_NAME{job="..."}; all samples of one
 * family are written together under one HELP/TYPE. */
static void
prom_family(const struct config *cfg, const struct state *st, const char *plugin,
	    const char *metric, const char *unit, struct buf *b)
{
	buf_printf(b, "# HELP caretaker_%s_%s Metric '%s' (", plugin, metric, metric);
	buf_help(b, unit && unit[0] ? unit : "count");
	buf_printf(b, ") reported by plugin %s.\n", plugin);
	buf_printf(b, "# TYPE caretaker_%s_%s gauge\n", plugin, metric);
	for (size_t i = 0; i < cfg->n_jobs; i++) {
		json_t *last = state_last_run(st, cfg->jobs[i]->name), *m;
		size_t k;

		if (last == NULL || strcmp(result_json_str(last, "plugin"), plugin) != 0)
			continue;
		json_array_foreach(json_object_get(last, "metrics"), k, m) {
			if (strcmp(result_json_str(m, "name"), metric) != 0)
				continue;
			buf_printf(b, "caretaker_%s_%s{job=\"", plugin, metric);
			buf_label(b, cfg->jobs[i]->name);
			buf_printf(b, "\"} %.17g\n", json_number_value(json_object_get(m, "value")));
			break;
		}
	}
}

static int
prom_name_ok(const char *s)
{
	return s != NULL && s[0] != '\0' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(s);
}

static void
prom_plugin_metrics(const struct config *cfg, const struct state *st, struct buf *b)
{
	json_t *seen = json_object();

	for (size_t i = 0; i < cfg->n_jobs; i++) {
		json_t *last = state_last_run(st, cfg->jobs[i]->name), *m;
		const char *plugin = last ? json_string_value(json_object_get(last, "plugin")) : NULL;
		size_t k;

		if (!prom_name_ok(plugin))
			continue;
		json_array_foreach(json_object_get(last, "metrics"), k, m) {
			const char *name = json_string_value(json_object_get(m, "name"));
			char key[256];

			snprintf(key, sizeof(key), "%s_%s", plugin, name ? name : "");
			if (!prom_name_ok(name) || json_object_get(seen, key) != NULL)
				continue;
			json_object_set_new(seen, key, json_true());
			prom_family(cfg, st, plugin, name,
				    json_string_value(json_object_get(m, "unit")), b);
		}
	}
	json_decref(seen);
}

int
status_prometheus_text(const struct config *cfg, char **out, char *err, size_t err_size)
{
	struct state *st = NULL;
	struct buf b = {0};
	int rc = state_load(cfg->settings.state_dir, &st, err, err_size);

	if (rc != 0)
		return rc;
	buf_printf(&b, "%s", "");
	prom_job_gauges(cfg, st, &b);
	prom_plugin_metrics(cfg, st, &b);
	state_free(st);
	*out = b.data;
	return 0;
}

int
status_write_prometheus(const struct config *cfg, char *err, size_t err_size)
{
	/* The temporary name is hidden: the collector reads *.prom. */
	char *path = xasprintf("%s/caretaker.prom", cfg->settings.prometheus_dir);
	char *text = NULL;
	int rc = status_prometheus_text(cfg, &text, err, err_size);

	if (rc == 0) {
		rc = proc_write_file_atomic(path, text, strlen(text), 0644, 0);
		if (rc != 0)
			snprintf(err, err_size, "%s: %s", path, strerror(errno));
	}
	free(text);
	free(path);
	return rc;
}
