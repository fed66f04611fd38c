/*
 * pgtools_version.c — which pg_dump (pg_restore, psql) to run for a server,
 * and whether it is new enough (see pgtools.h).
 *
 * pg_dump refuses to dump a server of a newer major version, and a
 * pg_restore older than the pg_dump that wrote an archive may not read it,
 * so the program must be at least the server's major version.  Debian
 * installs every major side by side in /usr/lib/postgresql/MAJOR/bin and
 * points /usr/bin at a wrapper that picks one by the local clusters, which
 * is not necessarily the server we talk to; hence the versioned folder
 * first.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "pgtools.h"

/* Debian's layout; the versioned folders of other distributions (RHEL's
 * /usr/pgsql-15/bin) can be given with a plugin's pg_bindir option. */
#define DEBIAN_BINDIR_FMT "/usr/lib/postgresql/%s/bin"

static int
version_from_numbers(long major, long minor, long patch, int *version_num)
{
	if (major >= 10 && major < 1000)
		*version_num = (int)(major * 10000 + (minor >= 0 ? minor : 0));
	else if (major >= 7 && major <= 9)
		*version_num = (int)(major * 10000 + (minor >= 0 ? minor : 0) * 100 +
		                     (patch >= 0 ? patch : 0));
	else
		return CT_EINVAL;
	return 0;
}

/* Parses "15.18", "9.6.24", "17beta1", "16devel" at `p`. */
static int
version_parse_number(const char *p, int *version_num)
{
	long part[3] = {-1, -1, -1};
	char *end;

	for (int i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*p))
			break;
		part[i] = strtol(p, &end, 10);
		p = end;
		if (*p != '.')
			break;
		p++;
	}
	if (part[0] < 0)
		return CT_EINVAL;
	return version_from_numbers(part[0], part[1], part[2], version_num);
}

int
pgtools_version_parse(const char *text, int *version_num)
{
	const char *p = text;

	/* "pg_dump (PostgreSQL) 15.18 (Debian ...)": the first word that
	 * starts with a digit; the program name never does. */
	while (*p != '\0') {
		if (isdigit((unsigned char)*p) && (p == text || isspace((unsigned char)p[-1])))
			return version_parse_number(p, version_num);
		p++;
	}
	return CT_EINVAL;
}

void
pgtools_major_name(int version_num, char *buf, size_t size)
{
	if (version_num >= 100000)
		snprintf(buf, size, "%d", version_num / 10000);
	else
		snprintf(buf, size, "%d.%d", version_num / 10000, version_num / 100 % 100);
}

static int
version_major(int version_num)
{
	return version_num >= 100000 ? version_num / 10000 * 100 : version_num / 100;
}

int
pgtools_version_check(const char *prog, int prog_num, int server_num, char *err, size_t err_size)
{
	char have[16], need[16];

	if (version_major(prog_num) >= version_major(server_num))
		return 0;
	pgtools_major_name(prog_num, have, sizeof(have));
	pgtools_major_name(server_num, need, sizeof(need));
	snprintf(err, err_size,
	         "%s %s is older than the server (PostgreSQL %s) and cannot be used with it\n"
	         "hint: install postgresql-client-%s (or set pg_bindir to its bin folder)",
	         prog, have, need, need);
	return CT_EUNSUPPORTED;
}

static int
path_join(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	return n > 0 && (size_t)n < size ? 0 : CT_EINVAL;
}

/* The first executable `prog` on PATH. */
static int
find_on_path(const char *prog, char *out, size_t size)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX];

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path != '\0') {
		size_t len = strcspn(path, ":");

		if (len > 0 && len < sizeof(dir)) {
			memcpy(dir, path, len);
			dir[len] = '\0';
			if (path_join(out, size, dir, prog) == 0 && access(out, X_OK) == 0)
				return 0;
		}
		path += len + (path[len] == ':');
	}
	return CT_ENOENT;
}

static int
find_candidate(const char *prog, const char *bindir, int server_num, char *out, size_t size)
{
	char major[16], dir[64];

	if (bindir != NULL)
		return path_join(out, size, bindir, prog) == 0 && access(out, X_OK) == 0
		           ? 0
		           : CT_ENOENT;
	pgtools_major_name(server_num, major, sizeof(major));
	snprintf(dir, sizeof(dir), DEBIAN_BINDIR_FMT, major);
	if (path_join(out, size, dir, prog) == 0 && access(out, X_OK) == 0)
		return 0;
	return find_on_path(prog, out, size);
}

/* Runs `path --version` and reads its one line. */
static int
read_version_line(const char *path, char *line, size_t size, char *err, size_t err_size)
{
	extern char **environ;
	char *const argv[] = {(char *)path, "--version", NULL};
	struct pgtools_child c;
	size_t len = 0;
	ssize_t n;
	int status = 0, rc;

	rc = pgtools_spawn(path, argv, environ, PGTOOLS_STDOUT, &c, err, err_size);
	if (rc != 0)
		return rc;
	while (len + 1 < size && (n = read(c.out_fd, line + len, size - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	line[len] = '\0';
	line[strcspn(line, "\n")] = '\0';
	rc = pgtools_wait(&c, &status);
	pgtools_child_close(&c);
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		snprintf(err, err_size, "%s --version failed", path);
		rc = CT_ECHILD;
	}
	return rc;
}

int
pgtools_find(const char *prog, const char *bindir, int server_num, struct pgtools_prog *out,
             char *err, size_t err_size)
{
	struct pgtools_prog p = {.version_num = 0};
	char major[16];
	int rc;

	pgtools_major_name(server_num, major, sizeof(major));
	if (find_candidate(prog, bindir, server_num, p.path, sizeof(p.path)) != 0) {
		if (bindir != NULL)
			snprintf(err, err_size,
			         "%s not found in %s\nhint: install postgresql-client-%s", prog,
			         bindir, major);
		else
			snprintf(err, err_size,
			         "%s not found in " DEBIAN_BINDIR_FMT " or on PATH\n"
			         "hint: install postgresql-client-%s",
			         prog, major, major);
		return CT_ENOENT;
	}
	rc = read_version_line(p.path, p.version, sizeof(p.version), err, err_size);
	if (rc != 0)
		return rc;
	if (pgtools_version_parse(p.version, &p.version_num) != 0) {
		snprintf(err, err_size, "%s: cannot read a version in '%s'", p.path, p.version);
		return CT_ECHILD;
	}
	rc = pgtools_version_check(p.path, p.version_num, server_num, err, err_size);
	if (rc == 0)
		*out = p;
	return rc;
}
