/*
 * prune.h — the prune plugin's steps, and what each one reads and writes
 * (internal).
 *
 *   prune.c          entry points, the order of the steps, the report
 *   prune_options.c  the option table, read into struct prune_opts
 *   prune_collect.c  the walk of each `paths` item (treewalk.h): the
 *                    regular files its glob matches, what it skipped and
 *                    what it could not read
 *   prune_select.c   which files go (older_than, max_total_size) and which
 *                    stay (keep_min, younger), and the deletes themselves
 *
 * Each step takes the structs it reads as const pointers and those it
 * writes as plain ones (docs/architecture.md, "Inside a plugin").
 */
#ifndef CARETAKER_PLUGINS_PRUNE_H
#define CARETAKER_PLUGINS_PRUNE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <caretaker/plugin.h>

#include "plughost.h"

#define PRUNE_PLUGIN_VERSION "1.0"

/* The job's options, read once in init; const for every step after. */
struct prune_opts {
	const char *const *paths;
	size_t n_paths;
	int64_t older_than_ms; /* -1: no age limit */
	char older_than[32];   /* older_than as words: "30d" */
	int64_t keep_min;
	int64_t max_total_bytes; /* -1: no size limit */
	int64_t max_depth;
	int is_one_file_system;
};

/* Why a file stays or goes. */
enum prune_fate {
	PRUNE_KEEP_NEWEST,    /* among the keep_min newest of its set */
	PRUNE_KEEP_YOUNG,     /* younger than older_than, within max_total_size */
	PRUNE_REMOVE_OLD,     /* older than older_than */
	PRUNE_REMOVE_OVERSIZE /* older than the files that fill max_total_size */
};

/* What happened when a file that was to go was deleted. */
enum prune_outcome {
	PRUNE_PENDING, /* not tried (yet), or to stay */
	PRUNE_REMOVED, /* deleted (or, under --dry-run, would be) */
	PRUNE_CHANGED, /* no longer the file that was looked at: kept */
	PRUNE_FAILED   /* the delete failed: a finding says why */
};

/* One matched regular file. */
struct prune_file {
	char *rel;  /* relative to its set's root */
	size_t set; /* which `paths` item matched it first */
	dev_t dev;
	ino_t ino;
	int64_t bytes;
	int64_t mtime_s;
	long mtime_ns;
	enum prune_fate fate;
	enum prune_outcome outcome;
};

/* One `paths` item: the folder it walks and the pattern below it. */
struct prune_set {
	const char *glob;
	char root[4096];
	const char *pattern; /* "" : every regular file below root */
};

/* What the walks found. */
struct prune_found {
	struct prune_set *sets;
	size_t n_sets;
	struct prune_file *files;
	size_t n_files, cap_files;
	int64_t n_not_regular; /* matched, but a link, a folder, a FIFO...: never deleted */
	int64_t n_errors;      /* entries that could not be read */
	int64_t n_too_deep;    /* folders at max_depth, not entered */
};

/* The tally for the report. */
struct prune_tally {
	int64_t removed, removed_bytes;
	int64_t kept_newest, kept_young, kept_changed, kept_bytes;
	int64_t failed;
	int64_t now_s; /* the cutoff's reference: the start of the run */
};

int prune_opts_read(struct plugin_host *h, struct prune_opts *o);
extern const struct ct_option prune_options[];

/* Walk every `paths` item and gather the regular files it matches. */
int prune_collect(struct plugin_host *h, const struct prune_opts *o, struct prune_found *f);
void prune_found_free(struct prune_found *f);

/* Decide each file's fate (per set: newest first, keep_min, size, age). */
void prune_select(const struct prune_opts *o, struct prune_found *f, int64_t now_s);

/* Delete what is to go (oldest first), or under --dry-run only list it;
 * every file, kept or not, is listed in the report's output. */
int prune_apply(struct plugin_host *h, struct prune_found *f, struct prune_tally *tally);

#endif
