/*
 * perms.h — the perms plugin's steps, and what each one reads and writes
 * (internal).
 *
 *   perms.c          entry points, the order of the steps, findings, the report
 *   perms_options.c  the option table, read into struct perms_opts (the
 *                    job's rule: owner and group resolved, modes parsed)
 *   perms_rule.c     the rule's paths checked against its owner, group and
 *                    mode, and with `fix = yes` brought in line
 *   perms_scan.c     the `scan` trees: world-writable, setuid/setgid and
 *                    secret-looking files readable by group or others
 *
 * Both walks are treewalk.h's: no link is followed out of a tree, and a
 * change goes through the parent folder's descriptor with
 * AT_SYMLINK_NOFOLLOW.
 */
#ifndef CARETAKER_PLUGINS_PERMS_H
#define CARETAKER_PLUGINS_PERMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <caretaker/plugin.h>

#include "plughost.h"

#define PERMS_PLUGIN_VERSION "1.0"

/* The job's rule: every member optional; a job without `paths` only scans. */
struct perms_rule {
	const char *const *paths;
	size_t n_paths;
	const char *owner; /* as written, for messages; NULL: not checked */
	uid_t uid;
	const char *group;
	gid_t gid;
	int mode;     /* exact, 0..07777; -1: unset */
	int max_mode; /* no bit outside it; -1: unset */
	int dir_mode; /* the same for folders; -1: derived (perms_rule.c) */
	int dir_max_mode;
	int is_recursive;
};

/* The job's options, read once in init; const for every step after. */
struct perms_opts {
	struct perms_rule rule;
	int is_fix;
	int is_fix_hard_links; /* fix also changes regular files with other names */
	const char *const *scan;
	size_t n_scan;
	const char *const *secret_names;
	size_t n_secret_names;
	const char *const *settings_files;
	size_t n_settings_files;
	const char *const *exclude;
	size_t n_exclude;
	int64_t max_depth;
	int is_one_file_system;
};

/* What the run found, for the report; `worst` is the status. */
struct perms_tally {
	int64_t checked; /* entries a rule looked at */
	int64_t mismatched;
	int64_t changed; /* fixes applied (or listed under --dry-run) */
	int64_t fix_failed;
	int64_t scanned; /* entries the scans looked at */
	int64_t world_writable;
	int64_t setid;
	int64_t secrets;
	int64_t hard_links; /* mismatched files with other names, not changed */
	int64_t links;      /* links met and left alone */
	int64_t errors;     /* entries that could not be read */
	int64_t too_deep;   /* folders at max_depth, not entered */
	int worst;          /* the worst finding's severity; -1: none */
};

extern const struct ct_option perms_options[];
int perms_opts_read(struct plugin_host *h, struct perms_opts *o);

/* A finding, counted into tally->worst. */
void perms_finding(struct plugin_host *h, struct perms_tally *tally, int severity,
                   const char *object, const char *fmt, ...) CT_PRINTF(5, 6);

/* A folder at max_depth that the walk did not enter: a warning. */
void perms_too_deep(struct plugin_host *h, struct perms_tally *tally, const char *path, int depth);

/* "0640" for 0640: the mode bits as people write them. */
void perms_mode_words(int mode, char out[8]);

/* The rule's paths, and with fix their changes. */
int perms_rule_check(struct plugin_host *h, const struct perms_opts *o, struct perms_tally *y);

/* The scan trees. */
int perms_scan_run(struct plugin_host *h, const struct perms_opts *o, struct perms_tally *y);

#endif
