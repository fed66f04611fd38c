/*
 * config.c — reading caretaker.ini and the conf.d INI files (see config.h).
 *
 * inih does the splitting of "key = value" lines, but Debian's build cuts
 * lines at a fixed buffer and tells the handler no line numbers.  So every
 * file is read whole and fed to ini_parse_stream() line by line by our own
 * reader, which counts lines, rejects NUL bytes, lines longer than the
 * buffer, syntax errors and a missing final newline with file:line, and
 * tracks sections itself (inih does not report empty sections).  A line
 * that is wrong is handed to inih as an empty line so it is reported once.
 *
 * This file does not load plugins; config_bind_plugin() is handed what the
 * loader found.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "loader.h"
#include "proc.h"
#include "schedule.h"
#include "strmap.h"
#include "xmalloc.h"

#ifndef CT_PLUGINDIR
#define CT_PLUGINDIR "/usr/local/lib/caretaker/plugins"
#endif
#ifndef CT_STATEDIR
#define CT_STATEDIR "/var/lib/caretaker"
#endif

/* inih's line buffer; our reader reports longer lines. */
#define CONFIG_MAX_LINE 65536
/* A configuration file larger than this is surely not one. */
#define CONFIG_MAX_FILE_BYTES (4u << 20)

const struct ct_option config_job_keys[] = {
    {"plugin", CT_OPT_STRING, CT_OPTF_REQUIRED, NULL, NULL, 0, 0,
     "the plugin that runs this job (`caretaker plugins` lists them)"},
    {"description", CT_OPT_STRING, 0, NULL, NULL, 0, 0,
     "a line for people reading `caretaker list`"},
    {"schedule", CT_OPT_STRING, 0, NULL, NULL, 0, 0,
     "when it runs: daily, Sun *-*-* 01:00:00 Europe/Berlin, 0 1 * * 0 ..."},
    {"timeout", CT_OPT_DURATION, 0, NULL, NULL, 0, 0,
     "kill the run after this long (default: [caretaker] timeout)"},
    {"requires", CT_OPT_LIST, 0, NULL, NULL, 0, 0,
     "jobs that must succeed first; this job is skipped when one does not"},
    {"on_failure", CT_OPT_STRING, 0, NULL, NULL, 0, 0,
     "a job to run when this one fails; it is handed the failure and the chain's artifacts"},
    {"user", CT_OPT_STRING, 0, NULL, NULL, 0, 0,
     "run as this user (and its group) when caretaker runs as root"},
    {"lock", CT_OPT_ENUM, 0, "host", "host|database|none", 0, 0,
     "host: one run per host at a time; database: one per fleet (advisory lock)"},
    {"nice", CT_OPT_INT, 0, NULL, NULL, -20, 19, "CPU priority of the run, -20 to 19"},
    {"enabled", CT_OPT_BOOL, 0, "yes", NULL, 0, 0, "no: never run it, not even with --all"},
    {"only_if_exists", CT_OPT_PATH, 0, NULL, NULL, 0, 0,
     "skip the run (not a failure) while this path does not exist"},
    {"jitter", CT_OPT_DURATION, 0, NULL, NULL, 0, 0,
     "spread the start by up to this much (RandomizedDelaySec= of its timer)"},
    {"catch_up", CT_OPT_ENUM, 0, "once", "once|skip", 0, 0,
     "run --due: once makes up missed elapses with one run; skip drops them"},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

const struct ct_option config_settings_keys[] = {
    {"plugin_path", CT_OPT_PATH_LIST, 0, CT_PLUGINDIR, NULL, 0, 0,
     "folders searched for plugins, in order; the first NAME.so found wins"},
    {"state_dir", CT_OPT_PATH, 0, CT_STATEDIR, NULL, 0, 0, "history, locks and plugin state"},
    {"conninfo", CT_OPT_STRING, 0, "", NULL, 0, 0,
     "default libpq connection string for jobs (no passwords: use ~/.pgpass or a service)"},
    {"trust_plugin_dirs", CT_OPT_BOOL, 0, "no", NULL, 0, 0,
     "yes: load plugins from folders not owned by root (containers only)"},
    {"probe_timeout", CT_OPT_DURATION, 0, "10s", NULL, 0, 0,
     "a plugin still loading after this is refused (100ms to 10min)"},
    {"timeout", CT_OPT_DURATION, 0, "1h", NULL, 0, 0, "default job timeout"},
    {"kill_grace", CT_OPT_DURATION, 0, "10s", NULL, 0, 0,
     "after SIGTERM, wait this long before SIGKILL"},
    {"output_limit", CT_OPT_SIZE, 0, "64K", NULL, 0, 0,
     "captured output kept per stream and run (head and tail)"},
    {"due_window", CT_OPT_DURATION, 0, "15min", NULL, 0, 0,
     "run --due: an elapse older than this was missed (see catch_up = skip)"},
    {"overdue_slack", CT_OPT_DURATION, 0, "1h", NULL, 0, 0,
     "status: OVERDUE when no success within the schedule's period plus this"},
    {"prometheus_dir", CT_OPT_PATH, 0, NULL, NULL, 0, 0,
     "write caretaker.prom here after every run (node_exporter's textfile folder)"},
    {"history", CT_OPT_ENUM, 0, "file", "file|database", 0, 0,
     "database: also record every run in a table, shared by every host"},
    {"history_max_size", CT_OPT_SIZE, 0, "16M", NULL, 0, 0,
     "history.jsonl becomes history.1.jsonl past this size (0: never rotate)"},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

struct section {
	const char *name;
	const char *file;
	int line;
	struct option_input *inputs;
	size_t n_inputs;
	int is_settings;
	int is_bad; /* a duplicate or badly named section: not a job */
};

/* Every section of every file, in order, and the first of each name. */
struct section_list {
	struct section **items;
	size_t n;
	struct strmap *by_name;
};

/* State while one file is parsed. */
struct reader {
	struct config *cfg;
	const char *file;
	const char *data;
	size_t len;
	size_t pos;
	int line;
	int is_main;
	int is_readable_by_others;
	struct section_list *list;
	struct section *cur;
};

static void
reader_error(struct reader *r, const char *job, const char *hint, const char *msg)
{
	diag_add(&r->cfg->diags, DIAG_ERROR, r->file, r->line, job, hint, "%s", msg);
}

static const char *
cur_job(const struct reader *r)
{
	if (r->cur == NULL || r->cur->is_settings)
		return NULL;
	return r->cur->name;
}

static int
job_name_is_valid(const char *s, size_t len)
{
	if (len == 0 || len > 100 || s[0] == '.' || s[0] == '-')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("_.-", s[i]) == NULL)
			return 0;
	return 1;
}

static void
section_open(struct reader *r, const char *name, size_t len)
{
	struct arena *a = r->cfg->arena;
	struct section *s = arena_alloc(a, sizeof(*s));
	struct section *prev;

	s->name = arena_strndup(a, name, len);
	s->file = r->file;
	s->line = r->line;
	s->is_settings = strcmp(s->name, "caretaker") == 0;
	r->cur = s;
	if (s->is_settings && !r->is_main) {
		reader_error(r, NULL, "move these keys into caretaker.ini",
		             "the [caretaker] section belongs in the main file");
		s->is_bad = 1;
	} else if (!s->is_settings && !job_name_is_valid(name, len)) {
		diag_add(&r->cfg->diags, DIAG_ERROR, r->file, r->line, s->name, NULL,
		         "job name '%s' may only contain letters, digits, '_', '.' and '-'",
		         s->name);
		s->is_bad = 1;
	}
	prev = strmap_get(r->list->by_name, s->name);
	if (prev == NULL)
		strmap_put(r->list->by_name, s->name, s);
	if (prev != NULL && !s->is_bad) {
		diag_add(&r->cfg->diags, DIAG_ERROR, r->file, r->line,
		         s->is_settings ? NULL : s->name, "rename one of them",
		         "duplicate section [%s] (first defined at %s:%d)", s->name, prev->file,
		         prev->line);
		s->is_bad = 1;
	}
	xarray_push((void ***)&r->list->items, &r->list->n, s);
}

/* Check one line's shape; returns 0 when inih may see it. */
static int
line_check(struct reader *r, const char *p, size_t len)
{
	const char *end = p + len;

	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (p == end || *p == ';' || *p == '#')
		return 0;
	if (*p == '[') {
		if (end[-1] != ']' || end - p < 3) {
			reader_error(r, cur_job(r), "write it as [name]",
			             "malformed section header");
			return -1;
		}
		section_open(r, p + 1, (size_t)(end - p - 2));
		return 0;
	}
	if (memchr(p, '=', (size_t)(end - p)) == NULL &&
	    memchr(p, ':', (size_t)(end - p)) == NULL) {
		reader_error(r, cur_job(r), "write it as key = value",
		             "expected 'key = value' or '[section]'");
		return -1;
	}
	if (*p == '=' || *p == ':') {
		reader_error(r, cur_job(r), NULL, "a key is missing before '='");
		return -1;
	}
	if (r->cur == NULL) {
		reader_error(r, NULL, "put it under [caretaker] or a [job] section",
		             "key outside of any section");
		return -1;
	}
	return 0;
}

/* inih's fgets-like reader over the file held in memory. */
static char *
reader_next_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	const char *start, *nl;
	size_t len;

	if (r->pos >= r->len)
		return NULL;
	start = r->data + r->pos;
	nl = memchr(start, '\n', r->len - r->pos);
	len = nl ? (size_t)(nl - start) : r->len - r->pos;
	r->pos += len + (nl != NULL);
	r->line++;
	if (nl == NULL)
		reader_error(r, cur_job(r), "if the file is complete, end it with a newline",
		             "the last line has no newline: the file may be truncated");
	if (len > 0 && start[len - 1] == '\r')
		len--;
	if (len + 2 > (size_t)num) {
		diag_add(&r->cfg->diags, DIAG_ERROR, r->file, r->line, cur_job(r), NULL,
		         "line is %zu bytes long, the limit is %d", len, num - 2);
		len = 0;
	} else if (line_check(r, start, len) != 0) {
		len = 0;
	}
	memcpy(str, start, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

/*
 * Does `v` set a password?  "password = something" in any case and after
 * anything (password= in a conninfo, PGPASSWORD= or DB_PASSWORD= in an env
 * list), with a value after the '=' (an empty PGPASSWORD= hides nothing);
 * "password_file = ..." and "passfile=..." name files, not passwords.  And
 * the URI form, postgresql://user:secret@host.
 */
static int
value_has_password(const char *v)
{
	const char *p = strcasestr(v, "password"), *at, *scheme;

	while (p != NULL) {
		const char *q = p + strlen("password");

		q += strspn(q, " \t");
		if (*q == '=') {
			q += 1 + strspn(q + 1, " \t");
			if (*q != '\0' && *q != ',' && *q != '\n')
				return 1;
		}
		p = strcasestr(q, "password");
	}
	scheme = strstr(v, "://");
	at = scheme ? strchr(scheme + 3, '@') : NULL;
	return at != NULL && memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) != NULL;
}

/* A key named for a password (password, db_password) with a value. */
static int
key_holds_password(const char *key, const char *value)
{
	size_t len = strlen(key), word = strlen("password");

	return len >= word && strcasecmp(key + len - word, "password") == 0 && value[0] != '\0';
}

static int
reader_key_cb(void *user, const char *section, const char *name, const char *value)
{
	struct reader *r = user;
	struct section *s = r->cur;
	struct arena *a = r->cfg->arena;
	struct option_input *in;

	(void)section;
	for (size_t i = 0; i < s->n_inputs; i++) {
		if (strcmp(s->inputs[i].key, name) != 0)
			continue;
		diag_add(&r->cfg->diags, DIAG_ERROR, r->file, r->line, cur_job(r),
		         "keep one of them", "duplicate key '%s' (first set at %s:%d)", name,
		         s->inputs[i].file, s->inputs[i].line);
		return 1;
	}
	if (r->is_readable_by_others &&
	    (value_has_password(value) || key_holds_password(name, value)))
		diag_add(&r->cfg->diags, DIAG_WARNING, r->file, r->line, NULL,
		         "put the password in ~/.pgpass or a pg_service.conf readable only by "
		         "the job's user, or chmod 600 this file",
		         "'%s' holds a password in a file others can read", name);
	s->inputs = xreallocarray(s->inputs, s->n_inputs + 1, sizeof(*s->inputs));
	in = &s->inputs[s->n_inputs++];
	in->key = arena_strdup(a, name);
	in->value = arena_strdup(a, value);
	in->file = r->file;
	in->line = r->line;
	return 1;
}

/* Read a whole file into the arena; errors go to diags. */
static int
file_slurp(struct config *cfg, const char *path, struct reader *r)
{
	struct stat st;
	char *buf = NULL;
	ssize_t got;
	int fd, rc = CT_ECONFIG;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		diag_add(&cfg->diags, DIAG_ERROR, path, 0, NULL,
		         errno == ENOENT ? "pass another file with -c FILE" : NULL,
		         "cannot open: %s", strerror(errno));
		return CT_ECONFIG;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		diag_add(&cfg->diags, DIAG_ERROR, path, 0, NULL, NULL, "not a regular file");
		goto out;
	}
	if ((size_t)st.st_size > CONFIG_MAX_FILE_BYTES) {
		diag_add(&cfg->diags, DIAG_ERROR, path, 0, NULL, NULL,
		         "%lld bytes is too large for a configuration file", (long long)st.st_size);
		goto out;
	}
	if (st.st_mode & S_IWOTH) {
		diag_add(&cfg->diags, DIAG_ERROR, path, 0, NULL, "chmod o-w the file",
		         "anyone can write this file, and it says what runs");
		goto out;
	}
	buf = arena_alloc(cfg->arena, (size_t)st.st_size + 1);
	got = read(fd, buf, (size_t)st.st_size);
	if (got != st.st_size) {
		diag_add(&cfg->diags, DIAG_ERROR, path, 0, NULL, NULL, "short read: %s",
		         got < 0 ? strerror(errno) : "file changed while read");
		goto out;
	}
	r->data = buf;
	r->len = (size_t)got;
	r->is_readable_by_others = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
file_check_binary(struct config *cfg, const struct reader *r)
{
	const char *nul = memchr(r->data, '\0', r->len);
	int line = 1;

	if (nul == NULL)
		return 0;
	for (const char *p = r->data; p < nul; p++)
		line += *p == '\n';
	diag_add(&cfg->diags, DIAG_ERROR, r->file, line, NULL, "is it really an INI file?",
	         "binary data (a NUL byte) in a configuration file");
	return CT_ECONFIG;
}

static void
config_parse_file(struct config *cfg, const char *path, int is_main, struct section_list *list)
{
	struct reader r = {0};

	r.cfg = cfg;
	r.file = arena_strdup(cfg->arena, path);
	r.is_main = is_main;
	r.list = list;
	if (file_slurp(cfg, path, &r) != 0 || file_check_binary(cfg, &r) != 0)
		return;
	ini_parse_stream(reader_next_line, &r, reader_key_cb, &r);
}

static int
ini_name_filter(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && len > 4 && strcmp(d->d_name + len - 4, ".ini") == 0;
}

static void
config_parse_dropins(struct config *cfg, struct section_list *list)
{
	char *dir = xasprintf("%s/conf.d", cfg->dir);
	struct dirent **names = NULL;
	int n = scandir(dir, &names, ini_name_filter, alphasort);

	if (n < 0 && errno != ENOENT)
		diag_add(&cfg->diags, DIAG_ERROR, dir, 0, NULL, NULL, "cannot read: %s",
		         strerror(errno));
	for (int i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]->d_name);

		config_parse_file(cfg, path, 0, list);
		free(path);
		free(names[i]);
	}
	free(names);
	free(dir);
}

