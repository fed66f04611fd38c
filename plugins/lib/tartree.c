/*
 * tartree.c — tartree_paths_write(): file trees to a pax tar stream through
 * libarchive's disk reader and pax writer.  tartree.h says what is stored
 * and the exclude rule; tartree_check.c reads streams back.
 *
 * libarchive does the walking (archive_read_disk: lstat, no symlink
 * following, xattrs, ACLs, sparse maps through SEEK_HOLE), the hard-link
 * matching (archive_entry_linkify with the tar strategy: the first name
 * carries the data, later names are links to it), and the format.  What is
 * ours: the exclude rule, the names without a leading "/", and telling
 * apart a file that vanished (a warning) from one we may not read (an
 * error), which libarchive reports alike as ARCHIVE_FAILED.
 *
 * The disk reader opens a regular file only when its data is first read,
 * after we have written its header; a file we cannot open then would leave
 * a header with no true data behind it.  So each regular file and directory
 * is opened once by us first: EACCES stops the run before anything about
 * the file is written, ENOENT skips it.  The window between our open and
 * libarchive's is microseconds; a file that vanishes inside it is stored as
 * zeros and reported as vanished.
 */
#include "tartree.h"
#include "pathmatch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <caretaker/errors.h>

/* Bytes libarchive collects before each call of the caller's callback. */
#define WALK_BLOCK_BYTES (64 * 1024)
/* Zeros handed over per call for a hole in a sparse file. */
#define WALK_ZEROS_BYTES (256 * 1024)

struct walk {
	struct archive *disk;
	struct archive *tar;
	struct archive_entry_linkresolver *links;
	const struct tartree_write_params *p;
	int cb_rc; /* the write callback's error, returned as is */
	struct tartree_stats *st;
	size_t root_len; /* of the root being walked, trailing "/" removed */
	char *err;
	size_t err_size;
};

static void walk_errf(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
walk_errf(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	if (w->err == NULL || w->err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(w->err, w->err_size, fmt, ap);
	va_end(ap);
}

/* A vanished or changed file: counted, the first kept, the callback told. */
static void
walk_warn(struct walk *w, uint64_t *counter, const char *path, const char *what)
{
	char msg[sizeof(w->st->warning)];

	snprintf(msg, sizeof(msg), "%s: %s", path, what);
	(*counter)++;
	if (w->st->warning[0] == '\0')
		memcpy(w->st->warning, msg, sizeof(msg));
	if (w->p->warn_cb != NULL)
		w->p->warn_cb(w->p->warn_ctx, msg);
}

/* libarchive's words for its last error; it may have none. */
static const char *
walk_words(struct archive *a)
{
	const char *msg = archive_error_string(a);

	return msg != NULL ? msg : "unknown libarchive error";
}

/* An errno that means "we may not read it" or "it broke", as CT_*. */
static int
walk_errno_code(int e)
{
	return e == EACCES || e == EPERM ? CT_EPERM : e == ENOMEM ? CT_ENOMEM : CT_EIO;
}

static la_ssize_t
walk_tar_write_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct walk *w = ctx;
	int rc;

	rc = w->p->write_cb(w->p->write_ctx, buf, len);
	if (rc == 0)
		return (la_ssize_t)len;
	w->cb_rc = rc;
	archive_set_error(a, EIO, "the stream's consumer stopped (%d)", rc);
	return -1;
}

/* The error of a failed libarchive call on the output side. */
static int
walk_tar_fail(struct walk *w, const char *path)
{
	if (w->cb_rc != 0) {
		walk_errf(w, "%s: the stream's consumer stopped (%d)", path, w->cb_rc);
		return w->cb_rc;
	}
	walk_errf(w, "%s: %s", path, walk_words(w->tar));
	return archive_errno(w->tar) == ENOMEM ? CT_ENOMEM : CT_EIO;
}

/* The exclude rule of tartree.h (pathmatch.h). */
static int
walk_is_excluded(const struct walk *w, const char *rel, int is_dir)
{
	return pathmatch_is_excluded(w->p->excludes, w->p->n_excludes, rel, is_dir);
}

/* Opens a file or directory as libarchive will: 0 if it can, 1 if it has
 * vanished (counted), or an error naming it. */
static int
walk_probe(struct walk *w, const char *path, int is_dir)
{
	int fd, e;

	fd =
	    open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (is_dir ? O_DIRECTORY : 0));
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	e = errno;
	if (e == ENOENT) {
		walk_warn(w, &w->st->n_vanished, path, "vanished before it was read; not stored");
		return 1;
	}
	walk_errf(w, "cannot read %s: %s", path, strerror(e));
	return walk_errno_code(e);
}

