/*
 * compress.h — streaming compression and checksums shared by the bundled
 * `backup` and `verify` plugins (libctcompress, a static convenience
 * library linked into each plugin).
 *
 * The writer takes a byte stream of any length (pg_dump's stdout), cuts it
 * into blocks, compresses the blocks on worker threads, and writes them to a
 * file descriptor in order, with bounded memory.  It records the SHA-256 of
 * the uncompressed stream and of the file, and one entry per block so that
 * `verify` can name a damaged block.  The reader does the reverse and checks
 * every checksum on the way.
 *
 * File format.  Every kind stays readable by the standard tool:
 *   - COMPRESS_NONE: the bytes as given.
 *   - COMPRESS_GZIP: one gzip member per block (RFC 1952 allows members to
 *     follow one another; `gunzip` prints their concatenation).  Each member
 *     carries an FEXTRA subfield 'C''T' with a 16-byte block header (format
 *     version, flags, block index, member length, uncompressed length), so a
 *     reader finds member boundaries without decompressing and can decompress
 *     members in parallel.  The file ends with an empty member flagged "end",
 *     so a file cut between two members is still detected as truncated.
 *   - COMPRESS_ZSTD: per block, a zstd skippable frame carrying the same
 *     16-byte header, then one zstd frame with content size and content
 *     checksum; an "end" skippable frame closes the file.  `zstd -d` skips
 *     skippable frames.
 * The block header fields are little-endian:
 *   u8 version (1) | u8 flags (1 = end) | u16 zero | u32 index |
 *   u32 stored bytes of the whole block | u32 uncompressed bytes
 * The reader also accepts gzip and zstd files made by other tools (a single
 * large gzip member from plain `gzip`, say) by streaming them through zlib or
 * zstd; those can only be checked as a whole, not block by block.
 *
 * Threads: a writer or reader belongs to the thread that calls it; the worker
 * threads are its own business.  Errors are the negative CT_* codes of
 * <caretaker/errors.h>, with one line of context written into the caller's
 * `err` buffer (which may be NULL).
 *
 * Not here: fsync and rename of the output file (the caller's), the manifest
 * (the backup plugin's), and encryption (crypt.h), which plugs in as an
 * output stage of the writer and an input stage of the reader (below).
 */
#ifndef CARETAKER_PLUGINS_COMPRESS_H
#define CARETAKER_PLUGINS_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

enum compress_kind {
	COMPRESS_NONE = 0,
	COMPRESS_GZIP = 1,
	COMPRESS_ZSTD = 2,
	COMPRESS__LAST /* never use */
};

/* Pass as `level` to get the measured default of the kind (see
 * compress_codec.c for the measurements behind each default). */
#define COMPRESS_LEVEL_DEFAULT 0

/* Block size limits in bytes.  Pass 0 as `block_bytes` for the default.
 * The cap keeps every stored block below 4 GiB so that the block header's
 * 32-bit lengths and gzip's 32-bit ISIZE are exact. */
#define COMPRESS_BLOCK_DEFAULT_BYTES ((size_t)4 << 20)
#define COMPRESS_BLOCK_MIN_BYTES ((size_t)64 << 10)
#define COMPRESS_BLOCK_MAX_BYTES ((size_t)64 << 20)

/* Room for a SHA-256 digest as 64 lowercase hex digits and a NUL. */
#define COMPRESS_SHA256_HEX_SIZE 65

/* One block of a file, as recorded by the writer for the manifest and as
 * found by the reader.  The end marker is not a block. */
struct compress_block {
	uint64_t offset;       /* where the block starts in the file */
	uint64_t stored_bytes; /* its length in the file, framing included */
	uint64_t raw_bytes;    /* uncompressed bytes it holds */
	uint32_t crc32;        /* CRC-32 (gzip's polynomial) of its stored bytes */
};

/* What a writer wrote or a reader read.  `blocks` is owned by the stats and
 * released by compress_stats_free(). */
struct compress_stats {
	uint64_t raw_bytes;                           /* length of the uncompressed stream */
	uint64_t stored_bytes;                        /* length of the file */
	char raw_sha256[COMPRESS_SHA256_HEX_SIZE];    /* of the uncompressed stream */
	char stored_sha256[COMPRESS_SHA256_HEX_SIZE]; /* of the file's bytes */
	struct compress_block *blocks;
	size_t n_blocks;
};

/* Releases the block list of `st` and zeroes it; `st` itself belongs to the
 * caller.  Accepts NULL and a zeroed struct. */
void compress_stats_free(struct compress_stats *st);

/* The kind named `name` ("none", "gzip", "zstd"), for option parsing.
 * Returns 0 and sets *kind, or CT_EINVAL (with a message) for another name. */
int compress_kind_parse(const char *name, enum compress_kind *kind, char *err, size_t err_size);

