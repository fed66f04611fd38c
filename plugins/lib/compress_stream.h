/*
 * compress_stream.h — reading gzip and zstd files that other tools wrote
 * (no caretaker block headers), as one stream (internal to libctcompress).
 */
#ifndef CARETAKER_PLUGINS_COMPRESS_STREAM_H
#define CARETAKER_PLUGINS_COMPRESS_STREAM_H

#include <stddef.h>

#include "compress.h"

struct compress_input;

/*
 * Decompresses `in` to its end as p->kind (gzip through zlib, any number of
 * members; zstd through its streaming decoder, any number of frames), after
 * the `prefix_len` bytes already read from it that are in `prefix`.  The
 * input hashes the file's bytes as it reads them; this adds the
 * uncompressed bytes to in->tally and passes them to p->data_cb (may be
 * NULL).  Of `p` only kind and the data callback are used: the caller reads
 * the stage and the expectations.  Returns 0, CT_ECORRUPT (message names
 * the offset in the stream), CT_EIO, CT_ENOMEM or the callback's value.
 */
int compress_stream_verify(struct compress_input *in, const struct compress_verify_params *p,
                           const unsigned char *prefix, size_t prefix_len, char *err,
                           size_t err_size);

#endif
