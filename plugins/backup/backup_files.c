/*
 * backup_files.c — the backup's files in dest: names, unfinished files of
 * killed runs, free space, and the order that makes a backup appear only
 * whole: partial file written and synced, verified, renamed, folder
 * synced, then the manifest (itself written to a temporary name, synced,
 * renamed).  A crash anywhere before the manifest's rename leaves no
 * manifest, so nothing lists, verifies or counts the leftovers.
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
make_dest(struct backup_state *b)
{
	char path[4096];
	size_t len = strlen(b->o.dest);

	if (len >= sizeof(path))
		return backup_fail(b, CT_EINVAL, "dest is too long");
	memcpy(path, b->o.dest, len + 1);
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return backup_fail(b, CT_EIO, "cannot create folder %s: %s", path,
			                   strerror(errno));
		*p = saved;
		if (saved == '\0')
			return 0;
	}
}

static const char *
file_ext(const struct backup_state *b)
{
	if (b->o.n_paths > 0)
		return ".tar";
	return strcmp(b->o.format, "custom") == 0 ? ".dump" : ".sql";
}

static int
names_for(struct backup_state *b, time_t at)
{
	const char *dest = b->o.dest;
	int n;

	b->started_at = at;
	backupset_stamp_format(at, b->stamp);
	n = snprintf(b->file_name, sizeof(b->file_name), "%s-%s%s%s%s", b->o.name, b->stamp,
	             file_ext(b), compress_kind_suffix(b->o.kind), b->o.encrypt_to ? ".enc" : "");
	if (n < 0 || (size_t)n >= sizeof(b->file_name) ||
	    snprintf(b->file_path, sizeof(b->file_path), "%s/%s", dest, b->file_name) >=
	        (int)sizeof(b->file_path) ||
	    snprintf(b->partial_path, sizeof(b->partial_path), "%s%s", b->file_path,
	             BACKUPSET_PARTIAL_SUFFIX) >= (int)sizeof(b->partial_path) ||
	    snprintf(b->manifest_path, sizeof(b->manifest_path), "%s/%s-%s%s", dest, b->o.name,
	             b->stamp, MANIFEST_SUFFIX) >= (int)sizeof(b->manifest_path))
		return backup_fail(b, CT_EINVAL, "dest or name is too long for a file name");
	return 0;
}

static int
names_are_free(const struct backup_state *b)
{
	return access(b->file_path, F_OK) != 0 && access(b->partial_path, F_OK) != 0 &&
	       access(b->manifest_path, F_OK) != 0;
}

/* Two runs within one second would share a stamp: the second waits. */
static int
choose_names(struct backup_state *b)
{
	int rc;

	for (int tries = 0; tries < 3; tries++) {
		rc = names_for(b, time(NULL));
		if (rc != 0 || names_are_free(b))
			return rc;
		sleep(1);
	}
	return backup_fail(b, CT_EIO, "%s already exists", b->file_path);
}

/* A partial file nobody holds locked was left by a killed run. */
static void
remove_stale_partial(struct backup_state *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && unlink(path) == 0)
		b->ct->add_finding(b->t, CT_SEV_WARNING, path,
		                   "removed an unfinished backup file left by an earlier run that "
		                   "was killed or crashed");
	close(fd);
}

static void
report_strays(struct backup_state *b, const struct backupset *set)
{
	for (size_t i = 0; i < set->n_strays; i++) {
		const struct backupset_stray *s = &set->strays[i];

		if (s->kind == BACKUPSET_PARTIAL)
			remove_stale_partial(b, s->path);
		else if (s->kind == BACKUPSET_ORPHAN)
			b->ct->add_finding(b->t, CT_SEV_WARNING, s->path,
			                   "backup file without a manifest: incomplete, not counted; "
			                   "remove it once you know why");
		else
			b->ct->add_finding(b->t, CT_SEV_ERROR, s->path, "unreadable manifest: %s",
			                   s->why);
	}
}

