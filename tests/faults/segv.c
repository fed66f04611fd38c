/* Dereferences NULL in run: the core must report "crashed (SIGSEGV)". */
#include <signal.h>

#include "fault.h"

static int
segv_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	volatile int *p = state;

	ct->log(t, CT_LOG_NOTICE, "about to crash");
	return *p;
}

FAULT_PLUGIN("segv", segv_run);
