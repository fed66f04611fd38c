/* Loops forever and ignores SIGTERM: the core must SIGKILL it after the
 * grace period and say "timed out after ...". */
#include <signal.h>
#include <unistd.h>

#include "fault.h"

static int
hang_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)state;
	signal(SIGTERM, SIG_IGN);
	ct->log(t, CT_LOG_NOTICE, "hanging");
	for (;;)
		pause();
	return CT_OK;
}

FAULT_PLUGIN("hang", hang_run);
