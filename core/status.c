/*
 * status.c — `caretaker status` (see status.h): one line per job from
 * state.json (one small file) and the parsed schedules, so it stays fast
 * with thousands of jobs and a long history; then the runs in progress.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "config.h"
#include "log.h"
#include "progress.h"
#include "result.h"
#include "exitcode.h"
#include "schedule.h"
#include "state.h"
#include "status.h"
#include "timefmt.h"
#include "utf8.h"
#include "xmalloc.h"

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
	int status =
	    last ? result_status_from_word(json_string_value(json_object_get(last, "status"))) : -1;
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
status_line(const struct config *cfg, const struct job *job, const struct state *st, int64_t now_us,
            const char *word, size_t name_width)
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
	timefmt_local(last_us, when, sizeof(when));
	if (last_us != 0)
		timefmt_span(now_us - last_us, ago, sizeof(ago));
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
