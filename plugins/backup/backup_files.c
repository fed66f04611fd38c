/*
 * backup_files.c — the backup's files in dest (struct backup_files): names,
 * unfinished files of killed runs, free space, the partial file and the
 * writer into it, and the order that makes a backup appear only whole:
 * partial file written and synced, verified (backup_check.c), renamed,
 * folder synced, then the manifest (itself written to a temporary name,
 * synced, renamed).  A crash anywhere before the manifest's rename leaves
 * no manifest, so nothing lists, verifies or counts the leftovers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "backup.h"
#include "durable.h"

/* mkdir -p with mode 0700: backups hold the whole database. */
static int
make_dest(struct plugin_host *h, const char *dest)
{
	char path[4096];
	size_t len = strlen(dest);

	if (len >= sizeof(path))
		return plugin_host_fail(h, CT_EINVAL, "dest is too long");
	memcpy(path, dest, len + 1);
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return plugin_host_fail(h, CT_EIO, "cannot create folder %s: %s", path,
			                        strerror(errno));
		*p = saved;
		if (saved == '\0')
			return 0;
	}
}

static const char *
file_ext(const struct backup_opts *o)
{
	if (o->n_paths > 0)
		return ".tar";
	return strcmp(o->format, "custom") == 0 ? ".dump" : ".sql";
}

static int
names_for(struct plugin_host *h, const struct backup_opts *o, time_t at, struct backup_files *f)
{
	int n;

	f->started_at = at;
	backupset_stamp_format(at, f->stamp);
	n = snprintf(f->file_name, sizeof(f->file_name), "%s-%s%s%s%s", o->name, f->stamp,
	             file_ext(o), compress_kind_suffix(o->kind), o->encrypt_to ? ".enc" : "");
	if (n < 0 || (size_t)n >= sizeof(f->file_name) ||
	    snprintf(f->file_path, sizeof(f->file_path), "%s/%s", o->dest, f->file_name) >=
	        (int)sizeof(f->file_path) ||
	    snprintf(f->partial_path, sizeof(f->partial_path), "%s%s", f->file_path,
	             BACKUPSET_PARTIAL_SUFFIX) >= (int)sizeof(f->partial_path) ||
	    snprintf(f->manifest_path, sizeof(f->manifest_path), "%s/%s-%s%s", o->dest, o->name,
	             f->stamp, MANIFEST_SUFFIX) >= (int)sizeof(f->manifest_path))
		return plugin_host_fail(h, CT_EINVAL, "dest or name is too long for a file name");
	return 0;
}

static int
names_are_free(const struct backup_files *f)
{
	return access(f->file_path, F_OK) != 0 && access(f->partial_path, F_OK) != 0 &&
	       access(f->manifest_path, F_OK) != 0;
}

/* Two runs within one second would share a stamp: the second waits. */
static int
choose_names(struct plugin_host *h, const struct backup_opts *o, struct backup_files *f)
{
	int rc;

	for (int tries = 0; tries < 3; tries++) {
		rc = names_for(h, o, time(NULL), f);
		if (rc != 0 || names_are_free(f))
			return rc;
		sleep(1);
	}
	return plugin_host_fail(h, CT_EIO, "%s already exists", f->file_path);
}

/* A partial file nobody holds locked was left by a killed run. */
static void
remove_stale_partial(struct plugin_host *h, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && unlink(path) == 0)
		h->ct->add_finding(h->t, CT_SEV_WARNING, path,
		                   "removed an unfinished backup file left by an earlier run that "
		                   "was killed or crashed");
	close(fd);
}

static void
report_strays(struct plugin_host *h, const struct backupset *set)
{
	for (size_t i = 0; i < set->n_strays; i++) {
		const struct backupset_stray *s = &set->strays[i];

		if (s->kind == BACKUPSET_PARTIAL)
			remove_stale_partial(h, s->path);
		else if (s->kind == BACKUPSET_ORPHAN)
			h->ct->add_finding(
			    h->t, CT_SEV_WARNING, s->path,
			    "backup file without a manifest: incomplete, not counted; "
			    "remove it once you know why");
		else
			h->ct->add_finding(h->t, CT_SEV_ERROR, s->path, "unreadable manifest: %s",
			                   s->why);
	}
}