/* Durations of [caretaker] with bounds.  The option table's min and max
 * bind only ints (plugin.h promises plugins that), so they are here.  A
 * value out of range is an error, and the nearest bound stands in for it
 * while `check` goes on. */
static const struct setting_range {
	const char *key;
	size_t offset; /* of the int64_t in struct settings */
	int64_t min_ms;
	int64_t max_ms;
} settings_ranges[] = {
    {"probe_timeout", offsetof(struct settings, probe_timeout_ms), 100, 600000},
};

static void
settings_check_ranges(struct config *cfg, const struct opt_set *set)
{
	char v_text[32], min_text[32], max_text[32];

	for (size_t i = 0; i < sizeof(settings_ranges) / sizeof(settings_ranges[0]); i++) {
		const struct setting_range *r = &settings_ranges[i];
		const struct opt_value *v = opt_set_get(set, r->key);
		int64_t *field = (int64_t *)((char *)&cfg->settings + r->offset);

		if (!v->is_set) /* a value that does not parse is an error already */
			(void)value_parse_duration_ms(v->spec->default_value, field, v_text,
			                              sizeof(v_text));
		if (!v->is_set || (v->i >= r->min_ms && v->i <= r->max_ms))
			continue;
		*field = v->i < r->min_ms ? r->min_ms : r->max_ms;
		value_format_duration(v->i, v_text, sizeof(v_text));
		value_format_duration(r->min_ms, min_text, sizeof(min_text));
		value_format_duration(r->max_ms, max_text, sizeof(max_text));
		diag_add(&cfg->diags, DIAG_ERROR, v->file ? v->file : cfg->path, v->line, NULL,
		         NULL, "%s: %s is out of range %s-%s", r->key, v_text, min_text, max_text);
	}
}

