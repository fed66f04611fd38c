/*
 * logrotate_options.c — the plugin's option table and its reading into
 * struct lr_config: `create = MODE USER GROUP` looked up in the user and
 * group databases, the commands split into argv (plugins/lib/argv.h: shell
 * quoting, never a shell).
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "logrotate.h"

const struct ct_option lr_options[] = {
    {.key = "files",
     .type = CT_OPT_PATH_LIST,
     .flags = CT_OPTF_REQUIRED,
     .help = "log files to rotate: paths or globs (/var/log/app/*.log); relative ones "
             "resolve against the configuration file"},
    {.key = "rotate",
     .type = CT_OPT_INT,
     .default_value = "4",
     .min_value = 1,
     .max_value = 100000,
     .help = "rotated copies kept (log.1 ... log.N); older ones are removed"},
    {.key = "size",
     .type = CT_OPT_SIZE,
     .help = "rotate only files of at least this size (logrotate's size)"},
    {.key = "minsize",
     .type = CT_OPT_SIZE,
     .help = "rotate on the job's schedule only files of at least this size"},
    {.key = "maxsize",
     .type = CT_OPT_SIZE,
     .help = "rotate files bigger than this on every run, even when size or minsize say no"},
    {.key = "maxage",
     .type = CT_OPT_DURATION,
     .help = "remove rotated copies older than this (by modification time)"},
    {.key = "compress",
     .type = CT_OPT_ENUM,
     .default_value = "none",
     .choices = "none|gzip|zstd",
     .help =
         "compress rotated copies (parallel; gzip output reads with gunzip, zstd with zstd -d)"},
    {.key = "compress_level",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 19,
     .help = "compression level (gzip 1..12, zstd 1..19; 0: gzip 5, zstd 1, measured on "
             "application logs: gzip 5 is 0.98 times gzip -6's size at a third of its CPU)"},
    {.key = "compress_threads",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 64,
     .help = "compression threads (0: one per CPU)"},
    {.key = "delaycompress",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "leave the newest rotated copy (log.1) uncompressed until the next rotation"},
    {.key = "notifempty",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "do not rotate an empty file"},
    {.key = "missingok",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "a missing file or a glob that matches nothing is no finding"},
    {.key = "create",
     .type = CT_OPT_STRING,
     .help = "create the new log after the rename: MODE [USER [GROUP]] (0640 www-data "
             "www-data), or `same` for the old file's; unset: no new file (the application "
             "creates it)"},
    {.key = "copytruncate",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "copy the log and truncate it instead of renaming it (for applications that "
             "cannot reopen; lines written during the copy's last microseconds can be lost)"},
    {.key = "dateext",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "name rotated copies by date (log-20260131) instead of by number"},
    {.key = "dateformat",
     .type = CT_OPT_STRING,
     .default_value = "-%Y%m%d",
     .help = "strftime(3) format of dateext's suffix (%Y %m %d %H %M %S %s; sorts by name)"},
    {.key = "olddir",
     .type = CT_OPT_STRING,
     .help = "folder for rotated copies, on the log's file system; a relative one is "
             "relative to the log's folder (default: beside the log)"},
    {.key = "prerotate",
     .type = CT_OPT_STRING,
     .help = "command run once before the first rotation of a run (argv, no shell)"},
    {.key = "postrotate",
     .type = CT_OPT_STRING,
     .help = "command run once after the rotations of a run, before compression "
             "(argv, no shell: systemctl reload gunicorn)"},
    {.key = NULL},
};

/*
 * gzip's level for logs, measured with tests/bench/logrotate-bench.sh on
 * 500 MB of gunicorn/Django log (libdeflate levels, size against
 * logrotate's gzip -6): 2 -> 1.115, 4 -> 1.059, 5 -> 0.982, 6 -> 0.943.
 * Level 5 is the cheapest within 1.05 of gzip -6's size (2.6 CPU seconds
 * for the 500 MB, where gzip -6 takes about 9).  The compressor's own
 * default (level 2) is tuned for pg_dump's SQL, which compresses better.
 */
#define LR_GZIP_LEVEL_DEFAULT 5

/* create's USER and GROUP (either may be ""), looked up now so that a
 * typo fails the job before any file is touched. */
static int
config_create_owner(struct lr_run *run, const char *user, const char *group)
{
	struct lr_config *cfg = &run->cfg;

	cfg->create_uid = (uid_t)-1;
	cfg->create_gid = (gid_t)-1;
	if (user[0] != '\0') {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL)
			return plugin_host_fail(&run->host, CT_EINVAL, "create: no user '%s'",
			                        user);
		cfg->create_uid = pw->pw_uid;
	}
	if (group[0] != '\0') {
		struct group *gr = getgrnam(group);

		if (gr == NULL)
			return plugin_host_fail(&run->host, CT_EINVAL, "create: no group '%s'",
			                        group);
		cfg->create_gid = gr->gr_gid;
	}
	return 0;
}

