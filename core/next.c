/*
 * next.c — `caretaker next` (see next.h): upcoming elapses of one job or of
 * every scheduled job, from the parsed schedules and state.json.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "proc.h"
#include "exitcode.h"
#include "schedule.h"
#include "state.h"
#include "next.h"
#include "timefmt.h"
#include "xmalloc.h"

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
	timefmt_local(last_us, local, sizeof(local));
	timefmt_span(base - last_us, span, sizeof(span));
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
		timefmt_local(t, local, sizeof(local));
		timefmt_utc(t, utc, sizeof(utc));
		timefmt_span(t - base, span, sizeof(span));
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
		timefmt_local(rows[i].at, local, sizeof(local));
		timefmt_utc(rows[i].at, utc, sizeof(utc));
		timefmt_span(rows[i].at - base, span, sizeof(span));
		printf("%-27s %-23s %-12s %s\n", local, utc, span, rows[i].job->name);
	}
	free(rows);
}

int
next_show(const struct config *cfg, const struct next_options *opts)
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