static void
settings_decode(struct config *cfg, const struct opt_set *set)
{
	struct settings *s = &cfg->settings;

	s->plugin_path = opt_set_get(set, "plugin_path")->items;
	s->n_plugin_path = opt_set_get(set, "plugin_path")->n_items;
	s->state_dir = opt_set_get(set, "state_dir")->str;
	s->conninfo = opt_set_get(set, "conninfo")->str;
	s->is_trusting_plugin_dirs = (int)opt_set_get(set, "trust_plugin_dirs")->i;
	s->probe_timeout_ms = opt_set_get(set, "probe_timeout")->i;
	s->timeout_ms = opt_set_get(set, "timeout")->i;
	s->kill_grace_ms = opt_set_get(set, "kill_grace")->i;
	s->output_limit = opt_set_get(set, "output_limit")->u;
	s->due_window_ms = opt_set_get(set, "due_window")->i;
	s->overdue_slack_ms = opt_set_get(set, "overdue_slack")->i;
	s->prometheus_dir = opt_set_get(set, "prometheus_dir")->str;
	s->is_history_in_database = strcmp(opt_set_get(set, "history")->str, "database") == 0;
	s->history_max_size = opt_set_get(set, "history_max_size")->u;
}

static void
config_bind_settings(struct config *cfg, const struct section *s)
{
	const struct options_bind_params p = {.table = config_settings_keys,
	                                      .inputs = s ? s->inputs : NULL,
	                                      .n_inputs = s ? s->n_inputs : 0,
	                                      .base_dir = cfg->dir,
	                                      .owner = "[caretaker]",
	                                      .section_file = cfg->path,
	                                      .section_line = s ? s->line : 0};
	struct opt_set set;

	options_bind(&p, cfg->arena, &set, &cfg->diags);
	settings_decode(cfg, &set);
	settings_check_ranges(cfg, &set);
}

