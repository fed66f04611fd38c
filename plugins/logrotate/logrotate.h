/*
 * logrotate.h — the logrotate plugin's steps and the structs they share.
 *
 * A run has four steps, each in a file of its own:
 *   logrotate_options.c  the job's options into struct lr_config
 *   logrotate_journal.c  the journal of rotations under way (state_dir)
 *   logrotate_rotate.c   one file's rotation: shift, rename + create or
 *                        copy + truncate, resumed from the journal
 *   logrotate_finish.c   compression of rotated files, removal of old ones
 * with the names of rotated files in logrotate_names.c and the
 * prerotate/postrotate commands in logrotate_scripts.c.  logrotate.c owns
 * the run struct, the order of the steps and the report.
 *
 * Why a journal: a rotation is several renames.  The journal records, per
 * log file, which file (by inode) is on its way to which name, written
 * durably before each step, so that a run killed at any point is finished
 * by the next one without guessing and without losing a line
 * (docs/logrotate.md, "Crash safety").
 */
#ifndef CARETAKER_LOGROTATE_H
#define CARETAKER_LOGROTATE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compress.h"
#include "plughost.h"

/* The job's options, read once in init. */
struct lr_config {
	const char *const *files;
	size_t n_files;
	uint64_t size_bytes;    /* 0: no size trigger */
	uint64_t minsize_bytes; /* 0: any size */
	uint64_t maxsize_bytes; /* 0: none */
	int64_t rotate;         /* rotated files kept */
	int64_t maxage_ms;      /* 0: no age limit */
	enum compress_kind kind;
	int level;
	int n_threads;
	int is_delaying; /* delaycompress */
	int is_notifempty;
	int is_missingok;
	int is_copytruncate;
	int is_dateext;
	const char *dateformat; /* strftime format of dateext's suffix */
	const char *olddir;     /* NULL: beside the log */
	int has_create;
	mode_t create_mode; /* (mode_t)-1: the old file's */
	uid_t create_uid;   /* (uid_t)-1: the old file's owner */
	gid_t create_gid;   /* (gid_t)-1: the old file's group */
	char **prerotate;   /* argv or NULL */
	char **postrotate;  /* argv or NULL */
};

/* Where a log file's rotation stands (struct lr_entry.stage). */
enum lr_stage {
	LR_STAGE_BEGIN = 1, /* the file with `ino` is still the log; `target` is its new name */
	LR_STAGE_MOVED = 2, /* renamed to `target` (inode `ino`); the new log is not created yet */
	LR_STAGE_COPIED =
	    3, /* copytruncate: `target` (inode `ino`) holds `length` bytes of the log */
	LR_STAGE_DONE = 4, /* rotated; postrotate has not run yet */
};

struct lr_entry {
	char path[PATH_MAX];   /* the log file */
	char target[PATH_MAX]; /* its rotated name */
	int stage;             /* enum lr_stage */
	uint64_t dev;
	uint64_t ino;
	uint64_t length;
};

/* The rotations under way, as read from and written to state_dir. */
struct lr_journal {
	char path[PATH_MAX];
	struct lr_entry *entries;
	size_t n;
};

/* What the run did, for the report. */
struct lr_totals {
	size_t files_seen;
	size_t files_rotated;
	size_t files_compressed;
	size_t files_removed;
	size_t files_failed;
	uint64_t bytes_before; /* of the files compressed */
	uint64_t bytes_after;
	uint64_t bytes_removed;
};

/* One run: owned by logrotate.c, passed whole only to the steps that
 * need every part of it. */
struct lr_run {
	struct plugin_host host;
	struct lr_config cfg;
	struct lr_journal journal;
	struct lr_totals totals;
	struct plugin_host_list *notes; /* the `actions` (or `plan`) stream, during run */
	int is_dry_run;
	int is_prerotate_done;
	int prerotate_rc; /* its failure leaves every file of the run unrotated */
	int needs_postrotate;
	int is_journal_unwritable; /* said once; the run goes on without it */
	int fault_step;            /* steps passed, for the fault hook of the tests */
	time_t now;
};

/* ---- logrotate_options.c ---- */
extern const struct ct_option lr_options[];
/* Reads and checks the options into run->cfg.  Returns 0 or CT_EINVAL
 * with the reason kept in run->host. */
int lr_config_read(struct lr_run *run);
void lr_config_free(struct lr_config *cfg);

/* ---- logrotate_journal.c ---- */
/* Reads STATE_DIR/journal.  A missing journal is empty; a damaged one is
 * reported as a finding and treated as empty, so that it never stops the
 * rotation of any file. */
