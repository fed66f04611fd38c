/*
 * chain.c — the runs of one caretaker run, and the cause an on_failure job
 * is handed (see chain.h).
 *
 * Everything is copied into the log's arena: the run results it is built
 * from are freed as soon as they are recorded.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "chain.h"
#include "config.h"
#include "result.h"
#include "task.h"
#include "xmalloc.h"

struct chain_run {
	const struct job *job;
	int status;
	const char *summary;
	struct task_artifact *artifacts;
	size_t n_artifacts;
};

struct chain_log {
	struct arena *arena;
	struct chain_run *runs; /* in the order they ended */
	size_t n_runs;
};

struct chain_log *
chain_log_new(void)
{
	struct chain_log *log = xcalloc(1, sizeof(*log));

	log->arena = arena_new();
	return log;
}

void
chain_log_free(struct chain_log *log)
{
	if (log == NULL)
		return;
	free(log->runs);
	arena_free(log->arena);
	free(log);
}

/* The words that say how the run ended: the host's reason first. */
static const char *
run_words(const struct run_result *r)
{
	if (r->reason != NULL)
		return r->reason;
	return r->summary != NULL ? r->summary : "";
}

void
chain_log_add(struct chain_log *log, const struct job *job, const struct run_result *r)
{
	struct chain_run *run;

	log->runs = xreallocarray(log->runs, log->n_runs + 1, sizeof(*log->runs));
	run = &log->runs[log->n_runs++];
	run->job = job;
	run->status = r->status;
	run->summary = arena_strdup(log->arena, run_words(r));
	run->n_artifacts = r->n_artifacts;
	run->artifacts = arena_alloc(log->arena, (r->n_artifacts + 1) * sizeof(*run->artifacts));
	for (size_t i = 0; i < r->n_artifacts; i++) {
		run->artifacts[i].job = job->name;
		run->artifacts[i].kind = arena_strdup(log->arena, r->artifacts[i].kind);
		run->artifacts[i].path = arena_strdup(log->arena, r->artifacts[i].path);
	}
}

/* Mark `job` and everything it requires, directly or not. */
static void
chain_mark(const struct config *cfg, const struct job *job, char *is_in_chain)
{
	if (is_in_chain[job->index])
		return;
	is_in_chain[job->index] = 1;
	for (size_t i = 0; i < job->n_requires; i++) {
		const struct job *dep = config_find_job(cfg, job->requires[i]);

		if (dep != NULL)
			chain_mark(cfg, dep, is_in_chain);
	}
}

/* The artifacts of the marked jobs' runs, in run order. */
static void
chain_collect(struct chain_log *log, const char *is_in_chain, struct task_cause *cause)
{
	struct task_artifact *all;
	size_t n = 0;

	for (size_t i = 0; i < log->n_runs; i++)
		if (is_in_chain[log->runs[i].job->index])
			n += log->runs[i].n_artifacts;
	all = arena_alloc(log->arena, (n + 1) * sizeof(*all));
	n = 0;
	for (size_t i = 0; i < log->n_runs; i++) {
		if (!is_in_chain[log->runs[i].job->index])
			continue;
		memcpy(all + n, log->runs[i].artifacts, log->runs[i].n_artifacts * sizeof(*all));
		n += log->runs[i].n_artifacts;
	}
	cause->artifacts = all;
	cause->n_artifacts = n;
}

const struct task_cause *
chain_log_cause(struct chain_log *log, const struct config *cfg, const struct job *failed)
{
	const struct chain_run *last = NULL;
	struct task_cause *cause;
	char *is_in_chain;

	for (size_t i = 0; i < log->n_runs; i++)
		if (log->runs[i].job == failed)
			last = &log->runs[i];
	if (last == NULL)
		return NULL;
	cause = arena_alloc(log->arena, sizeof(*cause));
	cause->job = failed->name;
	cause->status = last->status;
	cause->summary = last->summary;
	is_in_chain = xcalloc(cfg->n_jobs + 1, 1);
	chain_mark(cfg, failed, is_in_chain);
	chain_collect(log, is_in_chain, cause);
	free(is_in_chain);
	return cause;
}
