/*
 * durable.h — files that survive a crash whole or not at all: fsync of a
 * file and of its folder, atomic replacement through a temporary name and
 * rename(2).  Part of libctfileio, shared by the core (state.json, the
 * Prometheus textfile, systemd units, history's rotation) and the plugins
 * (a backup's manifest).
 *
 * Why the folder too: rename() and unlink() change the folder, and until
 * the folder is synced a crash can bring back the old name or lose the new
 * one, even though the file's own data was synced.
 *
 * Errors are negative CT_* codes with one line naming the path in `err`
 * (which may be NULL); errno is kept from the call that failed.
 */
#ifndef CT_FILEIO_DURABLE_H
#define CT_FILEIO_DURABLE_H

#include <stddef.h>
#include <sys/types.h>

/* The folder part of `path` ("." when it has none) into `out`.  Returns 0
 * or CT_EINVAL when it does not fit. */
int durable_dirname(const char *path, char *out, size_t size);

/* fsync() of a folder.  Returns 0 or CT_EIO. */
int durable_fsync_dir(const char *dir, char *err, size_t err_size);

/* fsync() of an open file, the message naming `path`.  Returns 0, CT_ENOSPC
 * or CT_EIO. */
int durable_fsync_fd(int fd, const char *path, char *err, size_t err_size);

/* rename(from, to), then fsync of the folder of `to` (both must be in the
 * same folder).  Returns 0 or CT_EIO. */
int durable_rename(const char *from, const char *to, char *err, size_t err_size);

/* unlink(path); a path that is already gone counts as done.  The caller
 * syncs the folder once after a batch.  Returns 0 or CT_EIO. */
int durable_unlink(const char *path, char *err, size_t err_size);

/* durable_replace's flags. */
#define DURABLE_SYNC_FILE 0x1u /* fsync the new file before the rename */
#define DURABLE_SYNC_DIR 0x2u  /* and fsync the folder after it */
#define DURABLE_SYNC_ALL (DURABLE_SYNC_FILE | DURABLE_SYNC_DIR)

/* The prefix of durable_replace's temporary names: ".NAME.tmp-" and six
 * more characters, beside NAME.  Globs such as *.prom, *.timer or
 * *.manifest.json do not match it; a listing that finds one finds what a
 * crash left behind. */
#define DURABLE_TMP_INFIX ".tmp-"

/*
 * Replaces `path` with `len` bytes of `data` so that a reader sees the old
 * file or the new one, never half of one: written to a hidden temporary
 * file beside it (mode `mode`), renamed over `path`.  With
 * DURABLE_SYNC_FILE a crash also leaves the old file or the new one
 * (without it, an empty file is possible); with DURABLE_SYNC_DIR the new
 * one is there after a crash.  The temporary file never outlives a
 * failure.  Returns 0, CT_ENOSPC, CT_EIO or CT_EINVAL (path too long).
 */
int durable_replace(const char *path, const void *data, size_t len, mode_t mode, unsigned flags,
                    char *err, size_t err_size);

#endif
