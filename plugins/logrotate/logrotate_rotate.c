/*
 * logrotate_rotate.c — one log file's rotation, step by step, each step
 * journaled first (logrotate_journal.c) so that a run killed anywhere is
 * finished by the next one:
 *
 *   BEGIN   the journal names the log's inode and its new name; the older
 *           copies shift up one number (log.1 -> log.2 ...), filling the
 *           lowest gap first, so that a shift cut short simply goes on;
 *   MOVED   the log was renamed to its new name (found by inode);
 *   DONE    the new log was created (`create`): postrotate is due.
 *
 * copytruncate replaces MOVED by COPIED: the copy is written to a hidden
 * temporary file, synced, journaled by its inode and length, renamed into
 * place; then what the log gained meanwhile is appended and the log is
 * truncated.  Lines the application writes between that last read and the
 * truncate are lost: the window is microseconds, but it is there, as in
 * logrotate(8); rename + create has no such window.
 *
 * Compression and removal of old copies are logrotate_finish.c's.
 */
#define _GNU_SOURCE /* O_CLOEXEC, mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "logrotate.h"

static const char *const variant_suffixes[] = {"", ".gz", ".zst", NULL};

/* ---- deciding ---- */

/* Why `size` bytes are due for rotation, or NULL with *why_not set. */
static const char *
rotate_why(const struct lr_config *cfg, uint64_t size, const char **why_not)
{
	if (size == 0 && cfg->is_notifempty) {
		*why_not = "empty (notifempty)";
		return NULL;
	}
	if (cfg->maxsize_bytes > 0 && size > cfg->maxsize_bytes)
		return "bigger than maxsize";
	if (cfg->size_bytes > 0) {
		*why_not = "smaller than size";
		return size >= cfg->size_bytes ? "at least size" : NULL;
	}
	if (cfg->minsize_bytes > 0 && size < cfg->minsize_bytes) {
		*why_not = "smaller than minsize";
		return NULL;
	}
	return "the job's schedule";
}

/* The rotated name of `path` into e->target. */
static int
rotate_target(struct lr_run *run, const char *path, struct lr_entry *e)
{
	char dir[PATH_MAX], date[128];
	struct tm tm;
	int n;

	if (lr_names_dir(&run->cfg, path, dir, sizeof(dir)) != 0)
		return CT_EINVAL;
	if (!run->cfg.is_dateext)
		return lr_names_numbered(dir, lr_names_base(path), 1, "", e->target,
		                         sizeof(e->target));
	localtime_r(&run->now, &tm);
	if (lr_names_date(run->cfg.dateformat, &tm, date, sizeof(date)) == 0)
		return CT_EINVAL;
	n = snprintf(e->target, sizeof(e->target), "%s/%s%s", dir, lr_names_base(path), date);
	return n < 0 || (size_t)n >= sizeof(e->target) ? CT_EINVAL : 0;
}

/* Non-zero when `name` or a compressed variant of it exists. */
static int
rotate_any_variant_exists(const char *name)
{
	char p[PATH_MAX + 8];
	struct stat st;

	for (size_t i = 0; variant_suffixes[i] != NULL; i++) {
		snprintf(p, sizeof(p), "%s%s", name, variant_suffixes[i]);
		if (lstat(p, &st) == 0)
			return 1;
	}
	return 0;
}

/* ---- shifting numbered copies ---- */

static int
shift_exists(const char *dir, const char *base, long i)
{
	char name[PATH_MAX];

	if (lr_names_numbered(dir, base, i, "", name, sizeof(name)) != 0)
		return 0;
	return rotate_any_variant_exists(name);
}

/* Renames every variant of base.FROM to base.TO; a rename that fails is
 * the file's failure. */
static int
shift_one(struct lr_run *run, const char *dir, const char *base, long from, long to)
{
	char a[PATH_MAX], b[PATH_MAX];

	for (size_t i = 0; variant_suffixes[i] != NULL; i++) {
		lr_names_numbered(dir, base, from, variant_suffixes[i], a, sizeof(a));
		lr_names_numbered(dir, base, to, variant_suffixes[i], b, sizeof(b));
		if (rename(a, b) != 0 && errno != ENOENT)
			return plugin_host_fail(&run->host, CT_EIO, "cannot rename %s to %s: %s", a,
			                        b, strerror(errno));
	}
	lr_fault_point(run, "shift");
	return 0;
}

