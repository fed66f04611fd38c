/*
 * verify.h — the verify plugin's state, shared by its files (internal).
 *
 *   verify.c          options, entry points, which backups, recording results
 *   verify_restore.c  L3: the scratch database, the restore, the row counts
 */
#ifndef CARETAKER_PLUGINS_VERIFY_H
#define CARETAKER_PLUGINS_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <caretaker/plugin.h>

#include "backupcheck.h"
#include "backupset.h"
#include "manifest.h"
#include "pgtools.h"

struct verify_opts {
	const char *dest;
	const char *name;             /* NULL: every backup in dest */
	int64_t newest;
	int is_restore_test;
	const char *restore_conninfo; /* NULL: the [caretaker] default */
	const char *pg_bindir;
	const char *decrypt_key;      /* secret key file for encrypted backups */
	int n_threads;
};

/* One restore test in flight. */
struct verify_restore {
	PGconn *admin;                /* the host's connection: creates and drops */
	PQconninfoOption *opts;       /* how to reach the restore server */
	char scratch[64];             /* the scratch database's name */
	int is_created;
	struct pgtools_prog prog;     /* psql or pg_restore */
	struct pgtools_child child;
	int is_child_gone;            /* it stopped reading its stdin */
	double seconds;
	int64_t rows;                 /* restored rows, all tables */
	size_t n_tables;
	size_t n_differ;
};

struct verify_state {
	struct ct_task *t;
	const struct ct_services *ct;
	struct verify_opts o;
	size_t n_checked, n_failed, n_strays;
	int min_level;                /* the lowest level a passing backup reached */
	char step[200];               /* progress words: the backup being checked */
	char summary[1024];           /* the first failure, or what passed */
	char err[512];                /* why the run itself could not go on */
};

/* verify_restore.c */

/* Creates the scratch database and starts the program that restores into
 * it.  Returns 0, or a CT_* code with the reason in `detail`. */
int verify_restore_begin(struct verify_state *v, const struct manifest *m,
                         struct verify_restore *r, char *detail, size_t detail_size);

/* compress_data_cb: feeds the restore.  Never stops the read: a restore
 * that gave up is judged by its exit status in verify_restore_end(). */
int verify_restore_feed_cb(const void *buf, size_t len, void *ctx);

/* Ends the restore and compares row counts with the manifest (findings
 * per table).  Returns 0 when all match, CT_ECORRUPT with the reason in
 * `detail`, or another CT_* code when the test itself could not run. */
int verify_restore_end(struct verify_state *v, const struct manifest *m,
                       struct verify_restore *r, char *detail, size_t detail_size);

/* Drops the scratch database (WITH (FORCE)) and frees; safe on every path,
 * also after a failed begin. */
void verify_restore_cleanup(struct verify_state *v, struct verify_restore *r);

/* verify.c */
int verify_should_stop(void *ctx);

#endif
