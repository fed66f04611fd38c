/*
 * compress_io.h — file descriptor I/O and error text for libctcompress
 * (internal; plugins include compress.h only).
 */
#ifndef CARETAKER_PLUGINS_COMPRESS_IO_H
#define CARETAKER_PLUGINS_COMPRESS_IO_H

#include <stddef.h>
#include <stdint.h>

#include "compress.h"

struct compress_tally;

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

/* Where a reader gets its bytes: the file on `fd`, through an input stage
 * if stage.pull is set.  Every byte read from `fd` is counted and hashed
 * into `tally` as the file's (stored) bytes, so the file's digest is of the
 * file on disk whatever the stage does. */
struct compress_input {
	int fd;
	struct compress_in_stage stage;
	struct compress_tally *tally;
};

/* Reads up to `len` bytes of the stream (the file, or what the stage makes
 * of it), stopping early only at its end; *got says how many.  Returns 0,
 * CT_EIO, or the stage's error, with a message. */
int compress_input_read(struct compress_input *in, void *buf, size_t len, size_t *got, char *err,
                        size_t err_size);

#endif
