/*
 * options.h — typed option values and their validation against a
 * declarative table (struct ct_option, the same table plugins declare).
 *
 * The core's own keys ([caretaker] settings and the job keys every job has)
 * are declared with the same table type and go through the same validator,
 * so every key in every file gets the same parsing, the same errors and the
 * same `caretaker describe` text.
 */
#ifndef CT_OPTIONS_H
#define CT_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <caretaker/plugin.h>

struct arena;
struct diag_list;

/* One key = value as written in a file. */
struct option_input {
	const char *key;
	const char *value;
	const char *file;
	int line;
};

/* One declared option and its value for one job. */
struct opt_value {
	const struct ct_option *spec;
	const char *raw;  /* text as written or the default; NULL when unset */
	const char *file; /* where it was written; NULL for a default */
	int line;
	int is_set;         /* raw != NULL and parsed */
	int64_t i;          /* INT, DURATION (milliseconds), BOOL (0/1) */
	uint64_t u;         /* SIZE (bytes) */
	const char *str;    /* STRING, ENUM, PATH (resolved) */
	const char **items; /* LIST, PATH_LIST (resolved), NULL-terminated */
	size_t n_items;
};

struct opt_set {
	struct opt_value *values; /* one per table entry, same order */
	size_t n;
};

/* Scalar parsers.  Each returns 0, or CT_EINVAL with the reason in err. */
int value_parse_int(const char *s, int64_t *out, char *err, size_t err_size);
int value_parse_bool(const char *s, int *out, char *err, size_t err_size);
int value_parse_duration_ms(const char *s, int64_t *out, char *err, size_t err_size);
int value_parse_size(const char *s, uint64_t *out, char *err, size_t err_size);
/* Split a list on commas and newlines, trimming blanks and dropping empty
 * items.  The array and items come from `a`; *n gets the count. */
const char **value_split_list(struct arena *a, const char *s, size_t *n);
/* Format a duration in milliseconds the way people write it ("2h30min"). */
void value_format_duration(int64_t ms, char *buf, size_t size);

/* Number of entries in a NULL-key terminated table. */
size_t option_table_count(const struct ct_option *table);
/* The entry named `key`, or NULL. */
const struct ct_option *option_table_find(const struct ct_option *table, const char *key);

/* Parse `raw` for `spec` into *out (allocations from `a`); relative paths
 * resolve against base_dir.  Returns 0 or CT_EINVAL with the reason. */
int option_parse(const struct ct_option *spec, const char *raw, const char *base_dir,
                 struct arena *a, struct opt_value *out, char *err, size_t err_size);

/* What options_bind() binds, and how its messages name the place: one
 * struct rather than nine arguments in a row, so that a call names each. */
struct options_bind_params {
	const struct ct_option *table;
	const struct ct_option
	    *skip; /* keys handled elsewhere: their inputs are ignored; may be NULL */
	const struct option_input *inputs;
	size_t n_inputs;
	const char *base_dir;     /* relative paths resolve against it */
	const char *job;          /* tags every message; NULL outside a job */
	const char *owner;        /* names the table: "plugin 'exec'", "[caretaker]" */
	const char *section_file; /* where a missing key is reported */
	int section_line;
};

/*
 * Bind p->inputs to p->table: every input must name a declared key, parse as
 * its type, and every required key must be present; defaults fill the rest.
 * Problems go to `d`, tagged with p->job and placed at the input's file:line
 * (missing keys at section_file:section_line).  Values are allocated from
 * `a`.  Returns 0, or CT_ECONFIG when anything was wrong (out is still
 * filled).
 */
int options_bind(const struct options_bind_params *p, struct arena *a, struct opt_set *out,
                 struct diag_list *d);

/* The value for `key` in `set`, or NULL when the key is not declared. */
const struct opt_value *opt_set_get(const struct opt_set *set, const char *key);

/* Type names for messages and `describe`: "duration", "size", ... */
const char *option_type_name(int type);

#endif