void
tartree_stats_add_entry(struct tartree_stats *st, struct archive_entry *e)
{
	mode_t type = archive_entry_filetype(e);

	if (archive_entry_hardlink(e) != NULL)
		st->n_hardlinks++;
	else if (type == AE_IFREG)
		st->n_files++;
	else if (type == AE_IFDIR)
		st->n_dirs++;
	else if (type == AE_IFLNK)
		st->n_symlinks++;
	else
		st->n_other++;
	if (type == AE_IFREG && archive_entry_hardlink(e) == NULL)
		st->bytes += (uint64_t)archive_entry_size(e);
}

/* After reading a file: the same inode, size, mtime and ctime as when its
 * header was made, or it changed while we read it. */
static void
walk_check_unchanged(struct walk *w, struct archive_entry *e, const char *path)
{
	struct stat now;

	if (lstat(path, &now) != 0) {
		walk_warn(w, &w->st->n_vanished, path, "removed while being read; stored as read");
		return;
	}
	if ((uint64_t)now.st_ino != (uint64_t)archive_entry_ino64(e) ||
	    now.st_size != archive_entry_size(e) || now.st_mtim.tv_sec != archive_entry_mtime(e) ||
	    now.st_mtim.tv_nsec != archive_entry_mtime_nsec(e) ||
	    now.st_ctim.tv_sec != archive_entry_ctime(e) ||
	    now.st_ctim.tv_nsec != archive_entry_ctime_nsec(e))
		walk_warn(w, &w->st->n_changed, path, "changed while being read; stored as read");
}

/* Hands the writer `len` bytes of a hole.  libarchive's pax writer takes a
 * sparse file's whole logical content and drops what falls in the holes of
 * the entry's sparse map without copying it, so the zeros cost a call per
 * WALK_ZEROS_BYTES, not their size in the stream. */
static int
walk_write_hole(struct walk *w, const char *path, uint64_t len)
{
	static const unsigned char zeros[WALK_ZEROS_BYTES];
	size_t n;

	for (; len > 0; len -= n) {
		n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		if (archive_write_data(w->tar, zeros, n) != (la_ssize_t)n)
			return walk_tar_fail(w, path);
	}
	return 0;
}

/* Copies a regular file's data, holes kept, from the disk reader, which
 * gives the data regions with their offsets. */
static int
walk_copy_data(struct walk *w, const char *path)
{
	const void *buf;
	size_t len;
	la_int64_t offset;
	uint64_t pos = 0;
	int r, rc;

	for (;;) {
		r = archive_read_data_block(w->disk, &buf, &len, &offset);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r == ARCHIVE_FAILED && archive_errno(w->disk) == ENOENT) {
			walk_warn(w, &w->st->n_vanished, path,
			          "vanished as it was opened; stored as zeros");
			return 0;
		}
		if (r != ARCHIVE_OK) {
			walk_errf(w, "cannot read %s: %s", path, walk_words(w->disk));
			return walk_errno_code(archive_errno(w->disk));
		}
		rc = (uint64_t)offset > pos ? walk_write_hole(w, path, (uint64_t)offset - pos) : 0;
		if (rc != 0)
			return rc;
		if (archive_write_data(w->tar, buf, len) != (la_ssize_t)len)
			return walk_tar_fail(w, path);
		pos = (uint64_t)offset + len;
	}
}

