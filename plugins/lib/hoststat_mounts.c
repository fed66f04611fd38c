/*
 * hoststat_mounts.c — the mount table from /proc/self/mountinfo and each
 * mount's statvfs (see hoststat.h).
 *
 * Why mountinfo and not /proc/mounts: it gives each mount's device number,
 * which is how a file system mounted twice (bind mounts, a container's
 * /etc/hosts) is counted once, and its fields are separated unambiguously
 * (the optional fields end at a lone "-").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <caretaker/errors.h>

#include "hoststat.h"

/* The kernel writes space, tab, newline and backslash in paths as \ooo. */
static void
unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r != '\0'; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Splits one line (modified in place) into its whitespace-separated
 * fields; returns how many, at most `max`. */
static size_t
split_fields(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *f = strtok_r(line, " ", &save); f != NULL && n < max;
	     f = strtok_r(NULL, " ", &save))
		fields[n++] = f;
	return n;
}

struct mount_line {
	unsigned major, minor;
	char *mount_point, *fstype, *source;
};

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw" */
static int
mount_line_parse(char *line, struct mount_line *ml)
{
	char *f[64];
	size_t n = split_fields(line, f, 64), dash = 6;

	while (dash < n && strcmp(f[dash], "-") != 0)
		dash++;
	if (n < 6 || dash + 1 >= n || sscanf(f[2], "%u:%u", &ml->major, &ml->minor) != 2)
		return CT_EINVAL;
	ml->mount_point = f[4];
	ml->fstype = f[dash + 1];
	ml->source = dash + 2 < n ? f[dash + 2] : "none";
	unescape(ml->mount_point);
	unescape(ml->source);
	return 0;
}

static int
is_in(const char *word, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(word, list[i]) == 0)
			return 1;
	return 0;
}

static int
has_device(const struct hoststat_mounts *ms, unsigned major, unsigned minor)
{
	for (size_t i = 0; i < ms->n; i++)
		if (ms->items[i].dev_major == major && ms->items[i].dev_minor == minor)
			return 1;
	return 0;
}

static int
mounts_add(struct hoststat_mounts *ms, const struct mount_line *ml)
{
	struct hoststat_mount *grown = realloc(ms->items, (ms->n + 1) * sizeof(*ms->items));
	struct hoststat_mount *m;

	if (grown == NULL)
		return CT_ENOMEM;
	ms->items = grown;
	m = &ms->items[ms->n];
	memset(m, 0, sizeof(*m));
	m->mount_point = strdup(ml->mount_point);
	m->fstype = strdup(ml->fstype);
	m->source = strdup(ml->source);
	m->dev_major = ml->major;
	m->dev_minor = ml->minor;
	ms->n++;
	return m->mount_point && m->fstype && m->source ? 0 : CT_ENOMEM;
}

struct mount_filter {
	const char *const *exclude_fs, *const *only;
	size_t n_exclude, n_only;
};

static int
mount_take(struct hoststat_mounts *ms, char *line, const struct mount_filter *mf)
{
	struct mount_line ml;
	int rc = mount_line_parse(line, &ml);

	if (rc != 0)
		return rc;
	if (is_in(ml.fstype, mf->exclude_fs, mf->n_exclude) ||
	    (mf->n_only > 0 && !is_in(ml.mount_point, mf->only, mf->n_only)) ||
	    has_device(ms, ml.major, ml.minor))
		return 0;
	return mounts_add(ms, &ml);
}

int
hoststat_mounts_parse(const char *text, const char *const *exclude_fs, size_t n_exclude,
                      const char *const *only, size_t n_only, struct hoststat_mounts *out)
{
	const struct mount_filter mf = {exclude_fs, only, n_exclude, n_only};
	struct hoststat_mounts ms = {0};
	char *copy = strdup(text), *save = NULL;
	int rc = copy != NULL ? 0 : CT_ENOMEM;

	for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; rc == 0 && line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		rc = mount_take(&ms, line, &mf);
	free(copy);
	if (rc != 0) {
		hoststat_mounts_free(&ms);
		return rc;
	}
	*out = ms;
	return 0;
}

void
hoststat_mounts_stat(struct hoststat_mounts *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		struct hoststat_mount *m = &ms->items[i];
		struct statvfs v;

		if (statvfs(m->mount_point, &v) != 0) {
			m->stat_errno = errno;
			continue;
		}
		m->is_stat = 1;
		m->size_bytes = (uint64_t)v.f_blocks * v.f_frsize;
		m->free_bytes = (uint64_t)v.f_bfree * v.f_frsize;
		m->avail_bytes = (uint64_t)v.f_bavail * v.f_frsize;
		m->inodes = v.f_files;
		m->inodes_free = v.f_ffree;
	}
}

double
hoststat_mount_used_ratio(const struct hoststat_mount *m)
{
	uint64_t used = m->size_bytes - m->free_bytes;

	if (!m->is_stat || used + m->avail_bytes == 0)
		return 0;
	return (double)used / (double)(used + m->avail_bytes);
}

double
hoststat_mount_inodes_used_ratio(const struct hoststat_mount *m)
{
	if (!m->is_stat || m->inodes == 0)
		return 0;
	return (double)(m->inodes - m->inodes_free) / (double)m->inodes;
}

void
hoststat_mounts_free(struct hoststat_mounts *ms)
{
	if (ms == NULL)
		return;
	for (size_t i = 0; i < ms->n; i++) {
		free(ms->items[i].mount_point);
		free(ms->items[i].fstype);
		free(ms->items[i].source);
	}
	free(ms->items);
	ms->items = NULL;
	ms->n = 0;
}
