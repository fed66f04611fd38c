/*
 * compress_io.c — the few I/O helpers libctcompress needs: whole writes that
 * never lose an error, whole reads, buffer growth, and error text.
 */
#include "compress_io.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "compress_stats.h"
#include "fdio.h"

int
compress_io_reserve(unsigned char **buf, size_t *cap, size_t need)
{
	unsigned char *p;

	if (need <= *cap)
		return 0;
	p = realloc(*buf, need);
	if (p == NULL)
		return CT_ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

/* The file itself, counted and hashed: the source an input stage reads. */
static int
input_file_pull_cb(void *ctx, void *buf, size_t len, size_t *got, char *err, size_t err_size)
{
	struct compress_input *in = ctx;
	int rc;

	rc = fdio_read_full(in->fd, buf, len, got, in->tally->stored_bytes, err, err_size);
	if (rc == 0)
		rc = compress_tally_add_stored(in->tally, buf, *got);
	if (rc != 0 && rc != CT_EIO)
		fdio_errf(err, err_size, "SHA-256 of the file failed");
	return rc;
}

int
compress_input_read(struct compress_input *in, void *buf, size_t len, size_t *got, char *err,
                    size_t err_size)
{
	if (in->stage.pull == NULL)
		return input_file_pull_cb(in, buf, len, got, err, err_size);
	return in->stage.pull(in->stage.ctx, buf, len, got, input_file_pull_cb, in, err, err_size);
}