/* Writes one entry (its header, and its data unless it is a link to an
 * earlier name), then checks that it held still. */
static int
walk_store(struct walk *w, struct archive_entry *e, const char *path)
{
	struct archive_entry *spare = NULL;
	int is_data, rc = 0;

	archive_entry_linkify(w->links, &e, &spare);
	/* The tar strategy neither defers an entry nor returns a spare one
	 * (archive_entry_linkify(3)); both are handled all the same. */
	if (e == NULL)
		return 0;
	if (archive_write_header(w->tar, e) < ARCHIVE_WARN)
		return walk_tar_fail(w, path);
	is_data = archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0;
	if (is_data)
		rc = walk_copy_data(w, path);
	if (rc == 0 && archive_write_finish_entry(w->tar) < ARCHIVE_WARN)
		rc = walk_tar_fail(w, path);
	if (rc == 0 && spare != NULL && archive_write_header(w->tar, spare) < ARCHIVE_WARN)
		rc = walk_tar_fail(w, path);
	if (rc != 0)
		return rc;
	tartree_stats_add_entry(w->st, e);
	if (is_data)
		walk_check_unchanged(w, e, path);
	return 0;
}

/* Names in the stream carry no leading "/" (tartree.h). */
static int
walk_strip_root_slash(struct walk *w, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e);
	const char *p = name;
	char *copy;

	while (*p == '/')
		p++;
	if (p == name)
		return 0;
	/* `p` points into the entry's own string: copy it out first. */
	copy = strdup(*p != '\0' ? p : ".");
	if (copy == NULL) {
		walk_errf(w, "out of memory for a path name");
		return CT_ENOMEM;
	}
	archive_entry_copy_pathname(e, copy);
	free(copy);
	return 0;
}

/* Decides about one entry the disk reader returned. */
static int
walk_entry(struct walk *w, struct archive_entry *e)
{
	const char *path = archive_entry_sourcepath(e);
	const char *rel = path + w->root_len + (path[w->root_len] == '/');
	mode_t type = archive_entry_filetype(e);
	int rc;

	if (walk_is_excluded(w, rel, type == AE_IFDIR)) {
		w->st->n_excluded++;
		return 0;
	}
	if (type == AE_IFSOCK) {
		w->st->n_skipped++;
		return 0;
	}
	if (type == AE_IFREG || type == AE_IFDIR) {
		rc = walk_probe(w, path, type == AE_IFDIR);
		if (rc != 0)
			return rc > 0 ? 0 : rc;
	}
	if (type == AE_IFDIR && archive_read_disk_can_descend(w->disk))
		archive_read_disk_descend(w->disk);
	rc = walk_strip_root_slash(w, e);
	return rc != 0 ? rc : walk_store(w, e, path);
}

/* A failed header: gone since the listing (a warning) or unreadable.  The
 * entry has its path when libarchive got as far as reading the file's
 * metadata (it opens the file for xattrs, ACLs and the sparse map);
 * otherwise its message ("PATH: Cannot stat", "PATH: Couldn't visit
 * directory") is the only name there is. */
static int
walk_header_failed(struct walk *w, struct archive_entry *entry)
{
	const char *path = archive_entry_pathname(entry);
	int e = archive_errno(w->disk);

	if (e == ENOENT) {
		walk_warn(w, &w->st->n_vanished, path != NULL ? path : walk_words(w->disk),
		          "vanished before it was read; not stored");
		return 0;
	}
	if (path != NULL)
		walk_errf(w, "cannot read %s: %s", path, e > 0 ? strerror(e) : walk_words(w->disk));
	else
		walk_errf(w, "cannot read %s%s%s", walk_words(w->disk), e > 0 ? ": " : "",
		          e > 0 ? strerror(e) : "");
	return walk_errno_code(e);
}

