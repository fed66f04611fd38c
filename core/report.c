/*
 * report.c — rendering history records (see report.h).  The JSON form is
 * the records themselves, wrapped in {"format":1,"runs":[...]}; the text form
 * is a table, plus the details of the newest run when one job is asked for.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "fleet.h"
#include "history.h"
#include "log.h"
#include "report.h"
#include "result.h"
#include "exitcode.h"
#include "state.h"
#include "prometheus.h"
#include "utf8.h"

struct style {
	const char *ok, *warn, *fail, *dim, *off;
};

static const struct style style_tty = {"\033[32m", "\033[33m", "\033[31m", "\033[2m", "\033[0m"};
static const struct style style_plain = {"", "", "", "", ""};

static void
format_time(json_int_t us, char *buf, size_t size)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char *
status_colour(const struct style *st, const char *status)
{
	if (strcmp(status, "ok") == 0)
		return st->ok;
	if (strcmp(status, "warn") == 0 || strcmp(status, "skipped") == 0)
		return st->warn;
	return st->fail;
}

static void
print_run_line(const struct style *st, json_t *rec, int w)
{
	char when[32];
	const char *status = result_json_str(rec, "status");
	const char *reason = result_json_str(rec, "reason");
	const char *summary = result_json_str(rec, "summary");

	format_time(json_integer_value(json_object_get(rec, "start_us")), when, sizeof(when));
	printf("%s  %-*s %s%-8s%s %9.2fs  %s\n", when, w, result_json_str(rec, "job"),
	       status_colour(st, status), status, st->off,
	       json_number_value(json_object_get(rec, "duration_s")), reason[0] ? reason : summary);
}

static void
print_output(const struct style *st, json_t *output)
{
	const char *name;
	json_t *text;

	json_object_foreach(output, name, text)
	{
		const char *s = json_string_value(text);

		printf("\n%s%s:%s\n", st->dim, name, st->off);
		printf("%s%s", s ? s : "", s && s[0] && s[strlen(s) - 1] != '\n' ? "\n" : "");
	}
}

static void
print_details(const struct style *st, json_t *rec)
{
	size_t i;
	json_t *m, *f, *a;

	printf("\nnewest run of %s (%s):\n", result_json_str(rec, "job"),
	       result_json_str(rec, "plugin"));
	printf("  status:  %s\n", result_json_str(rec, "status"));
	/* A run that never started (a configuration error, a failed
	 * requirement) has a reason and nothing else to show. */
	if (result_json_str(rec, "reason")[0])
		printf("  reason:  %s\n", result_json_str(rec, "reason"));
	if (result_json_str(rec, "summary")[0])
		printf("  summary: %s\n", result_json_str(rec, "summary"));
	json_array_foreach(json_object_get(rec, "metrics"), i, m)
	    printf("  metric   %-32s %g %s\n", result_json_str(m, "name"),
	           json_number_value(json_object_get(m, "value")), result_json_str(m, "unit"));
	json_array_foreach(json_object_get(rec, "findings"), i, f)
	    printf("  %-8s %s%s%s\n", result_json_str(f, "severity"), result_json_str(f, "object"),
	           result_json_str(f, "object")[0] ? ": " : "", result_json_str(f, "message"));
	json_array_foreach(json_object_get(rec, "artifacts"), i, a)
	    printf("  artifact %s %s\n", result_json_str(a, "kind"), result_json_str(a, "path"));
	json_array_foreach(json_object_get(rec, "log"), i, m) printf(
	    "  log      %s: %s\n", result_json_str(m, "level"), result_json_str(m, "message"));
	print_output(st, json_object_get(rec, "output"));
}

/* Every string of a record escaped for the terminal (utf8_escape), in
 * place: a plugin's words, or another host's records with history =
 * database, can neither rewrite the terminal nor forge a line. */
static void
escape_strings(json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;
	char *safe;

	if (json_is_string(v)) {
		safe = utf8_escape(json_string_value(v), 0);
		json_string_set(v, safe);
		free(safe);
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, item) escape_strings(item);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item) escape_strings(item);
	}
}

