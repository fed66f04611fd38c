/*
 * logscan.h — the logscan plugin's steps and the structs they share: the
 * options (logscan_options.c), the compiled matcher and the scan of a run
 * of complete lines (logscan_match.c), records, their counts and the
 * grouped messages (logscan_record.c, logscan_mask.c), what is new in each
 * file since the last run and where a rotated file went (logscan_file.c,
 * logscan_state.c), a unit's journal (logscan_journal.c) and the report
 * (logscan.c).
 */
#ifndef CARETAKER_PLUGINS_LOGSCAN_H
#define CARETAKER_PLUGINS_LOGSCAN_H

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include "plughost.h"

/* A line mask is a uint32_t: at most 32 named patterns. */
#define LOGSCAN_MAX_PATTERNS 32
#define LOGSCAN_NAME_SIZE 48
/* The most distinct grouped messages kept; later ones count as "other". */
#define LOGSCAN_MAX_GROUPS 4096

struct logscan_pattern {
	char name[LOGSCAN_NAME_SIZE];
	char *regex;       /* owned */
	pcre2_code *code;  /* owned */
	int64_t warn_at;   /* records in one run; -1: no threshold */
	int64_t fail_at;   /* likewise */
	uint64_t lines;    /* lines that match, like grep -c */
	uint64_t records;  /* records with at least one such line */
	uint64_t last_rec; /* absolute id of the last record counted (+1; 0 none) */
};

enum logscan_engine {
	LOGSCAN_ENGINE_AUTO = 0,
	LOGSCAN_ENGINE_HYPERSCAN = 1,
	LOGSCAN_ENGINE_PCRE2 = 2,
};

/* The options of one run, as logscan_options_read() leaves them. */
struct logscan_options {
	const char *const *files;
	size_t n_files;
	struct logscan_pattern pats[LOGSCAN_MAX_PATTERNS];
	size_t n_pats;
	char **exclude; /* owned regexes */
	size_t n_exclude;
	const char *record_start; /* "" or NULL: every line is a record */
	int ignore_case;
	int want_jit; /* jit = auto; 0 for jit = off */
	enum logscan_engine engine;
	int64_t threads;
	int64_t top;
	const char *journal_unit;
	const char *journal_directory;
	const char *olddir;
	uint64_t max_record_bytes;
};

/* What the matcher compiled, shared read-only by the scanning threads. */
struct logscan_matcher {
	struct logscan_pattern *pats;
	size_t n_pats;
	pcre2_code **exclude; /* owned */
	size_t n_exclude;
	pcre2_code *record_start;  /* owned; NULL: every line is a record */
	pcre2_code *prefilter;     /* owned: the alternation of every pattern */
	void *hs_db;               /* owned hs_database_t, when Hyperscan serves */
	int is_hs_exact;           /* every pattern a literal: Hyperscan's matches are exact */
	void *hs_scratch[2];       /* owned hs_scratch_t, one per scanning thread */
	uint64_t max_record_bytes; /* how far a record reaches from a hit */
	int is_jit;                /* PCRE2 runs JIT code */
	int threads;
	char engine_note[512]; /* what serves the search and why, for the report */
};

/* A line that matched at least one pattern, in the buffer being scanned,
 * and what the scanning thread found out about its record. */
struct logscan_hit {
	size_t off;        /* start of the line */
	size_t len;        /* without its '\n' */
	uint32_t mask;     /* bit i: pattern i matched */
	size_t rec_begin;  /* where its record begins */
	char *key;         /* owned: the record's group key, on its first hit only */
	uint64_t key_hash; /* of key */
	size_t sample_len; /* bytes of the record kept as its sample */
};

struct logscan_hits {
	struct logscan_hit *v;
	size_t n, cap;
};

/* One grouped message: the masked text, how many records, one sample. */
struct logscan_group {
	char *key;    /* owned */
	char *sample; /* owned */
	uint64_t count;
	uint32_t mask;
	char *file; /* owned: the file it was first seen in (a glob's match is
	             * freed before the report) */
};

/* The counts of a run: records, groups, bytes. */
struct logscan_tally {
	struct logscan_group *groups; /* owned, open addressing */
	size_t n_groups, cap_groups;
	uint64_t other_records; /* records past LOGSCAN_MAX_GROUPS */
	uint64_t last_grouped;  /* absolute id of the last grouped record (+1) */
	uint64_t rec_base;      /* absolute offset of the buffer being counted */
	uint64_t bytes;
	uint64_t lines_hit;
	uint64_t max_record_bytes;
	const char *file;
};

/* Bytes arriving in order from one file (plain or decompressed), cut into
 * complete lines and scanned a buffer at a time. */
struct logscan_feed {
	const struct logscan_matcher *m;
	struct logscan_tally *tally;
	char *buf; /* owned */
	size_t len, cap;
	uint64_t skip;     /* bytes still to drop before the scan begins */
	uint64_t consumed; /* stream offset just past the last scanned line */
};

/* ---- logscan_options.c ---- */
int logscan_options_read(struct plugin_host *h, struct logscan_options *o);
void logscan_options_free(struct logscan_options *o);
/* The name a bare regex gets: lowercase letters, digits and '_'. */
void logscan_pattern_name(const char *regex, char *name, size_t size);

