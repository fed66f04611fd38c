/*
 * hello — the smallest useful plugin: greets, reports a metric and a
 * finding.  It is the example the plugin guide walks through and the job the
 * embedded default always runs, so it shows every entry point and the
 * services a plugin uses most.
 */
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

struct hello_state {
	const char *who;
	int64_t times;
};

static const struct ct_option hello_options[] = {
    {.key = "who", .type = CT_OPT_STRING, .default_value = "world", .help = "whom to greet"},
    {.key = "times",
     .type = CT_OPT_INT,
     .default_value = "1",
     .min_value = 1,
     .max_value = 100,
     .help = "how many greetings"},
    {.key = NULL},
};

static int
hello_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct hello_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return CT_ENOMEM;
	ct->opt_string(t, "who", &st->who);
	ct->opt_int(t, "times", &st->times);
	*state = st;
	return CT_OK;
}

static int
hello_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct hello_state *st = state;

	for (int64_t i = 0; i < st->times && !ct->should_stop(t); i++)
		ct->log(t, CT_LOG_INFO, "hello, %s", st->who);
	return ct->should_stop(t) ? CT_ECANCELED : CT_OK;
}

static int
hello_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct hello_state *st = state;

	ct->add_metric(t, "greetings", (double)st->times, "");
	ct->set_status(t, CT_STATUS_OK, "greeted %s %lld time(s)", st->who, (long long)st->times);
	return CT_OK;
}

static void
hello_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	free(state);
}

CT_PLUGIN_DEFINE(.name = "hello", .version = "1.0", .summary = "greets; the example plugin",
                 .help = "Logs a greeting and reports how many it made. A starting point "
                         "for new plugins (see docs/plugin-guide.md).",
                 .flags = CT_PLUGIN_DRY_RUN | CT_PLUGIN_STATE_ONLY, .options = hello_options,
                 .init = hello_init, .run = hello_run, .report = hello_report, .fini = hello_fini);
