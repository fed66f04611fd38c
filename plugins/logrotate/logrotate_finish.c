/*
 * logrotate_finish.c — after the rotations (and postrotate): each log's
 * rotated copies are listed from its folder, ranked newest first (log.1 is
 * rank 0; dated copies by name), and each is removed past `rotate` or
 * `maxage`, or compressed when `compress` is set and delaycompress does
 * not keep it (rank 0) as it is.  Everything is decided from the folder,
 * so the step finishes what a killed run left: a compressed copy beside
 * its uncompressed twin means the compression had completed (the twin
 * goes), and temporary files of killed runs are removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "logrotate.h"

struct finish_copy {
	char name[256];
	char stem[256]; /* the name without a compression suffix */
	long rank;      /* 0 for the newest */
	int is_compressed;
	struct stat st;
};

struct finish_list {
	struct finish_copy *items;
	size_t n;
};

static int
finish_add(struct finish_list *l, const char *name, long rank, int is_compressed,
           const struct stat *st)
{
	struct finish_copy *grown = realloc(l->items, (l->n + 1) * sizeof(*grown)), *c;
	int is_gz = is_compressed && strcmp(name + strlen(name) - 3, ".gz") == 0;
	size_t stem_len = strlen(name) - (is_compressed ? (is_gz ? 3 : 4) : 0);

	if (grown == NULL)
		return CT_ENOMEM;
	l->items = grown;
	c = &l->items[l->n++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->stem, sizeof(c->stem), "%.*s", (int)stem_len, name);
	c->rank = rank;
	c->is_compressed = is_compressed;
	c->st = *st;
	return 0;
}

/* A temporary file a killed run left: removed (listed in a dry run). */
static void
finish_temporary(struct lr_run *run, const char *dir, const char *name)
{
	char p[PATH_MAX + 512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (run->is_dry_run) {
		lr_note(run, "would remove %s (left by an interrupted run)", p);
		return;
	}
	if (unlink(p) == 0)
		lr_note(run, "removed %s (left by an interrupted run)", p);
}

/* Every rotated copy of `base` in `dir`; dated ones ranked later. */
static int
finish_scan(struct lr_run *run, const char *dir, const char *base, struct finish_list *l)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : CT_EIO;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		int is_compressed = 0;
		long index = 0;

		if (lr_names_is_temporary(de->d_name, base)) {
			finish_temporary(run, dir, de->d_name);
			continue;
		}
		if (run->cfg.is_dateext)
			index = lr_names_is_dated(de->d_name, base, run->cfg.dateformat,
			                          &is_compressed);
		else
			index = lr_names_index(de->d_name, base, &is_compressed);
		if (index <= 0 || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		rc = finish_add(l, de->d_name, index - 1, is_compressed, &st);
	}
	closedir(d);
	return rc;
}

static int
finish_by_stem_desc(const void *a, const void *b)
{
	return strcmp(((const struct finish_copy *)b)->stem, ((const struct finish_copy *)a)->stem);
}

/* Dated copies: rank by name, newest (greatest) first; a copy and its
 * compressed twin share a rank. */
static void
finish_rank_dated(struct finish_list *l)
{
	long rank = -1;

	if (l->n > 1)
		qsort(l->items, l->n, sizeof(l->items[0]), finish_by_stem_desc);
	for (size_t i = 0; i < l->n; i++) {
		if (i == 0 || strcmp(l->items[i].stem, l->items[i - 1].stem) != 0)
			rank++;
		l->items[i].rank = rank;
	}
}

static void
finish_remove(struct lr_run *run, const char *dir, const struct finish_copy *c, const char *why)
{
	char p[PATH_MAX + 512];

	snprintf(p, sizeof(p), "%s/%s", dir, c->name);
	if (run->is_dry_run) {
		lr_note(run, "would remove %s (%s)", p, why);
		return;
	}
	if (unlink(p) != 0) {
		lr_file_failed(run, p, "cannot remove %s: %s", p, strerror(errno));
		return;
	}
	run->totals.files_removed++;
	run->totals.bytes_removed += (uint64_t)c->st.st_size;
	lr_note(run, "removed %s (%s)", p, why);
}

/* The uncompressed copy `c`: its compressed twin is complete when it
 * exists (it got its name only once synced), else it is made now. */
static void
finish_compress(struct lr_run *run, const char *dir, const struct finish_copy *c)
{
	char src[PATH_MAX + 512], dst[PATH_MAX + 520];
	struct stat st;

	snprintf(src, sizeof(src), "%s/%s", dir, c->name);
	snprintf(dst, sizeof(dst), "%s%s", src, compress_kind_suffix(run->cfg.kind));
	if (lstat(dst, &st) == 0) {
		if (run->is_dry_run)
			lr_note(run, "would remove %s (%s is complete)", src, dst);
		else if (durable_unlink(src, run->host.err, sizeof(run->host.err)) == 0 &&
		         durable_fsync_dir(dir, run->host.err, sizeof(run->host.err)) == 0)
			lr_note(run, "removed %s (%s is complete)", src, dst);
		else
			lr_file_failed(run, src, "%s", run->host.err);
		return;
	}
	if (run->is_dry_run) {
		lr_note(run, "would compress %s (%llu bytes) to %s", src,
		        (unsigned long long)c->st.st_size, dst);
		return;
	}
	run->host.err[0] = '\0';
	if (lr_compress_one(run, src, dst) != 0)
		lr_file_failed(run, src, "%s", run->host.err);
}

static void
finish_one(struct lr_run *run, const char *dir, const struct finish_copy *c)
{
	const struct lr_config *cfg = &run->cfg;
	char why[64];

	if (c->rank >= cfg->rotate) {
		snprintf(why, sizeof(why), "past rotate = %lld", (long long)cfg->rotate);
		finish_remove(run, dir, c, why);
	} else if (cfg->maxage_ms > 0 &&
	           (int64_t)(run->now - c->st.st_mtime) * 1000 > cfg->maxage_ms) {
		finish_remove(run, dir, c, "older than maxage");
	} else if (!c->is_compressed && cfg->kind != COMPRESS_NONE &&
	           c->rank >= (cfg->is_delaying ? 1 : 0)) {
		finish_compress(run, dir, c);
	}
}

/* With olddir, the new log's temporary file of a killed run is beside
 * the log, not among the copies. */
static void
finish_log_folder_temporaries(struct lr_run *run, const char *path)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (run->cfg.olddir == NULL || durable_dirname(path, dir, sizeof(dir)) != 0)
		return;
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (lr_names_is_temporary(de->d_name, lr_names_base(path)))
			finish_temporary(run, dir, de->d_name);
	closedir(d);
}

void
lr_finish_file(struct lr_run *run, const char *path)
{
	struct finish_list l = {0};
	char dir[PATH_MAX];

	finish_log_folder_temporaries(run, path);
	if (lr_names_dir(&run->cfg, path, dir, sizeof(dir)) != 0)
		return;
	if (finish_scan(run, dir, lr_names_base(path), &l) != 0)
		lr_file_failed(run, dir, "cannot list the rotated copies of %s in %s", path, dir);
	if (run->cfg.is_dateext)
		finish_rank_dated(&l);
	for (size_t i = 0; i < l.n && !plugin_host_should_stop(&run->host); i++)
		finish_one(run, dir, &l.items[i]);
	free(l.items);
}
