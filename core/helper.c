/*
 * helper.c — finding and starting helper commands (see helper.h).
 *
 * Why the loader's checks: caretaker often runs as root from a timer, and
 * `caretaker NAME` would otherwise run whatever file a writable folder
 * holds.  Why the path is executed and not the checked descriptor: the
 * checks have just shown that only root can change the file or any folder
 * above it, so nobody else can swap it in between; and a helper written as
 * a script then sees its own path in $0 (after fexecve it would see
 * /dev/fd/N, and could not find the files beside it).
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcode.h"
#include "helper.h"
#include "loader.h"
#include "xmalloc.h"

#ifndef CT_LIBEXECDIR
#define CT_LIBEXECDIR "/usr/libexec/caretaker"
#endif

#define HELPER_PREFIX "caretaker-"

/* The folders to search, as one string of ':'-separated entries. */
static const char *
helper_exec_path(void)
{
	const char *env = getenv("CARETAKER_EXEC_PATH");

	return env != NULL && env[0] != '\0' ? env : CT_LIBEXECDIR;
}

/* The first folder's copy of caretaker-NAME that exists, or NULL (caller
 * frees). */
static char *
helper_find(const char *name)
{
	char *dirs = xstrdup(helper_exec_path()), *rest = dirs, *dir;
	char *found = NULL;

	while (found == NULL && (dir = strsep(&rest, ":")) != NULL) {
		char *path;

		if (dir[0] == '\0')
			continue;
		path = xasprintf("%s/" HELPER_PREFIX "%s", dir, name);
		if (access(path, F_OK) == 0)
			found = path;
		else
			free(path);
	}
	free(dirs);
	return found;
}

static void
helper_set_env(const struct helper_context *ctx)
{
	char *abs = NULL, verbosity[16];

	if (ctx->config_path[0] != '/') {
		char *cwd = getcwd(NULL, 0);

		if (cwd != NULL)
			abs = xasprintf("%s/%s", cwd, ctx->config_path);
		free(cwd);
	}
	setenv("CARETAKER_CONFIG", abs != NULL ? abs : ctx->config_path, 1);
	snprintf(verbosity, sizeof(verbosity), "%d", ctx->verbosity);
	setenv("CARETAKER_VERBOSITY", verbosity, 1);
	free(abs);
}

/* The loader's checks of the file and its folders (owner and mode as
 * root); 0 or -1 after saying why. */
static int
helper_check(const char *path)
{
	char err[512];
	int fd = -1;

	if (loader_check_path(path, geteuid() == 0, &fd, err, sizeof(err)) != 0) {
		fprintf(stderr, "caretaker: helper %s refused: %s\n", path, err);
		return -1;
	}
	close(fd);
	return 0;
}

int
helper_exec(const struct helper_context *ctx, int argc, char **argv)
{
	char *path = NULL;

	(void)argc;
	if (!loader_name_is_valid(argv[0]) || (path = helper_find(argv[0])) == NULL) {
		fprintf(stderr,
		        "caretaker: unknown command '%s': not built in, and no helper "
		        "caretaker-%s in %s\n"
		        "hint: `caretaker help` lists the commands and the installed helpers\n",
		        argv[0], argv[0], helper_exec_path());
		return EXIT_USAGE;
	}
	if (helper_check(path) == 0) {
		helper_set_env(ctx);
		argv[0] = strrchr(path, '/') + 1;
		fflush(NULL);
		execv(path, argv);
		fprintf(stderr, "caretaker: cannot run %s: %s\n", path, strerror(errno));
	}
	free(path);
	return EXIT_JOB_FAILED;
}

static int
helper_name_filter(const struct dirent *e)
{
	const char *name = e->d_name + strlen(HELPER_PREFIX);

	return strncmp(e->d_name, HELPER_PREFIX, strlen(HELPER_PREFIX)) == 0 &&
	       loader_name_is_valid(name);
}

/* Lists one folder's helpers that no earlier folder had. */
static int
helper_list_dir(FILE *out, const char *dir)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, helper_name_filter, alphasort), count = 0;

	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name + strlen(HELPER_PREFIX);
		char *first = helper_find(name), *here = xasprintf("%s/%s", dir, names[i]->d_name);

		if (first != NULL && strcmp(first, here) == 0 && access(here, X_OK) == 0) {
			fprintf(out, "  %-28s %s\n", name, dir);
			count++;
		}
		free(first);
		free(here);
		free(names[i]);
	}
	free(names);
	return count;
}

int
helper_list(FILE *out)
{
	char *dirs = xstrdup(helper_exec_path()), *rest = dirs, *dir;
	int count = 0;

	while ((dir = strsep(&rest, ":")) != NULL)
		if (dir[0] != '\0')
			count += helper_list_dir(out, dir);
	free(dirs);
	return count;
}
