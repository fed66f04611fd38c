/*
 * vacuum.h — the vacuum plugin's steps, and what each one reads and writes
 * (internal).
 *
 *   vacuum.c           entry points, the order of the steps, the report
 *   vacuum_options.c   the option table, read into struct vacuum_opts
 *   vacuum_judge.c     pure decisions: which thresholds a table passes,
 *                      names and patterns, statements, server versions,
 *                      index bloat (unit-tested without a server)
 *   vacuum_session.c   the plugin's session: server facts, timeouts, what
 *                      the server says (notices), the maintenance lock
 *   vacuum_select.c    the tables and their statistics, into a plan
 *   vacuum_table.c     VACUUM / ANALYZE / VACUUM FULL of one table, measured
 *   vacuum_index.c     the indexes: bloat estimates, invalid leftovers of
 *                      interrupted rebuilds, REINDEX INDEX CONCURRENTLY
 *   vacuum_report.c    findings for each table and index, and the summary
 *
 * As in the backup plugin (plugins/backup/backup.h): each step gets the
 * structs it reads as const pointers and those it writes as plain ones;
 * struct plugin_host is what every step that talks to the host gets; only
 * vacuum.c's entry points see the run whole.
 */
#ifndef CARETAKER_PLUGINS_VACUUM_H
#define CARETAKER_PLUGINS_VACUUM_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <caretaker/plugin.h>

#include "plughost.h"

#define VACUUM_PLUGIN_VERSION "1.0"

/* The oldest server the plugin talks to, and the first with REINDEX
 * CONCURRENTLY and VACUUM (SKIP_LOCKED). */
#define VACUUM_MIN_SERVER 90600
#define VACUUM_CONCURRENT_SERVER 120000

enum vacuum_mode { VACUUM_MODE_AUTO = 0, VACUUM_MODE_ALL = 1 };
enum vacuum_reindex { VACUUM_REINDEX_NONE = 0, VACUUM_REINDEX_BLOATED = 1, VACUUM_REINDEX_ALL = 2 };

/* When a table needs work: autovacuum's formulas (threshold + scale factor
 * x reltuples) and ages.  A zero age or interval is "off", except the
 * freeze ages, where zero means half of the server's own maximum. */
struct vacuum_thresholds {
	int64_t vacuum_base;
	double vacuum_scale;
	int64_t vacuum_max; /* caps vacuum_base + vacuum_scale x reltuples */
	int64_t insert_base;
	double insert_scale;
	int64_t analyze_base;
	double analyze_scale;
	int64_t freeze_age;
	int64_t multixact_freeze_age;
	int64_t vacuum_interval_ms;
	int64_t analyze_interval_ms;
};

/* When an index is worth rebuilding under reindex = bloated. */
struct vacuum_bloat_limits {
	double ratio;       /* estimated waste over the index's size */
	uint64_t min_bytes; /* and at least this much estimated waste */
};

/* The job's options, read once in init; const for every step after. */
struct vacuum_opts {
	const char *conninfo; /* the job's own, or NULL: the [caretaker] default */
	int mode;             /* enum vacuum_mode */
	const char *const *tables;
	size_t n_tables;
	const char *const *excludes;
	size_t n_excludes;
	const char *const *full; /* VACUUM FULL of these, by name */
	size_t n_full;
	struct vacuum_thresholds th;
	int reindex; /* enum vacuum_reindex */
	struct vacuum_bloat_limits bloat;
	int is_drop_leftovers;
	int64_t lock_timeout_ms;      /* 0: wait */
	int64_t statement_timeout_ms; /* 0: none */
	uint64_t maintenance_work_mem;
	int is_verbose;
};

/* What the server said during the statement in flight (its notices). */
struct vacuum_notices {
	struct plugin_host *h;
	int is_verbose;   /* INFO lines go to the report's "verbose" stream */
	int is_skipped;   /* a WARNING said the relation was skipped */
	int is_lock_skip; /* ... because its lock was not available */
	char words[512];  /* the first WARNING's words */
};

/* The plugin's session on the database. */
struct vacuum_session {
	PGconn *conn; /* the host's: never PQfinish()ed here */
	int server_version_num;
	char server_version[32];
	char database[128];
	int64_t freeze_max_age;           /* the server's autovacuum_freeze_max_age */
	int64_t multixact_freeze_max_age; /* ... autovacuum_multixact_freeze_max_age */
	int64_t block_size;
	int is_maint_locked; /* holds the maintenance lock exclusively */
	struct vacuum_notices notices;
};