/* The name of `kind` ("gzip") and its usual file suffix (".gz", "" for
 * none): static strings, or NULL for a value outside the enum. */
const char *compress_kind_name(enum compress_kind kind);
const char *compress_kind_suffix(enum compress_kind kind);

/* ---- stages: a transform between the blocks and the file ---- */

/*
 * A stage sees the stored bytes in file order and changes them on their way
 * to or from the file; encryption is the one there is (crypt.h makes the
 * stage structs).  With a stage, the file is the stage's side: stored_bytes
 * and stored_sha256 of struct compress_stats are of the file on disk (the
 * ciphertext), while each struct compress_block's offset, length and CRC-32
 * are of the compressed stream the stage takes in or gives out.
 */

/* Takes bytes on their way to the file (the writer writes and hashes them).
 * Returns 0 or a CT_* code. */
typedef int compress_emit_cb(void *ctx, const void *buf, size_t len);

/* Reads the next bytes of the file (the reader counts and hashes them):
 * fills up to `len` bytes, *got less than `len` only at the end of the file.
 * Returns 0 or a CT_* code with a message in `err`. */
typedef int compress_pull_cb(void *ctx, void *buf, size_t len, size_t *got, char *err,
                             size_t err_size);

/* Where a stage sends the bytes it makes, and where it reads the file's:
 * a callback and its context, which always travel together. */
struct compress_sink {
	compress_emit_cb *emit;
	void *ctx;
};

struct compress_source {
	compress_pull_cb *pull;
	void *ctx;
};

struct compress_out_stage {
	void *ctx;
	/* Takes `len` stored bytes (valid during the call) and passes what it
	 * makes of them to `to`, now or later.  The writer calls it once more
	 * with is_end = 1 (and maybe len 0) after the last block: everything
	 * must then be emitted.  Returns 0 or a CT_* code with a message. */
	int (*push)(void *ctx, const void *buf, size_t len, int is_end,
	            const struct compress_sink *to, char *err, size_t err_size);
};

struct compress_in_stage {
	void *ctx;
	/* Fills up to `len` bytes of the stream the stage makes of the file,
	 * which it reads through `from`; *got less than `len` only at the end
	 * of that stream.  Returns 0 or a CT_* code with a message. */
	int (*pull)(void *ctx, void *buf, size_t len, size_t *got,
	            const struct compress_source *from, char *err, size_t err_size);
};

/* ---- writer ---- */

struct compress_writer;

/* How a writer compresses: every setting in one struct (zstd's
 * ZSTD_CCtx_params shape), so that a new setting is a member, never one
 * more variant of compress_writer_new().  Zero what you do not set: a
 * zeroed struct writes COMPRESS_NONE with the defaults. */
struct compress_writer_params {
	enum compress_kind kind; /* what to write */
	/* COMPRESS_LEVEL_DEFAULT, or the library's own level (gzip: libdeflate
	 * 1..12, zstd 1..19; none takes only the default); other values are
	 * CT_EINVAL. */
	int level;
	/* Compression threads, 0..64; 0 means one per CPU the process may run
	 * on. */
	int n_threads;
	/* Uncompressed bytes per block, 0 for the default, else within
	 * COMPRESS_BLOCK_MIN_BYTES..COMPRESS_BLOCK_MAX_BYTES.  Memory use is
	 * about 2 * block_bytes * (2 * n_threads + 1). */
	size_t block_bytes;
	/* Optional: a stage between the blocks and the file (encryption,
	 * crypt.h); the compressed blocks go through stage->push and what it
	 * emits goes to the file, counted and hashed there.  Copied; its ctx
	 * must outlive the writer.  NULL: the blocks go to the file as they
	 * are. */
	const struct compress_out_stage *stage;
};

/*
 * Starts a writer that compresses into `out_fd` (a file, pipe or socket; the
 * writer never closes it and writes from the current position, never
 * seeking) as `p` says (read during the call only).
 *
 * Returns 0 and sets *out (free with compress_writer_free()), or CT_EINVAL,
 * CT_ENOMEM or CT_ESYS (threads) with a message in `err`.
 *
 * A pipe whose reader has gone away makes writes fail with CT_EIO; SIGPIPE
 * is kept from the process while the writer writes.
 */
int compress_writer_new(int out_fd, const struct compress_writer_params *p,
                        struct compress_writer **out, char *err, size_t err_size);

/*
 * Adds `len` bytes of the stream.  The bytes are copied; `buf` stays the
 * caller's.  Full blocks go to the workers and finished blocks to `out_fd`
 * in order, so a call may block while the workers catch up.
 *
 * Returns 0, or the first error the writer met (CT_ENOSPC, CT_EIO for a
 * failed write(); CT_ENOMEM) with a message naming the block and offset.
 * After an error every later call returns the same error; the output is then
 * incomplete and the caller should remove it.
 */
