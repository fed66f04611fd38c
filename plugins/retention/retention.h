/*
 * retention.h — the retention plugin's steps, and what each one reads and
 * writes (internal).
 *
 *   retention.c          entry points, the order of the steps, the report
 *   retention_options.c  the option table, read into struct retention_opts
 *   retention_target.c   the session's settings, the rule checked against
 *                        the catalog, the cutoff, the estimate and the count
 *   retention_batch.c    the batches: their ranges, statements, size and
 *                        pace, lock waits, stop requests
 *   retention_archive.c  archive_to: one compressed file per batch, made
 *                        durable before the batch's delete commits
 *   retention_sidecar.c  the JSON sidecar of every archive file, and what
 *                        a killed run left behind, settled at the next start
 *   retention_copy.c     COPY ... TO STDOUT that a stop request can cancel
 *
 * Each step has a struct of its own below, and every function takes the
 * structs it reads as const pointers and those it writes as plain ones, as
 * in plugins/backup/backup.h.  Every step that talks to the host (log,
 * findings, progress, the stop request, the run's failure) gets struct
 * retention_host.  Only retention.c sees the run whole.
 */
#ifndef CARETAKER_PLUGINS_RETENTION_H
#define CARETAKER_PLUGINS_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <caretaker/plugin.h>

#include "compress.h"
#include "plughost.h"
#include "pgquery.h"

#define RETENTION_PLUGIN_VERSION "1.0"

/* Room for an identifier as the catalog spells it (63 bytes in a stock
 * build, more in one with a larger NAMEDATALEN) and for a value's text. */
#define RETENTION_NAME_SIZE 256
#define RETENTION_VALUE_SIZE 512

/* The job's options, read once in init; const for every step after. */
struct retention_opts {
	const char *conninfo; /* the job's own, or NULL: the [caretaker] default */
	const char *schema;   /* NULL: the first table of that name on search_path */
	const char *table;
	const char *column;
	int64_t older_than_ms;
	char older_than[32]; /* older_than as words: "90d", "0" */
	const char *archive_to;
	enum compress_kind archive_kind;
	int64_t batch_time_ms;
	int64_t batch_rows_min, batch_rows_max;
	int64_t pause_ms;
	int64_t lock_timeout_ms;
	int64_t lock_retries;
	int64_t statement_timeout_ms;
	int64_t max_runtime_ms; /* 0: until done */
};

/* The rule as the catalog knows it, checked before anything is deleted. */
struct retention_target {
	char schema[RETENTION_NAME_SIZE];
	char table[RETENTION_NAME_SIZE];
	char column[RETENTION_NAME_SIZE];
	char column_type[RETENTION_NAME_SIZE]; /* format_type(): usable in a cast */
	char index_name[RETENTION_NAME_SIZE];  /* a btree index led by the column, or "" */
	char display[RETENTION_NAME_SIZE * 4]; /* schema.table for people, quoted where needed */
	char *q_table;                         /* "schema"."table", quoted by libpq */
	char *q_column;                        /* "column", quoted by libpq */
	/* archive_to: what the archive holds, as COPY would name it */
	char *q_columns;     /* "a", "b", ... quoted, the generated ones left out */
	char **column_names; /* the same, unquoted */
	char **column_types; /* format_type() of each */
	size_t n_columns;
	unsigned oid;
	double rows_per_page; /* the planner's figure, for the first batch */
	uint64_t table_bytes; /* pg_class's figure, as of the last VACUUM or ANALYZE */
	int server_version_num;
	char server_version[32];
	char database[RETENTION_NAME_SIZE];
};

/* The cutoff, computed once per run from the server's now(). */
struct retention_cutoff {
	/* As an SQL expression: '2025-01-01 00:00:00.123456+00'::timestamptz,
	 * the literal quoted by the server (quote_literal) from its own text. */
	char sql[RETENTION_VALUE_SIZE];
	char utc[32];         /* 2025-01-01T00:00:00Z, for people */
	char started_utc[32]; /* the server's now() at the start */
	char stamp[32];       /* 20250101T000000Z: archive file names */
	double epoch;         /* seconds since 1970, for metrics */
	int64_t estimate;     /* the planner's rows older than the cutoff */
};

/* What the batches did, for the report. */
struct retention_tally {
	int64_t rows_deleted;
	int64_t batches;
	int64_t skip_locked_batches; /* batches redone around rows others held */
	int64_t lock_timeouts;       /* statements that waited lock_timeout out */
	int64_t batch_size_last;     /* rows (or pages without an index) per batch at the end */
	int64_t rows_left;           /* older than the cutoff after the run; -1: not counted */
	int64_t dry_run_rows;        /* --dry-run: the exact count */
	double longest_transaction_s;
	double seconds;
	int is_cut_short; /* max_runtime ended the run before the last batch */
	int is_done;      /* every batch ran */
};

/* archive_to: this run's files, and what it found of earlier runs. */
struct retention_archive {
	int64_t seq; /* the number of the next batch's file */
	int64_t n_files;
	uint64_t raw_bytes, stored_bytes;
	int64_t n_rows;
	/* Settled at the start (retention_sidecar.c): */
	int64_t n_confirmed;   /* pending files whose delete had committed */
	int64_t n_rolled_back; /* pending files whose delete had not: removed */
	int64_t n_partials;    /* unfinished files removed */
	int64_t n_orphans;     /* data files without a sidecar: left, warned */
	int64_t n_unsettled;   /* sidecars that could not be settled (yet) */
	int64_t n_missing;     /* committed batches whose file is gone */
};