/* dest made, leftovers of killed runs handled, the new backup's names. */
int
backup_files_prepare(struct plugin_host *h, const struct backup_opts *o, struct backup_files *f)
{
	struct backupset set = {0};
	char err[512];
	int rc;

	rc = make_dest(h, o->dest);
	if (rc == 0 && backupset_load(o->dest, o->name, &set, err, sizeof(err)) == 0)
		report_strays(h, &set);
	backupset_free(&set);
	if (rc == 0)
		rc = choose_names(h, o, f);
	return rc;
}

/* "1.5 GiB" */
static const char *
human_bytes(double v, char *buf, size_t size)
{
	static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
	return buf;
}

/* The free space the run found and what it needed; `last` is the last
 * backup's size, 0 when there is none. */
struct space {
	double free_bytes, need;
	uint64_t last;
};

static int
space_refuse(struct plugin_host *h, const struct backup_opts *o, const struct space *sp)
{
	char f[32], n[32], l[32];

	human_bytes(sp->free_bytes, f, sizeof(f));
	human_bytes(sp->need, n, sizeof(n));
	if (sp->last > 0 && sp->need > (double)o->min_free)
		return plugin_host_fail(
		    h, CT_ENOSPC,
		    "not enough free space in %s: %s free, need %s (%.2f x the last "
		    "backup's %s)\nhint: free space there, tighten retention, or lower "
		    "min_free_factor",
		    o->dest, f, n, o->min_free_factor, human_bytes((double)sp->last, l, sizeof(l)));
	return plugin_host_fail(h, CT_ENOSPC,
	                        "not enough free space in %s: %s free, min_free is %s\nhint: free "
	                        "space there or lower min_free",
	                        o->dest, f, n);
}

/* statvfs() of dest, or of the folder it will be created in (a dry run
 * creates nothing). */
static int
statvfs_existing(const char *dest, struct statvfs *vfs)
{
	char path[4096];
	char *slash;

	snprintf(path, sizeof(path), "%s", dest);
	while (statvfs(path, vfs) != 0) {
		slash = strrchr(path, '/');
		if (errno != ENOENT || slash == NULL)
			return -1;
		if (slash == path)
			return statvfs("/", vfs);
		*slash = '\0';
	}
	return 0;
}

/* The newest backup of the same kind is the best guess of the new one's
 * size, for the progress the operator sees. */
static void
expect_like_last(const struct backup_opts *o, const struct backupset *set, uint64_t *expect_bytes)
{
	const char *format = o->n_paths > 0 ? "tar" : o->format;

	if (set->n_entries > 0 && set->entries[0].m.format != NULL &&
	    strcmp(set->entries[0].m.format, format) == 0)
		*expect_bytes = set->entries[0].m.raw_bytes;
}

/* Refuses to start when dest cannot hold another backup like the last. */
int
backup_files_check_space(struct plugin_host *h, const struct backup_opts *o, struct backup_files *f)
{
	struct backupset set = {0};
	struct statvfs vfs;
	struct space sp = {0};
	char err[512];

	if (statvfs_existing(o->dest, &vfs) != 0)
		return plugin_host_fail(h, CT_EIO, "cannot read free space of %s: %s", o->dest,
		                        strerror(errno));
	if (backupset_load(o->dest, o->name, &set, err, sizeof(err)) == 0 && set.n_entries > 0)
		sp.last = set.entries[0].m.stored_bytes;
	expect_like_last(o, &set, &f->expect_bytes);
	backupset_free(&set);
	sp.free_bytes = (double)vfs.f_bavail * (double)vfs.f_frsize;
	sp.need = (double)sp.last * o->min_free_factor;
	if (sp.need < (double)o->min_free)
		sp.need = (double)o->min_free;
	if (sp.free_bytes >= sp.need)
		return 0;
	return space_refuse(h, o, &sp);
}

/* The partial file, locked so that a later run can tell it from one a
 * killed run left (backup_files_prepare removes only unlocked ones). */
static int
open_partial(struct plugin_host *h, struct backup_files *f)
{
	f->fd = open(f->partial_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f->fd < 0)
		return plugin_host_fail(h, errno == ENOSPC ? CT_ENOSPC : CT_EIO,
		                        "cannot create %s: %s", f->partial_path, strerror(errno));
	f->is_partial_open = 1;
	if (flock(f->fd, LOCK_EX | LOCK_NB) != 0)
		return plugin_host_fail(h, CT_ELOCKED, "cannot lock %s: %s", f->partial_path,
		                        strerror(errno));
	return 0;
}