int
backup_files_prepare(struct backup_state *b)
{
	struct backupset set = {0};
	char err[512];
	int rc;

	rc = make_dest(b);
	if (rc == 0 && backupset_load(b->o.dest, b->o.name, &set, err, sizeof(err)) == 0)
		report_strays(b, &set);
	backupset_free(&set);
	if (rc == 0)
		rc = choose_names(b);
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

static int
space_refuse(struct backup_state *b, double free_bytes, double need, uint64_t last)
{
	char f[32], n[32], l[32];

	human_bytes(free_bytes, f, sizeof(f));
	human_bytes(need, n, sizeof(n));
	if (last > 0 && need > (double)b->o.min_free)
		return backup_fail(b, CT_ENOSPC,
		                   "not enough free space in %s: %s free, need %s (%.2f x the last "
		                   "backup's %s)\nhint: free space there, tighten retention, or lower "
		                   "min_free_factor",
		                   b->o.dest, f, n, b->o.min_free_factor,
		                   human_bytes((double)last, l, sizeof(l)));
	return backup_fail(b, CT_ENOSPC,
	                   "not enough free space in %s: %s free, min_free is %s\nhint: free "
	                   "space there or lower min_free",
	                   b->o.dest, f, n);
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
expect_like_last(struct backup_state *b, const struct backupset *set)
{
	const char *format = b->o.n_paths > 0 ? "tar" : b->o.format;

	if (set->n_entries > 0 && set->entries[0].m.format != NULL &&
	    strcmp(set->entries[0].m.format, format) == 0)
		b->expect_bytes = set->entries[0].m.raw_bytes;
}

/* Refuses to start when dest cannot hold another backup like the last. */
int
backup_files_check_space(struct backup_state *b)
{
	struct backupset set = {0};
	struct statvfs vfs;
	uint64_t last = 0;
	double free_bytes, need;
	char err[512];

	if (statvfs_existing(b->o.dest, &vfs) != 0)
		return backup_fail(b, CT_EIO, "cannot read free space of %s: %s", b->o.dest,
		                   strerror(errno));
	if (backupset_load(b->o.dest, b->o.name, &set, err, sizeof(err)) == 0 && set.n_entries > 0)
		last = set.entries[0].m.stored_bytes;
	expect_like_last(b, &set);
	backupset_free(&set);
	free_bytes = (double)vfs.f_bavail * (double)vfs.f_frsize;
	need = (double)last * b->o.min_free_factor;
	if (need < (double)b->o.min_free)
		need = (double)b->o.min_free;
	if (free_bytes >= need)
		return 0;
	return space_refuse(b, free_bytes, need, last);
}

/* The partial file, locked so that a later run can tell it from one a
 * killed run left (backup_files_prepare removes only unlocked ones). */
int
backup_files_open_partial(struct backup_state *b, int *fd)
{
	*fd = open(b->partial_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0)
		return backup_fail(b, errno == ENOSPC ? CT_ENOSPC : CT_EIO, "cannot create %s: %s",
		                   b->partial_path, strerror(errno));
	b->is_partial_open = 1;
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0)
		return backup_fail(b, CT_ELOCKED, "cannot lock %s: %s", b->partial_path,
		                   strerror(errno));
	return 0;
}

static void manifest_describe(struct backup_state *b, struct manifest *m);

static void
check_opts(struct backup_state *b, struct backupcheck_opts *o)
{
	*o = (struct backupcheck_opts){.path = b->partial_path, .m = &b->m,
	                               .n_threads = b->o.n_threads, .pg_restore = &b->pg_restore,
	                               .secret_key_path = b->o.decrypt_key,
	                               .should_stop = backup_should_stop, .stop_ctx = b};
}

/* L2 follows the partial file as it is written (backupcheck.h says why).
 * If that cannot start, L2 reads the file after the dump instead.
 *
 * One decompression thread: following, the check only has to keep pace
 * with the compressed output, and decompression runs 4-10 times faster
 * than pg_dump writes.  A second thread bought nothing but wake-ups on the
 * cores the dump needs (bench dump, 2 cores, 4 runs: system time 1.34-1.44
 * s against 1.48-1.59 s, wall 6.72 s against 6.81 s, medians). */
static void
follow_start(struct backup_state *b)
{
	struct backupcheck_opts o;
	char err[256];

	manifest_describe(b, &b->m);
	check_opts(b, &o);
	o.n_threads = 1;
	if (backupcheck_follow_start(&o, &b->follow, err, sizeof(err)) != 0) {
		b->follow = NULL;
		b->ct->log(b->t, CT_LOG_NOTICE, "verifying after the dump instead: %s", err);
	}
}

/* The compression writer, with encryption as its output stage when the
 * job has encrypt_to: the file then holds ciphertext only. */
int
backup_files_writer_new(struct backup_state *b, int fd, struct compress_writer **w)
{
	struct compress_out_stage stage;
	struct compress_writer_params p = {
	    .kind = b->o.kind, .level = b->o.level, .n_threads = b->o.n_threads};
	char err[512];
	int rc = 0;

	if (b->o.encrypt_to != NULL) {
		rc = crypt_writer_new(&b->o.pk, &b->cw, err, sizeof(err));
		if (rc != 0)
			return backup_fail(b, rc, "encryption: %s", err);
		crypt_writer_out_stage(b->cw, &stage);
		p.stage = &stage;
	}
	rc = compress_writer_new(fd, &p, w, err, sizeof(err));
	if (rc != 0)
		return backup_fail(b, rc, "compression: %s", err);
	follow_start(b);
	/* The check that follows reads the file back and decompresses it
	 * anyway: it takes both SHA-256 digests on the way, and the writing
	 * thread hashes nothing. */
	if (b->follow != NULL && backupcheck_follow_gives_digests(b->follow) &&
	    (rc = compress_writer_leave_digests(*w, err, sizeof(err))) != 0)
		return backup_fail(b, rc, "compression: %s", err);
	return 0;
}

/* Everything written and synced, or an error. */
int
backup_files_writer_finish(struct backup_state *b, int fd, struct compress_writer *w)
{
	char err[512];
	int rc;

	rc = compress_writer_finish(w, &b->st, err, sizeof(err));
	if (rc != 0)
		return backup_fail(b, rc, "writing %s: %s", b->partial_path, err);
	/* The check reads its last blocks from the page cache while the fsync
	 * runs: the same bytes either way. */
	if (b->follow != NULL)
		backupcheck_follow_writer_done(b->follow, b->st.stored_bytes);
	backup_progress(b, "syncing", BACKUP_STEP_ONLY);
	rc = durable_fsync_fd(fd, b->partial_path, err, sizeof(err));
	if (rc != 0)
		return backup_fail(b, rc, "%s", err);
	return 0;
}

static void
manifest_describe(struct backup_state *b, struct manifest *m)
{
	int is_tar = b->o.n_paths > 0;

	*m = (struct manifest){
	    .name = b->o.name, .file = b->file_name, .format = is_tar ? "tar" : b->o.format,
	    .compress = b->o.kind, .level = b->o.level, .block_bytes = COMPRESS_BLOCK_DEFAULT_BYTES,
	    .encryption_key_id = b->o.encrypt_to ? b->o.pk.id : NULL,
	    .started_at = b->started_at, .finished_at = b->finished_at,
	    .raw_bytes = b->st.raw_bytes, .stored_bytes = b->st.stored_bytes,
	    .blocks = b->st.blocks, .n_blocks = b->st.n_blocks, .host = b->host,
	    .caretaker_version = b->ct->host_version(), .plugin_version = BACKUP_PLUGIN_VERSION};
	memcpy(m->raw_sha256, b->st.raw_sha256, sizeof(m->raw_sha256));
	memcpy(m->stored_sha256, b->st.stored_sha256, sizeof(m->stored_sha256));
	if (is_tar) {
		m->paths = b->o.paths;
		m->n_paths = b->o.n_paths;
		m->n_files = b->as.n_files;
		m->n_dirs = b->as.n_dirs;
		m->n_symlinks = b->as.n_symlinks;
		m->file_bytes = b->as.bytes;
		return;
	}
	m->database = b->s.database;
	m->encoding = b->s.encoding[0] ? b->s.encoding : NULL;
	m->server_version = b->s.server_version;
	m->server_version_num = b->s.server_version_num;
	m->pg_dump_version = b->pg_dump.version;
	m->tables = b->s.tables;
	m->n_tables = b->s.n_tables;
	m->snapshot = b->s.snapshot;
}

/* L2 of the partial file, before it gets its real name (L1 only for an
 * encrypted backup when the job has no decrypt_key). */
int
backup_files_verify(struct backup_state *b)
{
	struct backupcheck_opts o;
	int rc;

	manifest_describe(b, &b->m);
	check_opts(b, &o);
	backup_progress(b, "checking", BACKUP_STEP_ONLY);
	if (b->follow != NULL)
		rc = backupcheck_follow_finish(b->follow, &b->m, &b->check);
	else
		rc = backupcheck_run(&o, &b->check);
	b->follow = NULL;
	if (rc != 0)
		return backup_fail(b, rc, "the new backup failed verification: %s", b->check.detail);
	if (b->m.raw_sha256[0] == '\0' || b->m.stored_sha256[0] == '\0') {
		/* Left to the check (backup_files_writer_new), which read them. */
		if (b->check.raw_sha256[0] == '\0' || b->check.stored_sha256[0] == '\0')
			return backup_fail(b, CT_EINVAL, "no SHA-256 of the backup from its check");
		memcpy(b->st.raw_sha256, b->check.raw_sha256, sizeof(b->st.raw_sha256));
		memcpy(b->m.raw_sha256, b->check.raw_sha256, sizeof(b->m.raw_sha256));
		memcpy(b->st.stored_sha256, b->check.stored_sha256, sizeof(b->st.stored_sha256));
		memcpy(b->m.stored_sha256, b->check.stored_sha256, sizeof(b->m.stored_sha256));
	}
	b->m.verified = (struct manifest_check){.level = b->check.passed, .is_ok = 1, .at = time(NULL)};
	snprintf(b->m.verified.detail, sizeof(b->m.verified.detail), "%s", b->check.detail);
	return 0;
}

int
backup_files_finish(struct backup_state *b)
{
	char err[512];
	int rc;

	rc = durable_rename(b->partial_path, b->file_path, err, sizeof(err));
	if (rc != 0)
		return backup_fail(b, rc, "%s", err);
	b->is_partial_open = 0;
	b->is_file_renamed = 1;
	rc = manifest_write(b->manifest_path, &b->m, err, sizeof(err));
	if (rc != 0)
		return backup_fail(b, rc, "%s", err);
	b->is_file_renamed = 0;
	b->is_done = 1;
	return 0;
}

/* After a failure: nothing of this run may stay behind. */
void
backup_files_discard(struct backup_state *b)
{
	char err[512];

	backupcheck_follow_free(b->follow);
	b->follow = NULL;
	if (b->is_partial_open)
		(void)durable_unlink(b->partial_path, err, sizeof(err));
	if (b->is_file_renamed)
		(void)durable_unlink(b->file_path, err, sizeof(err));
	if (b->is_partial_open || b->is_file_renamed)
		(void)durable_fsync_dir(b->o.dest, err, sizeof(err));
	b->is_partial_open = b->is_file_renamed = 0;
}
