/* Sleeps for `seconds` (default 2), reporting progress under the words
 * `step` every 50 ms, and succeeds; polls should_stop.  Used to watch a
 * run from outside while it runs: the live line on a terminal, `status`
 * from another shell, the running file. */
#include <time.h>

#include "fault.h"

static const struct ct_option slowprogress_options[] = {
    {.key = "seconds", .type = CT_OPT_INT, .default_value = "2", .help = "how long"},
    {.key = "step",
     .type = CT_OPT_STRING,
     .default_value = "sleeping",
     .help = "the words of each report"},
    {.key = NULL},
};

static int
slowprogress_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct timespec tick = {0, 50 * 1000 * 1000};
	const char *step = "sleeping";
	int64_t seconds = 2;

	(void)state;
	ct->opt_int(t, "seconds", &seconds);
	ct->opt_string(t, "step", &step);
	for (int64_t i = 0; i < seconds * 20; i++) {
		if (ct->should_stop(t)) {
			ct->set_status(t, CT_STATUS_FAIL, "stopped when asked");
			return CT_ECANCELED;
		}
		ct->progress(t, (double)i / (double)(seconds * 20), step);
		nanosleep(&tick, NULL);
	}
	ct->progress(t, 1.0, step);
	ct->set_status(t, CT_STATUS_OK, "slept %lld s", (long long)seconds);
	return CT_OK;
}

CT_PLUGIN_DEFINE(.name = "slowprogress", .version = "0",
                 .summary = "fault plugin: sleeps, reporting progress",
                 .options = slowprogress_options, .init = fault_init, .run = slowprogress_run,
                 .report = fault_report);
