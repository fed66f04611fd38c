/*
 * backup.h — the backup plugin's steps, and what each one reads and writes
 * (internal).
 *
 *   backup.c           entry points, the order of the steps, the report
 *   backup_options.c   the option table, read into struct backup_opts
 *   backup_snapshot.c  the plugin's own session: versions, the maintenance
 *                      lock, the exported snapshot and its row counts
 *   backup_dump.c      pg_dump into the partial file, fail-closed checks
 *   backup_archive.c   paths: file trees as a tar stream into the file
 *   backup_files.c     names, stale partials, free space; the partial file
 *                      and its writer (and encryption), rename, discard
 *   backup_check.c     the check of the new backup before it gets its name
 *   backup_manifest.c  what the new backup's manifest says, step by step
 *   backup_retain.c    retention over the folder's complete, verified backups
 *
 * Each step has a struct of its own below, and every function takes the
 * structs it reads as const pointers and those it writes as plain ones:
 * the signature says what a step touches.  Every step that talks to the
 * host (findings, log, progress, the stop request, the run's failure) is
 * handed struct plugin_host.  Only backup.c sees the run as a whole, to
 * hand each step its part.
 */
#ifndef CARETAKER_PLUGINS_BACKUP_H
#define CARETAKER_PLUGINS_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include <caretaker/plugin.h>

#include "backupcheck.h"
#include "plughost.h"
#include "backupset.h"
#include "compress.h"
#include "crypt.h"
#include "manifest.h"
#include "pgtools.h"
#include "tartree.h"

#define BACKUP_PLUGIN_VERSION "1.0"

/* The job's options, read once in init; const for every step after. */
struct backup_opts {
	const char *conninfo; /* the job's own, or NULL: the [caretaker] default */
	const char *dest;
	const char *name;
	const char *format; /* "plain", "custom" */
	int counts_in_dump; /* row counts from pg_dump's output, not count(*) */
	enum compress_kind kind;
	int level; /* resolved: the plugin's default per kind when unset */
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
	PGconn *conn; /* the host's: never PQfinish()ed here */
	int server_version_num;
	char server_version[32];
	char database[128];
	char encoding[64];
	char snapshot[64];
	int is_locked; /* holds the shared maintenance lock */
	int is_in_transaction;
	int is_counting; /* the row count query is in flight */
	int count_rc;    /* its outcome once done */
	char count_err[320];
	struct manifest_table *tables;
	size_t n_tables;
};

/* The server's own major version of the programs the run uses. */
struct backup_programs {
	struct pgtools_prog pg_dump;
	struct pgtools_prog pg_restore; /* custom format: for L2 */
};

/* The new backup's files in dest: their names, then the partial file while
 * the stream is written into it, and how far the files got. */
struct backup_files {
	time_t started_at;
	char stamp[BACKUPSET_STAMP_SIZE];
	char file_name[512]; /* NAME-STAMP.sql.gz */
	char file_path[4096];
	char partial_path[4096];
	char manifest_path[4096];
	uint64_t expect_bytes; /* the stream's size guessed at the start, 0: unknown */
	int fd;                /* the partial file while it is written, else -1 */
	struct compress_writer *w;
	struct crypt_writer *cw;  /* encrypt_to: the writer's output stage */
	struct compress_stats st; /* what the writer wrote, once finished */
	int is_partial_open;      /* partial_path exists and is ours to remove */
	int is_file_renamed;      /* file_path exists without a manifest yet */
	int is_done;              /* the backup is complete (manifest written) */
};

/* The check of the new backup: L2 (L1 for an encrypted backup without
 * decrypt_key) of the partial file against the new manifest. */
struct backup_check {
	struct backupcheck_opts opts;      /* points into the run: set up before the stream */
	struct backupcheck_follow *follow; /* L2 while the file is written, or NULL */
	struct backupcheck_result result;
};

/* What retention did (or, under --dry-run, would do). */
struct backup_retention {
	size_t n_deleted, n_kept;
	char err[512]; /* its trouble: a warning, the backup stands */
};

/* backup_options.c */
extern const struct ct_option backup_options[];
/* Reads the job's options into *o; a bad value sets the task's status. */
int backup_opts_read(struct plugin_host *h, struct backup_opts *o);

/* backup_snapshot.c: every function fails with h->err set */
/* Connects (the host's connection) and learns what the server is. */
int backup_session_open(struct plugin_host *h, const char *conninfo, struct backup_session *s);
/* The lock, the transaction and its snapshot; guesses *expect_bytes from
 * the tables' size on disk when it is still 0. */
