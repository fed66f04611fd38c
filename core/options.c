/*
 * options.c — parsing of typed values and validation of key = value inputs
 * against a declarative option table (see options.h).
 *
 * This file knows nothing of INI files or plugins: it gets inputs with their
 * places and a table, and reports every problem to a diag list.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "diag.h"
#include "options.h"

struct unit {
	const char *name;
	double factor;
};

/* Longest names first where one is a prefix of another is not needed: a
 * unit must match the whole run of letters. */
static const struct unit duration_units[] = {
    {"ms", 1},          {"msec", 1},        {"s", 1000},         {"sec", 1000},
    {"second", 1000},   {"seconds", 1000},  {"m", 60000},        {"min", 60000},
    {"minute", 60000},  {"minutes", 60000}, {"h", 3600000},      {"hr", 3600000},
    {"hour", 3600000},  {"hours", 3600000}, {"d", 86400000},     {"day", 86400000},
    {"days", 86400000}, {"w", 604800000},   {"week", 604800000}, {"weeks", 604800000},
    {NULL, 0},
};

static const struct unit size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1024.0},
    {"kb", 1024.0},
    {"kib", 1024.0},
    {"m", 1048576.0},
    {"mb", 1048576.0},
    {"mib", 1048576.0},
    {"g", 1073741824.0},
    {"gb", 1073741824.0},
    {"gib", 1073741824.0},
    {"t", 1099511627776.0},
    {"tb", 1099511627776.0},
    {"tib", 1099511627776.0},
    {NULL, 0},
};

static int
unit_find(const struct unit *units, const char *name, size_t len, int fold_case, double *factor)
{
	for (const struct unit *u = units; u->name != NULL; u++) {
		if (strlen(u->name) != len)
			continue;
		if (fold_case ? strncasecmp(u->name, name, len) == 0
		              : strncmp(u->name, name, len) == 0) {
			*factor = u->factor;
			return 0;
		}
	}
	return -1;
}

int
value_parse_int(const char *s, int64_t *out, char *err, size_t err_size)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || isspace((unsigned char)*s)) {
		snprintf(err, err_size, "'%s' is not a whole number", s);
		return CT_EINVAL;
	}
	if (errno == ERANGE) {
		snprintf(err, err_size, "'%s' is out of range", s);
		return CT_EINVAL;
	}
	*out = v;
	return 0;
}

int
value_parse_bool(const char *s, int *out, char *err, size_t err_size)
{
	static const char *const yes[] = {"yes", "true", "on", "1", NULL};
	static const char *const no[] = {"no", "false", "off", "0", NULL};

	for (size_t i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	snprintf(err, err_size, "'%s' is not a boolean (use yes or no)", s);
	return CT_EINVAL;
}

/* Parse one "<number><unit>" component at *p; advances *p. */
static int
duration_component(const char **p, double *ms, char *err, size_t err_size, const char *whole)
{
	const char *start = *p;
	char *end;
	double n, factor = 1000;
	size_t ulen = 0;

	if (!isdigit((unsigned char)**p) && **p != '.')
		goto bad;
	n = strtod(start, &end);
	if (end == start || n < 0)
		goto bad;
	while (isalpha((unsigned char)end[ulen]))
		ulen++;
	if (ulen > 0 && unit_find(duration_units, end, ulen, 0, &factor) != 0) {
		snprintf(err, err_size, "'%s': unknown time unit '%.*s' (use ms, s, min, h, d, w)",
		         whole, (int)ulen, end);
		return CT_EINVAL;
	}
	*ms += n * factor;
	*p = end + ulen;
	return 0;
bad:
	snprintf(err, err_size, "'%s' is not a duration (use e.g. 30s, 15min, 2h30m, 90d)", whole);
	return CT_EINVAL;
}

int
value_parse_duration_ms(const char *s, int64_t *out, char *err, size_t err_size)
{
	const char *p = s;
	double ms = 0;
	int rc;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return duration_component(&p, &ms, err, err_size, s);
	while (*p != '\0') {
		rc = duration_component(&p, &ms, err, err_size, s);
		if (rc != 0)
			return rc;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (ms > (double)INT64_MAX / 2) {
		snprintf(err, err_size, "'%s' is too long a duration", s);
		return CT_EINVAL;
	}
	*out = (int64_t)llround(ms);
	return 0;
}

int
value_parse_size(const char *s, uint64_t *out, char *err, size_t err_size)
{
	char *end;
	double n, factor;
	size_t ulen = 0;

	if (!isdigit((unsigned char)*s) && *s != '.')
		goto bad;
	n = strtod(s, &end);
	if (end == s || n < 0)
		goto bad;
	while (isspace((unsigned char)*end))
		end++;
	while (isalpha((unsigned char)end[ulen]))
		ulen++;
	if (end[ulen] != '\0' || unit_find(size_units, end, ulen, 1, &factor) != 0)
		goto bad;
	if (n * factor >= 18446744073709551615.0) {
		snprintf(err, err_size, "'%s' is too large", s);
		return CT_EINVAL;
	}
	*out = (uint64_t)llround(n * factor);
	return 0;
bad:
	snprintf(err, err_size, "'%s' is not a size (use e.g. 4096, 64K, 500M, 2G)", s);
	return CT_EINVAL;
}

void
value_format_duration(int64_t ms, char *buf, size_t size)
{
	static const struct {
		const char *name;
		int64_t ms;
	} parts[] = {{"d", 86400000}, {"h", 3600000}, {"min", 60000}, {"s", 1000}, {"ms", 1}};
	size_t used = 0;

	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, size, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && used < size; i++) {
		if (ms < parts[i].ms)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%" PRId64 "%s", ms / parts[i].ms,
		                         parts[i].name);
		ms %= parts[i].ms;
	}
}