/* Why a table is in the plan: which thresholds it passed. */
enum vacuum_why {
	VACUUM_WHY_DEAD = 1u << 0,
	VACUUM_WHY_INSERTS = 1u << 1,
	VACUUM_WHY_XID_AGE = 1u << 2,
	VACUUM_WHY_MXID_AGE = 1u << 3,
	VACUUM_WHY_VACUUM_INTERVAL = 1u << 4,
	VACUUM_WHY_MODIFIED = 1u << 5,
	VACUUM_WHY_ANALYZE_INTERVAL = 1u << 6,
	VACUUM_WHY_MODE_ALL = 1u << 7,
	VACUUM_WHY_FULL = 1u << 8
};

/* The plan's order: VACUUM FULL after every other table's work (it runs
 * in a later step), and tables with nothing to do last. */
#define VACUUM_PRIORITY_FULL 3
#define VACUUM_PRIORITY_NONE 4

/* What the plan does to a table. */
enum vacuum_action {
	VACUUM_DO_NOTHING = 0,
	VACUUM_DO_ANALYZE = 1, /* ANALYZE (SKIP_LOCKED): statistics only */
	VACUUM_DO_VACUUM = 2,  /* VACUUM (ANALYZE, SKIP_LOCKED) */
	VACUUM_DO_FREEZE = 3,  /* VACUUM (ANALYZE, FREEZE, SKIP_LOCKED) */
	VACUUM_DO_FULL = 4     /* VACUUM (FULL, ANALYZE, SKIP_LOCKED), by name only */
};

/* How an item (a table or an index) ended. */
enum vacuum_outcome {
	VACUUM_NOT_DONE = 0, /* the run stopped before it, or a dry run */
	VACUUM_DONE,         /* done */
	VACUUM_SKIP_LOCKED,  /* skipped: its lock was not free (SKIP_LOCKED, lock_timeout) */
	VACUUM_SKIP_TIMEOUT, /* cancelled by statement_timeout */
	VACUUM_SKIP_SERVER,  /* the server skipped it and said why (a WARNING) */
	VACUUM_SKIP_BACKUP,  /* a backup holds the maintenance lock */
	VACUUM_SKIP_BUSY,    /* another session is building an index on the table */
	VACUUM_GONE,         /* dropped or renamed since the plan was made */
	VACUUM_FAILED,       /* an error of the server's; the run went on */
	VACUUM_CANCELLED     /* in flight when the run was asked to stop */
};

/* One table: the statistics it was judged by, the plan, the outcome. */
struct vacuum_table {
	uint32_t oid;
	char *schema, *name; /* as in the catalog */
	char *display;       /* schema.name quoted where needed, for people */
	/* statistics, from pg_stat_all_tables and pg_class */
	int64_t n_live, n_dead, n_mod_since_analyze;
	int64_t n_ins_since_vacuum; /* -1: the server does not count them (< 13) */
	double reltuples;           /* -1: never vacuumed or analyzed (14+) */
	int64_t xid_age, mxid_age;  /* the table's or its TOAST table's, the older */
	double since_vacuum_s;      /* -1: never, as far as statistics remember */
	double since_analyze_s;
	int64_t est_bytes; /* relpages x block size: the plan's order and progress */
	/* the plan */
	unsigned why; /* VACUUM_WHY_* */
	int action;   /* enum vacuum_action */
	int priority; /* lower first: freezing, vacuuming, analyzing, VACUUM FULL */
	char reason[768];
	/* the outcome */
	int outcome; /* enum vacuum_outcome */
	int64_t dead_before, dead_after;
	int64_t table_bytes_before, table_bytes_after;
	int64_t index_bytes_before, index_bytes_after;
	double seconds;
	char detail[1024];
};

/* The tables the job looks at, every one of them, and how many passed. */
struct vacuum_plan {
	struct vacuum_table *tables; /* planned ones first, in the order of work */
	size_t n_tables;             /* every table in scope */
	size_t n_planned;            /* those with an action, first in the array */
};

