/*
 * fuzz_config.c — the INI reader and option validation (core/config.c,
 * core/options.c, core/diag.c).
 *
 * The input is written as caretaker.ini in a folder of its own; every
 * "#%conf.d" line in it starts the next drop-in instead (conf.d/1.ini,
 * 2.ini...), so sections can meet across files as they do in
 * /etc/caretaker.  The files are 0644, so the password checks run.  After
 * config_load(), every job that names a plugin is bound to the option table
 * of a plugin with one option of each type (plugin "bare" declares none,
 * plugin "missing" gets the loader's refusal), the `requires` graph is
 * checked, and every diagnostic is printed (to /dev/null; FUZZ_VERBOSE=1:
 * to stderr).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "loader.h"
#include "schedule.h"

#define FUZZ_DROPIN_MARK "#%conf.d\n"
#define FUZZ_MAX_DROPINS 3

/* One option of every type, with and without defaults and bounds. */
static struct ct_option fuzz_options[] = {
    {"text", CT_OPT_STRING, 0, NULL, NULL, 0, 0, "any text"},
    {"count", CT_OPT_INT, 0, "3", NULL, 1, 100, "1 to 100"},
    {"offset", CT_OPT_INT, 0, NULL, NULL, 0, 0, "unbounded"},
    {"flag", CT_OPT_BOOL, 0, "no", NULL, 0, 0, "a boolean"},
    {"every", CT_OPT_DURATION, 0, "1h", NULL, 0, 0, "a duration"},
    {"limit", CT_OPT_SIZE, 0, "64K", NULL, 0, 0, "a size"},
    {"names", CT_OPT_LIST, 0, "a, b", NULL, 0, 0, "a list"},
    {"mode", CT_OPT_ENUM, 0, "fast", "fast|slow|none", 0, 0, "an enum"},
    {"dest", CT_OPT_PATH, 0, "backups", NULL, 0, 0, "a path"},
    {"paths", CT_OPT_PATH_LIST, 0, NULL, NULL, 0, 0, "paths"},
    {"secret", CT_OPT_STRING, CT_OPTF_REQUIRED | CT_OPTF_SECRET, NULL, NULL, 0, 0,
     "required and secret"},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

static const struct plugin_info fuzz_plugin = {
    .name = "fuzz",
    .path = "/nowhere/fuzz.so",
    .version = "1.0",
    .summary = "one option of each type",
    .options = fuzz_options,
};

/* A plugin that declares no options at all. */
static const struct plugin_info fuzz_bare_plugin = {
    .name = "bare",
    .path = "/nowhere/bare.so",
    .version = "1.0",
    .summary = "no options",
};

static char fuzz_main_path[4200];
static char fuzz_confd[4200];
static FILE *fuzz_diag_out;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(fuzz_main_path, sizeof(fuzz_main_path), "%s/caretaker.ini", fuzz_tmpdir());
	snprintf(fuzz_confd, sizeof(fuzz_confd), "%s/conf.d", fuzz_tmpdir());
	if (mkdir(fuzz_confd, 0755) != 0)
		abort();
	/* FUZZ_VERBOSE=1 shows what `caretaker check` would say of an input. */
	fuzz_diag_out = getenv("FUZZ_VERBOSE") ? stderr : fopen("/dev/null", "w");
	if (fuzz_diag_out == NULL)
		abort();
	setenv("TZ", "UTC", 1);
	return 0;
}

static void
dropin_path(char *buf, size_t size, int i)
{
	snprintf(buf, size, "%s/%d.ini", fuzz_confd, i);
}

/* Split the input at the drop-in marks and write the files. */
static void
write_files(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char path[4300];
	int i;

	for (i = 0; i <= FUZZ_MAX_DROPINS; i++) {
		const char *mark =
		    i < FUZZ_MAX_DROPINS
		        ? memmem(p, (size_t)(end - p), FUZZ_DROPIN_MARK, strlen(FUZZ_DROPIN_MARK))
		        : NULL;
		const char *stop = mark ? mark : end;

		if (i == 0)
			snprintf(path, sizeof(path), "%s", fuzz_main_path);
		else
			dropin_path(path, sizeof(path), i);
		fuzz_write_file(path, p, (size_t)(stop - p), 0644);
		if (mark == NULL)
			break;
		p = mark + strlen(FUZZ_DROPIN_MARK);
	}
	for (i++; i <= FUZZ_MAX_DROPINS; i++) {
		dropin_path(path, sizeof(path), i);
		unlink(path);
	}
}

static void
bind_jobs(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_jobs; i++) {
		struct job *job = cfg->jobs[i];

		if (strcmp(job->plugin, "missing") == 0)
			config_bind_plugin(cfg, job, NULL, "no missing.so in the plugin path");
		else if (strcmp(job->plugin, "bare") == 0)
			config_bind_plugin(cfg, job, &fuzz_bare_plugin, NULL);
		else if (job->plugin[0] != '\0')
			config_bind_plugin(cfg, job, &fuzz_plugin, NULL);
	}
	config_check_graph(cfg);
}

static void
use_config(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_jobs; i++) {
		const struct job *job = cfg->jobs[i];

		config_find_job(cfg, job->name);
		config_job_has_error(cfg, job);
		if (job->sched != NULL)
			schedule_to_oncalendar(job->sched);
	}
	config_name_width(cfg);
	for (size_t i = 0; i < cfg->diags.n; i++)
		free(diag_format(&cfg->diags.items[i]));
	diag_print(&cfg->diags, fuzz_diag_out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;

	write_files(data, size);
	config_load(fuzz_main_path, &cfg);
	bind_jobs(cfg);
	use_config(cfg);
	config_free(cfg);
	return 0;
}
