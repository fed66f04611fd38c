/* A descriptor whose words carry terminal escapes: `plugins` and
 * `describe` must show them, not let them rewrite the screen. */
#include "fault.h"

static int
ansi_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)state;
	ct->set_status(t, CT_STATUS_OK, "done");
	return CT_OK;
}

static const struct ct_option ansi_options[] = {
    {.key = "colour", .type = CT_OPT_STRING, .help = "option help \x1b[2J wipes the screen"},
    {.key = NULL},
};

CT_PLUGIN_DEFINE(.name = "ansi", .version = "1\x1b[31m", .summary = "summary \x1b[31mred\x1b[0m",
                 .help = "first line\nsecond \x1b]0;title\x07 line", .options = ansi_options,
                 .init = fault_init, .run = ansi_run, .report = fault_report);
