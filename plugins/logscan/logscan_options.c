/*
 * logscan_options.c — the job's options as the run uses them: the named
 * patterns (one per line, `NAME: REGEX` or a bare REGEX named after its
 * text), the exclude patterns (one per line), and warn_at / fail_at
 * thresholds (`N` for every pattern, `NAME:N` for one).
 *
 * patterns and exclude are strings split at newlines rather than lists:
 * a list splits at commas too, and a regular expression may hold one
 * (\d{1,3}).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "logscan.h"

static const struct {
	const char *name;
	enum logscan_engine engine;
} engines[] = {
    {"auto", LOGSCAN_ENGINE_AUTO},
    {"hyperscan", LOGSCAN_ENGINE_HYPERSCAN},
    {"pcre2", LOGSCAN_ENGINE_PCRE2},
};

void
logscan_pattern_name(const char *regex, char *name, size_t size)
{
	size_t o = 0;

	for (const char *p = regex; *p != '\0' && o + 1 < size; p++) {
		if (isalnum((unsigned char)*p))
			name[o++] = (char)tolower((unsigned char)*p);
		else if (o > 0 && name[o - 1] != '_')
			name[o++] = '_';
	}
	while (o > 0 && name[o - 1] == '_')
		o--;
	if (o == 0)
		o = (size_t)snprintf(name, size, "pattern");
	name[o] = '\0';
}

/* The next non-empty line of *s, trimmed, into a new string (NULL at the
 * end); *s moves past it. */
static char *
next_line(const char **s)
{
	while (**s != '\0') {
		size_t len = strcspn(*s, "\n");
		const char *b = *s, *e = *s + len;

		*s += len + (b[len] == '\n');
		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (e > b)
			return strndup(b, (size_t)(e - b));
	}
	return NULL;
}

/* Splits "name: regex" when the line starts with a name, a colon and a
 * space; otherwise the whole line is the regex. */
static void
pattern_split(char *line, char *name, size_t size, const char **regex)
{
	size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz0123456789_");

	if (n > 0 && n < size && line[n] == ':' && (line[n + 1] == ' ' || line[n + 1] == '\t')) {
		memcpy(name, line, n);
		name[n] = '\0';
		*regex = line + n + 1;
		while (isspace((unsigned char)**regex))
			(*regex)++;
		return;
	}
	*regex = line;
	logscan_pattern_name(line, name, size);
}

static int
pattern_add(struct plugin_host *h, struct logscan_options *o, char *line)
{
	struct logscan_pattern *p = &o->pats[o->n_pats];
	const char *regex;

	if (o->n_pats == LOGSCAN_MAX_PATTERNS)
		return plugin_host_fail(h, CT_ECONFIG, "patterns: more than %d patterns",
		                        LOGSCAN_MAX_PATTERNS);
	pattern_split(line, p->name, sizeof(p->name), &regex);
	for (size_t i = 0; i < o->n_pats; i++)
		if (strcmp(o->pats[i].name, p->name) == 0)
			return plugin_host_fail(h, CT_ECONFIG,
			                        "patterns: two patterns are named '%s'\n"
			                        "hint: name them: NAME: REGEX",
			                        p->name);
	p->regex = strdup(regex);
	if (p->regex == NULL)
		return CT_ENOMEM;
	p->warn_at = p->fail_at = -1;
	o->n_pats++;
	return 0;
}

/* The runbook's four, when the job names none (kept out of the option
 * table's default, where its newlines would break describe's columns). */
#define DEFAULT_PATTERNS "ERROR\nCRITICAL\nException\nFailed to"

static int
patterns_read(struct plugin_host *h, struct logscan_options *o)
{
	const char *s = plugin_host_opt_str(h, "patterns");

	if (s == NULL)
		s = DEFAULT_PATTERNS;
	char *line;
	int rc = 0;

	while (rc == 0 && s != NULL && (line = next_line(&s)) != NULL) {
		rc = pattern_add(h, o, line);
		free(line);
	}
	if (rc == 0 && o->n_pats == 0)
		rc = plugin_host_fail(h, CT_ECONFIG, "patterns: no pattern given");
	return rc;
}

