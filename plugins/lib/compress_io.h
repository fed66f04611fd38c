/*
 * compress_io.h — file descriptor I/O and error text for libctcompress
 * (internal; plugins include compress.h only).
 */
#ifndef CARETAKER_PLUGINS_COMPRESS_IO_H
#define CARETAKER_PLUGINS_COMPRESS_IO_H

#include <stddef.h>
#include <stdint.h>

/* Formats one line into `err` (NULL or err_size 0: nothing); truncates. */
void compress_errf(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes all `len` bytes, retrying short writes and EINTR, with SIGPIPE
 * kept from the process.  `offset` (where the bytes go in the file) is for
 * the message only.  Returns 0, CT_ENOSPC (ENOSPC, EDQUOT) or CT_EIO. */
int compress_io_write_all(int fd, const void *buf, size_t len, uint64_t offset, char *err,
                          size_t err_size);

/* Reads up to `len` bytes, stopping early only at EOF; *got says how many.
 * Returns 0 or CT_EIO. */
int compress_io_read_full(int fd, void *buf, size_t len, size_t *got, uint64_t offset, char *err,
                          size_t err_size);

/* Makes *buf hold at least `need` bytes, keeping its content.  Returns 0 or
 * CT_ENOMEM; on failure *buf and *cap are unchanged. */
int compress_io_reserve(unsigned char **buf, size_t *cap, size_t need);

#endif
