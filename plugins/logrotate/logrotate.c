/*
 * logrotate — rotation of log files, crash-safe: `files` globs rotated on
 * the job's schedule (size, minsize, maxsize), renamed and recreated or
 * copied and truncated, numbered or dated, in place or in olddir, older
 * copies compressed in parallel (gzip or zstd) and removed past `rotate`
 * or `maxage`, with prerotate/postrotate commands once a run.
 *
 * This file owns the run: the order of the steps, the list of files, the
 * report.  The steps are in logrotate_*.c (see logrotate.h).
 */
#include <fnmatch.h>
#include <glob.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logrotate.h"

struct lr_paths {
	char **items;
	size_t n;
};

void
lr_note(struct lr_run *run, const char *fmt, ...)
{
	char line[PATH_MAX * 2 + 256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	run->host.ct->log(run->host.t, CT_LOG_INFO, "%s", line);
	line[n] = '\n';
	plugin_host_list_add(run->notes, line, (size_t)n + 1);
}

void
lr_file_failed(struct lr_run *run, const char *path, const char *fmt, ...)
{
	char msg[PATH_MAX * 2 + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	run->totals.files_failed++;
	run->host.ct->add_finding(run->host.t, CT_SEV_ERROR, path, "logrotate: %s", msg);
	run->host.ct->log(run->host.t, CT_LOG_ERR, "%s", msg);
}

#ifdef LOGROTATE_FAULTS
/* The N-th fault point ends the process as kill -9 would. */
void
lr_fault_point(struct lr_run *run, const char *step)
{
	const char *at = getenv("CARETAKER_LOGROTATE_KILL_AT");

	run->fault_step++;
	if (at != NULL && strtol(at, NULL, 10) == run->fault_step) {
		run->host.ct->log(run->host.t, CT_LOG_NOTICE, "fault point %d (%s): SIGKILL",
		                  run->fault_step, step);
		raise(SIGKILL);
	}
}
#endif

/* ---- the list of files ---- */

static int
paths_add(struct lr_paths *p, const char *path)
{
	char **grown = realloc(p->items, (p->n + 1) * sizeof(*grown));

	if (grown == NULL)
		return CT_ENOMEM;
	p->items = grown;
	p->items[p->n] = strdup(path);
	if (p->items[p->n] == NULL)
		return CT_ENOMEM;
	p->n++;
	return 0;
}

static int
paths_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
paths_sort_unique(struct lr_paths *p)
{
	size_t kept = 0;

	if (p->n > 1)
		qsort(p->items, p->n, sizeof(p->items[0]), paths_cmp);
	for (size_t i = 0; i < p->n; i++) {
		if (kept > 0 && strcmp(p->items[kept - 1], p->items[i]) == 0) {
			free(p->items[i]);
			continue;
		}
		p->items[kept++] = p->items[i];
	}
	p->n = kept;
}

/* Non-zero when a journaled rotation is of a file `pattern` matches: a log
 * renamed by a killed run, not yet recreated, matches no glob but is no
 * missing file. */
static int
paths_journal_matches(const struct lr_run *run, const char *pattern)
{
	for (size_t i = 0; i < run->journal.n; i++)
		if (fnmatch(pattern, run->journal.entries[i].path, FNM_PATHNAME) == 0)
			return 1;
	return 0;
}

/* One `files` item: its matches, or the path itself when it has no glob
 * characters (so that a missing file is reported unless missingok). */
static int
paths_expand(struct lr_run *run, const char *pattern, struct lr_paths *p)
{
	glob_t g = {0};
	int rc = 0, grc = glob(pattern, GLOB_NOSORT, NULL, &g);

	if (grc == 0)
		for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
			rc = paths_add(p, g.gl_pathv[i]);
	else if (strpbrk(pattern, "*?[") == NULL)
		rc = paths_add(p, pattern);
	else if (!run->cfg.is_missingok && !paths_journal_matches(run, pattern))
		lr_file_failed(run, pattern, "%s matches no file", pattern);
	globfree(&g);
	return rc;
}

/* The globs' files and those of journaled rotations (a log a killed run
 * had renamed and not yet recreated matches no glob). */
static int
paths_collect(struct lr_run *run, struct lr_paths *p)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < run->cfg.n_files; i++)
		rc = paths_expand(run, run->cfg.files[i], p);
	for (size_t i = 0; rc == 0 && i < run->journal.n; i++)
		rc = paths_add(p, run->journal.entries[i].path);
	paths_sort_unique(p);
	return rc;
}

static void
paths_free(struct lr_paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->items[i]);
	free(p->items);
}

/* ---- the steps in order ---- */

/* postrotate once, then the journal forgets the finished rotations
 * (a kill before this point runs postrotate in the next run). */
static void
run_postrotate(struct lr_run *run)
{
	char err[512];

	if (run->is_dry_run || !run->needs_postrotate)
		return;
	if (run->cfg.postrotate != NULL) {
		run->host.err[0] = '\0';
		if (lr_script_run(run, "postrotate", run->cfg.postrotate) != 0)
			lr_file_failed(run, run->cfg.postrotate[0], "%s", run->host.err);
	}
	lr_fault_point(run, "postrotate");
	for (size_t i = run->journal.n; i > 0; i--) {
		const struct lr_entry *e = &run->journal.entries[i - 1];

		if (e->stage == LR_STAGE_DONE &&
		    lr_journal_drop(&run->journal, e->path, err, sizeof(err)) != 0 &&
		    !run->is_journal_unwritable)
			lr_file_failed(run, run->journal.path, "%s", err);
	}
}