/* Captured output keeps its lines and tabs; stream names are escaped too. */
static json_t *
escape_output(json_t *output)
{
	json_t *safe = json_object(), *text;
	const char *name;

	json_object_foreach(output, name, text)
	{
		char *safe_name = utf8_escape(name, 0);
		const char *s = json_string_value(text);
		char *safe_text = utf8_escape(s ? s : "", UTF8_ESCAPE_KEEP_LINES);

		json_object_set_new(safe, safe_name, json_string(safe_text));
		free(safe_name);
		free(safe_text);
	}
	return safe;
}

static void
escape_record(json_t *rec)
{
	json_t *output = json_object_get(rec, "output");
	json_t *safe_output = json_is_object(output) ? escape_output(output) : NULL;

	json_object_del(rec, "output");
	escape_strings(rec);
	if (safe_output != NULL)
		json_object_set_new(rec, "output", safe_output);
}

static void
report_text(json_t *runs, const struct report_options *opts, int w)
{
	const struct style *st = isatty(STDOUT_FILENO) ? &style_tty : &style_plain;
	size_t i, n = json_array_size(runs);
	json_t *rec;

	json_array_foreach(runs, i, rec) escape_record(rec);

	if (n == 0) {
		printf("no runs recorded%s%s\n", opts->job ? " for " : "",
		       opts->job ? opts->job : "");
		return;
	}
	printf("%-19s  %-*s %-8s %10s  %s\n", "STARTED", w, "JOB", "STATUS", "DURATION", "SUMMARY");
	json_array_foreach(runs, i, rec) print_run_line(st, rec, w);
	if (opts->job != NULL)
		print_details(st, json_array_get(runs, n - 1));
}

static int
report_prometheus(const struct config *cfg)
{
	char *text = NULL;
	char err[512];

	if (prometheus_text(cfg, &text, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return EXIT_JOB_FAILED;
	}
	fputs(text, stdout);
	free(text);
	return EXIT_OK;
}

/* The runs asked for: from the shared table with history = database
 * (falling back to this host's file when it cannot be read), else the file. */
static int
report_read_runs(const struct config *cfg, const struct history_query *q, json_t **runs)
{
	size_t n_damaged = 0;
	char err[512];

	if (cfg->settings.is_history_in_database) {
		if (fleet_history_read(cfg, q, runs, err, sizeof(err)) == 0)
			return 0;
		log_warn("history = database: %s; showing this host's history file", err);
		json_decref(*runs);
		*runs = NULL;
	}
	if (history_read(cfg->settings.state_dir, q, runs, &n_damaged, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return CT_EIO;
	}
	if (n_damaged > 0)
		log_warn("history: %zu damaged record(s) skipped (a crash while writing?)",
		         n_damaged);
	return 0;
}

/* A job's newest run that could not be written to history (state_dir was
 * full) is only in state.json: say so, or the runs shown would pass for
 * the newest. */
static void
report_warn_unrecorded(const struct config *cfg, const char *only_job)
{
	struct state *st = NULL;
	char err[512], when[32];

	if (state_load(cfg->settings.state_dir, &st, err, sizeof(err)) != 0)
		return; /* the history read says what is wrong with state_dir */
	for (size_t i = 0; i < cfg->n_jobs; i++) {
		const char *job = cfg->jobs[i]->name;
		const char *why = state_history_error(st, job);
		json_t *last = state_last_run(st, job);

		if (why == NULL || (only_job != NULL && strcmp(job, only_job) != 0))
			continue;
		format_time(json_integer_value(json_object_get(last, "start_us")), when,
		            sizeof(when));
		log_warn("%s: its newest run (%s, started %s) is not in history: %s", job,
		         result_json_str(last, "status"), when, why);
	}
	state_free(st);
}

int
report_show(const struct config *cfg, const struct report_options *opts)
{
	struct history_query q = {opts->job, opts->since_us, opts->max_runs};
	json_t *runs = NULL, *doc;

	if (opts->format == REPORT_PROMETHEUS)
		return report_prometheus(cfg);
	if (q.max == 0)
		q.max = opts->job ? 10 : 20;
	if (report_read_runs(cfg, &q, &runs) != 0) {
		json_decref(runs);
		return EXIT_JOB_FAILED;
	}
	report_warn_unrecorded(cfg, opts->job);
	if (opts->format == REPORT_JSON) {
		doc = json_pack("{s:i, s:O}", "format", 1, "runs", runs);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(doc);
	} else {
		report_text(runs, opts, config_name_width(cfg));
	}
	json_decref(runs);
	return EXIT_OK;
}