/*
 * A schedule that parses can still never elapse again (30 February, a date
 * past, a search that breaks on a DST change) or stop after a while (a
 * year range): the job would quietly stop running.  Never again is an
 * error of the job, a last elapse ahead a warning that names it.
 */
static void
job_check_schedule_end(struct config *cfg, const struct job *job, const char *file, int line)
{
	int64_t last_usec = 0;
	enum schedule_end end = schedule_find_end(job->sched, proc_wall_us(), &last_usec);
	time_t last = (time_t)(last_usec / 1000000);
	char when[64];
	struct tm tm;

	if (end == SCHEDULE_ENDED)
		diag_add(&cfg->diags, DIAG_ERROR, file, line, job->name,
		         "a date that does not exist (30 February) or has passed never comes; "
		         "`caretaker next JOB` shows what a schedule means",
		         "schedule '%s' never elapses again: the job would never run",
		         job->schedule);
	if (end != SCHEDULE_ENDS)
		return;
	gmtime_r(&last, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	diag_add(&cfg->diags, DIAG_WARNING, file, line, job->name,
	         "`caretaker next JOB` lists its elapses",
	         "schedule '%s' elapses for the last time at %s: the job stops running then",
	         job->schedule, when);
}

/* Where the job's `schedule` key is, for its messages. */
static void
job_schedule_where(const struct job *job, const char **file, int *line)
{
	const struct option_input *in = NULL;

	for (size_t i = 0; i < job->n_inputs && in == NULL; i++)
		if (strcmp(job->inputs[i].key, "schedule") == 0)
			in = &job->inputs[i];
	*file = in ? in->file : job->file;
	*line = in ? in->line : job->line;
}

static void
job_parse_schedule(struct config *cfg, struct job *job)
{
	const char *file;
	char err[256];
	int line;

	if (job->schedule == NULL)
		return;
	job_schedule_where(job, &file, &line);
	if (schedule_parse(job->schedule, &job->sched, err, sizeof(err)) != 0)
		diag_add(
		    &cfg->diags, DIAG_ERROR, file, line, job->name,
		    "write a shorthand (daily), a calendar expression (Sun *-*-* 01:00:00 UTC) "
		    "or a cron line (0 1 * * 0); `caretaker next` shows what it means",
		    "schedule: %s", err);
}

static int
job_is_named(const struct job *job, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(job->name, names[i]) == 0)
			return 1;
	return n == 0;
}

