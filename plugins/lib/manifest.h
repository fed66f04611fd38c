/*
 * manifest.h — the JSON file written next to every backup, and written
 * last: a backup without one is incomplete and invisible to listing,
 * verification and retention.  It says what was dumped and how (database,
 * server and pg_dump versions, format, compression), carries the checksums
 * that `verify` checks (size and SHA-256 of the file, SHA-256 of the
 * uncompressed stream, every block's CRC-32), the per-table row counts of
 * the dump's snapshot for the restore test, and the latest verification,
 * which retention trusts.  docs/backup.md documents every member.
 *
 * Written by `backup`, read by `verify` and `backupset`, updated by both
 * (manifest_record_check()).  JSON through jansson; a member this code does
 * not know survives an update.
 *
 * Errors are negative CT_* codes with one line naming the file in `err`.
 */
#ifndef CARETAKER_PLUGINS_MANIFEST_H
#define CARETAKER_PLUGINS_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "compress.h"

/* "NAME-20250101T000000Z" + MANIFEST_SUFFIX next to "NAME-20250101T000000Z.sql.gz". */
#define MANIFEST_SUFFIX ".manifest.json"
/* The value of the "caretaker_manifest" member; bumped only for changes an
 * older reader would misread. */
#define MANIFEST_FORMAT 1
/* Room for "2025-01-01T00:00:00Z" and a NUL. */
#define MANIFEST_TIME_SIZE 21

/* Verification levels. */
enum manifest_level {
	MANIFEST_L1 = 1, /* file present; size and SHA-256 match */
	MANIFEST_L2 = 2, /* the whole stream decompresses; every checksum and the
	                    completion line (or pg_restore's full read) check out */
	MANIFEST_L3 = 3, /* restored into a scratch database; row counts match */
};

struct manifest_table {
	const char *name; /* "schema.table" */
	int64_t rows;
};

/* One verification: the highest level tried and whether it passed. */
struct manifest_check {
	int level; /* 0: never verified */
	int is_ok;
	time_t at;
	char detail[512];
};

/*
 * The parsed view.  After manifest_load() every string points into `json`,
 * which owns them, and `blocks` and `tables` are allocated: release with
 * manifest_free().  To write a new manifest, fill the members with the
 * caller's own strings and arrays, leave `json` NULL, and call
 * manifest_write(); such a manifest needs no manifest_free().
 */
struct manifest {
	json_t *json;
	const char *name; /* the backup's name (the job's, or its `name` option) */
	const char *file; /* the backup file, a name in the manifest's folder */
	const char *database;
	const char *encoding; /* the database's, for the restore test's CREATE DATABASE */
	const char *server_version;
	int server_version_num;
	const char *pg_dump_version;
	const char *format; /* "plain", "custom" (pg_dump), "tar" (file trees) */
	enum compress_kind compress;
	int level;
	uint64_t block_bytes;
	/* Encrypted to this recipient key id (crypt.h; 16 hex digits), or
	 * NULL.  The file's size and SHA-256 are then of the ciphertext. */
	const char *encryption_key_id;
	time_t started_at, finished_at;
	uint64_t raw_bytes, stored_bytes;
	char raw_sha256[COMPRESS_SHA256_HEX_SIZE];
	char stored_sha256[COMPRESS_SHA256_HEX_SIZE];
	const struct compress_block *blocks;
	size_t n_blocks;
	const struct manifest_table *tables;
	size_t n_tables;
	const char *snapshot;
	/* tar: the trees archived and what went in (written, not read back). */
	const char *const *paths;
	size_t n_paths;
	uint64_t n_files, n_dirs, n_symlinks, file_bytes;
	const char *host;
	const char *caretaker_version;
	const char *plugin_version;
	struct manifest_check verified; /* the latest verification */
};

/* Reads and checks `path`.  Returns 0 and fills *m, CT_ENOENT when the
 * file does not exist, CT_ECORRUPT when it is not a manifest this code can
 * read (the message names the member), or CT_EIO. */
int manifest_load(const char *path, struct manifest *m, char *err, size_t err_size);

/* Writes `m` to `path` atomically (durable_replace, mode 0600). */
int manifest_write(const char *path, const struct manifest *m, char *err, size_t err_size);

/* Records a verification in a loaded manifest: `verified` becomes `c`,
 * and `c` is appended to the "verifications" history (the oldest dropped
 * past 100).  Write the manifest afterwards.  Returns 0 or CT_ENOMEM. */
int manifest_record_check(struct manifest *m, const struct manifest_check *c);

/* Non-zero when retention may count the backup: its latest verification
 * reached L2 or more and passed. */
int manifest_is_counted(const struct manifest *m);

/* What compress_file_verify() should find, borrowing from `m`. */
void manifest_expect(const struct manifest *m, struct compress_expect *e);

/* The row count the manifest recorded for `table`, or -1. */
int64_t manifest_table_rows(const struct manifest *m, const char *table);

/* Accepts NULL and a manifest that was never loaded. */
void manifest_free(struct manifest *m);

/* "2025-01-01T00:00:00Z" (UTC) and back.  Parse returns 0 or CT_EINVAL. */
void manifest_time_format(time_t t, char out[MANIFEST_TIME_SIZE]);
int manifest_time_parse(const char *s, time_t *t);

#endif
