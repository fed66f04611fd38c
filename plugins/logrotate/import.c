/*
 * import.c — logrotate(8) configuration to logrotate jobs (see import.h).
 *
 * The file is read line by line: directives outside a block are defaults
 * for the blocks after them (as in logrotate), a block `PATHS { ... }`
 * becomes a job, and scripts run from `prerotate`/`postrotate` to
 * `endscript`.  Directives are looked up in one table that says what each
 * becomes; the frequency becomes the job's schedule, since the plugin
 * rotates on every run of its job.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "import.h"

#define IMPORT_VALUE_BYTES 4096

/* What a block has set: the INI keys in the order they are written. */
enum import_key {
	KEY_SCHEDULE,
	KEY_ROTATE,
	KEY_SIZE,
	KEY_MINSIZE,
	KEY_MAXSIZE,
	KEY_MAXAGE,
	KEY_COMPRESS,
	KEY_DELAYCOMPRESS,
	KEY_NOTIFEMPTY,
	KEY_MISSINGOK,
	KEY_CREATE,
	KEY_COPYTRUNCATE,
	KEY_DATEEXT,
	KEY_DATEFORMAT,
	KEY_OLDDIR,
	KEY_PREROTATE,
	KEY_POSTROTATE,
	KEY__LAST /* never use */
};

static const char *const key_names[KEY__LAST] = {
    "schedule", "rotate",        "size",       "minsize",   "maxsize",    "maxage",
    "compress", "delaycompress", "notifempty", "missingok", "create",     "copytruncate",
    "dateext",  "dateformat",    "olddir",     "prerotate", "postrotate",
};

struct import_opts {
	char *values[KEY__LAST]; /* NULL: unset */
	int is_create_said;      /* create, nocreate or copytruncate appeared */
};

struct import_state {
	const char *in_name;
	FILE *out;
	FILE *warn;
	size_t n_warnings;
	size_t line_no;
	size_t n_jobs;
	struct import_opts global;
	struct import_opts block;
	int is_in_block;
	char files[IMPORT_VALUE_BYTES];
	size_t block_line;
};

