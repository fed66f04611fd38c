/*
 * fault.h — shared parts of the fault plugins: each one misbehaves in a
 * single way in run() (or at load time) and the tests check the core
 * survives it with the right words and exit status.
 */
#ifndef CT_FAULT_H
#define CT_FAULT_H

#include <caretaker/plugin.h>

static int
fault_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	(void)t;
	(void)ct;
	*state = 0;
	return CT_OK;
}

static int
fault_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	(void)state;
	return CT_OK;
}

#define FAULT_PLUGIN(plugin_name, run_fn)                                                          \
	CT_PLUGIN_DEFINE(.name = plugin_name, .version = "0",                                      \
	                 .summary = "fault plugin: " plugin_name, .init = fault_init,              \
	                 .run = run_fn, .report = fault_report)

#endif
