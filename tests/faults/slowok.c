/* Sleeps for `seconds` (default 2) and succeeds; polls should_stop.  Used
 * for the lock test (a second run while the first sleeps) and the SIGTERM
 * path (a plugin that stops when asked). */
#include <time.h>

#include "fault.h"

static const struct ct_option slowok_options[] = {
    {.key = "seconds", .type = CT_OPT_INT, .default_value = "2", .help = "how long"},
    {.key = NULL},
};

static int
slowok_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct timespec tick = {0, 50 * 1000 * 1000};
	int64_t seconds = 2;

	(void)state;
	ct->opt_int(t, "seconds", &seconds);
	for (int64_t i = 0; i < seconds * 20; i++) {
		if (ct->should_stop(t)) {
			ct->set_status(t, CT_STATUS_FAIL, "stopped when asked");
			return CT_ECANCELED;
		}
		nanosleep(&tick, NULL);
	}
	ct->set_status(t, CT_STATUS_OK, "slept %lld s", (long long)seconds);
	return CT_OK;
}

CT_PLUGIN_DEFINE(.name = "slowok", .version = "0", .summary = "fault plugin: sleeps",
                 .options = slowok_options, .init = fault_init, .run = slowok_run,
                 .report = fault_report);
