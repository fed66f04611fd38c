/*
 * helper.h — helper commands: `caretaker NAME ARGS` for a NAME that is not
 * built in runs the program caretaker-NAME from the exec path, as git runs
 * git-NAME.  A plugin ships its commands this way (the backup plugin's
 * keygen and decrypt) without the core linking their code.
 *
 * The exec path is $CARETAKER_EXEC_PATH (folders separated by ':') or else
 * the package's libexec folder.  The helper gets the same environment plus
 * CARETAKER_CONFIG (the configuration file caretaker would have read) and
 * CARETAKER_VERBOSITY (-1 for -q, 0, 1 for -v, 2 for -vv).  When caretaker
 * runs as root, a helper and its folders must pass the plugin loader's
 * ownership checks, and the checked descriptor is what gets executed.
 */
#ifndef CT_HELPER_H
#define CT_HELPER_H

#include <stdio.h>

/* What a helper inherits from caretaker's own command line. */
struct helper_context {
	const char *config_path; /* -c, $CARETAKER_CONFIG or the default */
	int verbosity;           /* -1 quiet, 0 normal, 1.. verbose */
};

/*
 * Replace this process with caretaker-NAME, argv[0..argc) being NAME and
 * its arguments.  Returns only on failure, with an exit status (EXIT_USAGE
 * when no such helper exists, EXIT_JOB_FAILED when it cannot be run) after
 * printing why on stderr.
 */
int helper_exec(const struct helper_context *ctx, int argc, char **argv);

/* Print the helper commands found in the exec path, one per line with
 * their folder, first one of each name only.  Returns how many. */
int helper_list(FILE *out);

#endif