int backup_session_begin(struct plugin_host *h, struct backup_session *s, uint64_t *expect_bytes);
/* Starts listing the tables (counts from the dump's output) or counting
 * their rows here, beside the dump; poll when the session's socket is
 * readable, wait after the dump. */
int backup_session_count_send(struct plugin_host *h, struct backup_session *s,
                              int is_counts_in_dump);
int backup_session_count_poll(struct backup_session *s);
int backup_session_count_wait(struct plugin_host *h, struct backup_session *s);
/* Cancels a count in flight, commits, unlocks; safe on every path. */
void backup_session_end(struct backup_session *s);

/* backup_dump.c: pg_dump in s's snapshot into f, followed by c; the row
 * counts into s; *seconds from pg_dump's start to the synced file. */
int backup_dump_run(struct plugin_host *h, const struct backup_opts *o,
                    const struct pgtools_prog *pg_dump, struct backup_session *s,
                    struct backup_check *c, struct backup_files *f, double *seconds);

/* backup_archive.c: o->paths as one tar stream into f, followed by c;
 * *tree counts what went in, *seconds as for the dump. */
int backup_archive_run(struct plugin_host *h, const struct backup_opts *o, struct backup_check *c,
                       struct backup_files *f, struct tartree_stats *tree, double *seconds);

/* backup_files.c */
/* dest made (0700), leftovers of killed runs handled, the names chosen. */
int backup_files_prepare(struct plugin_host *h, const struct backup_opts *o,
                         struct backup_files *f);
/* Refuses when dest cannot hold a backup like the last; guesses
 * f->expect_bytes from it. */
int backup_files_check_space(struct plugin_host *h, const struct backup_opts *o,
                             struct backup_files *f);
/* The partial file (created, locked) and its writer, and c following it. */
int backup_files_open(struct plugin_host *h, const struct backup_opts *o, struct backup_check *c,
                      struct backup_files *f);
/* The writer finished into f->st, c told, the file synced. */
int backup_files_finish_writing(struct plugin_host *h, struct backup_check *c,
                                struct backup_files *f);
/* Frees the writer and closes the partial file; safe on every path. */
void backup_files_close(struct backup_files *f);
/* The partial file under its name, then m written beside it. */
int backup_files_publish(struct plugin_host *h, const struct manifest *m, struct backup_files *f);
/* After a failure: removes what the run left in dest. */
void backup_files_discard(const char *dest, struct backup_files *f);

/* backup_check.c */
/* Sets c->opts: f's partial file against m, stopping when the host asks. */
void backup_check_setup(struct plugin_host *h, const struct backup_opts *o,
                        const struct backup_files *f, const struct pgtools_prog *pg_restore,
                        const struct manifest *m, struct backup_check *c);
/* Starts following the file (c->follow), or leaves the check for later. */
void backup_check_follow(struct plugin_host *h, struct backup_check *c);
/* The check's verdict into c->result and m->verified; digests the writer
 * left to it into st and m. */
int backup_check_run(struct plugin_host *h, struct backup_check *c, struct compress_stats *st,
                     struct manifest *m);
/* Stops a check still following the file; safe on every path. */
void backup_check_abandon(struct backup_check *c);

/* backup_manifest.c: the parts of m each step knows */
void backup_manifest_begin(const struct backup_opts *o, const struct backup_files *f,
                           const char *host_name, const char *host_version, struct manifest *m);
void backup_manifest_dump(const struct backup_session *s, const struct pgtools_prog *pg_dump,
                          struct manifest *m);
void backup_manifest_tree(const struct backup_opts *o, const struct tartree_stats *tree,
                          struct manifest *m);
void backup_manifest_stream(const struct compress_stats *st, struct manifest *m);

/* backup_retain.c: 0, or an error described in rt->err. */
int backup_retain_apply(struct plugin_host *h, const struct backup_opts *o,
                        struct backup_retention *rt);

/* Progress of the current step: `done` bytes of `expect_bytes` (a guess:
 * kept below 1.0; 0, unknown, shows no fraction). */
void backup_progress_bytes(struct plugin_host *h, const char *step, uint64_t done,
                           uint64_t expect_bytes);
/* Progress of a step whose share of the whole is unknown. */
void backup_progress_step(struct plugin_host *h, const char *step);

#endif