void lr_journal_load(struct lr_run *run, const char *state_dir);
/* The entry of `path`, or NULL. */
struct lr_entry *lr_journal_find(struct lr_journal *j, const char *path);
/* Adds or replaces the entry of e->path and writes the journal durably.
 * Returns 0 or a CT_* code with a message in `err`. */
int lr_journal_put(struct lr_journal *j, const struct lr_entry *e, char *err, size_t err_size);
/* Sets e->stage and writes the journal; a journal that cannot be written
 * is one warning of the run, and the rotation goes on without it.
 * Returns 0. */
int lr_journal_step(struct lr_run *run, struct lr_entry *e, int stage);
/* Removes the entry of `path` (if any) and writes the journal. */
int lr_journal_drop(struct lr_journal *j, const char *path, char *err, size_t err_size);
void lr_journal_free(struct lr_journal *j);

/* ---- logrotate_names.c ---- */
/* The folder rotated copies of `log` go to, into `dir`. */
int lr_names_dir(const struct lr_config *cfg, const char *log, char *dir, size_t size);
/* `dir`/`base`.`index` (numbered) into `out`. */
int lr_names_numbered(const char *dir, const char *base, long index, const char *suffix, char *out,
                      size_t size);
/* The rotated copy's index when `name` is `base`.N or `base`.N.SUFFIX
 * (suffix of any kind), else 0; *is_compressed says which. */
long lr_names_index(const char *name, const char *base, int *is_compressed);
/* Non-zero when `name` is `base` followed by a date of `format` (and maybe
 * a compression suffix); *is_compressed says which. */
int lr_names_is_dated(const char *name, const char *base, const char *format, int *is_compressed);
/* Non-zero when `name` is a temporary file this plugin left beside a
 * rotated copy of `base` (".BASE.N.gz.tmp-XXXXXX", ".BASE-DATE.tmp-..."). */
int lr_names_is_temporary(const char *name, const char *base);
const char *lr_names_base(const char *path);
struct tm;
/* strftime(3) with the job's dateformat; 0 when it does not fit. */
size_t lr_names_date(const char *format, const struct tm *tm, char *out, size_t size);

/* ---- logrotate_rotate.c ---- */
/* Finishes the journaled rotation of `path`, or rotates it when it is due.
 * Every failure is the file's own: a finding, never the end of the run. */
void lr_rotate_file(struct lr_run *run, const char *path);

/* ---- logrotate_copy.c ---- */
/* copytruncate's steps: BEGIN -> COPIED (the copy in place) and COPIED ->
 * DONE (the rest appended, the log truncated).  Return 0 or a CT_* code
 * with a message in run->host. */
int lr_copy_begin(struct lr_run *run, struct lr_entry *e);
int lr_copy_finish(struct lr_run *run, struct lr_entry *e);
/* The shift of numbered copies before a rotation (logrotate_rotate.c). */
int lr_rotate_shift(struct lr_run *run, const char *path);

/* ---- logrotate_finish.c ---- */
/* Compresses the rotated copies of `path` that wait for it and removes
 * those past `rotate` and `maxage`; removes temporary files of killed
 * runs. */
void lr_finish_file(struct lr_run *run, const char *path);

/* ---- logrotate_compress.c ---- */
/* `src` compressed to `dst` through a synced temporary file, then `src`
 * removed.  Returns 0 or a CT_* code with a message in run->host. */
int lr_compress_one(struct lr_run *run, const char *src, const char *dst);

/* ---- logrotate_scripts.c ---- */
/* Runs `argv` as a child of the job (it ends with the job), its output
 * captured into the stream `name`.  Returns 0, or CT_ECHILD when it could
 * not start or did not exit 0 (a message in run->host). */
int lr_script_run(struct lr_run *run, const char *name, char *const *argv);

/* ---- logrotate.c ---- */
/* A failure of one file: a finding naming it, counted. */
void lr_file_failed(struct lr_run *run, const char *path, const char *fmt, ...) CT_PRINTF(3, 4);
/* A line of the dry-run plan (and of the log of a real run). */
void lr_note(struct lr_run *run, const char *fmt, ...) CT_PRINTF(2, 3);

/* The tests' fault hook: a build with LOGROTATE_FAULTS ends the process
 * with SIGKILL at the step named by CARETAKER_LOGROTATE_KILL_AT (the
 * N-th call), so that a test can kill a rotation at every step in turn.
 * Other builds compile it away. */
#ifdef LOGROTATE_FAULTS
void lr_fault_point(struct lr_run *run, const char *step);
#else
#define lr_fault_point(run, step) ((void)(run), (void)(step))
#endif

#endif
