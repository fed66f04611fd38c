/*
 * compress_stream.h — reading gzip and zstd files that other tools wrote
 * (no caretaker block headers), as one stream (internal to libctcompress).
 */
#ifndef CARETAKER_PLUGINS_COMPRESS_STREAM_H
#define CARETAKER_PLUGINS_COMPRESS_STREAM_H

#include <stddef.h>

#include "compress.h"

struct compress_tally;

/*
 * Decompresses `fd` to EOF as `kind` (gzip through zlib, any number of
 * members; zstd through its streaming decoder, any number of frames), after
 * the `prefix_len` bytes already read from it that are in `prefix`.  Adds
 * every byte to the tally's digests and counts and passes the uncompressed
 * bytes to `data_cb` (may be NULL).  Returns 0, CT_ECORRUPT (message names
 * the file offset), CT_EIO, CT_ENOMEM or the callback's value.
 */
int compress_stream_verify(int fd, enum compress_kind kind, const unsigned char *prefix,
                           size_t prefix_len, struct compress_tally *t, compress_data_cb data_cb,
                           void *cb_ctx, char *err, size_t err_size);

#endif
