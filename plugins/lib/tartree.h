/*
 * tartree.h — file trees as tar streams for backups (Django media, uploads,
 * configuration), and the check that reads such a stream back; shared by
 * the bundled `backup` and `verify` plugins (libcttartree, over libarchive).
 *
 * Names: everything here is `tartree_`; `archive_` is libarchive's alone
 * (archive_entry, archive_write_data...), so a reader can tell at a glance
 * which library a call goes to.
 *
 * What is written: a POSIX pax tar stream (libarchive's pax writer, never a
 * hand-made tar), readable by GNU tar and bsdtar:
 *   - owners as numbers and names, modes, mtimes to the nanosecond;
 *   - symbolic links stored as links, never followed (a root given as a
 *     link is stored as the link too);
 *   - hard links stored once, later names as links to the first;
 *   - sparse files stored with their holes (GNU.sparse 1.0 records);
 *   - extended attributes and POSIX ACLs where the file system has them
 *     (restore with `tar --xattrs --acls`);
 *   - FIFOs and device nodes as such; sockets are skipped (tar cannot hold
 *     them) and counted.
 * Names are stored as found under each root with a leading "/" removed,
 * like GNU tar: /srv/app/media/a.jpg becomes srv/app/media/a.jpg, so
 * `tar -x -C /` puts things back where they were.
 *
 * Exclude rule: a pattern (fnmatch(3) glob) leaves out an entry when it
 * matches the entry's path relative to the root it was found under, with
 * `*` and `?` never matching "/" (so "cache/tmp" is that one folder at the
 * top of a root, "cache/?.jpg" the one-letter JPEGs directly in it), or the
 * entry's base name at any depth (so "*.pyc" or "__pycache__" anywhere).  A
 * pattern ending in "/" matches directories only.  A left-out directory is
 * left out with everything below it.  Roots themselves are never excluded.
 *
 * Files that change under us (the tree is live while it is archived):
 *   - removed before the walk lists its folder: not there, like a file
 *     removed before the run (nothing to report: readdir never shows it);
 *   - removed between the listing and its reading: not stored, reported;
 *   - removed while its data is read: stored whole (it is open), reported;
 *   - its size, mtime, ctime or inode different after it was read: stored
 *     as read (the content may mix before and after), reported.
 * Reported means counted in struct tartree_stats (n_vanished, n_changed),
 * the first one's words kept there, and each passed to an optional
 * callback; the caller decides whether that is a warning.  A file or
 * directory that cannot be read (permissions, I/O error) stops the run with
 * an error naming it: a backup that silently lacks files is worse than a
 * failed one.
 *
 * Errors are the negative CT_* codes of <caretaker/errors.h>, with one line
 * of context in the caller's `err` (may be NULL).  Not thread-safe per
 * call; separate calls may run in separate threads.
 */
#ifndef CARETAKER_PLUGINS_TARTREE_H
#define CARETAKER_PLUGINS_TARTREE_H

#include <stddef.h>
#include <stdint.h>

/* What went into a stream, or what a check found in one.  The type
 * counters and `bytes` agree between the two for a stream we wrote. */
struct tartree_stats {
	uint64_t n_files; /* regular files stored with their data */
	uint64_t n_dirs;
	uint64_t n_symlinks;
	uint64_t n_hardlinks; /* entries stored as links to an earlier file */
	uint64_t bytes;       /* sum of the regular files' sizes (holes included) */
	uint64_t n_other;     /* FIFOs, device nodes */
	/* Written by tartree_paths_write() only: */
	uint64_t n_excluded; /* entries left out by a pattern (a directory counts once) */
	uint64_t n_skipped;  /* sockets */
	uint64_t n_vanished; /* gone before they could be read: not stored */
	uint64_t n_changed;  /* changed while being read: stored as read */
	char warning[256];   /* the first vanished/changed message, or "" */
};

/* Receives the tar stream in order.  Returns 0, or a non-zero value that
 * stops the run and is returned. */
