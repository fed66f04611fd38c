/* Writes to an unmapped address in run: the core must report
 * "crashed (SIGSEGV)".  (A store to a low non-NULL address: sanitizers do
 * not turn it into a report of their own.) */
#include <stdint.h>

#include "fault.h"

static int
segv_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	/* Read through a volatile so the compiler cannot see the address. */
	volatile uintptr_t address = 16;
	volatile int *p;

	(void)state;
	ct->log(t, CT_LOG_NOTICE, "about to crash");
	p = (volatile int *)address;
	*p = 1;
	return CT_OK;
}

FAULT_PLUGIN("segv", segv_run);