/* One batch's archive file while it is written (retention_archive.c). */
struct retention_archive_file {
	char name[512];          /* JOB-STAMP-000001.copy.gz */
	char path[4096];         /* archive_to/name */
	char partial_path[4096]; /* archive_to/.name.partial */
	char sidecar_path[4096]; /* archive_to/JOB-STAMP-000001.json */
	int fd;
	struct compress_writer *w;
	struct compress_stats st;
	int64_t rows;
	long long xid;
	char err[512];  /* the writer's words when it refused a row */
	int is_partial; /* partial_path exists and is ours to remove */
	int is_sidecar; /* sidecar_path exists (pending) */
	int is_renamed; /* path exists */
};

/* retention_options.c */
extern const struct ct_option retention_options[];
/* Reads the job's options into *o; a bad value sets the task's status. */
int retention_opts_read(struct plugin_host *h, struct retention_opts *o);

/* retention_target.c: every function fails with h->err set */
/* lock_timeout, statement_timeout, DateStyle for the session. */
int retention_session_setup(struct plugin_host *h, const struct retention_opts *o, PGconn *conn);
/* The table, the column, its index, and (archive_to) the column list. */
int retention_target_resolve(struct plugin_host *h, const struct retention_opts *o, PGconn *conn,
                             struct retention_target *tg);
void retention_target_free(struct retention_target *tg);
/* now() - older_than, once; and the planner's estimate of the rows. */
int retention_cutoff_compute(struct plugin_host *h, const struct retention_opts *o, PGconn *conn,
                             const struct retention_target *tg, struct retention_cutoff *c);
/* The exact number of rows older than the cutoff, into *rows. */
int retention_count_old(struct plugin_host *h, PGconn *conn, const struct retention_target *tg,
                        const struct retention_cutoff *c, int64_t *rows);
/* `name` for people: as is when it is a plain lowercase name, else in
 * double quotes with inner ones doubled, as SQL writes it. */
void retention_name_words(const char *name, char *out, size_t size);
/* The rule in words for messages: public.t."c" older than 90d. */
void retention_rule_words(const struct retention_opts *o, const struct retention_target *tg,
                          char *out, size_t size);

/* retention_batch.c: every batch until none is left, the run is stopped or
 * max_runtime has passed; `ar` NULL without archive_to. */
int retention_batches_run(struct plugin_host *h, const struct retention_opts *o, PGconn *conn,
                          const struct retention_target *tg, const struct retention_cutoff *c,
                          struct retention_archive *ar, struct retention_tally *tally);

/* retention_archive.c: one batch's delete, archived.  `sql` is the
 * DELETE ... RETURNING of the batch; *rows gets the rows deleted.  The
 * delete commits only once the file and its sidecar are durable; on any
 * failure it is rolled back and the files removed. */
struct retention_archive_batch {
	const struct retention_opts *o;
	const struct retention_target *tg;
	const struct retention_cutoff *c;
	const char *sql;
	double *transaction_s; /* BEGIN to COMMIT */
};
/* archive_to made (0700) if missing; fails the run when it is unusable. */
int retention_archive_prepare(struct plugin_host *h, const struct retention_opts *o);
/* The failure's words go to `err` (the caller decides what a lock
 * timeout means); the files are then gone and nothing was deleted. */
int retention_archive_batch(struct plugin_host *h, PGconn *conn,
                            const struct retention_archive_batch *b, struct retention_archive *ar,
                            int64_t *rows, char *err, size_t err_size);

/* retention_sidecar.c */
/* Writes the sidecar of `f` in state "pending" or "committed", durably
 * (durable_replace: all of it or none). */
int retention_sidecar_write(struct plugin_host *h, const struct retention_archive_batch *b,
                            const struct retention_archive_file *f, int is_committed, char *err,
                            size_t err_size);
/* Settles what earlier runs of this job left in archive_to (see the file),
 * counting it in *ar. */
int retention_sidecar_settle(struct plugin_host *h, const struct retention_opts *o, PGconn *conn,
                             struct retention_archive *ar);

/* retention_copy.c: runs `sql` (a COPY ... TO STDOUT), handing each row to
 * `sink`, cancelling it when the host asks to stop.  *rows gets COPY's
 * count.  Returns 0, the sink's error, CT_EPG or CT_ECANCELED with `err`. */
typedef int retention_copy_sink_cb(void *ctx, const char *buf, size_t len);
struct retention_copy {
	const char *sql;
	retention_copy_sink_cb *sink;
	void *sink_ctx;
	pgquery_stop_cb *should_stop;
	void *stop_ctx;
};
int retention_copy_out(PGconn *conn, const struct retention_copy *cp, int64_t *rows, char *err,
                       size_t err_size);

/* Formats into a new string: 0 and *out (free it), or CT_ENOMEM. */
int retention_sprintf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Non-zero when `err` (from pgquery) carries SQLSTATE `state`. */
int retention_is_sqlstate(const char *err, const char *state);

#endif