void
config_check_schedule_ends(struct config *cfg, const char *const *names, size_t n)
{
	const char *file;
	int line;

	for (size_t i = 0; i < cfg->n_jobs; i++) {
		struct job *job = cfg->jobs[i];

		if (job->sched == NULL || !job_is_named(job, names, n))
			continue;
		job_schedule_where(job, &file, &line);
		job_check_schedule_end(cfg, job, file, line);
	}
}

static void
job_decode(struct config *cfg, struct job *job)
{
	const struct opt_set *c = &job->core;
	const struct opt_value *v;

	job->plugin = opt_set_get(c, "plugin")->str;
	job->description = opt_set_get(c, "description")->str;
	job->schedule = opt_set_get(c, "schedule")->str;
	v = opt_set_get(c, "timeout");
	job->timeout_ms = v->is_set ? v->i : cfg->settings.timeout_ms;
	job->requires = opt_set_get(c, "requires")->items;
	job->n_requires = opt_set_get(c, "requires")->n_items;
	job->on_failure = opt_set_get(c, "on_failure")->str;
	job->user = opt_set_get(c, "user")->str;
	v = opt_set_get(c, "lock");
	job->lock = strcmp(v->str, "database") == 0 ? JOB_LOCK_DATABASE
	            : strcmp(v->str, "none") == 0   ? JOB_LOCK_NONE
	                                            : JOB_LOCK_HOST;
	v = opt_set_get(c, "nice");
	job->nice = (int)v->i;
	job->is_nice_set = v->is_set;
	job->is_enabled = (int)opt_set_get(c, "enabled")->i;
	job->only_if_exists = opt_set_get(c, "only_if_exists")->str;
	job->jitter_ms = opt_set_get(c, "jitter")->i;
	job->is_catching_up = strcmp(opt_set_get(c, "catch_up")->str, "once") == 0;
	if (job->plugin == NULL)
		job->plugin = "";
	job_parse_schedule(cfg, job);
}

