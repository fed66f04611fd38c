/*
 * myplugin — a template for a caretaker task plugin.
 *
 * Copy this folder, rename myplugin everywhere (the file must be NAME.so
 * and the descriptor's .name must be NAME), then `make` and `make install`.
 * docs/plugin-guide.md walks through it.
 */
#include <stdlib.h>

#include <caretaker/plugin.h>

/* What the plugin keeps between init, run and report. */
struct myplugin_state {
	const char *path;
	int64_t warn_above;
	int64_t found;
};

/* Declared options: the host validates INI values against this table
 * before the plugin runs, and `caretaker describe myplugin` prints it. */
static const struct ct_option myplugin_options[] = {
    {.key = "path",
     .type = CT_OPT_PATH,
     .flags = CT_OPTF_REQUIRED,
     .help = "the folder to look at"},
    {.key = "warn_above",
     .type = CT_OPT_INT,
     .default_value = "100",
     .min_value = 0,
     .max_value = 1000000,
     .help = "warn when there are more entries than this"},
    {.key = NULL},
};

static int
myplugin_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct myplugin_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return CT_ENOMEM;
	ct->opt_string(t, "path", &st->path);
	ct->opt_int(t, "warn_above", &st->warn_above);
	*state = st;
	return CT_OK;
}

static int
myplugin_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct myplugin_state *st = state;

	/* Do the work here; poll ct->should_stop(t) in long loops and return
	 * CT_ECANCELED when it says so. */
	ct->log(t, CT_LOG_INFO, "looking at %s", st->path);
	st->found = 42;
	return CT_OK;
}

static int
myplugin_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct myplugin_state *st = state;

	ct->add_metric(t, "entries", (double)st->found, "");
	if (st->found > st->warn_above)
		ct->set_status(t, CT_STATUS_WARN, "%lld entries in %s", (long long)st->found,
		               st->path);
	else
		ct->set_status(t, CT_STATUS_OK, "%lld entries in %s", (long long)st->found,
		               st->path);
	return CT_OK;
}

static void
myplugin_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	free(state);
}

CT_PLUGIN_DEFINE(.name = "myplugin", .version = "0.1", .summary = "a template plugin",
                 .options = myplugin_options, .init = myplugin_init, .run = myplugin_run,
                 .report = myplugin_report, .fini = myplugin_fini);