/* What a step does to an index. */
enum vacuum_index_action {
	VACUUM_INDEX_KEEP = 0,
	VACUUM_INDEX_REBUILD = 1,       /* REINDEX INDEX CONCURRENTLY */
	VACUUM_INDEX_DROP_LEFTOVER = 2, /* DROP INDEX CONCURRENTLY of a _ccnew/_ccold */
	VACUUM_INDEX_REPORT = 3         /* invalid, not ours to drop: reported */
};

/* One index. */
struct vacuum_index {
	uint32_t oid, table_oid;
	char *schema, *name; /* the index's, as in the catalog */
	char *display;       /* schema.index for people */
	char *table_display;
	char *table_schema, *table_name; /* for the tables/exclude filters */
	int is_valid;
	int is_btree;
	int is_busy;          /* an index build runs on its table now */
	int64_t est_bytes;    /* relpages x block size */
	int64_t expect_bytes; /* what a fresh btree would take; -1: no estimate */
	int action;           /* enum vacuum_index_action */
	char reason[512];
	int outcome; /* enum vacuum_outcome */
	int64_t bytes_before, bytes_after;
	double seconds;
	char detail[1024];
};

struct vacuum_indexes {
	struct vacuum_index *items; /* in the order of work */
	size_t n;
};

/* What the run did, for the summary and the metrics. */
struct vacuum_tally {
	size_t n_vacuumed, n_analyzed, n_frozen, n_full;
	size_t n_skipped, n_failed, n_not_done;
	size_t n_rebuilt, n_dropped, n_idx_skipped, n_idx_failed, n_idx_not_done;
	size_t n_invalid; /* invalid indexes reported, not dropped */
	int64_t dead_removed;
	int64_t bytes_reclaimed;
	int64_t max_xid_age;
	double vacuum_seconds, index_seconds, run_seconds;
	int is_stopped;     /* the host asked the run to stop */
	int is_backup_busy; /* the strong-lock steps met a running backup */
};

/* ---- vacuum_options.c ---- */
extern const struct ct_option vacuum_options[];
/* Reads the job's options into *o; a bad value fails with h->err set. */
int vacuum_opts_read(struct plugin_host *h, struct vacuum_opts *o);

/* ---- vacuum_judge.c: no server, no host ---- */
/* Sets tb->why, action, priority and reason from its statistics: autovacuum's
 * formulas and the ages of th (freeze ages already resolved, never 0), and
 * every table under mode = all. */
void vacuum_judge_table(const struct vacuum_thresholds *th, int mode, struct vacuum_table *tb);
/* A `tables`/`exclude` item against a table: a glob (fnmatch) compared with
 * schema.name and with the bare name. */
int vacuum_name_matches(const char *pattern, const char *schema, const char *name);
/* Non-zero for a glob pattern, zero for a plain name. */
int vacuum_is_pattern(const char *item);
/* Non-zero for the names REINDEX CONCURRENTLY gives its transient indexes:
 * NAME_ccnew, NAME_ccold, each optionally followed by digits. */
int vacuum_is_leftover_name(const char *index_name);
/* The statement for `action` on `qualified` (already quoted): 0, or
 * CT_EINVAL when it does not fit in buf. */
int vacuum_statement(int action, int server_version_num, int is_verbose, const char *qualified,
                     char *buf, size_t size);
/* Refuses a server older than the plugin, or reindex before PostgreSQL 12:
 * 0, or CT_EUNSUPPORTED with the words in err. */
int vacuum_server_check(int server_version_num, int reindex, char *err, size_t err_size);
/* Decides an index's action under `reindex` and writes its reason. */
void vacuum_judge_index(int reindex, const struct vacuum_bloat_limits *lim,
                        struct vacuum_index *ix);
/* "12.3 MiB", "512 B": for findings. */
void vacuum_format_bytes(int64_t bytes, char *buf, size_t size);

/* ---- vacuum_session.c: every function fails with h->err set ---- */
/* Connects (the host's connection), learns what the server is, refuses a
 * server the job cannot use, sets the session's timeouts. */
int vacuum_session_open(struct plugin_host *h, const struct vacuum_opts *o,
                        struct vacuum_session *s);
/* Runs one statement, cancelled by a stop request; the notices it brings
 * are in s->notices.  Returns 0, CT_ECANCELED, or CT_EPG with the server's
 * words in err and its SQLSTATE in sqlstate (may be NULL). */