/* Bind only the core keys; plugin keys wait for config_bind_plugin. */
static void
job_bind_core(struct config *cfg, struct job *job)
{
	struct option_input *core = xcalloc(job->n_inputs + 1, sizeof(*core));
	struct options_bind_params p = {.table = config_job_keys,
	                                .inputs = core,
	                                .base_dir = cfg->dir,
	                                .job = job->name,
	                                .owner = "a job",
	                                .section_file = job->file,
	                                .section_line = job->line};

	for (size_t i = 0; i < job->n_inputs; i++)
		if (option_table_find(config_job_keys, job->inputs[i].key) != NULL)
			core[p.n_inputs++] = job->inputs[i];
	options_bind(&p, cfg->arena, &job->core, &cfg->diags);
	free(core);
	job_decode(cfg, job);
}

static void
config_build_jobs(struct config *cfg, struct section **sections, size_t n_sections)
{
	cfg->by_name = strmap_new();
	const struct section *settings = NULL;

	for (size_t i = 0; i < n_sections; i++)
		if (sections[i]->is_settings && !sections[i]->is_bad)
			settings = sections[i];
	config_bind_settings(cfg, settings);
	for (size_t i = 0; i < n_sections; i++) {
		struct section *s = sections[i];
		struct job *job;

		if (s->is_settings || s->is_bad)
			continue;
		job = arena_alloc(cfg->arena, sizeof(*job));
		job->name = s->name;
		job->file = s->file;
		job->line = s->line;
		job->n_inputs = s->n_inputs;
		job->inputs = arena_alloc(cfg->arena, (s->n_inputs + 1) * sizeof(*job->inputs));
		if (s->n_inputs > 0)
			memcpy(job->inputs, s->inputs, s->n_inputs * sizeof(*job->inputs));
		job_bind_core(cfg, job);
		job->index = cfg->n_jobs;
		xarray_push((void ***)&cfg->jobs, &cfg->n_jobs, job);
		strmap_put(cfg->by_name, job->name, job);
	}
}

