/*
 * compress_io.h — file descriptor I/O and error text for libctcompress
 * (internal; plugins include compress.h only).
 */
#ifndef CARETAKER_PLUGINS_COMPRESS_IO_H
#define CARETAKER_PLUGINS_COMPRESS_IO_H

#include <stddef.h>
#include <stdint.h>

#include "compress.h"
#include "fdio.h"

struct compress_tally;

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
