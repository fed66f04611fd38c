/* Crashes in a constructor, i.e. while being loaded: the listing must
 * survive and name it. */
#include <signal.h>
#include <stdlib.h>

#include "fault.h"

__attribute__((constructor)) static void
ctorcrash_boom(void)
{
	if (getenv("CARETAKER_FAULT_CTOR_OK") == NULL)
		raise(SIGSEGV);
}

static int
ctorcrash_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	(void)state;
	return CT_OK;
}

FAULT_PLUGIN("ctorcrash", ctorcrash_run);