static char *
path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static void
config_init(struct config *cfg, const char *path)
{
	char *dir = path_dirname(path);
	char *abs = NULL;

	cfg->arena = arena_new();
	cfg->path = arena_strdup(cfg->arena, path);
	/* Resolve the folder once so relative paths survive a chdir in a child. */
	abs = realpath(dir, NULL);
	cfg->dir = arena_strdup(cfg->arena, abs ? abs : dir);
	free(abs);
	free(dir);
}

int
config_load(const char *path, struct config **out)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct section_list list = {0};

	config_init(cfg, path);
	/* Python configparser rules: no inline comments (a ';' in a command
	 * stays), no continuation lines; a buffer large enough for long
	 * commands, and our reader reports anything longer. */
	ini_allow_inline_comments = 0;
	ini_allow_multiline = 0;
	ini_use_stack = 0;
	ini_allow_realloc = 0;
	ini_initial_alloc = CONFIG_MAX_LINE;
	ini_max_line = CONFIG_MAX_LINE;
	list.by_name = strmap_new();
	config_parse_file(cfg, path, 1, &list);
	config_parse_dropins(cfg, &list);
	config_build_jobs(cfg, list.items, list.n);
	for (size_t i = 0; i < list.n; i++)
		free(list.items[i]->inputs);
	free(list.items);
	strmap_free(list.by_name);
	*out = cfg;
	return diag_global_errors(&cfg->diags) > 0 ? CT_ECONFIG : 0;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	diag_list_clear(&cfg->diags);
	for (size_t i = 0; i < cfg->n_jobs; i++)
		schedule_free(cfg->jobs[i]->sched);
	free(cfg->jobs);
	strmap_free(cfg->by_name);
	arena_free(cfg->arena);
	free(cfg);
}

struct job *
config_find_job(const struct config *cfg, const char *name)
{
	return cfg->by_name ? strmap_get(cfg->by_name, name) : NULL;
}

static const struct option_input *
job_input(const struct job *job, const char *key)
{
	for (size_t i = 0; i < job->n_inputs; i++)
		if (strcmp(job->inputs[i].key, key) == 0)
			return &job->inputs[i];
	return NULL;
}

