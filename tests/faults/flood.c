/* Writes 100 MB to stdout and 100 MB through add_output: the core keeps
 * only head and tail, counts the rest, and stays within its memory. */
#include <string.h>
#include <unistd.h>

#include "fault.h"

#define FLOOD_BYTES (100u << 20)

static int
flood_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	static char line[4096];
	size_t done = 0;

	(void)state;
	memset(line, 'x', sizeof(line));
	memcpy(line, "FLOOD-HEAD ", 11);
	line[sizeof(line) - 1] = '\n';
	while (done < FLOOD_BYTES) {
		if (write(STDOUT_FILENO, line, sizeof(line)) < 0)
			break;
		ct->add_output(t, "stdout", line, sizeof(line));
		done += sizeof(line);
		memcpy(line, "flood-body ", 11);
	}
	ct->add_output(t, "stdout", "FLOOD-TAIL\n", 11);
	ct->set_status(t, CT_STATUS_OK, "flooded %zu bytes", done);
	return CT_OK;
}

FAULT_PLUGIN("flood", flood_run);