static void import_warn(struct import_state *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
import_warn(struct import_state *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(s->warn, "%s:%zu: warning: ", s->in_name, s->line_no);
	va_start(ap, fmt);
	vfprintf(s->warn, fmt, ap);
	va_end(ap);
	fputc('\n', s->warn);
	s->n_warnings++;
}

static void
opts_set(struct import_opts *o, enum import_key key, const char *value)
{
	free(o->values[key]);
	o->values[key] = value != NULL ? strdup(value) : NULL;
}

static void
opts_clear(struct import_opts *o)
{
	for (int k = 0; k < KEY__LAST; k++)
		opts_set(o, (enum import_key)k, NULL);
}

static void
opts_copy(struct import_opts *to, const struct import_opts *from)
{
	for (int k = 0; k < KEY__LAST; k++)
		opts_set(to, (enum import_key)k, from->values[k]);
	to->is_create_said = from->is_create_said;
}

/* ---- directives ---- */

struct import_directive;
typedef void import_fn(struct import_state *s, const struct import_directive *d, const char *arg);

/* One logrotate directive: the key it sets and the value it sets it to
 * (NULL: the directive's argument, converted by `fn`). */
struct import_directive {
	const char *name;
	import_fn *fn;
	enum import_key key;
	const char *value;
};

static struct import_opts *
import_target(struct import_state *s)
{
	return s->is_in_block ? &s->block : &s->global;
}

static void
set_fixed(struct import_state *s, const struct import_directive *d, const char *arg)
{
	(void)arg;
	opts_set(import_target(s), d->key, d->value);
}

static void
set_word(struct import_state *s, const struct import_directive *d, const char *arg)
{
	if (arg[0] == '\0') {
		import_warn(s, "'%s' needs a value: left out", d->name);
		return;
	}
	opts_set(import_target(s), d->key, arg);
}

/* "100k", "20M", "1G", "500": caretaker's sizes with upper-case units. */
static void
set_size(struct import_state *s, const struct import_directive *d, const char *arg)
{
	char v[64];
	size_t n = strlen(arg);

	if (n == 0 || n >= sizeof(v) || strspn(arg, "0123456789") < n - 1 ||
	    !isdigit((unsigned char)arg[0])) {
		import_warn(s, "size '%s' is not understood: left out", arg);
		return;
	}
	memcpy(v, arg, n + 1);
	v[n - 1] = (char)toupper((unsigned char)v[n - 1]);
	opts_set(import_target(s), d->key, v);
}

static void
set_days(struct import_state *s, const struct import_directive *d, const char *arg)
{
	char v[64];

	if (arg[0] == '\0' || strspn(arg, "0123456789") != strlen(arg) || strlen(arg) > 9) {
		import_warn(s, "maxage '%s' is not a number of days: left out", arg);
		return;
	}
	snprintf(v, sizeof(v), "%sd", arg);
	opts_set(import_target(s), d->key, v);
}

static void
set_create(struct import_state *s, const struct import_directive *d, const char *arg)
{
	opts_set(import_target(s), d->key, arg[0] != '\0' ? arg : "same");
	import_target(s)->is_create_said = 1;
}

/* nocreate and copytruncate also say what becomes of the log. */
static void
set_create_fixed(struct import_state *s, const struct import_directive *d, const char *arg)
{
	set_fixed(s, d, arg);
	import_target(s)->is_create_said = 1;
}

/* compresscmd: gzip and zstd are the compressor's; others are not. */
static void
set_compresscmd(struct import_state *s, const struct import_directive *d, const char *arg)
{
	const char *base = strrchr(arg, '/') != NULL ? strrchr(arg, '/') + 1 : arg;

	(void)d;
	if (strcmp(base, "gzip") == 0 || strcmp(base, "pigz") == 0)
		opts_set(import_target(s), KEY_COMPRESS, "gzip");
	else if (strcmp(base, "zstd") == 0 || strcmp(base, "pzstd") == 0)
		opts_set(import_target(s), KEY_COMPRESS, "zstd");
	else
		import_warn(s, "compresscmd %s: only gzip and zstd are supported: left out", arg);
}

/* compress sets the kind unless compresscmd chose one. */
static void
set_compress(struct import_state *s, const struct import_directive *d, const char *arg)
{
	struct import_opts *o = import_target(s);

	(void)d;
	(void)arg;
	if (o->values[KEY_COMPRESS] == NULL || strcmp(o->values[KEY_COMPRESS], "none") == 0)
		opts_set(o, KEY_COMPRESS, "gzip");
}

static void
ignore_silently(struct import_state *s, const struct import_directive *d, const char *arg)
{
	(void)s;
	(void)d;
	(void)arg;
}

static const struct import_directive directives[] = {
    {"hourly", set_fixed, KEY_SCHEDULE, "hourly"},
    {"daily", set_fixed, KEY_SCHEDULE, "daily"},
    {"weekly", set_fixed, KEY_SCHEDULE, "weekly"},
    {"monthly", set_fixed, KEY_SCHEDULE, "monthly"},
    {"yearly", set_fixed, KEY_SCHEDULE, "yearly"},
    {"rotate", set_word, KEY_ROTATE, NULL},
    {"size", set_size, KEY_SIZE, NULL},
    {"minsize", set_size, KEY_MINSIZE, NULL},
    {"maxsize", set_size, KEY_MAXSIZE, NULL},
    {"maxage", set_days, KEY_MAXAGE, NULL},
    {"compress", set_compress, KEY_COMPRESS, NULL},
    {"nocompress", set_fixed, KEY_COMPRESS, "none"},
    {"compresscmd", set_compresscmd, KEY_COMPRESS, NULL},
    {"delaycompress", set_fixed, KEY_DELAYCOMPRESS, "yes"},
    {"nodelaycompress", set_fixed, KEY_DELAYCOMPRESS, "no"},
    {"notifempty", set_fixed, KEY_NOTIFEMPTY, "yes"},
    {"ifempty", set_fixed, KEY_NOTIFEMPTY, "no"},
    {"missingok", set_fixed, KEY_MISSINGOK, "yes"},
    {"nomissingok", set_fixed, KEY_MISSINGOK, "no"},
    {"create", set_create, KEY_CREATE, NULL},
    {"nocreate", set_create_fixed, KEY_CREATE, NULL},
    {"copytruncate", set_create_fixed, KEY_COPYTRUNCATE, "yes"},
    {"nocopytruncate", set_fixed, KEY_COPYTRUNCATE, "no"},
    {"dateext", set_fixed, KEY_DATEEXT, "yes"},
    {"nodateext", set_fixed, KEY_DATEEXT, "no"},
    {"dateformat", set_word, KEY_DATEFORMAT, NULL},
    {"olddir", set_word, KEY_OLDDIR, NULL},
    {"noolddir", set_fixed, KEY_OLDDIR, NULL},
    /* The plugin always runs its commands once a run. */
    {"sharedscripts", ignore_silently, KEY__LAST, NULL},
    /* What the compressor decides for itself. */
    {"compressext", ignore_silently, KEY__LAST, NULL},
    {"uncompresscmd", ignore_silently, KEY__LAST, NULL},
    {NULL, NULL, KEY__LAST, NULL},
};

static const struct import_directive *
directive_find(const char *name)
{
	size_t i = 0;

	while (directives[i].name != NULL && strcmp(directives[i].name, name) != 0)
		i++;
	return &directives[i];
}

/* ---- scripts ---- */

/* Characters that need a shell: a script holding one runs as sh -c. */
#define IMPORT_SHELL_CHARS "$`|&;<>(){}*?[]~\"'\\!#="

/* Words after which the next line continues the same shell command. */
static int
script_line_continues(const char *line)
{
	static const char *const tails[] = {"then", "do", "else", "{", "|", "&&", "||", NULL};
	size_t n = strlen(line);

	for (size_t i = 0; tails[i] != NULL; i++) {
		size_t k = strlen(tails[i]);

		if (n >= k && strcmp(line + n - k, tails[i]) == 0 &&
		    (n == k || isspace((unsigned char)line[n - k - 1]) ||
		     !isalpha((unsigned char)tails[i][0])))
			return 1;
	}
	return 0;
}

/* Appends `text` to `buf`, quoted for the plugin's argv splitter inside
 * single quotes ('\'' for a quote). */
static void
script_append_quoted(char *buf, size_t size, const char *text)
{
	size_t len = strlen(buf);

	for (const char *p = text; *p != '\0' && len + 5 < size; p++) {
		if (*p == '\'') {
			memcpy(buf + len, "'\\''", 4);
			len += 4;
		} else
			buf[len++] = *p;
	}
	buf[len] = '\0';
}

/* The script's body (lines separated by '\n') as one command line. */
static void
script_finish(struct import_state *s, enum import_key key, const char *body)
{
	char joined[IMPORT_VALUE_BYTES] = "", cmd[IMPORT_VALUE_BYTES * 2] = "sh -c '";
	char *copy = strdup(body), *rest = copy, *line;
	size_t n_lines = 0;

	while (copy != NULL && (line = strsep(&rest, "\n")) != NULL) {
		if (line[0] == '\0')
			continue;
		if (n_lines > 0)
			strncat(joined, script_line_continues(joined) ? " " : "; ",
			        sizeof(joined) - strlen(joined) - 1);
		strncat(joined, line, sizeof(joined) - strlen(joined) - 1);
		n_lines++;
	}
	free(copy);
	if (n_lines == 0)
		return;
	if (n_lines == 1 && strpbrk(joined, IMPORT_SHELL_CHARS) == NULL) {
		opts_set(import_target(s), key, joined);
		return;
	}
	script_append_quoted(cmd, sizeof(cmd), joined);
	strncat(cmd, "'", sizeof(cmd) - strlen(cmd) - 1);
	import_warn(s, "%s is a shell script: written as sh -c '...'; check it", key_names[key]);
	opts_set(import_target(s), key, cmd);
}

/* ---- blocks and jobs ---- */

/* logrotate-NAME from the file's name: letters, digits, '_', '.', '-'. */
static void
job_name(const struct import_state *s, char *out, size_t size)
{
	const char *base =
	    strrchr(s->in_name, '/') != NULL ? strrchr(s->in_name, '/') + 1 : s->in_name;
	size_t len = (size_t)snprintf(out, size, "logrotate-");

	for (const char *p = base; *p != '\0' && len + 1 < size; p++)
		out[len++] =
		    isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-' ? *p : '_';
	out[len] = '\0';
	if (s->n_jobs > 1)
		snprintf(out + len, size - len, "-%zu", s->n_jobs);
}

static void
job_write(struct import_state *s)
{
	struct import_opts *o = &s->block;
	char name[256];

	s->n_jobs++;
	job_name(s, name, sizeof(name));
	if (o->values[KEY_SCHEDULE] == NULL) {
		import_warn(s, "no frequency in the block: %s (logrotate.conf's usual default)",
		            "weekly");
		opts_set(o, KEY_SCHEDULE, "weekly");
	}
	if (!o->is_create_said)
		import_warn(
		    s, "%s",
		    "neither create nor copytruncate in the block: no new log is made after "
		    "the rename (logrotate.conf's global `create` does not reach this job; "
		    "create = same does what it did)");
	fprintf(s->out,
	        "\n; imported from %s (the block at line %zu) by caretaker import-logrotate\n",
	        s->in_name, s->block_line);
	fprintf(s->out, "[%s]\nplugin = logrotate\nfiles = %s\n", name, s->files);
	for (int k = 0; k < KEY__LAST; k++)
		if (o->values[k] != NULL)
			fprintf(s->out, "%s = %s\n", key_names[k], o->values[k]);
}

/* The next word of *p: a "quoted" word may hold blanks.  NULL at the end. */
static char *
next_word(char **p)
{
	char *w = *p, *end;

	while (*w == ' ' || *w == '\t')
		w++;
	if (*w == '\0')
		return NULL;
	if (*w == '"') {
		w++;
		end = strchr(w, '"');
	} else
		end = w + strcspn(w, " \t");
	if (end == NULL || *end == '\0') {
		*p = w + strlen(w);
		return w;
	}
	*end = '\0';
	*p = end + 1;
	return w;
}

/* "PATH PATH ... {": the block's files, as a comma-separated list. */
static int
block_begin(struct import_state *s, char *line)
{
	char *brace = strchr(line, '{'), *rest = line, *word;
	size_t len = 0;

	if (s->is_in_block)
		return CT_EINVAL;
	*brace = '\0';
	s->files[0] = '\0';
	while ((word = next_word(&rest)) != NULL) {
		len += (size_t)snprintf(s->files + len, sizeof(s->files) - len, "%s%s",
		                        len > 0 ? ", " : "", word);
		if (len >= sizeof(s->files))
			return CT_EINVAL;
	}
	if (len == 0)
		return CT_EINVAL;
	s->is_in_block = 1;
	s->block_line = s->line_no;
	opts_copy(&s->block, &s->global);
	return 0;
}

/* ---- lines ---- */

static char *
trim(char *p)
{
	char *end;

	while (isspace((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return p;
}

/* A directive line: its first word looked up, the rest its argument. */
static void
directive_apply(struct import_state *s, char *line)
{
	char *arg = line + strcspn(line, " \t");
	const struct import_directive *d;

	if (*arg != '\0')
		*arg++ = '\0';
	arg = trim(arg);
	d = directive_find(line);
	if (d->fn == NULL)
		import_warn(s, "'%s' has no equivalent in the logrotate plugin: left out", line);
	else
		d->fn(s, d, arg);
}

/* The key a script sets, KEY__LAST for scripts that have none. */
static enum import_key
script_key(struct import_state *s, const char *word)
{
	if (strcmp(word, "prerotate") == 0)
		return KEY_PREROTATE;
	if (strcmp(word, "postrotate") == 0)
		return KEY_POSTROTATE;
	if (strcmp(word, "firstaction") == 0 || strcmp(word, "lastaction") == 0 ||
	    strcmp(word, "preremove") == 0) {
		import_warn(s, "'%s' scripts have no equivalent in the logrotate plugin: left out",
		            word);
		return KEY__LAST;
	}
	return (enum import_key) - 1;
}

struct import_script {
	int is_open;
	enum import_key key;
	char body[IMPORT_VALUE_BYTES];
};

static void
script_line(struct import_state *s, struct import_script *sc, const char *line)
{
	size_t len = strlen(sc->body);

	if (strcmp(line, "endscript") == 0) {
		sc->is_open = 0;
		if (sc->key != KEY__LAST)
			script_finish(s, sc->key, sc->body);
		return;
	}
	snprintf(sc->body + len, sizeof(sc->body) - len, "%s\n", line);
}

static int
import_line(struct import_state *s, struct import_script *sc, char *raw, char *err, size_t err_size)
{
	char *line = trim(raw);
	enum import_key key;

	if (sc->is_open) {
		script_line(s, sc, line);
		return 0;
	}
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	if (strchr(line, '{') != NULL) {
		if (block_begin(s, line) != 0) {
			snprintf(err, err_size, "%s:%zu: a block that does not begin as PATH... {",
			         s->in_name, s->line_no);
			return CT_EINVAL;
		}
		return 0;
	}
	if (strcmp(line, "}") == 0 && s->is_in_block) {
		job_write(s);
		s->is_in_block = 0;
		return 0;
	}
	key = strncmp(line, "include", 7) == 0 ? (enum import_key) - 1 : script_key(s, line);
	if ((int)key >= 0) {
		*sc = (struct import_script){.is_open = 1, .key = key};
		return 0;
	}
	directive_apply(s, line);
	return 0;
}

int
import_logrotate(FILE *in, const char *in_name, FILE *out, FILE *warn, size_t *n_warnings,
                 char *err, size_t err_size)
{
	struct import_state s = {.in_name = in_name, .out = out, .warn = warn};
	struct import_script sc = {0};
	char raw[IMPORT_VALUE_BYTES];
	int rc = 0;

	fprintf(out, "; logrotate jobs imported from %s by caretaker import-logrotate\n", in_name);
	while (rc == 0 && fgets(raw, sizeof(raw), in) != NULL) {
		s.line_no++;
		rc = import_line(&s, &sc, raw, err, err_size);
	}
	if (rc == 0 && (s.is_in_block || sc.is_open)) {
		snprintf(err, err_size, "%s: the file ends inside a %s", in_name,
		         sc.is_open ? "script (no endscript)" : "block (no '}')");
		rc = CT_EINVAL;
	}
	if (rc == 0 && s.n_jobs == 0)
		import_warn(&s, "%s", "no block: no job written");
	opts_clear(&s.global);
	opts_clear(&s.block);
	*n_warnings = s.n_warnings;
	if (rc == 0 && (fflush(out) != 0 || ferror(out))) {
		snprintf(err, err_size, "cannot write the jobs");
		rc = CT_EIO;
	}
	return rc;
}