/* "0640 www-data www-data" (user and group may be left out), or "same"
 * for the old file's mode and owner. */
static int
config_create_parse(struct lr_run *run, const char *value)
{
	struct lr_config *cfg = &run->cfg;
	char mode[32] = "", user[256] = "", group[256] = "";
	char *end;
	int n = sscanf(value, "%31s %255s %255s", mode, user, group);
	long m = strtol(mode, &end, 8);

	cfg->has_create = 1;
	if (strcmp(value, "same") == 0) {
		cfg->create_mode = (mode_t)-1;
		return config_create_owner(run, "", "");
	}
	if (n < 1 || *end != '\0' || m < 0 || m > 07777)
		return plugin_host_fail(&run->host, CT_EINVAL,
		                        "create: '%s' is not MODE [USER [GROUP]]\n"
		                        "hint: create = 0640 www-data www-data",
		                        value);
	cfg->create_mode = (mode_t)m;
	return config_create_owner(run, user, group);
}

static int
config_command(struct lr_run *run, const char *key, char ***argv)
{
	const char *line = plugin_host_opt_str(&run->host, key);
	char err[256];
	size_t argc = 0;
	int rc;

	if (line == NULL || line[0] == '\0')
		return 0;
	rc = argv_split(line, argv, &argc, err, sizeof(err));
	if (rc != 0)
		return plugin_host_fail(&run->host, rc, "%s: %s", key, err);
	return 0;
}

static uint64_t
config_size(struct lr_run *run, const char *key)
{
	uint64_t v = 0;

	if (run->host.ct->opt_size_bytes(run->host.t, key, &v) != CT_OK)
		return 0;
	return v;
}

static int
config_compression(struct lr_run *run)
{
	struct lr_config *cfg = &run->cfg;
	const char *kind = plugin_host_opt_str(&run->host, "compress");
	char err[256];

	if (compress_kind_parse(kind != NULL ? kind : "none", &cfg->kind, err, sizeof(err)) != 0)
		return plugin_host_fail(&run->host, CT_EINVAL, "compress: %s", err);
	cfg->level = (int)plugin_host_opt_int(&run->host, "compress_level", 0);
	if (cfg->level == 0 && cfg->kind == COMPRESS_GZIP)
		cfg->level = LR_GZIP_LEVEL_DEFAULT;
	cfg->n_threads = (int)plugin_host_opt_int(&run->host, "compress_threads", 0);
	if (cfg->kind == COMPRESS_GZIP && cfg->level > 12)
		return plugin_host_fail(&run->host, CT_EINVAL,
		                        "compress_level: gzip takes 1..12, not %d", cfg->level);
	return 0;
}

static int
config_bool(struct lr_run *run, const char *key)
{
	int v = 0;

	run->host.ct->opt_bool(run->host.t, key, &v);
	return v;
}

int
lr_config_read(struct lr_run *run)
{
	struct lr_config *cfg = &run->cfg;
	const char *create = plugin_host_opt_str(&run->host, "create");
	int rc;

	plugin_host_opt_list(&run->host, "files", &cfg->files, &cfg->n_files);
	cfg->rotate = plugin_host_opt_int(&run->host, "rotate", 4);
	cfg->size_bytes = config_size(run, "size");
	cfg->minsize_bytes = config_size(run, "minsize");
	cfg->maxsize_bytes = config_size(run, "maxsize");
	cfg->maxage_ms = plugin_host_opt_ms(&run->host, "maxage", 0);
	cfg->is_delaying = config_bool(run, "delaycompress");
	cfg->is_notifempty = config_bool(run, "notifempty");
	cfg->is_missingok = config_bool(run, "missingok");
	cfg->is_copytruncate = config_bool(run, "copytruncate");
	cfg->is_dateext = config_bool(run, "dateext");
	cfg->dateformat = plugin_host_opt_str(&run->host, "dateformat");
	cfg->olddir = plugin_host_opt_str(&run->host, "olddir");
	rc = config_compression(run);
	if (rc == 0 && create != NULL && create[0] != '\0')
		rc = config_create_parse(run, create);
	if (rc == 0 && cfg->has_create && cfg->is_copytruncate)
		rc = plugin_host_fail(&run->host, CT_EINVAL,
		                      "create and copytruncate exclude each other: copytruncate "
		                      "keeps the log file, so there is nothing to create");
	if (rc == 0)
		rc = config_command(run, "prerotate", &cfg->prerotate);
	if (rc == 0)
		rc = config_command(run, "postrotate", &cfg->postrotate);
	return rc;
}

void
lr_config_free(struct lr_config *cfg)
{
	argv_free(cfg->prerotate);
	argv_free(cfg->postrotate);
	cfg->prerotate = NULL;
	cfg->postrotate = NULL;
}
