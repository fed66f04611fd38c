/*
 * perms_scan.c — the `scan` trees: every entry below each (links never
 * followed, treewalk.h) checked for what no rule should have to name:
 *
 *  - world-writable files and folders (a folder with the sticky bit, as
 *    /tmp, is fine): an error;
 *  - setuid and setgid files: a warning, someone should know each one;
 *  - secret-looking files readable by others (an error) or by the group
 *    (a warning): by name (`secret_names`), a PEM private key in the first
 *    16 KiB of a small file, or a settings file (`settings_files`) that
 *    holds SECRET_KEY.
 *
 * Content is read only from regular files the group or others can read,
 * opened relative to the walk's folder descriptor with O_NOFOLLOW and
 * O_NONBLOCK (a FIFO put in place of a file cannot hang the scan).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "pathmatch.h"
#include "perms.h"
#include "treewalk.h"

#define KEY_READ_BYTES (16 * 1024)
#define SETTINGS_READ_BYTES (1024 * 1024)

struct scan_walk {
	struct plugin_host *h;
	const struct perms_opts *o;
	struct perms_tally *y;
};

static int
name_matches(const char *const *patterns, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(patterns[i], name, 0) == 0)
			return 1;
	return 0;
}

/* Non-zero when the first `limit` bytes of the file hold `a` (and `b`,
 * when not NULL).  A file that cannot be read, or is no longer the one
 * the walk saw, holds nothing. */
static int
file_holds(const struct treewalk_entry *e, size_t limit, const char *a, const char *b)
{
	int fd =
	    openat(e->dir_fd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	char *buf = NULL;
	struct stat st;
	ssize_t got = 0, n = 1;
	int found = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) != 0 || st.st_ino != e->st->st_ino || !S_ISREG(st.st_mode))
		goto out;
	buf = malloc(limit);
	while (buf != NULL && (size_t)got < limit && n > 0) {
		n = read(fd, buf + got, limit - (size_t)got);
		got += n > 0 ? n : 0;
	}
	found = buf != NULL && memmem(buf, (size_t)got, a, strlen(a)) != NULL &&
	        (b == NULL || memmem(buf, (size_t)got, b, strlen(b)) != NULL);
out:
	free(buf);
	close(fd);
	return found;
}

/* Why the file looks like a secret, or NULL. */
static const char *
secret_kind(const struct scan_walk *sw, const struct treewalk_entry *e)
{
	if (name_matches(sw->o->secret_names, sw->o->n_secret_names, e->name))
		return "secret by its name";
	if (e->st->st_size <= KEY_READ_BYTES &&
	    file_holds(e, KEY_READ_BYTES, "-----BEGIN ", "PRIVATE KEY-----"))
		return "a private key";
	if (name_matches(sw->o->settings_files, sw->o->n_settings_files, e->name) &&
	    file_holds(e, SETTINGS_READ_BYTES, "SECRET_KEY", NULL))
		return "settings holding SECRET_KEY";
	return NULL;
}

static void
check_secret(struct scan_walk *sw, const struct treewalk_entry *e, const char *mode)
{
	const char *kind;
	int is_others = (e->st->st_mode & S_IROTH) != 0;

	if (!S_ISREG(e->st->st_mode) || (e->st->st_mode & (S_IRGRP | S_IROTH)) == 0)
		return;
	kind = secret_kind(sw, e);
	if (kind == NULL)
		return;
	sw->y->secrets++;
	perms_finding(sw->h, sw->y, is_others ? CT_SEV_ERROR : CT_SEV_WARNING, e->path,
	              "%s, readable by %s (mode %s)", kind, is_others ? "others" : "its group",
	              mode);
}

static void
check_entry(struct scan_walk *sw, const struct treewalk_entry *e)
{
	mode_t m = e->st->st_mode;
	char mode[8];

	perms_mode_words((int)(m & 07777), mode);
	if ((m & S_IWOTH) != 0 && !(S_ISDIR(m) && (m & S_ISVTX) != 0)) {
		sw->y->world_writable++;
		perms_finding(sw->h, sw->y, CT_SEV_ERROR, e->path, "world-writable %s (mode %s)",
		              S_ISDIR(m) ? "folder without the sticky bit" : "file", mode);
	}
	if (S_ISREG(m) && (m & (S_ISUID | S_ISGID)) != 0) {
		sw->y->setid++;
		perms_finding(sw->h, sw->y, CT_SEV_WARNING, e->path, "%s file (mode %s)",
		              (m & S_ISUID) != 0 ? "setuid" : "setgid", mode);
	}
	check_secret(sw, e, mode);
}

static int
visit_cb(const struct treewalk_entry *e, void *arg)
{
	struct scan_walk *sw = arg;

	if (sw->h->ct->should_stop(sw->h->t))
		return CT_ECANCELED;
	if (e->error != 0) {
		sw->y->errors++;
		perms_finding(sw->h, sw->y, CT_SEV_WARNING, e->path, "cannot %s: %s", e->what,
		              e->error == ENOENT && e->depth == 0 ? "missing" : strerror(e->error));
		return TREEWALK_SKIP;
	}
	if (e->depth > 0 && pathmatch_is_excluded(sw->o->exclude, sw->o->n_exclude, e->rel,
	                                          S_ISDIR(e->st->st_mode)))
		return TREEWALK_SKIP;
	if (e->is_too_deep)
		perms_too_deep(sw->h, sw->y, e->path, e->depth);
	if (S_ISLNK(e->st->st_mode)) {
		sw->y->links++;
		if (e->depth == 0)
			perms_finding(sw->h, sw->y, CT_SEV_WARNING, e->path,
			              "is a symbolic link: not followed, not scanned");
		return TREEWALK_SKIP;
	}
	sw->y->scanned++;
	check_entry(sw, e);
	return TREEWALK_CONTINUE;
}

int
perms_scan_run(struct plugin_host *h, const struct perms_opts *o, struct perms_tally *y)
{
	struct scan_walk sw = {.h = h, .o = o, .y = y};
	int rc = 0;

	for (size_t i = 0; i < o->n_scan && rc == 0; i++) {
		struct treewalk_params p = {.root = o->scan[i],
		                            .max_depth = (int)o->max_depth,
		                            .is_one_file_system = o->is_one_file_system,
		                            .visit = visit_cb,
		                            .arg = &sw};

		h->ct->progress(h->t, -1.0, "scanning");
		rc = treewalk_run(&p);
	}
	return rc;
}
