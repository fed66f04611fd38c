/* A descriptor from a future ABI major (2.0), written by hand on purpose. */
#include "fault.h"

static int
wrongabi_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	(void)state;
	return CT_OK;
}

CT_EXPORT extern const struct ct_plugin caretaker_plugin;
CT_EXPORT const struct ct_plugin caretaker_plugin = {
    .abi_version = (2u << 16) | 0u,
    .size = sizeof(struct ct_plugin),
    .sizeof_pointer = sizeof(void *),
    .sizeof_time_t = sizeof(time_t),
    .sizeof_off_t = sizeof(off_t),
    .option_size = sizeof(struct ct_option),
    .name = "wrongabi",
    .version = "0",
    .summary = "fault plugin: ABI 2.0",
    .init = fault_init,
    .run = wrongabi_run,
    .report = fault_report,
};
