/*
 * fdio.h — whole reads and whole writes on a descriptor, regular files
 * opened so that nothing planted in their place can hang or fool the
 * reader, helper threads that leave signals to the caller, and one line of
 * error text.  Part of libctfileio, the one internal library that the core
 * and the bundled plugins both link (docs/architecture.md says why it is
 * neither the core's nor plugins/lib's).
 *
 * Errors are the negative CT_* codes of <caretaker/errors.h>.  Every `err`
 * may be NULL (no words wanted); a message is one line, truncated to
 * err_size, possibly followed by a "\n  hint: ..." line.
 */
#ifndef CT_FILEIO_FDIO_H
#define CT_FILEIO_FDIO_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Formats one line into `err` (NULL or err_size 0: nothing); truncates. */
void fdio_errf(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For a message: the offset is not known. */
#define FDIO_NO_OFFSET UINT64_MAX

/* "read"/"write" failed, at `offset` when known, with errno `e`'s words. */
void fdio_failed(char *err, size_t err_size, const char *what, uint64_t offset, int e);

/*
 * pthread_create() of a helper thread (compression workers, writeback, the
 * check that follows a file) with every signal blocked in it, so that
 * signals meant for the plugin (the runner's SIGTERM on timeout) reach the
 * thread that called into it.  Returns 0 or pthread_create()'s error.
 */
int fdio_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg);

/* One write() that turns the SIGPIPE of a reader gone into EPIPE for this
 * call, whatever the process does with SIGPIPE.  As write(2). */
ssize_t fdio_write_without_sigpipe(int fd, const void *buf, size_t len);

/* Writes all `len` bytes, retrying short writes and EINTR, SIGPIPE kept
 * from the process.  `offset` (where the bytes go, or FDIO_NO_OFFSET) is
 * for the message only.  Returns 0, CT_ENOSPC (ENOSPC, EDQUOT) or CT_EIO,
 * errno saying why. */
int fdio_write_all(int fd, const void *buf, size_t len, uint64_t offset, char *err,
                   size_t err_size);

/* Reads up to `len` bytes, short only at EOF, retrying EINTR; *got says how
 * many.  `offset` (where the read starts) is for the message.  Returns 0 or
 * CT_EIO. */
int fdio_read_full(int fd, void *buf, size_t len, size_t *got, uint64_t offset, char *err,
                   size_t err_size);

/* Sends all `len` bytes on a socket (MSG_NOSIGNAL: a reader that has gone
 * is EPIPE, not a signal), retrying short sends and EINTR.  0 or CT_EIO. */
int fdio_send_all(int fd, const void *buf, size_t len);

/*
 * Opens `path` (open(2) flags and mode, plus O_CLOEXEC and O_NOFOLLOW)
 * without blocking, and keeps it only when fstat says it is a regular
 * file: a FIFO, a socket, a device or a folder planted where caretaker
 * keeps a file can neither hang a reader nor be read as one.  *fd_out is
 * set on success only (blocking mode again).  0, CT_ENOENT when it does
 * not exist, CT_ESYS when it cannot be opened, CT_EIO when it is not a
 * regular file; err names the file, says why and, where a fix is known,
 * gives a hint line.
 */
int fdio_open_regular(const char *path, int flags, mode_t mode, int *fd_out, char *err,
                      size_t err_size);

/* Read the rest of the regular file open on `fd` (up to its size at the
 * start) into a new NUL-terminated buffer: *data (caller frees) and *len
 * are set on success only.  0, CT_ENOMEM, or CT_EIO with "PATH: why" in
 * err. */
int fdio_read_regular(int fd, const char *path, char **data, size_t *len, char *err,
                      size_t err_size);

#endif
