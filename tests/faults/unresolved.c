/* Calls a function no library defines.  Loaded lazily it would crash at the
 * call; the core binds eagerly and must refuse it at load time, naming the
 * symbol. */
#include "fault.h"

extern int caretaker_fault_function_that_does_not_exist(void);

static int
unresolved_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	(void)state;
	return caretaker_fault_function_that_does_not_exist();
}

FAULT_PLUGIN("unresolved", unresolved_run);
