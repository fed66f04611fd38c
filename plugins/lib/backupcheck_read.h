/*
 * backupcheck_read.h — the parts of backupcheck.c that backupcheck_follow.c
 * shares (internal to libctbackup; plugins include backupcheck.h).
 */
#ifndef CARETAKER_PLUGINS_BACKUPCHECK_READ_H
#define CARETAKER_PLUGINS_BACKUPCHECK_READ_H

#include "backupcheck.h"

/* Reads `fd` to its end and checks what one read can: L1's digest, and L2
 * with the format's completion check; an encrypted backup without a key
 * gets its framing and digest checked.  Expectations come from o->m, whose
 * empty digests and block list are not checked.  *got (may be NULL) gets
 * what was read.  Does not look at the file's size or classify damage; a
 * failed completion check (the file's digests matched) sets r->passed to 1,
 * a damaged stream leaves it 0, for backupcheck_classify() to tell. */
int backupcheck_read(const struct backupcheck_opts *o, int fd, struct backupcheck_result *r,
                     struct compress_stats *got);

/* Non-zero when o asks for an encrypted backup without its key: L1 only. */
int backupcheck_is_l1_only(const struct backupcheck_opts *o);

/* After a failed read: re-reads the file `fd` (seekable) to tell a damaged
 * file (L1) from a damaged stream (L2), rewriting r->detail. */
void backupcheck_classify(const struct backupcheck_opts *o, int fd, struct backupcheck_result *r);

/* "L2 ok: ..." into r->detail; r->passed = 2. */
void backupcheck_describe_pass(const struct backupcheck_opts *o, struct backupcheck_result *r);

/* Formats into r->detail; the arguments may be r->detail itself. */
void backupcheck_detailf(struct backupcheck_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
