/*
 * prometheus.c — the Prometheus text exposition of every job, from
 * state.json, for `report --format prometheus` and the textfile collector
 * (see prometheus.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "durable.h"
#include "prometheus.h"
#include "result.h"
#include "state.h"
#include "utf8.h"
#include "xmalloc.h"

struct buf {
	char *data;
	size_t len;
};

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
    {"caretaker_job_last_run_timestamp_seconds", "Start of the job's newest run.", gauge_last_run},
    {"caretaker_job_last_success_timestamp_seconds",
     "Start of the job's newest run that ended ok or with a warning.", gauge_last_success},
    {"caretaker_job_duration_seconds", "Duration of the job's newest run.", gauge_duration},
    {"caretaker_job_status", "Outcome of the job's newest run: 0 ok, 1 warn, 2 failed, 3 skipped.",
     gauge_status},
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
		json_array_foreach(json_object_get(last, "metrics"), k, m)
		{
			if (strcmp(result_json_str(m, "name"), metric) != 0)
				continue;
			buf_printf(b, "caretaker_%s_%s{job=\"", plugin, metric);
			buf_label(b, cfg->jobs[i]->name);
			buf_printf(b, "\"} %.17g\n",
			           json_number_value(json_object_get(m, "value")));
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
		const char *plugin =
		    last ? json_string_value(json_object_get(last, "plugin")) : NULL;
		size_t k;

		if (!prom_name_ok(plugin))
			continue;
		json_array_foreach(json_object_get(last, "metrics"), k, m)
		{
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
prometheus_text(const struct config *cfg, char **out, char *err, size_t err_size)
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
prometheus_write(const struct config *cfg, char *err, size_t err_size)
{
	/* The temporary name is hidden: the collector reads *.prom. */
	char *path = xasprintf("%s/caretaker.prom", cfg->settings.prometheus_dir);
	char *text = NULL;
	int rc = prometheus_text(cfg, &text, err, err_size);

	if (rc == 0) {
		rc = durable_replace(path, text, strlen(text), 0644, DURABLE_SYNC_FILE, NULL, 0);
		if (rc != 0)
			snprintf(err, err_size, "%s: %s", path, strerror(errno));
	}
	free(text);
	free(path);
	return rc;
}
