/*
 * apt_record.c — what the run leaves for a rollback and for the report
 * (see apt.h): the versions before the upgrade, the versions after it,
 * and whether the system wants a reboot.
 *
 * The versions file has one `name=version` line per package the run is
 * about to upgrade, as `apt-get install --allow-downgrades name=version`
 * takes them, so a rollback reinstalls them with
 *
 *   xargs -a FILE apt-get install -y --allow-downgrades
 *
 * It is written, synced and renamed into place before apt-get starts, so
 * an upgrade that dies half-way still leaves the list of what was there.
 */
#define _GNU_SOURCE /* scandir's alphasort */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apt.h"

#define VERSIONS_PREFIX "versions-"
#define VERSIONS_SUFFIX ".list"

static int
write_lines(FILE *f, const struct apt_plan *plan)
{
	for (size_t i = 0; i < plan->n_pkgs; i++) {
		const struct apt_pkg *p = &plan->pkgs[i];

		if (p->is_chosen && p->old_version != NULL &&
		    fprintf(f, "%s=%s\n", p->name, p->old_version) < 0)
			return -1;
	}
	return fflush(f) != 0 || fsync(fileno(f)) != 0 ? -1 : 0;
}

static int
is_versions_file(const struct dirent *d)
{
	size_t len = strlen(d->d_name), pre = strlen(VERSIONS_PREFIX);

	return len > pre + strlen(VERSIONS_SUFFIX) &&
	       strncmp(d->d_name, VERSIONS_PREFIX, pre) == 0 &&
	       strcmp(d->d_name + len - strlen(VERSIONS_SUFFIX), VERSIONS_SUFFIX) == 0;
}

/* The names sort by time (UTC stamps); the oldest beyond `keep` go. */
static void
prune(struct plugin_host *h, const char *dir, int64_t keep)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, is_versions_file, alphasort);
	char path[4096];

	for (int i = 0; i < n; i++) {
		if ((int64_t)(n - i) > keep) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			if (unlink(path) != 0)
				h->ct->log(h->t, CT_LOG_WARNING, "cannot remove %s: %s", path,
				           strerror(errno));
		}
		free(names[i]);
	}
	free(names);
}

int
apt_record_versions(struct plugin_host *h, const struct apt_opts *o, const struct apt_plan *plan,
                    struct apt_outcome *oc)
{
	const char *dir = h->ct->state_dir(h->t);
	char stamp[32], tmp[sizeof(oc->versions_path) + 16];
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(oc->versions_path, sizeof(oc->versions_path),
	         "%s/" VERSIONS_PREFIX "%s" VERSIONS_SUFFIX, dir, stamp);
	snprintf(tmp, sizeof(tmp), "%s.partial", oc->versions_path);
	f = fopen(tmp, "w");
	if (f == NULL || write_lines(f, plan) != 0 || fclose(f) != 0 ||
	    rename(tmp, oc->versions_path) != 0) {
		int e = errno;

		if (f != NULL)
			unlink(tmp);
		oc->versions_path[0] = '\0';
		return plugin_host_fail(h, CT_EIO,
		                        "cannot record the versions before the upgrade in %s: %s",
		                        tmp, strerror(e));
	}
	prune(h, dir, o->keep_versions);
	return CT_OK;
}

static struct apt_pkg *
plan_find(struct apt_plan *plan, const char *name, size_t len)
{
	for (size_t i = 0; i < plan->n_pkgs; i++) {
		const char *n = plan->pkgs[i].name;

		if (strncmp(n, name, len) == 0 && (n[len] == '\0' || n[len] == ':'))
			return &plan->pkgs[i];
	}
	return NULL;
}

/* "name[:arch] version ii " lines from dpkg-query into pkg->now.  dpkg
 * qualifies a Multi-Arch: same package with its architecture
 * ("libc6:amd64") where apt-get -s names it bare for the native one. */
static void
read_installed(struct apt_plan *plan, const char *text)
{
	for (const char *line = text; *line != '\0';) {
		size_t len = strcspn(line, "\n"), name_len = strcspn(line, " \n");
		const char *ver = line + name_len + (line[name_len] == ' ');
		size_t ver_len = strcspn(ver, " \n");
		struct apt_pkg *p = plan_find(plan, line, name_len);

		if (p == NULL)
			p = plan_find(plan, line, strcspn(line, ": \n"));
		if (p != NULL && ver + ver_len < line + len &&
		    strncmp(ver + ver_len, " ii", 3) == 0) {
			free(p->now);
			p->now = strndup(ver, ver_len);
		}
		line += len + (line[len] == '\n');
	}
}

int
apt_record_installed(struct plugin_host *h, const struct apt_opts *o, struct apt_plan *plan)
{
	const char **args = calloc(plan->n_pkgs + 4, sizeof(*args));
	struct apt_output out = {0};
	size_t n = 0;
	int rc;

	if (args == NULL)
		return CT_ENOMEM;
	args[n++] = "-W";
	args[n++] = "-f=${binary:Package} ${Version} ${db:Status-Abbrev}\n";
	for (size_t i = 0; i < plan->n_pkgs; i++)
		if (plan->pkgs[i].is_chosen)
			args[n++] = plan->pkgs[i].name;
	rc = apt_cmd_run(h, o, "dpkg-query", args, NULL, &out);
	if (rc == CT_OK && out.text != NULL)
		read_installed(plan, out.text);
	apt_output_free(&out);
	free(args);
	return rc;
}

void
apt_record_reboot(const struct apt_opts *o, struct apt_outcome *oc)
{
	char pkgs_path[4096];
	FILE *f;
	size_t n = 0;

	oc->is_reboot_required = o->reboot_file != NULL && access(o->reboot_file, F_OK) == 0;
	oc->reboot_pkgs[0] = '\0';
	if (!oc->is_reboot_required)
		return;
	snprintf(pkgs_path, sizeof(pkgs_path), "%s.pkgs", o->reboot_file);
	f = fopen(pkgs_path, "r");
	if (f == NULL)
		return;
	n = fread(oc->reboot_pkgs, 1, sizeof(oc->reboot_pkgs) - 1, f);
	fclose(f);
	oc->reboot_pkgs[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (oc->reboot_pkgs[i] == '\n')
			oc->reboot_pkgs[i] = i + 1 < n ? ',' : '\0';
}