static int
logrotate_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct lr_run *run = state;
	struct lr_paths paths = {0};
	int rc;

	rc = plugin_host_list_begin(&run->host, run->is_dry_run ? "plan" : "actions", "action(s)",
	                            &run->notes);
	if (rc != 0)
		return rc;
	lr_journal_load(run, ct->state_dir(t));
	rc = paths_collect(run, &paths);
	run->totals.files_seen = paths.n;
	for (size_t i = 0; rc == 0 && i < paths.n && !plugin_host_should_stop(&run->host); i++) {
		ct->progress(t, (double)i / (double)(2 * paths.n), "rotating");
		lr_rotate_file(run, paths.items[i]);
	}
	run_postrotate(run);
	for (size_t i = 0; rc == 0 && i < paths.n && !plugin_host_should_stop(&run->host); i++) {
		ct->progress(t, 0.5 + (double)i / (double)(2 * paths.n), "compressing");
		lr_finish_file(run, paths.items[i]);
	}
	paths_free(&paths);
	plugin_host_list_end(&run->notes);
	if (rc == 0 && plugin_host_should_stop(&run->host))
		rc = CT_ECANCELED;
	return rc;
}

/* ---- entry points ---- */

static int
logrotate_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct lr_run *run = plugin_host_state_new(t, ct, sizeof(*run), state);

	if (run == NULL)
		return CT_ENOMEM;
	run->is_dry_run = ct->is_dry_run(t);
	run->now = time(NULL);
	return plugin_host_init_end(&run->host, lr_config_read(run));
}

static void
report_metrics(struct lr_run *run)
{
	const struct ct_services *ct = run->host.ct;
	const struct lr_totals *s = &run->totals;
	struct ct_task *t = run->host.t;

	ct->add_metric(t, "files_seen", (double)s->files_seen, "");
	ct->add_metric(t, "files_rotated", (double)s->files_rotated, "");
	ct->add_metric(t, "files_compressed", (double)s->files_compressed, "");
	ct->add_metric(t, "bytes_before_compression", (double)s->bytes_before, "bytes");
	ct->add_metric(t, "bytes_after_compression", (double)s->bytes_after, "bytes");
	if (s->bytes_after > 0)
		ct->add_metric(t, "compression_ratio",
		               (double)s->bytes_before / (double)s->bytes_after, "ratio");
	ct->add_metric(t, "files_removed", (double)s->files_removed, "");
	ct->add_metric(t, "bytes_removed", (double)s->bytes_removed, "bytes");
	ct->add_metric(t, "files_failed", (double)s->files_failed, "");
}

static int
logrotate_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct lr_run *run = state;
	const struct lr_totals *s = &run->totals;
	double ratio = s->bytes_after > 0 ? (double)s->bytes_before / (double)s->bytes_after : 0;

	report_metrics(run);
	if (run->is_dry_run) {
		ct->set_status(t, CT_STATUS_OK,
		               "dry run: %zu file(s) checked; the plan is in the report",
		               s->files_seen);
		return CT_OK;
	}
	ct->set_status(t,
	               s->files_failed > 0        ? CT_STATUS_FAIL
	               : run->host.n_warnings > 0 ? CT_STATUS_WARN
	                                          : CT_STATUS_OK,
	               "rotated %zu of %zu file(s), compressed %zu (%llu -> %llu bytes, %.1fx), "
	               "removed %zu, %zu failed",
	               s->files_rotated, s->files_seen, s->files_compressed,
	               (unsigned long long)s->bytes_before, (unsigned long long)s->bytes_after,
	               ratio, s->files_removed, s->files_failed);
	return CT_OK;
}

static void
logrotate_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct lr_run *run = state;

	(void)t;
	(void)ct;
	if (run == NULL)
		return;
	lr_config_free(&run->cfg);
	lr_journal_free(&run->journal);
	free(run);
}

CT_PLUGIN_DEFINE(
        .name = "logrotate", .version = "1.0",
        .summary =
            "rotates log files crash-safely: rename+create or copytruncate, compress, retain",
        .help = "Rotates the files of `files` on the job's schedule (no daily/weekly inside: the "
                "job's schedule is the interval; size, minsize and maxsize narrow it). The log is "
                "renamed to log.1 (older copies shift: log.2, ...; or log-DATE with dateext; in "
                "olddir if set) and recreated with `create`, or copied and truncated with "
                "copytruncate. postrotate runs once after the run's rotations (argv, no shell; "
                "prerotate once before), then rotated copies are compressed in parallel (gzip "
                "or zstd; delaycompress keeps log.1 as it is) and copies past `rotate` or "
                "`maxage` are removed. Every step is journaled in the job's state folder first: "
                "a run killed at any point loses no line and the next run completes the rotation. "
                "A failure is the failing file's finding; the other files are still rotated. "
                "`caretaker run --dry-run` lists what would be rotated, compressed and removed, "
                "and why. caretaker import-logrotate FILE turns a logrotate(8) file into jobs "
                "(docs/logrotate.md).",
        .flags = CT_PLUGIN_DRY_RUN, .options = lr_options, .init = logrotate_init,
        .run = logrotate_run, .report = logrotate_report, .fini = logrotate_fini);