/* The oldest copy goes when every number up to `rotate` is taken. */
static int
shift_drop_oldest(struct lr_run *run, const char *dir, const char *base, long n)
{
	char name[PATH_MAX];
	struct stat st;

	for (size_t i = 0; variant_suffixes[i] != NULL; i++) {
		lr_names_numbered(dir, base, n, variant_suffixes[i], name, sizeof(name));
		if (lstat(name, &st) != 0)
			continue;
		if (unlink(name) != 0)
			return plugin_host_fail(&run->host, CT_EIO, "cannot remove %s: %s", name,
			                        strerror(errno));
		run->totals.files_removed++;
		run->totals.bytes_removed += (uint64_t)st.st_size;
		lr_note(run, "removed %s (past rotate = %ld)", name, n - 1);
	}
	return 0;
}

/*
 * log.1 -> log.2 -> ... up to the lowest free number.  Filling the lowest
 * gap (instead of always moving everything) makes the shift resumable: a
 * shift killed half-way left a gap exactly where it stopped.
 */
int
lr_rotate_shift(struct lr_run *run, const char *path)
{
	char dir[PATH_MAX];
	const char *base = lr_names_base(path);
	long gap = 1, n = (long)run->cfg.rotate;
	int rc = 0;

	if (run->cfg.is_dateext)
		return 0;
	lr_names_dir(&run->cfg, path, dir, sizeof(dir));
	while (gap <= n && shift_exists(dir, base, gap))
		gap++;
	if (gap > n) {
		rc = shift_drop_oldest(run, dir, base, n);
		gap = n;
	}
	for (long i = gap - 1; rc == 0 && i >= 1; i--)
		rc = shift_one(run, dir, base, i, i + 1);
	if (rc == 0)
		rc = durable_fsync_dir(dir, run->host.err, sizeof(run->host.err));
	return rc;
}

/* ---- steps ---- */

/* rename(2) and the sync of both folders (olddir may be another one). */
static int
rotate_rename(struct lr_run *run, const char *from, const char *to)
{
	char dir_from[PATH_MAX], dir_to[PATH_MAX];
	int rc;

	if (rename(from, to) != 0)
		return plugin_host_fail(&run->host, CT_EIO, "cannot rename %s to %s: %s", from, to,
		                        strerror(errno));
	durable_dirname(from, dir_from, sizeof(dir_from));
	durable_dirname(to, dir_to, sizeof(dir_to));
	rc = durable_fsync_dir(dir_to, run->host.err, sizeof(run->host.err));
	if (rc == 0 && strcmp(dir_from, dir_to) != 0)
		rc = durable_fsync_dir(dir_from, run->host.err, sizeof(run->host.err));
	return rc;
}

/* A hidden temporary file beside the log with create's mode, owner and
 * group (the old file's where create names none), synced.  Returns the
 * open descriptor or a negative CT_* code. */
static int
create_temp(struct lr_run *run, const struct lr_entry *e, char *tmp, size_t size)
{
	const struct lr_config *cfg = &run->cfg;
	struct stat old;
	char dir[PATH_MAX];
	int fd, rc = 0;

	if (stat(e->target, &old) != 0)
		memset(&old, 0, sizeof(old));
	durable_dirname(e->path, dir, sizeof(dir));
	snprintf(tmp, size, "%s/.%s" DURABLE_TMP_INFIX "XXXXXX", dir, lr_names_base(e->path));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return plugin_host_fail(&run->host, CT_EIO, "cannot create a file in %s: %s", dir,
		                        strerror(errno));
	if (fchown(fd, cfg->create_uid != (uid_t)-1 ? cfg->create_uid : old.st_uid,
	           cfg->create_gid != (gid_t)-1 ? cfg->create_gid : old.st_gid) != 0 ||
	    fchmod(fd, cfg->create_mode != (mode_t)-1 ? cfg->create_mode : old.st_mode & 07777) !=
	        0)
		rc = plugin_host_fail(&run->host, CT_EPERM, "cannot set owner and mode of %s: %s",
		                      tmp, strerror(errno));
	if (rc == 0)
		rc = durable_fsync_fd(fd, tmp, run->host.err, sizeof(run->host.err));
	if (rc == 0)
		return fd;
	close(fd);
	unlink(tmp);
	return rc;
}

