/* Calls exit(3) in run, which a plugin must never do. */
#include <stdlib.h>

#include "fault.h"

static int
exit3_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	(void)state;
	exit(3);
}

FAULT_PLUGIN("exit3", exit3_run);
