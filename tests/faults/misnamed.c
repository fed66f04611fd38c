/* The descriptor says "somethingelse" but the file is misnamed.so. */
#include "fault.h"

static int
misnamed_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	(void)state;
	return CT_OK;
}

FAULT_PLUGIN("somethingelse", misnamed_run);