const char **
value_split_list(struct arena *a, const char *s, size_t *n)
{
	size_t cap = 1, count = 0;
	const char **items;

	for (const char *p = s; *p != '\0'; p++)
		if (*p == ',' || *p == '\n')
			cap++;
	items = arena_alloc(a, (cap + 1) * sizeof(*items));
	while (*s != '\0') {
		size_t len = strcspn(s, ",\n");
		const char *b = s, *e = s + len;

		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (e > b)
			items[count++] = arena_strndup(a, b, (size_t)(e - b));
		s += len;
		if (*s != '\0')
			s++;
	}
	items[count] = NULL;
	*n = count;
	return items;
}

static const char *
path_resolve(struct arena *a, const char *path, const char *base_dir)
{
	if (path[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
		return arena_strdup(a, path);
	return arena_sprintf(a, "%s/%s", base_dir, path);
}

static int
enum_check(const struct ct_option *spec, const char *raw, char *err, size_t err_size)
{
	const char *c = spec->choices ? spec->choices : "";
	size_t len = strlen(raw);

	while (*c != '\0') {
		size_t clen = strcspn(c, "|");

		if (clen == len && strncmp(c, raw, len) == 0)
			return 0;
		c += clen;
		if (*c == '|')
			c++;
	}
	snprintf(err, err_size, "'%s' is not one of %s", raw, spec->choices ? spec->choices : "()");
	return CT_EINVAL;
}

static int
int_check(const struct ct_option *spec, const char *raw, int64_t *v, char *err, size_t err_size)
{
	int rc = value_parse_int(raw, v, err, err_size);

	if (rc != 0)
		return rc;
	if (spec->min_value < spec->max_value && (*v < spec->min_value || *v > spec->max_value)) {
		snprintf(err, err_size, "%" PRId64 " is out of range %" PRId64 "-%" PRId64, *v,
		         spec->min_value, spec->max_value);
		return CT_EINVAL;
	}
	return 0;
}

static int
list_parse(const struct ct_option *spec, const char *raw, const char *base_dir, struct arena *a,
           struct opt_value *out)
{
	out->items = value_split_list(a, raw, &out->n_items);
	if (spec->type == CT_OPT_PATH_LIST)
		for (size_t i = 0; i < out->n_items; i++)
			out->items[i] = path_resolve(a, out->items[i], base_dir);
	return 0;
}

int
option_parse(const struct ct_option *spec, const char *raw, const char *base_dir, struct arena *a,
             struct opt_value *out, char *err, size_t err_size)
{
	int bool_value = 0, rc = 0;

	out->str = raw;
	switch (spec->type) {
	case CT_OPT_STRING:
		break;
	case CT_OPT_INT:
		rc = int_check(spec, raw, &out->i, err, err_size);
		break;
	case CT_OPT_BOOL:
		rc = value_parse_bool(raw, &bool_value, err, err_size);
		out->i = bool_value;
		break;
	case CT_OPT_DURATION:
		rc = value_parse_duration_ms(raw, &out->i, err, err_size);
		break;
	case CT_OPT_SIZE:
		rc = value_parse_size(raw, &out->u, err, err_size);
		break;
	case CT_OPT_ENUM:
		rc = enum_check(spec, raw, err, err_size);
		break;
	case CT_OPT_PATH:
		out->str = path_resolve(a, raw, base_dir);
		break;
	case CT_OPT_LIST:
	case CT_OPT_PATH_LIST:
		rc = list_parse(spec, raw, base_dir, a, out);
		break;
	default:
		snprintf(err, err_size, "option '%s' has unknown type %d", spec->key, spec->type);
		rc = CT_EINVAL;
	}
	return rc;
}

size_t
option_table_count(const struct ct_option *table)
{
	size_t n = 0;

	while (table != NULL && table[n].key != NULL)
		n++;
	return n;
}

const struct ct_option *
option_table_find(const struct ct_option *table, const char *key)
{
	for (size_t i = 0; table != NULL && table[i].key != NULL; i++)
		if (strcmp(table[i].key, key) == 0)
			return &table[i];
	return NULL;
}

/* Edit distance, for "did you mean" hints; keys are short. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

	if (la >= 64 || lb >= 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

static const char *
closest_key(const struct ct_option *table, const struct ct_option *skip, const char *key)
{
	const struct ct_option *tables[2] = {table, skip};
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t t = 0; t < 2; t++)
		for (size_t i = 0; tables[t] != NULL && tables[t][i].key != NULL; i++) {
			size_t dist = edit_distance(key, tables[t][i].key);

			if (dist < best_d) {
				best_d = dist;
				best = tables[t][i].key;
			}
		}
	return best;
}

static void
unknown_key(const struct options_bind_params *p, const struct option_input *in, struct diag_list *d)
{
	const char *near = closest_key(p->table, p->skip, in->key);
	char hint[160];

	if (near != NULL)
		snprintf(hint, sizeof(hint), "did you mean '%s'?", near);
	else
		snprintf(hint, sizeof(hint), "`caretaker describe` lists the keys %s accepts",
		         p->owner);
	diag_add(d, DIAG_ERROR, in->file, in->line, p->job, hint, "unknown key '%s' for %s",
	         in->key, p->owner);
}

/* One input: its declared key, parsed into that key's value. */
static int
bind_input(const struct options_bind_params *p, const struct option_input *in, struct arena *a,
           struct opt_set *out, struct diag_list *d)
{
	const struct ct_option *spec = option_table_find(p->table, in->key);
	struct opt_value *v;
	char err[256];

	if (spec == NULL && option_table_find(p->skip, in->key) != NULL)
		return 0;
	if (spec == NULL) {
		unknown_key(p, in, d);
		return CT_ECONFIG;
	}
	v = &out->values[spec - p->table];
	v->raw = in->value;
	v->file = in->file;
	v->line = in->line;
	if (option_parse(spec, in->value, p->base_dir, a, v, err, sizeof(err)) != 0) {
		diag_add(d, DIAG_ERROR, in->file, in->line, p->job, NULL, "%s: %s", in->key, err);
		return CT_ECONFIG;
	}
	v->is_set = 1;
	return 0;
}

static int
bind_inputs(const struct options_bind_params *p, struct arena *a, struct opt_set *out,
            struct diag_list *d)
{
	int rc = 0;

	for (size_t i = 0; i < p->n_inputs; i++)
		if (bind_input(p, &p->inputs[i], a, out, d) != 0)
			rc = CT_ECONFIG;
	return rc;
}

/* A key no input set: missing when it is required, else its default. */
static int
bind_default(const struct options_bind_params *p, struct opt_value *v, struct arena *a,
             struct diag_list *d)
{
	const struct ct_option *spec = v->spec;
	char err[256];

	if (spec->flags & CT_OPTF_REQUIRED) {
		diag_add(d, DIAG_ERROR, p->section_file, p->section_line, p->job, spec->help,
		         "required key '%s' (%s) is missing for %s", spec->key,
		         option_type_name(spec->type), p->owner);
		return CT_ECONFIG;
	}
	if (spec->default_value == NULL)
		return 0;
	v->raw = spec->default_value;
	if (option_parse(spec, v->raw, p->base_dir, a, v, err, sizeof(err)) != 0) {
		diag_add(d, DIAG_ERROR, p->section_file, p->section_line, p->job, NULL,
		         "%s has a bad default for '%s': %s", p->owner, spec->key, err);
		return CT_ECONFIG;
	}
	v->is_set = 1;
	return 0;
}

static int
bind_defaults(const struct options_bind_params *p, struct arena *a, struct opt_set *out,
              struct diag_list *d)
{
	int rc = 0;

	for (size_t i = 0; i < out->n; i++)
		if (out->values[i].raw == NULL && bind_default(p, &out->values[i], a, d) != 0)
			rc = CT_ECONFIG;
	return rc;
}

int
options_bind(const struct options_bind_params *p, struct arena *a, struct opt_set *out,
             struct diag_list *d)
{
	int rc_inputs, rc_defaults;

	out->n = option_table_count(p->table);
	out->values = arena_alloc(a, (out->n + 1) * sizeof(*out->values));
	for (size_t i = 0; i < out->n; i++)
		out->values[i].spec = &p->table[i];
	rc_inputs = bind_inputs(p, a, out, d);
	rc_defaults = bind_defaults(p, a, out, d);
	return rc_inputs != 0 ? rc_inputs : rc_defaults;
}

const struct opt_value *
opt_set_get(const struct opt_set *set, const char *key)
{
	for (size_t i = 0; set != NULL && i < set->n; i++)
		if (strcmp(set->values[i].spec->key, key) == 0)
			return &set->values[i];
	return NULL;
}

const char *
option_type_name(int type)
{
	static const char *const names[] = {
	    [CT_OPT_STRING] = "string",       [CT_OPT_INT] = "int",
	    [CT_OPT_BOOL] = "bool",           [CT_OPT_DURATION] = "duration",
	    [CT_OPT_SIZE] = "size",           [CT_OPT_LIST] = "list",
	    [CT_OPT_ENUM] = "enum",           [CT_OPT_PATH] = "path",
	    [CT_OPT_PATH_LIST] = "path list",
	};

	if (type <= 0 || type >= CT_OPT__LAST)
		return "unknown";
	return names[type];
}
