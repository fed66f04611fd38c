/*
 * caretaker-keygen — the helper command `caretaker keygen` (see keys.h;
 * caretaker(8) documents its options and exit statuses).
 */
#include "keys.h"

int
main(int argc, char **argv)
{
	struct keys_options opts;
	int rc = keys_parse_args(argc, argv, &opts);

	return rc != 0 ? rc : keys_generate(&opts);
}