int compress_writer_write(struct compress_writer *w, const void *buf, size_t len, char *err,
                          size_t err_size);

/*
 * The same without the copy, for a caller that reads the stream from a
 * file descriptor: compress_writer_space() gives the free part of the block
 * being filled (never empty while the writer is usable), the caller reads
 * into it, and compress_writer_commit() adds the first `len` bytes of it
 * (len <= the space given) to the stream.  Between the two calls the space
 * is the caller's.  Same returns as compress_writer_write(); space returns
 * the error an earlier call already reported, if any, and sets nothing.
 */
int compress_writer_space(struct compress_writer *w, void **buf, size_t *len);
int compress_writer_commit(struct compress_writer *w, size_t len, char *err, size_t err_size);

/*
 * Compresses what is buffered, waits for the workers, writes the remaining
 * blocks and the end marker, and fills *st (release with
 * compress_stats_free()).  The caller then fsyncs and renames the file: an
 * error from those is the caller's to report.
 *
 * Returns 0, or an error as compress_writer_write() (*st is then untouched).
 * Call it once; only compress_writer_free() may follow.
 */
int compress_writer_finish(struct compress_writer *w, struct compress_stats *st, char *err,
                           size_t err_size);

/* Stops the workers and frees the writer.  Without a successful finish the
 * output is incomplete.  Accepts NULL. */
void compress_writer_free(struct compress_writer *w);

/*
 * Leaves both SHA-256 digests (of the uncompressed stream and of the file)
 * to the caller: the writer counts the bytes but does not hash them, and
 * st->raw_sha256 and st->stored_sha256 come back empty.  For a caller that
 * reads the file back and decompresses it as it is written
 * (backupcheck_follow) and takes both digests there.  What the writer
 * wrote is then proven block by block instead: the CRC-32 of every stored
 * block (the block list) against the block read back, and the checksum
 * every block keeps of its own uncompressed bytes (gzip's CRC-32 and
 * length, zstd's content checksum), taken by the worker from the bytes it
 * compressed and checked by the decompressor.  Two passes of SHA-256 less
 * in the writing thread, the one that keeps pg_dump's pipe empty: half a
 * CPU second per 600 MB of SQL.
 *
 * Returns 0, or CT_EINVAL (with a message) for kind none, whose blocks
 * carry no such checksum, and once a byte has been written.
 */
int compress_writer_leave_digests(struct compress_writer *w, char *err, size_t err_size);

/* ---- reader and verifier ---- */

/* Receives the uncompressed stream in order, in pieces of any size.  The
 * bytes are valid during the call only.  A non-zero return stops the read,
 * and compress_file_verify() returns that value. */
typedef int (*compress_data_cb)(const void *buf, size_t len, void *ctx);

/* What a manifest recorded about a file.  Every member is optional: NULL or
 * 0 skips that check.  Hex digits may be upper or lower case. */
struct compress_expect {
	const char *raw_sha256;
	const char *stored_sha256;
	const struct compress_block *blocks; /* checked when n_blocks > 0 */
	size_t n_blocks;
};

/* What compress_file_verify() reads and checks, and where the stream goes:
 * one struct, like the writer's.  Zero what you do not use. */
struct compress_verify_params {
	enum compress_kind kind; /* what the file is */
	int n_threads;           /* decompression threads, 0..64; 0: one per CPU */
	/* Optional: what a manifest recorded, checked where given. */
	const struct compress_expect *expect;
	/* Optional: a stage the file goes through first (the decryption of
	 * crypt.h).  The file's bytes as read from `in_fd` are counted and
	 * hashed (and compared with expect->stored_sha256), and the stream the
	 * stage makes of them is read as a file of `kind`.  Offsets in
	 * messages and in the block list are then offsets in that stream; the
	 * stage's own messages name offsets in the file. */
	const struct compress_in_stage *stage;
	/* Optional: receives the uncompressed bytes as they are checked, so it
	 * may see bytes of a file that later turns out damaged. */
	compress_data_cb data_cb;
	void *data_ctx;
};

/*
 * Reads `in_fd` from its current position to EOF as p->kind says and
 * checks everything there is to check: each block's header, length and
 * decompression (gzip CRC-32 and ISIZE, zstd content checksum), the end
 * marker, and, where p->expect gives them, each block's CRC-32 and the
 * SHA-256 of the file and of the uncompressed stream.  `p` and what it
 * points to are read during the call only.
 *
 * st: may be NULL; on success filled as by the writer (release with
 *     compress_stats_free()).  Files from other tools give an empty block
 *     list.
 *
 * Returns 0; CT_ECORRUPT for damaged or truncated data, with a message
 * naming the block and the file offset; CT_EIO for a failed read();
 * CT_ENOMEM; or the callback's non-zero value.
 */
int compress_file_verify(int in_fd, const struct compress_verify_params *p,
                         struct compress_stats *st, char *err, size_t err_size);

#endif
