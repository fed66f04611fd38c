/*
 * backup.h — the backup plugin's state, shared by its files (internal).
 *
 *   backup.c           options, entry points, the order of the steps, report
 *   backup_snapshot.c  the plugin's own session: versions, the maintenance
 *                      lock, the exported snapshot and its row counts
 *   backup_dump.c      pg_dump into the compression writer, fail-closed checks
 *   backup_archive.c   paths: file trees as a tar stream into the writer
 *   backup_files.c     names, stale partials, free space, the partial file
 *                      and its writer (and encryption), rename, manifest
 *   backup_retain.c    retention over the folder's complete, verified backups
 */
#ifndef CARETAKER_PLUGINS_BACKUP_H
#define CARETAKER_PLUGINS_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include <caretaker/plugin.h>

#include "tartree.h"
#include "backupcheck.h"
#include "backupset.h"
#include "compress.h"
#include "crypt.h"
#include "manifest.h"
#include "pgtools.h"

#define BACKUP_PLUGIN_VERSION "1.0"

/* The job's options, read once in init. */
struct backup_opts {
	const char *conninfo; /* the job's own, or NULL: the [caretaker] default */
	const char *dest;
	const char *name;
	const char *format; /* "plain", "custom" */
	int counts_in_dump; /* row counts from pg_dump's output, not count(*) */
	enum compress_kind kind;
	int level;          /* resolved: the plugin's default per kind when unset */
	int n_threads;
	const char *pg_bindir;
	int64_t lock_wait_ms; /* pg_dump --lock-wait-timeout; 0: none */
	uint64_t min_size;
	uint64_t min_free;
	double min_free_factor;
	struct backupset_policy policy;
	const char *const *paths;
	size_t n_paths;
	const char *const *excludes;
	size_t n_excludes;
	const char *encrypt_to;
	struct crypt_public_key pk; /* loaded from encrypt_to */
	const char *decrypt_key;    /* lets the job check an encrypted backup at L2 */
};

/* The plugin's session on the database, around the dump. */
struct backup_session {
	PGconn *conn;           /* the host's: never PQfinish()ed here */
	int server_version_num;
	char server_version[32];
	char database[128];
	char encoding[64];
	char snapshot[64];
	int is_locked;          /* holds the shared maintenance lock */
	int is_in_transaction;
	int is_counting;        /* the row count query is in flight */
	int count_rc;           /* its outcome once done */
	char count_err[320];
	struct manifest_table *tables;
	size_t n_tables;
};

struct backup_state {
	struct ct_task *t;
	const struct ct_services *ct;
	struct backup_opts o;
	struct backup_session s;
	uint64_t expect_bytes;  /* the stream's size guessed at the start, 0: unknown */
	struct pgtools_prog pg_dump;
	struct pgtools_prog pg_restore; /* custom format: for L2 */
	time_t started_at, finished_at;
	char stamp[BACKUPSET_STAMP_SIZE];
	char file_name[512];    /* NAME-STAMP.sql.gz */
	char file_path[4096];
	char partial_path[4096];
	char manifest_path[4096];
	int is_partial_open;    /* partial_path exists and is ours to remove */
	int is_file_renamed;    /* file_path exists without a manifest yet */
	struct crypt_writer *cw;   /* encrypt_to: the writer's output stage */
	struct tartree_stats as;   /* paths: what went into the tar stream */
	struct compress_stats st;
	struct manifest m;      /* describes the new backup (borrows from this state) */
	char host[256];
	double dump_seconds;
	struct backupcheck_follow *follow; /* L2 while the file is written */
	struct backupcheck_result check;
	double run_seconds;
	size_t n_deleted, n_kept;
	char retain_err[512];   /* retention's trouble: a warning, the backup stands */
	int is_done;            /* the backup is complete (manifest written) */
	char err[1024];         /* why the run failed */
};

/* backup_snapshot.c */
int backup_session_open(struct backup_state *b);
int backup_session_begin(struct backup_state *b);
int backup_session_count_send(struct backup_state *b);
int backup_session_count_poll(struct backup_state *b);
int backup_session_count_wait(struct backup_state *b);
void backup_session_end(struct backup_state *b);

/* backup_dump.c */
int backup_dump_run(struct backup_state *b);

/* backup_archive.c */
int backup_archive_run(struct backup_state *b);

/* backup_files.c */
int backup_files_prepare(struct backup_state *b);
int backup_files_check_space(struct backup_state *b);
int backup_files_open_partial(struct backup_state *b, int *fd);
int backup_files_writer_new(struct backup_state *b, int fd, struct compress_writer **w);
int backup_files_writer_finish(struct backup_state *b, int fd, struct compress_writer *w);
int backup_files_verify(struct backup_state *b);
int backup_files_finish(struct backup_state *b);
void backup_files_discard(struct backup_state *b);

/* backup_retain.c: 0, or an error described in b->retain_err. */
int backup_retain_apply(struct backup_state *b);

/* backup.c */
int backup_should_stop(void *ctx);
/* Progress of the current step: `done` bytes of expect_bytes (kept below
 * 1.0, since that is a guess), or an unknown fraction when done is
 * BACKUP_STEP_ONLY or there is no guess. */
#define BACKUP_STEP_ONLY UINT64_MAX
void backup_progress(struct backup_state *b, const char *step, uint64_t done);
int backup_fail(struct backup_state *b, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