static int
walk_root(struct walk *w, const char *root, struct archive_entry *e)
{
	int r, rc = 0;

	w->root_len = strlen(root);
	while (w->root_len > 1 && root[w->root_len - 1] == '/')
		w->root_len--;
	if (archive_read_disk_open(w->disk, root) != ARCHIVE_OK) {
		walk_errf(w, "%s: %s", root, walk_words(w->disk));
		return CT_ENOMEM;
	}
	while (rc == 0) {
		archive_entry_clear(e);
		r = archive_read_next_header2(w->disk, e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_FATAL) {
			walk_errf(w, "cannot read %s", walk_words(w->disk));
			rc = walk_errno_code(archive_errno(w->disk));
		} else if (r == ARCHIVE_FAILED || r == ARCHIVE_RETRY) {
			rc = walk_header_failed(w, e);
		} else {
			rc = walk_entry(w, e);
		}
	}
	archive_read_close(w->disk);
	return rc;
}

/* Every root must be there before anything is written. */
static int
walk_check_roots(struct walk *w)
{
	const char *const *paths = w->p->paths;
	struct stat st;

	if (w->p->n_paths == 0) {
		walk_errf(w, "no paths to archive");
		return CT_EINVAL;
	}
	for (size_t i = 0; i < w->p->n_paths; i++) {
		if (lstat(paths[i], &st) == 0)
			continue;
		walk_errf(w, "%s: %s", paths[i], strerror(errno));
		return errno == ENOENT ? CT_ENOENT : walk_errno_code(errno);
	}
	return 0;
}

static int
walk_open(struct walk *w)
{
	w->tar = archive_write_new();
	w->disk = archive_read_disk_new();
	w->links = archive_entry_linkresolver_new();
	if (w->tar == NULL || w->disk == NULL || w->links == NULL) {
		walk_errf(w, "out of memory for libarchive");
		return CT_ENOMEM;
	}
	if (archive_write_set_format_pax(w->tar) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(w->tar, WALK_BLOCK_BYTES) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->tar, 1) != ARCHIVE_OK ||
	    archive_read_disk_set_symlink_physical(w->disk) != ARCHIVE_OK ||
	    archive_read_disk_set_standard_lookup(w->disk) != ARCHIVE_OK ||
	    archive_read_disk_set_behavior(w->disk, 0) != ARCHIVE_OK)
		return walk_tar_fail(w, "setup");
	archive_entry_linkresolver_set_strategy(w->links, archive_format(w->tar));
	if (archive_write_open2(w->tar, w, NULL, walk_tar_write_cb, NULL, NULL) != ARCHIVE_OK)
		return walk_tar_fail(w, "start");
	return 0;
}

static void
walk_close(struct walk *w)
{
	archive_entry_linkresolver_free(w->links);
	archive_read_free(w->disk);
	archive_write_free(w->tar);
}

/* Every root in turn, then the end-of-archive blocks; the walk is open. */
static int
walk_all(struct walk *w)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	if (e == NULL) {
		walk_errf(w, "out of memory for libarchive");
		return CT_ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < w->p->n_paths; i++)
		rc = walk_root(w, w->p->paths[i], e);
	/* Close writes the end-of-archive blocks and flushes. */
	if (rc == 0 && archive_write_close(w->tar) != ARCHIVE_OK)
		rc = walk_tar_fail(w, "end of archive");
	archive_entry_free(e);
	return rc;
}

int
tartree_paths_write(const struct tartree_write_params *p, struct tartree_stats *st, char *err,
                    size_t err_size)
{
	struct tartree_stats local;
	struct walk w = {.p = p, .st = st != NULL ? st : &local, .err = err, .err_size = err_size};
	int rc;

	memset(w.st, 0, sizeof(*w.st));
	rc = walk_check_roots(&w);
	if (rc == 0)
		rc = walk_open(&w);
	if (rc == 0)
		rc = walk_all(&w);
	walk_close(&w);
	return rc;
}
