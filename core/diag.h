/*
 * diag.h — a list of configuration diagnostics, each with its place.
 *
 * Config loading and validation never stop at the first problem: they add
 * every error and warning here with file:line (and the job it belongs to,
 * when there is one), and `caretaker check` prints them all.
 */
#ifndef CT_DIAG_H
#define CT_DIAG_H

#include <stddef.h>
#include <stdio.h>

enum diag_severity { DIAG_ERROR, DIAG_WARNING };

struct diag {
	enum diag_severity severity;
	char *file; /* may be NULL */
	int line;   /* 0 when the whole file or no file is meant */
	char *job;  /* the job it belongs to, or NULL for global */
	char *msg;
	char *hint; /* a known fix, or NULL */
};

struct diag_list {
	struct diag *items;
	size_t n;
	size_t n_errors;
	size_t n_warnings;
};

/* Free every entry; the list is empty and reusable afterwards. */
void diag_list_clear(struct diag_list *d);
/* Add one entry.  file, job and hint may be NULL; all are copied. */
void diag_add(struct diag_list *d, enum diag_severity sev, const char *file, int line,
              const char *job, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* Print all entries to `out`, one "file:line: error: msg" line each,
 * followed by "  hint: ..." where there is one. */
void diag_print(const struct diag_list *d, FILE *out);
/* Format one entry as "file:line: msg" into a new string (caller frees). */
char *diag_format(const struct diag *dg);
/* The first error that belongs to `job`, or NULL. */
const struct diag *diag_first_error_for(const struct diag_list *d, const char *job);
/* Number of errors that belong to no job. */
size_t diag_global_errors(const struct diag_list *d);

#endif
