/*
 * durable.h — files that survive a crash whole or not at all: fsync of a
 * file and of its folder, atomic replacement through a temporary name and
 * rename(2).  Shared by `backup` (the backup file, its manifest) and
 * `verify` (manifest updates).
 *
 * Why the folder too: rename() and unlink() change the folder, and until
 * the folder is synced a crash can bring back the old name or lose the new
 * one, even though the file's own data was synced.
 *
 * Errors are negative CT_* codes with one line naming the path in `err`.
 */
#ifndef CARETAKER_PLUGINS_DURABLE_H
#define CARETAKER_PLUGINS_DURABLE_H

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

/* Replaces `path` with `len` bytes of `data`: written to PATH.tmp-PID with
 * `mode`, synced, renamed over `path`, folder synced.  A crash leaves the
 * old file or the new one, never a mix; a stale .tmp-PID at worst.
 * Returns 0, CT_ENOSPC, CT_EIO or CT_ENOMEM. */
int durable_replace(const char *path, const void *data, size_t len, mode_t mode, char *err,
                    size_t err_size);

#endif