int vacuum_session_exec(struct plugin_host *h, struct vacuum_session *s, const char *sql,
                        PGresult **res, char *err, size_t err_size, char sqlstate[6]);
/* After a table or index failed: 0 while the session is usable, else
 * CT_EPG with "lost the connection" in h->err, which ends the run. */
int vacuum_session_check(struct plugin_host *h, struct vacuum_session *s);
/* The maintenance lock (plugins/lib/pgmaint.h), taken exclusively without
 * waiting: 0 with *is_taken set (0: a backup holds it), or an error. */
int vacuum_session_lock(struct plugin_host *h, struct vacuum_session *s, int *is_taken);
/* Releases the maintenance lock if held, so that a dump waiting for it
 * goes on. */
void vacuum_session_unlock(struct vacuum_session *s);
/* Releases the lock if held and quiets the notice hook; safe on every path. */
void vacuum_session_end(struct vacuum_session *s);
/* Who is in the way of a step that asked for `mode` on `relation_oid`, as
 * words for a finding ("pid 123 (psql, idle in transaction, transaction
 * open 40s) holds AccessExclusiveLock"); empty when nobody, or when the
 * query fails. */
void vacuum_session_lockers(struct plugin_host *h, struct vacuum_session *s, uint32_t relation_oid,
                            const char *mode, char *buf, size_t size);
/* The oldest open transaction of another session, which a concurrent index
 * build waits for, in the same words; empty when none. */
void vacuum_session_oldest(struct plugin_host *h, struct vacuum_session *s, char *buf, size_t size);

/* ---- vacuum_select.c ---- */
/* The tables in scope with their statistics, judged; the planned ones first,
 * in the order of work.  Names in o->tables that match nothing, and
 * o->full names that match no table or several, fail the run. */
int vacuum_plan_make(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s,
                     struct vacuum_plan *p);
/* Non-zero when vacuum_full names the table. */
int vacuum_is_full_table(const struct vacuum_opts *o, const char *schema, const char *name);
/* Non-zero when the tables/exclude options keep the table in scope. */
int vacuum_in_scope(const struct vacuum_opts *o, const char *schema, const char *name);
void vacuum_plan_free(struct vacuum_plan *p);

/* ---- vacuum_table.c ---- */
/* The planned tables one at a time, except VACUUM FULL; stops at a stop
 * request (CT_ECANCELED), every other trouble is the table's outcome. */
int vacuum_tables_run(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s,
                      struct vacuum_plan *p);
/* The VACUUM FULL tables, under the maintenance lock the caller holds. */
int vacuum_tables_run_full(struct plugin_host *h, const struct vacuum_opts *o,
                           struct vacuum_session *s, struct vacuum_plan *p);

/* ---- vacuum_index.c ---- */
/* The indexes of the tables in scope that reindex and leftover cleanup look
 * at, with their estimates, judged. */
int vacuum_indexes_list(struct plugin_host *h, const struct vacuum_opts *o,
                        struct vacuum_session *s, struct vacuum_indexes *ix);
/* Drops leftovers, rebuilds, under the maintenance lock the caller holds;
 * reports the invalid indexes that are not to be dropped. */
int vacuum_indexes_run(struct plugin_host *h, const struct vacuum_opts *o, struct vacuum_session *s,
                       struct vacuum_indexes *ix);
void vacuum_indexes_free(struct vacuum_indexes *ix);

/* ---- vacuum_report.c ---- */
/* One finding per table and index of the plan, said as it happens. */
void vacuum_report_table(struct plugin_host *h, const struct vacuum_table *tb, int is_dry_run);
void vacuum_report_index(struct plugin_host *h, const struct vacuum_index *ix, int is_dry_run);
/* What the run did not get to (stop request, backup), in a few findings. */
void vacuum_report_not_done(struct plugin_host *h, const struct vacuum_plan *p,
                            const struct vacuum_indexes *ix);
/* The tally of the items, counted once the run ends. */
void vacuum_tally_count(const struct vacuum_plan *p, const struct vacuum_indexes *ix,
                        struct vacuum_tally *tally);
/* Status, summary and metrics. */
void vacuum_report_summary(struct plugin_host *h, const struct vacuum_plan *p,
                           const struct vacuum_indexes *ix, const struct vacuum_tally *tally,
                           int is_dry_run);

#endif