static int
exclude_read(struct plugin_host *h, struct logscan_options *o)
{
	const char *s = plugin_host_opt_str(h, "exclude");
	char *line;

	while (s != NULL && (line = next_line(&s)) != NULL) {
		char **v = realloc(o->exclude, (o->n_exclude + 1) * sizeof(*v));

		if (v == NULL) {
			free(line);
			return CT_ENOMEM;
		}
		o->exclude = v;
		o->exclude[o->n_exclude++] = line;
	}
	return 0;
}

/* One threshold item, "N" or "NAME:N", into the patterns' `which` field
 * (0: warn_at, 1: fail_at). */
static int
threshold_set(struct plugin_host *h, struct logscan_options *o, const char *key, const char *item,
              int which)
{
	const char *colon = strchr(item, ':');
	const char *num = colon != NULL ? colon + 1 : item;
	size_t name_len = colon != NULL ? (size_t)(colon - item) : 0;
	char *end = NULL;
	long long n;
	int hit = 0;

	errno = 0;
	n = strtoll(num, &end, 10);
	if (errno != 0 || end == num || *end != '\0' || n < 1)
		return plugin_host_fail(h, CT_ECONFIG,
		                        "%s: '%s' is not a count of 1 or more\n"
		                        "hint: N for every pattern, or NAME:N",
		                        key, item);
	for (size_t i = 0; i < o->n_pats; i++) {
		if (colon != NULL && (strlen(o->pats[i].name) != name_len ||
		                      strncmp(o->pats[i].name, item, name_len) != 0))
			continue;
		*(which ? &o->pats[i].fail_at : &o->pats[i].warn_at) = n;
		hit = 1;
	}
	if (!hit)
		return plugin_host_fail(h, CT_ECONFIG, "%s: no pattern is named '%.*s'", key,
		                        (int)name_len, item);
	return 0;
}

static int
thresholds_read(struct plugin_host *h, struct logscan_options *o, const char *key, int which)
{
	const char *const *items;
	size_t n;
	int rc = 0;

	plugin_host_opt_list(h, key, &items, &n);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = threshold_set(h, o, key, items[i], which);
	return rc;
}

static void
scalars_read(struct plugin_host *h, struct logscan_options *o)
{
	const char *engine = plugin_host_opt_str(h, "engine");
	const char *jit = plugin_host_opt_str(h, "jit");

	plugin_host_opt_list(h, "files", &o->files, &o->n_files);
	o->record_start = plugin_host_opt_str(h, "record_start");
	o->want_jit = jit == NULL || strcmp(jit, "off") != 0;
	o->threads = plugin_host_opt_int(h, "threads", 2);
	o->top = plugin_host_opt_int(h, "top", 10);
	o->journal_unit = plugin_host_opt_str(h, "journal_unit");
	o->olddir = plugin_host_opt_str(h, "olddir");
	o->journal_directory = plugin_host_opt_str(h, "journal_directory");
	if (o->journal_unit != NULL && o->journal_unit[0] == '\0')
		o->journal_unit = NULL;
	o->max_record_bytes = 64 * 1024;
	h->ct->opt_size_bytes(h->t, "max_record_bytes", &o->max_record_bytes);
	for (size_t i = 0; engine != NULL && i < sizeof(engines) / sizeof(engines[0]); i++)
		if (strcmp(engine, engines[i].name) == 0)
			o->engine = engines[i].engine;
}

int
logscan_options_read(struct plugin_host *h, struct logscan_options *o)
{
	int rc;
	int is_case = 0;

	memset(o, 0, sizeof(*o));
	scalars_read(h, o);
	if (h->ct->opt_bool(h->t, "ignore_case", &is_case) == CT_OK)
		o->ignore_case = is_case;
	if (o->n_files == 0 && o->journal_unit == NULL)
		return plugin_host_fail(h, CT_ECONFIG,
		                        "nothing to scan: set files, journal_unit or both\n"
		                        "hint: files = /var/log/myapp/error.log");
	rc = patterns_read(h, o);
	if (rc == 0)
		rc = exclude_read(h, o);
	if (rc == 0)
		rc = thresholds_read(h, o, "warn_at", 0);
	if (rc == 0)
		rc = thresholds_read(h, o, "fail_at", 1);
	return rc;
}

void
logscan_options_free(struct logscan_options *o)
{
	for (size_t i = 0; i < o->n_pats; i++)
		free(o->pats[i].regex);
	for (size_t i = 0; i < o->n_exclude; i++)
		free(o->exclude[i]);
	free(o->exclude);
	memset(o, 0, sizeof(*o));
}
