/* Writes to an unmapped address in run: the core must report
 * "crashed (SIGSEGV)".  (A store to a low non-NULL address: sanitizers do
 * not turn it into a report of their own.) */
#include <stdint.h>

#include "fault.h"

static int
segv_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	volatile int *p = (volatile int *)(uintptr_t)16;

	(void)state;
	ct->log(t, CT_LOG_NOTICE, "about to crash");
	*p = 1;
	return CT_OK;
}

FAULT_PLUGIN("segv", segv_run);