/* The compression writer, with encryption as its output stage when the
 * job has encrypt_to: the file then holds ciphertext only. */
static int
writer_new(struct plugin_host *h, const struct backup_opts *o, struct backup_files *f)
{
	struct compress_out_stage stage;
	struct compress_writer_params p = {
	    .kind = o->kind, .level = o->level, .n_threads = o->n_threads};
	char err[512];
	int rc = 0;

	if (o->encrypt_to != NULL) {
		rc = crypt_writer_new(&o->pk, &f->cw, err, sizeof(err));
		if (rc != 0)
			return plugin_host_fail(h, rc, "encryption: %s", err);
		crypt_writer_out_stage(f->cw, &stage);
		p.stage = &stage;
	}
	rc = compress_writer_new(f->fd, &p, &f->w, err, sizeof(err));
	if (rc != 0)
		return plugin_host_fail(h, rc, "compression: %s", err);
	return 0;
}

/* The partial file and its writer, and the check that follows the file
 * as it grows (c->opts must be set up). */
int
backup_files_open(struct plugin_host *h, const struct backup_opts *o, struct backup_check *c,
                  struct backup_files *f)
{
	char err[512];
	int rc;

	rc = open_partial(h, f);
	if (rc == 0)
		rc = writer_new(h, o, f);
	if (rc != 0)
		return rc;
	backup_check_follow(h, c);
	/* The check that follows reads the file back and decompresses it
	 * anyway: it takes both SHA-256 digests on the way, and the writing
	 * thread hashes nothing. */
	if (c->follow == NULL || !backupcheck_follow_gives_digests(c->follow))
		return 0;
	rc = compress_writer_leave_digests(f->w, err, sizeof(err));
	if (rc != 0)
		return plugin_host_fail(h, rc, "compression: %s", err);
	return 0;
}

/* Everything written and synced, or an error. */
int
backup_files_finish_writing(struct plugin_host *h, struct backup_check *c, struct backup_files *f)
{
	char err[512];
	int rc;

	rc = compress_writer_finish(f->w, &f->st, err, sizeof(err));
	if (rc != 0)
		return plugin_host_fail(h, rc, "writing %s: %s", f->partial_path, err);
	/* The check reads its last blocks from the page cache while the fsync
	 * runs: the same bytes either way. */
	if (c->follow != NULL)
		backupcheck_follow_writer_done(c->follow, f->st.stored_bytes);
	backup_progress_step(h, "syncing");
	rc = durable_fsync_fd(f->fd, f->partial_path, err, sizeof(err));
	if (rc != 0)
		return plugin_host_fail(h, rc, "%s", err);
	return 0;
}

/* The writer freed and the partial file closed (its lock released): the
 * stream is over, whatever became of it. */
void
backup_files_close(struct backup_files *f)
{
	compress_writer_free(f->w);
	f->w = NULL;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* The checked file under its name, then its manifest: the backup exists. */
int
backup_files_publish(struct plugin_host *h, const struct manifest *m, struct backup_files *f)
{
	char err[512];
	int rc;

	rc = durable_rename(f->partial_path, f->file_path, err, sizeof(err));
	if (rc != 0)
		return plugin_host_fail(h, rc, "%s", err);
	f->is_partial_open = 0;
	f->is_file_renamed = 1;
	rc = manifest_write(f->manifest_path, m, err, sizeof(err));
	if (rc != 0)
		return plugin_host_fail(h, rc, "%s", err);
	f->is_file_renamed = 0;
	f->is_done = 1;
	return 0;
}

/* After a failure: nothing of this run may stay behind in dest. */
void
backup_files_discard(const char *dest, struct backup_files *f)
{
	char err[512];

	if (f->is_partial_open)
		(void)durable_unlink(f->partial_path, err, sizeof(err));
	if (f->is_file_renamed)
		(void)durable_unlink(f->file_path, err, sizeof(err));
	if (f->is_partial_open || f->is_file_renamed)
		(void)durable_fsync_dir(dest, err, sizeof(err));
	f->is_partial_open = f->is_file_renamed = 0;
}
