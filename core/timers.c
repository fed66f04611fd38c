/*
 * timers.c — `caretaker timers` (see timers.h and docs/timers.md).
 *
 * Three steps, one file each, sharing timers_int.h: plan (timers_plan.c:
 * which unit pairs, and what a run of each may do), render
 * (timers_render.c: the unit text, every value escaped for systemd's
 * parser), apply (timers_apply.c: compare with the output folder, write
 * atomically, list or prune stale units).  This file drives them.
 * Together they own the unit text and the files put in the output folder.
 * They do not translate schedules (schedule.c gives OnCalendar= text), run
 * anything (the TimeoutStartSec= bound follows runner.c's behaviour) or
 * talk to systemd: they never call systemctl.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "durable.h"
#include "exitcode.h"
#include "inspect.h"
#include "loader.h"
#include "proc.h"
#include "timers.h"
#include "timers_int.h"
#include "xmalloc.h"

/* ---- the command ------------------------------------------------------------- */

static int
timers_check(struct timers *t)
{
	for (size_t i = 0; i < t->n_units; i++)
		timers_check_one(t, &t->units[i]);
	timers_stale_sweep(t);
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
		fprintf(stderr,
		        "caretaker: %zu stale units (%s) stay in place\n  hint: caretaker "
		        "timers --prune removes them\n",
		        t->n_stale - t->n_removed,
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
		timers_install_one(t, &t->units[i]);
	timers_stale_sweep(t);
	if (t->n_written + t->n_removed > 0 && durable_fsync_dir(t->dir, NULL, 0) != 0) {
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
		fprintf(stderr,
		        "caretaker: error: cannot find this program's path in "
		        "/proc/self/exe: %s\n  hint: name it with --exec PATH\n",
		        n < 0 ? strerror(errno) : "too long");
		return NULL;
	}
	buf[n] = '\0';
	if (timers_has_suffix(buf, deleted))
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
	timers_render_all(&t);
	rc = opts->is_check ? timers_check(&t) : timers_install(&t);
out:
	timers_fini(&t);
	plugin_list_clear(&list);
	arena_free(a);
	return rc;
}