/*
 * The new, empty log.  It is made under a temporary name with its mode and
 * owner already set and then linked to the log's name, so that a kill can
 * never leave a log with the wrong owner (which the application could not
 * open); link(2) never replaces a log the application made first.
 */
static int
rotate_create(struct lr_run *run, struct lr_entry *e)
{
	char tmp[2 * PATH_MAX + 32], dir[PATH_MAX];
	int fd, rc = 0;

	if (!run->cfg.has_create)
		return lr_journal_step(run, e, LR_STAGE_DONE);
	fd = create_temp(run, e, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	close(fd);
	lr_fault_point(run, "create-temp");
	if (link(tmp, e->path) != 0 && errno != EEXIST)
		rc = plugin_host_fail(&run->host, CT_EIO, "cannot create %s: %s", e->path,
		                      strerror(errno));
	unlink(tmp);
	durable_dirname(e->path, dir, sizeof(dir));
	if (rc == 0)
		rc = durable_fsync_dir(dir, run->host.err, sizeof(run->host.err));
	lr_fault_point(run, "create");
	return rc != 0 ? rc : lr_journal_step(run, e, LR_STAGE_DONE);
}

/* BEGIN -> MOVED for rename + create, resumable: the inode tells whether
 * the rename happened. */
static int
rotate_move(struct lr_run *run, struct lr_entry *e)
{
	struct stat st;
	int rc;

	if (stat(e->target, &st) != 0 || (uint64_t)st.st_ino != e->ino ||
	    (uint64_t)st.st_dev != e->dev) {
		if (lstat(e->path, &st) != 0 || (uint64_t)st.st_ino != e->ino)
			return plugin_host_fail(&run->host, CT_ENOENT,
			                        "%s is no longer the file this rotation began with "
			                        "(inode %llu): rotation abandoned",
			                        e->path, (unsigned long long)e->ino);
		rc = lr_rotate_shift(run, e->path);
		if (rc == 0)
			rc = rotate_rename(run, e->path, e->target);
		if (rc != 0)
			return rc;
		lr_fault_point(run, "rename");
	}
	rc = lr_journal_step(run, e, LR_STAGE_MOVED);
	if (rc != 0)
		return rc;
	lr_fault_point(run, "moved");
	return rotate_create(run, e);
}

/* Carries a journaled rotation on from where it stopped. */
static int
rotate_continue(struct lr_run *run, struct lr_entry *e)
{
	switch (e->stage) {
	case LR_STAGE_BEGIN:
		return run->cfg.is_copytruncate ? lr_copy_begin(run, e) : rotate_move(run, e);
	case LR_STAGE_MOVED:
		return rotate_create(run, e);
	case LR_STAGE_COPIED:
		return lr_copy_finish(run, e);
	default:
		return 0;
	}
}

/* The journal says a rotation of e->path was cut short. */
static int
rotate_resume(struct lr_run *run, struct lr_entry *e)
{
	static const char *const stage_names[] = {"", "begun", "renamed", "copied", "done"};
	int rc;

	if (run->is_dry_run) {
		lr_note(run, "would finish the interrupted rotation of %s to %s (%s)", e->path,
		        e->target, stage_names[e->stage]);
		return 0;
	}
	lr_note(run, "finishing the interrupted rotation of %s to %s (%s)", e->path, e->target,
	        stage_names[e->stage]);
	rc = rotate_continue(run, e);
	if (rc == CT_ENOENT) {
		char err[256];

		lr_journal_drop(&run->journal, e->path, err, sizeof(err));
		return rc;
	}
	if (rc == 0) {
		run->needs_postrotate = 1;
		run->totals.files_rotated++;
	}
	return rc;
}

/* The journal entry of a rotation about to begin, once its new name is
 * known to be free and its folder usable. */
static int
rotate_prepare(struct lr_run *run, const char *path, const struct stat *st, struct lr_entry *e)
{
	struct stat dir_st;
	char dir[PATH_MAX];

	*e = (struct lr_entry){.stage = LR_STAGE_BEGIN};
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->dev = (uint64_t)st->st_dev;
	e->ino = (uint64_t)st->st_ino;
	e->length = (uint64_t)st->st_size;
	if (rotate_target(run, path, e) != 0)
		return plugin_host_fail(&run->host, CT_EINVAL, "no rotated name for %s", path);
	if (run->cfg.is_dateext && rotate_any_variant_exists(e->target))
		return plugin_host_fail(
		    &run->host, CT_EINVAL,
		    "%s exists already: not rotated again\n"
		    "hint: a dateformat with %%H or %%s rotates more than once a day",
		    e->target);
	lr_names_dir(&run->cfg, path, dir, sizeof(dir));
	if (stat(dir, &dir_st) != 0 || dir_st.st_dev != st->st_dev)
		return plugin_host_fail(
		    &run->host, CT_EINVAL,
		    "olddir %s does not exist or is on another file system than %s", dir, path);
	return 0;
}

/* A file that exists and is due: its journal entry, the prerotate
 * command (once a run), and the steps. */
static int
rotate_start(struct lr_run *run, const char *path, const struct stat *st, const char *why)
{
	struct lr_entry e, *je;
	int rc;

	rc = rotate_prepare(run, path, st, &e);
	if (rc != 0)
		return rc;
	if (run->is_dry_run) {
		lr_note(run, "would rotate %s (%llu bytes; %s) to %s", path,
		        (unsigned long long)st->st_size, why, e.target);
		return 0;
	}
	if (!run->is_prerotate_done && run->cfg.prerotate != NULL)
		run->prerotate_rc = lr_script_run(run, "prerotate", run->cfg.prerotate);
	run->is_prerotate_done = 1;
	if (run->prerotate_rc != 0)
		return plugin_host_fail(&run->host, run->prerotate_rc,
		                        "prerotate failed: %s not rotated", path);
	lr_note(run, "rotating %s (%llu bytes; %s) to %s", path, (unsigned long long)st->st_size,
	        why, e.target);
	rc = lr_journal_step(run, &e, LR_STAGE_BEGIN);
	if (rc != 0)
		return rc;
	lr_fault_point(run, "begin");
	je = lr_journal_find(&run->journal, path);
	rc = rotate_continue(run, je != NULL ? je : &e);
	if (rc == 0) {
		run->needs_postrotate = 1;
		run->totals.files_rotated++;
	}
	return rc;
}

/* A file the journal does not know: rotated when due. */
static int
rotate_if_due(struct lr_run *run, const char *path)
{
	const char *why, *why_not = "";
	struct stat st;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT && run->cfg.is_missingok)
			return 0;
		return plugin_host_fail(&run->host, CT_ENOENT, "cannot read %s: %s", path,
		                        strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return plugin_host_fail(
		    &run->host, CT_EINVAL,
		    "%s is not a regular file (a symlink or a folder): not rotated", path);
	why = rotate_why(&run->cfg, (uint64_t)st.st_size, &why_not);
	if (why == NULL) {
		lr_note(run, "%s %s as it is (%llu bytes; %s)",
		        run->is_dry_run ? "would leave" : "left", path,
		        (unsigned long long)st.st_size, why_not);
		return 0;
	}
	return rotate_start(run, path, &st, why);
}

void
lr_rotate_file(struct lr_run *run, const char *path)
{
	struct lr_entry *e = lr_journal_find(&run->journal, path);
	int rc;

	run->host.err[0] = '\0';
	if (strpbrk(path, "\t\n") != NULL) {
		lr_file_failed(run, path, "a path with a tab or a newline is not rotated");
		return;
	}
	rc = e != NULL ? rotate_resume(run, e) : rotate_if_due(run, path);
	if (rc != 0)
		lr_file_failed(run, path, "%s", run->host.err[0] ? run->host.err : "failed");
}
