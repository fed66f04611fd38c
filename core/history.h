/*
 * history.h — the record of every run, appended under state_dir.
 *
 * Format: state_dir/history.jsonl, one JSON object per line (the record
 * result_to_json() makes; docs/report-format.md documents it).  Each record
 * is written with a single write(2) under an exclusive flock and then
 * fdatasync'd, so a crash leaves at worst one torn last line; a torn line
 * has no newline or does not parse, readers skip it, and the next append
 * starts on a fresh line.  An append that fails part way (a full disk, a
 * file-size limit) cuts the file back to its size before the append, under
 * the lock, so it leaves no partial record behind.
 *
 * Both files are mode 0640 (they hold the jobs' summaries); a file with
 * more open bits loses them at the next append.  Only regular files are
 * opened: a FIFO or device in their place is refused, never waited on.
 *
 * Rotation: when an append would take history.jsonl past max_size, the file
 * is renamed history.1.jsonl (replacing the previous one) under its lock,
 * and the record starts a new file; readers read both, oldest first.  So
 * the history keeps between max_size and twice that.  An appender that
 * opened the file before a rotation notices (the path no longer names its
 * file) and opens the new one: no record lands in a renamed file.
 */
#ifndef CT_HISTORY_H
#define CT_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Append one record, rotating first when it would pass max_size (0: never).
 * 0, or CT_ENOSPC (no room: ENOSPC, EDQUOT, EFBIG), CT_EIO or CT_ESYS with
 * the file and the reason in err; on failure no part of the record stays. */
int history_append(const char *state_dir, uint64_t max_size, json_t *record, char *err,
                   size_t err_size);

struct history_query {
	const char *job;  /* only this job, or NULL for all */
	int64_t since_us; /* only runs started at or after; 0 for all */
	size_t max;       /* keep the newest `max`; 0 for all */
};

/*
 * Read records matching `q`, oldest first, into a new JSON array (*out).
 * *n_damaged counts lines skipped because they did not parse.  A missing
 * history file is an empty history.  0, or CT_EIO/CT_ESYS with the file
 * and the reason in err (*out is then still an array to free).
 */
int history_read(const char *state_dir, const struct history_query *q, json_t **out,
                 size_t *n_damaged, char *err, size_t err_size);

#endif
