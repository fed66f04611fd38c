/*
 * backupcheck.h — checking a backup file against what its manifest
 * recorded, at verification levels L1 and L2 (manifest.h); shared by
 * `backup` (L2 of every new backup, before retention) and `verify`.
 *
 *   L1  the file is present, its size and the SHA-256 of its bytes match;
 *   L2  the whole stream decompresses, every block's CRC-32 and the SHA-256
 *       of the uncompressed stream match, and the dump is complete: plain
 *       SQL ends with pg_dump's completion line; a custom archive is read
 *       to the end by `pg_restore -f /dev/null` (reading its table of
 *       contents, as `pg_restore --list` does, passes on a cut file); a tar
 *       stream is read entry by entry to its end-of-archive blocks.
 *
 * An encrypted backup (crypt.h) is decrypted on the same read when a
 * secret key file is given; without one it gets L1 only, through the
 * file's chunk framing and SHA-256.
 *
 * One read of the file does both: L1's digest is taken on the way, and the
 * file is read a second time only when L2 fails, to tell a damaged file
 * (L1) from a damaged stream inside an intact file.  The uncompressed
 * stream can also go to the caller (the restore test) on the same read.
 */
#ifndef CARETAKER_PLUGINS_BACKUPCHECK_H
#define CARETAKER_PLUGINS_BACKUPCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "compress.h"
#include "manifest.h"
#include "pgtools.h"

struct backupcheck_opts {
	const char *path;         /* the backup file */
	const struct manifest *m; /* what it should be; read only */
	int n_threads;            /* decompression threads, 0: one per CPU */
	/* Custom format: the pg_restore to read the archive with (required). */
	const struct pgtools_prog *pg_restore;
	/* Encrypted backups: the secret key file, or NULL for L1 only. */
	const char *secret_key_path;
	/* Optional: also receives the uncompressed stream, in order.  A
	 * non-zero return stops the check, which returns that value. */
	compress_data_cb also_cb;
	void *also_ctx;
	/* Optional: polled between blocks; non-zero stops with CT_ECANCELED. */
	int (*should_stop)(void *ctx);
	void *stop_ctx;
};

struct backupcheck_result {
	int passed;         /* highest level passed: 0, 1 or 2 (1 on success means
	                       "encrypted, no key": L2 was not tried) */
	uint64_t raw_bytes; /* of the stream read */
	double seconds;
	char detail[512]; /* what passed, or what failed where (block, offset) */
	/* SHA-256 of the uncompressed stream and of the file as read, once the
	 * stream decompressed with every block checksum matching; empty
	 * otherwise. */
	char raw_sha256[COMPRESS_SHA256_HEX_SIZE];
	char stored_sha256[COMPRESS_SHA256_HEX_SIZE];
};

/*
 * Runs L1 and L2 on o->path.  Returns 0 when they pass (r->passed says
 * whether L2 ran); CT_ECORRUPT when
 * the file fails one (r->detail names the level and the damage), CT_ENOENT
 * when it is missing, CT_ECANCELED, or also_cb's value; other errors
 * (CT_EIO, CT_ENOMEM, CT_ECHILD; CT_EPERM for a key that is not the
 * backup's) when the check itself could not run.
 * *r is filled in every case.
 */
int backupcheck_run(const struct backupcheck_opts *o, struct backupcheck_result *r);

/* ---- the same check, following a file while it is written ---- */

/*
 * Why: a backup's L2 would otherwise re-read the whole file after the dump,
 * on cores the dump leaves partly idle while it runs (the backend's COPY is
 * one process).  Following the file reads it back from the page cache as
 * the writer extends it, block by block, and checks it on those idle
 * cycles; what is left at the end is the last block and the comparison.
 * It is still the file that is read, never the writer's memory.
 */
struct backupcheck_follow;

/*
 * Starts checking o->path, which the caller is writing, on threads of its
 * own.  Of o->m only the format, kind and encryption are used now: its
 * digests and blocks are compared at the end.  `o` and what it points to
 * must live until finish or free.  Returns 0 and sets *out, or CT_ESYS /
 * CT_ENOMEM / CT_EIO with a message in `err`.
 */
int backupcheck_follow_start(const struct backupcheck_opts *o, struct backupcheck_follow **out,
                             char *err, size_t err_size);

/*
 * Non-zero when the check decompresses the stream (L2: not an encrypted
 * backup without its key) of a kind whose blocks carry checksums of their
 * uncompressed bytes (gzip, zstd).  The writer may then leave both SHA-256
 * digests to this check (compress_writer_leave_digests) and take them from
 * r->raw_sha256 and r->stored_sha256 at the end.
 */
int backupcheck_follow_gives_digests(const struct backupcheck_follow *f);

/*
 * The writer has written its last byte, `final_size` in all: the check
 * reads to there and ends, on its own threads, while the caller fsyncs the
 * file.  Optional: finish says it too.
 */
void backupcheck_follow_writer_done(struct backupcheck_follow *f, uint64_t final_size);

/*
 * The writer is done and the file synced: reads it to its end, waits for
 * the check, and compares everything with `m`, which now describes the
 * whole file (its size, digests and blocks).  Empty digests in `m` are
 * not compared where backupcheck_follow_gives_digests() said so: every
 * block's CRC-32 and its own checksum of its uncompressed bytes are, and
 * the digests are taken from what was read.  Returns and fills
 * *r like backupcheck_run(); `f` is freed.
 */
int backupcheck_follow_finish(struct backupcheck_follow *f, const struct manifest *m,
                              struct backupcheck_result *r);

/* Abandons a check (the backup failed) and frees it.  Accepts NULL. */
void backupcheck_follow_free(struct backupcheck_follow *f);

#endif
