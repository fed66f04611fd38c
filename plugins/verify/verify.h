/*
 * verify.h — the verify plugin's steps, and what each one reads and writes
 * (internal).
 *
 *   verify.c          options, entry points, which backups, recording results
 *   verify_restore.c  L3: the scratch database, the restore, the row counts
 *
 * As in the backup plugin (plugins/backup/backup.h): each step gets the
 * structs it reads as const pointers and those it writes as plain ones,
 * struct plugin_host is what every step that talks to the host gets, and
 * only verify.c's entry points see the run whole.
 */
#ifndef CARETAKER_PLUGINS_VERIFY_H
#define CARETAKER_PLUGINS_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <caretaker/plugin.h>

#include "backupcheck.h"
#include "plughost.h"
#include "backupset.h"
#include "manifest.h"
#include "pgtools.h"

/* The job's options, read once in init; const for every step after. */
struct verify_opts {
	const char *dest;
	const char *name; /* NULL: every backup in dest */
	int64_t newest;
	int is_restore_test;
	const char *restore_conninfo; /* NULL: the [caretaker] default */
	const char *pg_bindir;
	const char *decrypt_key; /* secret key file for encrypted backups */
	int n_threads;
};

/* What the run found, for the report. */
struct verify_tally {
	size_t n_checked, n_failed, n_strays;
	int min_level;      /* the lowest level a passing backup reached */
	char summary[1024]; /* the first failure, or what passed */
};

/* One restore test in flight. */
struct verify_restore {
	PGconn *admin;          /* the host's connection: creates and drops */
	PQconninfoOption *opts; /* how to reach the restore server */
	char scratch[64];       /* the scratch database's name */
	int is_created;
	struct pgtools_prog prog; /* psql or pg_restore */
	struct pgtools_child child;
	int is_child_gone; /* it stopped reading its stdin */
	double seconds;
	int64_t rows; /* restored rows, all tables */
	size_t n_tables;
	size_t n_differ;
};

/* verify_restore.c */

/* Creates the scratch database and starts the program that restores into
 * it.  Returns 0, or a CT_* code with the reason in `detail`. */
int verify_restore_begin(struct plugin_host *h, const struct verify_opts *o,
                         const struct manifest *m, struct verify_restore *r, char *detail,
                         size_t detail_size);

/* compress_data_cb: feeds the restore.  Never stops the read: a restore
 * that gave up is judged by its exit status in verify_restore_end(). */
int verify_restore_feed_cb(const void *buf, size_t len, void *ctx);

/* Ends the restore and compares row counts with the manifest (findings
 * per table).  Returns 0 when all match, CT_ECORRUPT with the reason in
 * `detail`, or another CT_* code when the test itself could not run. */
int verify_restore_end(struct plugin_host *h, const struct manifest *m, struct verify_restore *r,
                       char *detail, size_t detail_size);

/* Drops the scratch database (WITH (FORCE)) and frees; safe on every path,
 * also after a failed begin. */
void verify_restore_cleanup(struct plugin_host *h, struct verify_restore *r);

#endif
