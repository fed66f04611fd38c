/*
 * caretaker-import-logrotate — the logrotate plugin's helper command:
 * `caretaker import-logrotate FILE [-o OUT]` writes logrotate jobs for
 * the blocks of a logrotate(8) file (import.c does the work), with a
 * warning on stderr for every directive it cannot map.
 */
#include <stdio.h>
#include <string.h>

#include "import.h"

static int
usage(FILE *to, int status)
{
	fprintf(to, "usage: caretaker import-logrotate FILE [-o OUT.ini]\n"
	            "Writes a job of the logrotate plugin for every block of the logrotate(8)\n"
	            "file FILE, to OUT.ini or to stdout, and warns on stderr about each\n"
	            "directive it cannot map (see docs/logrotate.md).\n");
	return status;
}

int
main(int argc, char **argv)
{
	FILE *in = NULL, *out = stdout;
	char err[512] = "";
	size_t n_warnings = 0;
	int rc;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return usage(stdout, 0);
	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "-o") == 0))
		return usage(stderr, 2);
	in = fopen(argv[1], "r");
	if (in == NULL) {
		fprintf(stderr, "import-logrotate: cannot read %s: %m\n", argv[1]);
		return 1;
	}
	if (argc == 4 && (out = fopen(argv[3], "w")) == NULL) {
		fprintf(stderr, "import-logrotate: cannot write %s: %m\n", argv[3]);
		fclose(in);
		return 1;
	}
	rc = import_logrotate(in, argv[1], out, stderr, &n_warnings, err, sizeof(err));
	fclose(in);
	if (out != stdout && fclose(out) != 0 && rc == 0)
		rc = -1;
	if (rc != 0) {
		fprintf(stderr, "import-logrotate: %s\n", err[0] ? err : "cannot write the jobs");
		return 1;
	}
	if (n_warnings > 0)
		fprintf(stderr, "import-logrotate: %zu directive(s) left out; check the jobs\n",
		        n_warnings);
	return 0;
}