/* ---- logscan_match.c ---- */
int logscan_matcher_new(const struct logscan_options *o, struct logscan_pattern *pats,
                        struct logscan_matcher *m, char *err, size_t err_size);
void logscan_matcher_free(struct logscan_matcher *m);
/* Finds the lines of buf[0, len) that match; `len` ends after a '\n'
 * (or at the end of a final line).  Appends to `out` in order, each hit
 * described by logscan_record_describe(). */
int logscan_matcher_scan(const struct logscan_matcher *m, const char *buf, size_t len,
                         struct logscan_hits *out);
/* Frees the hits' keys and array, and empties it.  Accepts an empty one. */
void logscan_hits_free(struct logscan_hits *hits);
/* Non-zero when the text at `line` (a line's start; `len` may run past
 * its end) begins with a match of record_start, or no record_start is
 * set.  `md` is the calling thread's. */
int logscan_matcher_is_record_start(const struct logscan_matcher *m, pcre2_match_data *md,
                                    const char *line, size_t len);

/* ---- logscan_record.c ---- */
/* In the scanning thread: where the record of hit h (in buf[0, len))
 * begins, and, when that differs from `prev_begin` (the thread's hit
 * before it), the record's group key, its hash and its sample's length.
 * Returns 0 or CT_ENOMEM. */
int logscan_record_describe(const struct logscan_matcher *m, pcre2_match_data *md, const char *buf,
                            size_t len, struct logscan_hit *h, size_t prev_begin);
/* Counts the hits of buf (absolute offset tally->rec_base) into the
 * patterns and groups. */
int logscan_tally_add(struct logscan_tally *tally, const struct logscan_matcher *m, const char *buf,
                      size_t len, struct logscan_hits *hits);
void logscan_tally_free(struct logscan_tally *tally);
/* Finds and counts the matching lines of buf[0, len), complete lines
 * that start at offset `base` of their file. */
int logscan_scan_region(const struct logscan_matcher *m, struct logscan_tally *tally,
                        const char *buf, size_t len, uint64_t base);
/* The groups sorted by count, largest first (an array the caller frees;
 * the groups stay the tally's). */
struct logscan_group **logscan_tally_sorted(const struct logscan_tally *tally);

/* ---- logscan_mask.c ---- */
/* Writes `line` into out (size > 0) with numbers, ids, hex, addresses and
 * paths replaced by placeholders, so lines that differ only there compare
 * equal.  Always NUL-terminates; cuts at size - 1. */
void logscan_mask(const char *line, size_t len, char *out, size_t size);

/* ---- logscan_feed.c ---- */
/* A stream whose next byte is at `offset`; with is_skip the stream starts
 * at 0 and its first `offset` bytes are dropped (a compressed file). */
int logscan_feed_init(struct logscan_feed *f, const struct logscan_matcher *m,
                      struct logscan_tally *tally, uint64_t offset, int is_skip);
/* Space for up to `*len` bytes read straight into the feed, then commit. */
void logscan_feed_space(struct logscan_feed *f, char **buf, size_t *len);
int logscan_feed_commit(struct logscan_feed *f, size_t len);
int logscan_feed_write(struct logscan_feed *f, const void *data, size_t len);
/* Scans what is left; with is_final the last line counts without its '\n'. */
int logscan_feed_finish(struct logscan_feed *f, int is_final);
void logscan_feed_free(struct logscan_feed *f);

/* ---- logscan_state.c: what was read of one file ---- */
#define LOGSCAN_FP_BYTES 4096
struct logscan_fstate {
	int is_valid;
	uint64_t dev, ino, size, offset;
	uint32_t fp_len;
	uint64_t fp;
};
int logscan_state_load(const char *state_dir, const char *path, struct logscan_fstate *s, char *err,
                       size_t err_size);
int logscan_state_save(const char *state_dir, const char *path, const struct logscan_fstate *s,
                       char *err, size_t err_size);
/* FNV-1a of the first `len` bytes of fd (from offset 0).  Returns 0, or
 * CT_EIO; *got is how many bytes there were (≤ len). */
int logscan_fp_of_fd(int fd, uint32_t len, uint64_t *fp, uint32_t *got);
uint64_t logscan_fp_of_bytes(const void *data, size_t len);

/* ---- logscan_file.c ---- */
struct logscan_file_result {
	uint64_t bytes_new;
	char rotated_from[4096]; /* the rotated file finished first, or "" */
	int lost_warning;        /* the rotated file was not found */
};
/* What every file of a run is scanned with. */
struct logscan_file_params {
	const struct logscan_matcher *m;
	struct logscan_tally *tally;
	const char *olddir; /* also look here for rotated files; NULL: only beside */
	int is_dry_run;     /* scan, but save no state */
};
int logscan_file_scan(struct plugin_host *h, const struct logscan_file_params *p, const char *path,
                      struct logscan_file_result *res);

/* ---- logscan_journal.c ---- */
/* What a journal is scanned with. */
struct logscan_journal_params {
	const struct logscan_matcher *m;
	struct logscan_tally *tally;
	const char *unit;      /* _SYSTEMD_UNIT= to read */
	const char *directory; /* journal files there; NULL: the system's journal */
	int is_dry_run;        /* scan, but save no cursor */
};
int logscan_journal_scan(struct plugin_host *h, const struct logscan_journal_params *p,
                         uint64_t *entries);

#endif
