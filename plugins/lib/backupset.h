/*
 * backupset.h — the backups in a folder, and which of them retention keeps.
 * Shared by `backup` (retention, min_free, stale partials) and `verify`
 * (which backups to check).
 *
 * Naming.  A backup is NAME-YYYYmmddTHHMMSSZ.EXT (UTC; EXT is sql, dump or
 * tar followed by .gz or .zst when compressed), with its manifest beside it
 * as NAME-YYYYmmddTHHMMSSZ.manifest.json.  While being written the file is
 * NAME-...EXT.partial.  Only a readable manifest makes a backup: a backup
 * file without one is an orphan (a killed or failed run), listed apart so
 * that reports can name it, and never counted or deleted by retention.
 *
 * Retention (backupset_select) is a pure function of backup times,
 * verification and the policy, so it is tested on its own
 * (tests/plugins/test_backupset.c).  Periods are UTC days, ISO weeks
 * (Monday to Sunday) and calendar months.
 */
#ifndef CARETAKER_PLUGINS_BACKUPSET_H
#define CARETAKER_PLUGINS_BACKUPSET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "manifest.h"

#define BACKUPSET_STAMP_SIZE 17 /* "20250101T000000Z" and a NUL */
#define BACKUPSET_PARTIAL_SUFFIX ".partial"

/* "20250101T000000Z" (UTC). */
void backupset_stamp_format(time_t t, char out[BACKUPSET_STAMP_SIZE]);

/* Splits a file name NAME-STAMP.EXT[.partial]: copies NAME into `name`,
 * sets *at and *ext (pointing into `file`, after the dot).  Returns 0, or
 * CT_EINVAL for any other name. */
int backupset_parse_name(const char *file, char *name, size_t name_size, time_t *at,
                         const char **ext);

/* ---- listing ---- */

struct backupset_entry {
	char *manifest_path;
	char *file_path; /* the folder joined with the manifest's `file` */
	struct manifest m;
};

enum backupset_stray_kind {
	BACKUPSET_ORPHAN = 1,       /* a backup file without a manifest */
	BACKUPSET_PARTIAL = 2,      /* an unfinished file: a run in progress or killed */
	BACKUPSET_BAD_MANIFEST = 3, /* a manifest that cannot be read */
};

struct backupset_stray {
	char *path;
	int kind;  /* enum backupset_stray_kind */
	char *why; /* for BACKUPSET_BAD_MANIFEST: the reader's message */
};

struct backupset {
	struct backupset_entry *entries; /* complete backups, newest first */
	size_t n_entries;
	struct backupset_stray *strays;
	size_t n_strays;
};

/*
 * Reads the folder `dir`: every manifest, every backup-like file.  With
 * `name` set, only backups of that name.  A folder that does not exist is
 * an empty set.  Returns 0 and fills *set (release with backupset_free()),
 * or CT_EIO/CT_ENOMEM with a message.
 */
int backupset_load(const char *dir, const char *name, struct backupset *set, char *err,
                   size_t err_size);

/* Accepts NULL and a zeroed set. */
void backupset_free(struct backupset *set);

/* ---- retention ---- */

/* Why a backup is kept (backupset_item.keep bits); 0 means delete. */
#define BACKUPSET_KEEP_NEWEST 0x01u    /* the newest verified backup, always */
#define BACKUPSET_KEEP_MIN 0x02u       /* among the keep_min newest counted */
#define BACKUPSET_KEEP_DAYS 0x04u      /* younger than keep_days */
#define BACKUPSET_KEEP_DAILY 0x08u     /* newest of one of the keep_daily newest days */
#define BACKUPSET_KEEP_WEEKLY 0x10u    /* ... of the keep_weekly newest ISO weeks */
#define BACKUPSET_KEEP_MONTHLY 0x20u   /* ... of the keep_monthly newest months */
#define BACKUPSET_KEEP_UNCOUNTED 0x40u /* not verified to L2: neither counted nor deleted */
#define BACKUPSET_KEEP_ALL 0x80u       /* no keep_* option set: retention is off */

/* Zero or negative members are unset. */
struct backupset_policy {
	int64_t daily, weekly, monthly;
	int64_t days; /* by age */
	int64_t min;  /* floor on counted backups */
};

struct backupset_item {
	time_t at;      /* when the backup's snapshot was taken */
	int is_counted; /* complete and verified to L2 (manifest_is_counted) */
	unsigned keep;  /* out: BACKUPSET_KEEP_* bits */
};

/* Non-zero when any member of the policy is set. */
int backupset_policy_is_active(const struct backupset_policy *p);

/*
 * Sets `keep` of every item (in any order).  Only counted items fill the
 * slots of the rules, in grandfather-father-son fashion: each rule keeps the
 * newest backup of each of its N newest periods that hold one.  Uncounted
 * items are kept with BACKUPSET_KEEP_UNCOUNTED; the newest counted one is
 * always kept.  Returns 0, or CT_ENOMEM.
 */
int backupset_select(struct backupset_item *items, size_t n, const struct backupset_policy *p,
                     time_t now);

/* "daily, weekly" for the bits of `keep`.  Returns `buf`. */
const char *backupset_keep_text(unsigned keep, char *buf, size_t size);

#endif
