/*
 * timers_plan.c — `caretaker timers`, step one: which unit pairs to write and what a run of each
 * may do (see timers_int.h).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "loader.h"
#include "schedule.h"
#include "timers_int.h"
#include "xmalloc.h"

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

int64_t
timers_add_saturating(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static void
scope_add_job(struct run_scope *s, const struct settings *set, const struct job *job, int is_first)
{
	uint32_t flags = job->plugin_info != NULL ? job->plugin_info->flags : 0;
	int64_t cost = timers_add_saturating(job->timeout_ms, set->kill_grace_ms);

	s->start_bound_ms = timers_add_saturating(s->start_bound_ms, cost);
	s->start_bound_ms = timers_add_saturating(s->start_bound_ms, TIMERS_RUN_MARGIN_MS);
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

int
timers_job_has_timer(const struct job *job)
{
	return job->is_enabled && job->sched != NULL;
}

void
timers_plan_for_job(const struct config *cfg, const struct job *job, struct plan *p)
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
void
timers_plan_for_due(const struct config *cfg, struct plan *p)
{
	char *is_in = xcalloc(cfg->n_jobs + 1, 1);

	memset(p, 0, sizeof(*p));
	p->unit = xstrdup(TIMERS_DUE_UNIT);
	p->description = xstrdup("caretaker: run the jobs that are due");
	p->calendar = TIMERS_DUE_CALENDAR;
	p->run_arg = "--due";
	for (size_t i = 0; i < cfg->n_jobs; i++)
		if (timers_job_has_timer(cfg->jobs[i]))
			scope_mark(cfg, cfg->jobs[i], is_in);
	scope_collect(cfg, is_in, &p->scope);
	free(is_in);
}

void
timers_plan_clear(struct plan *p)
{
	free(p->unit);
	free(p->description);
}
