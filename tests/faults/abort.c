/* Calls abort() in run: "crashed (SIGABRT)". */
#include <stdlib.h>

#include "fault.h"

static int
abort_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	(void)state;
	abort();
}

FAULT_PLUGIN("abort", abort_run);
