/*
 * inspect.c — the commands that look without running: `list`, `plugins`,
 * `describe` and `check`.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "config.h"
#include "inspect.h"
#include "loader.h"
#include "exitcode.h"

int
inspect_list(const struct config *cfg)
{
	int w = config_name_width(cfg);

	printf("%-*s %-10s %-8s %-28s %s\n", w, "JOB", "PLUGIN", "ENABLED", "SCHEDULE",
	       "DESCRIPTION");
	for (size_t i = 0; i < cfg->n_jobs; i++) {
		const struct job *j = cfg->jobs[i];

		printf("%-*s %-10s %-8s %-28s %s\n", w, j->name, j->plugin,
		       j->is_enabled ? "yes" : "no", j->schedule ? j->schedule : "-",
		       j->description ? j->description : "");
	}
	return EXIT_OK;
}

static void
print_plugin_line(const struct plugin_info *p)
{
	if (p->refusal != NULL) {
		printf("%-12s %-9s %-5s %s\n%-12s %-9s %-5s   refused: %s\n", p->name, "-", "-",
		       p->path, "", "", "", p->refusal);
		return;
	}
	printf("%-12s %-9s %u.%-3u %s\n%-12s %-9s %-5s   %s\n", p->name,
	       p->version ? p->version : "?", CT_ABI_MAJOR_OF(p->abi_version),
	       CT_ABI_MINOR_OF(p->abi_version), p->path, "", "", "", p->summary ? p->summary : "");
}

int
inspect_plugins(const struct config *cfg)
{
	struct loader_policy pol;
	struct plugin_list list = {0};
	struct arena *a = arena_new();

	loader_policy_from_config(cfg, a, &pol);
	loader_scan(&pol, a, &list);
	printf("%-12s %-9s %-5s %s\n", "NAME", "VERSION", "ABI", "FILE / SUMMARY");
	for (size_t i = 0; i < list.n; i++)
		print_plugin_line(list.items[i]);
	for (size_t i = 0; i < list.n_warnings; i++)
		fprintf(stderr, "caretaker: warning: %s\n", list.warnings[i]);
	plugin_list_clear(&list);
	arena_free(a);
	return EXIT_OK;
}

static void
print_option(const struct ct_option *o)
{
	char type[160];

	if (o->type == CT_OPT_ENUM)
		snprintf(type, sizeof(type), "%s", o->choices ? o->choices : "enum");
	else if (o->type == CT_OPT_INT && o->min_value < o->max_value)
		snprintf(type, sizeof(type), "int %" PRId64 "..%" PRId64, o->min_value,
		         o->max_value);
	else
		snprintf(type, sizeof(type), "%s", option_type_name(o->type));
	printf("  %-20s %-16s %-10s %s\n", o->key, type,
	       (o->flags & CT_OPTF_REQUIRED) ? "required"
	       : o->default_value            ? o->default_value
	                                     : "-",
	       o->help ? o->help : "");
}

static void
print_option_table(const char *title, const struct ct_option *table)
{
	printf("%s\n  %-20s %-16s %-10s %s\n", title, "KEY", "TYPE", "DEFAULT", "MEANING");
	for (const struct ct_option *o = table; o && o->key; o++)
		print_option(o);
}

int
inspect_describe(const struct config *cfg, const char *name)
{
	struct loader_policy pol;
	struct arena *a = arena_new();
	struct plugin_info *p;
	int rc = EXIT_OK;

	loader_policy_from_config(cfg, a, &pol);
	p = loader_find(&pol, name, a);
	if (p == NULL || p->refusal != NULL) {
		fprintf(stderr, "caretaker: error: plugin '%s' %s%s\n", name,
		        p ? "is refused: " : "is not in plugin_path", p ? p->refusal : "");
		arena_free(a);
		return EXIT_CONFIG;
	}
	printf("%s %s — %s\nfile: %s\nABI: %u.%u\n", p->name, p->version ? p->version : "?",
	       p->summary ? p->summary : "", p->path, CT_ABI_MAJOR_OF(p->abi_version),
	       CT_ABI_MINOR_OF(p->abi_version));
	if (p->flags & CT_PLUGIN_DRY_RUN)
		printf("supports --dry-run\n");
	if (p->help != NULL)
		printf("\n%s\n", p->help);
	printf("\n");
	print_option_table("Options:", p->options);
	printf("\n");
	print_option_table("Keys every job takes:", config_job_keys);
	arena_free(a);
	return rc;
}

static const struct plugin_info *
list_lookup(const struct plugin_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i]->name, name) == 0 && l->items[i]->shadowed_by == NULL)
			return l->items[i];
	return NULL;
}

static void
check_bind_jobs(struct config *cfg, const struct plugin_list *list, struct arena *a)
{
	for (size_t i = 0; i < cfg->n_jobs; i++) {
		struct job *job = cfg->jobs[i];
		const struct plugin_info *p = list_lookup(list, job->plugin);

		if (p == NULL)
			config_bind_plugin(cfg, job, NULL, "no such plugin in plugin_path");
		else if (p->refusal != NULL)
			config_bind_plugin(
			    cfg, job, NULL,
			    arena_sprintf(a, "refused: %s: %s", p->path, p->refusal));
		else
			config_bind_plugin(cfg, job, p, NULL);
	}
}

void
inspect_bind_plugins(struct config *cfg, struct plugin_list *list, struct arena *a)
{
	struct loader_policy pol;

	loader_policy_from_config(cfg, a, &pol);
	loader_scan(&pol, a, list);
	check_bind_jobs(cfg, list, a);
	config_check_graph(cfg);
}

static void
check_note_shadowed(struct config *cfg, const struct plugin_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		const struct plugin_info *p = list->items[i];

		if (p->shadowed_by != NULL)
			diag_add(&cfg->diags, DIAG_WARNING, p->path, 0, NULL, NULL,
			         "plugin '%s' is also at %s, which comes first in plugin_path and "
			         "wins",
			         p->name, p->shadowed_by);
	}
	for (size_t i = 0; i < list->n_warnings; i++)
		diag_add(&cfg->diags, DIAG_WARNING, NULL, 0, NULL, NULL, "%s", list->warnings[i]);
}

/* A `user =` that names nobody would fail every run: say so now. */
static void
check_users(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_jobs; i++) {
		const struct job *job = cfg->jobs[i];
		const struct opt_value *v = opt_set_get(&job->core, "user");

		if (job->user == NULL || getpwnam(job->user) != NULL)
			continue;
		diag_add(&cfg->diags, DIAG_ERROR, v && v->file ? v->file : job->file,
		         v && v->file ? v->line : job->line, job->name,
		         "create it, or fix the name", "user '%s' does not exist", job->user);
	}
}

/* The plural ending for n things: "1 error", "2 errors", "0 errors". */
static const char *
plural_s(size_t n)
{
	return n == 1 ? "" : "s";
}

int
inspect_check(struct config *cfg, int is_quiet)
{
	struct plugin_list list = {0};
	struct arena *a = arena_new();

	/* Even with global errors, go on: check reports everything at once. */
	inspect_bind_plugins(cfg, &list, a);
	check_note_shadowed(cfg, &list);
	check_users(cfg);
	diag_print(&cfg->diags, stderr);
	if (!is_quiet)
		printf("%zu job%s, %zu plugin%s: %zu error%s, %zu warning%s\n", cfg->n_jobs,
		       plural_s(cfg->n_jobs), list.n, plural_s(list.n), cfg->diags.n_errors,
		       plural_s(cfg->diags.n_errors), cfg->diags.n_warnings,
		       plural_s(cfg->diags.n_warnings));
	plugin_list_clear(&list);
	arena_free(a);
	return cfg->diags.n_errors > 0 ? EXIT_CONFIG : EXIT_OK;
}
