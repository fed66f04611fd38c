/*
 * A plugin built against the frozen copy of the first released header
 * (tests/abi/v1/caretaker/plugin.h, ABI 1.0).  Later hosts must keep
 * loading and running it: that is the compatibility promise of docs/abi.md.
 * Never edit this file or the frozen header.
 */
#include <caretaker/plugin.h>

static const struct ct_option oldplugin_options[] = {
	{.key = "word", .type = CT_OPT_STRING, .default_value = "steady", .help = "a word"},
	{.key = "count", .type = CT_OPT_INT, .default_value = "3", .help = "a number"},
	{.key = "every", .type = CT_OPT_DURATION, .default_value = "1h", .help = "a duration"},
	{.key = NULL},
};

static int
oldplugin_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	(void)t;
	*state = 0;
	if (CT_ABI_MAJOR_OF(ct->abi_version) != 1 || ct->size < sizeof(struct ct_services))
		return CT_EUNSUPPORTED;
	return CT_OK;
}

static int
oldplugin_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)state;
	ct->log(t, CT_LOG_INFO, "running against host %s", ct->host_version());
	return CT_OK;
}

static int
oldplugin_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	const char *word = 0;
	int64_t count = 0, every = 0;

	(void)state;
	ct->opt_string(t, "word", &word);
	ct->opt_int(t, "count", &count);
	ct->opt_duration_ms(t, "every", &every);
	ct->add_metric(t, "count", (double)count, "");
	ct->set_status(t, CT_STATUS_OK, "v1 plugin: %s %lld %lld", word, (long long)count,
		       (long long)every);
	return CT_OK;
}

CT_PLUGIN_DEFINE(.name = "oldplugin", .version = "1.0", .summary = "built against ABI 1.0",
		 .options = oldplugin_options, .init = oldplugin_init, .run = oldplugin_run,
		 .report = oldplugin_report);