typedef int tartree_write_cb(void *ctx, const void *buf, size_t len);

/* Told about each file that vanished or changed (`msg` names it; valid
 * during the call).  Returns nothing: the run goes on. */
typedef void tartree_warn_cb(void *ctx, const char *msg);

/* What tartree_paths_write() archives and where the stream goes: one
 * struct rather than a long argument list or a variant per option, as
 * zstd's ZSTD_CCtx_params.  Zero what you do not use (designated
 * initializers); a member added later keeps every caller as it is. */
struct tartree_write_params {
	const char *const *paths; /* files or directories, n_paths >= 1, archived whole, in order */
	size_t n_paths;
	const char *const *excludes; /* patterns of the rule above; NULL with n_excludes 0 */
	size_t n_excludes;
	tartree_write_cb *write_cb; /* receives the stream (required) */
	void *write_ctx;
	tartree_warn_cb *warn_cb; /* optional: told each vanished or changed file */
	void *warn_ctx;
};

/*
 * Writes a pax tar stream of the trees at p->paths to p->write_cb, leaving
 * out what p->excludes match.  Every root must exist: a missing one is
 * CT_ENOENT.  `p` is read during the call only.
 *
 * st: may be NULL; filled as the run goes, also on failure.
 * Returns 0; CT_ENOENT (a root is missing); CT_EPERM (a file or directory
 * we may not read) or CT_EIO (one that fails to read), naming it;
 * CT_EINVAL (empty `paths`); CT_ENOMEM; or the callback's non-zero value.
 * Vanished and changed files are not errors.
 */
int tartree_paths_write(const struct tartree_write_params *p, struct tartree_stats *st, char *err,
                        size_t err_size);

/* Fills `buf` with up to `len` bytes of the stream; *got is 0 only at its
 * end.  Returns 0, or a CT_* code that stops the check and is returned. */
typedef int tartree_read_cb(void *ctx, void *buf, size_t len, size_t *got);

/*
 * Reads a tar stream from `cb` to its end: every header and every byte of
 * data (sparse maps included), and the end-of-archive blocks, which must be
 * there — a stream cut at an entry boundary is truncated too, though
 * libarchive alone would accept it.  Counts entries into *st.
 *
 * st: may be NULL; filled on success (the write-only counters stay 0).
 * Returns 0; CT_ECORRUPT (damaged or truncated, naming the entry and the
 * offset in the stream); CT_ENOMEM; or the callback's error.
 */
int tartree_stream_check(tartree_read_cb *cb, void *ctx, struct tartree_stats *st, char *err,
                         size_t err_size);

/* ---- the same check, fed by pushing (from compress_file_verify) ---- */

struct tartree_checker;

/* Starts a check that runs tartree_stream_check() on a thread of its own,
 * fed through a pipe by tartree_checker_push().  Returns 0 and sets *out
 * (finish, then free), or CT_ESYS / CT_ENOMEM. */
int tartree_checker_new(struct tartree_checker **out, char *err, size_t err_size);

/* Feeds `len` bytes of the stream.  The signature is compress_data_cb's, so
 * it can be the verifier's data callback with the checker as ctx.  Returns
 * 0 or CT_EIO once the check has stopped (finish says why). */
int tartree_checker_push(const void *buf, size_t len, void *checker);

/* Ends the stream, waits for the check and returns its result as
 * tartree_stream_check() does.  Call it once. */
int tartree_checker_finish(struct tartree_checker *c, struct tartree_stats *st, char *err,
                           size_t err_size);

/* Frees; without finish, stops the check first.  Accepts NULL. */
void tartree_checker_free(struct tartree_checker *c);

/* Counts one entry into `st` by type (and `bytes` for a regular file that
 * is not a link): the one rule the writer and the check share, so their
 * counters agree for a stream we wrote. */
struct archive_entry;
void tartree_stats_add_entry(struct tartree_stats *st, struct archive_entry *e);

#endif
