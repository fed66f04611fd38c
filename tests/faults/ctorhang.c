/* Never returns from a constructor, i.e. hangs while being loaded: the
 * probe must give up after probe_timeout, and remember the refusal until
 * the file changes rather than wait again at every command. */
#include <signal.h>
#include <unistd.h>

#include "fault.h"

__attribute__((constructor)) static void
ctorhang_forever(void)
{
	signal(SIGTERM, SIG_IGN);
	for (;;)
		pause();
}

static int
ctorhang_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	(void)state;
	return CT_OK;
}

FAULT_PLUGIN("ctorhang", ctorhang_run);