void
config_bind_plugin(struct config *cfg, struct job *job, const struct plugin_info *info,
                   const char *why)
{
	const struct option_input *in = job_input(job, "plugin");
	struct options_bind_params p;
	char owner[160];

	job->plugin_info = info;
	if (info == NULL) {
		if (job->plugin[0] != '\0')
			diag_add(&cfg->diags, DIAG_ERROR, in ? in->file : job->file,
			         in ? in->line : job->line, job->name,
			         "`caretaker plugins` lists the plugins found and refused",
			         "plugin '%s': %s", job->plugin, why);
		return;
	}
	snprintf(owner, sizeof(owner), "plugin '%s'", info->name);
	p = (struct options_bind_params){.table = info->options,
	                                 .skip = config_job_keys,
	                                 .inputs = job->inputs,
	                                 .n_inputs = job->n_inputs,
	                                 .base_dir = cfg->dir,
	                                 .job = job->name,
	                                 .owner = owner,
	                                 .section_file = job->file,
	                                 .section_line = job->line};
	options_bind(&p, cfg->arena, &job->opts, &cfg->diags);
}

static void
graph_check_ref(struct config *cfg, const struct job *job, const char *key, const char *target)
{
	const struct option_input *in = job_input(job, key);

	if (config_find_job(cfg, target) != NULL)
		return;
	diag_add(&cfg->diags, DIAG_ERROR, in ? in->file : job->file, in ? in->line : job->line,
	         job->name, "`caretaker list` shows the jobs", "%s names no job: '%s'", key,
	         target);
}

/* Depth-first search over `requires`; state 1 = on the stack, 2 = done. */
static int
graph_visit(struct config *cfg, struct job *job, char *state, const char **stack, size_t depth)
{
	size_t idx = job->index;

	if (state[idx] == 2)
		return 0;
	stack[depth] = job->name;
	if (state[idx] == 1) {
		size_t start = 0, len = 0;
		char buf[1024] = "";

		while (strcmp(stack[start], job->name) != 0)
			start++;
		for (size_t i = start; i <= depth && len < sizeof(buf); i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
			                        i > start ? " -> " : "", stack[i]);
		for (size_t i = start; i < depth; i++) {
			const struct job *member = config_find_job(cfg, stack[i]);

			diag_add(&cfg->diags, DIAG_ERROR, member->file, member->line, member->name,
			         "remove one of the requires", "requires forms a cycle: %s", buf);
		}
		return -1;
	}
	state[idx] = 1;
	for (size_t i = 0; i < job->n_requires; i++) {
		struct job *dep = config_find_job(cfg, job->requires[i]);

		if (dep != NULL && graph_visit(cfg, dep, state, stack, depth + 1) != 0) {
			state[idx] = 2;
			return -1;
		}
	}
	state[idx] = 2;
	return 0;
}

void
config_check_graph(struct config *cfg)
{
	char *state = xcalloc(cfg->n_jobs + 1, 1);
	const char **stack = xcalloc(cfg->n_jobs + 2, sizeof(*stack));

	for (size_t i = 0; i < cfg->n_jobs; i++) {
		const struct job *job = cfg->jobs[i];

		for (size_t r = 0; r < job->n_requires; r++)
			graph_check_ref(cfg, job, "requires", job->requires[r]);
		if (job->on_failure != NULL)
			graph_check_ref(cfg, job, "on_failure", job->on_failure);
	}
	for (size_t i = 0; i < cfg->n_jobs; i++)
		graph_visit(cfg, cfg->jobs[i], state, stack, 0);
	free(stack);
	free(state);
}

int
config_name_width(const struct config *cfg)
{
	size_t width = 4;

	for (size_t i = 0; i < cfg->n_jobs; i++)
		if (strlen(cfg->jobs[i]->name) > width)
			width = strlen(cfg->jobs[i]->name);
	return (int)width;
}

int
config_job_has_error(const struct config *cfg, const struct job *job)
{
	return diag_first_error_for(&cfg->diags, job->name) != NULL;
}
