/*
 * testutil.h — fixtures shared by the core unit tests: a temporary folder
 * removed after each test, and file writing.
 */
#ifndef CT_TESTUTIL_H
#define CT_TESTUTIL_H

#include <stddef.h>

/* Make a fresh temporary folder (mode 0755); returns its path (static). */
const char *tu_tmpdir_new(void);
/* Remove the folder made by tu_tmpdir_new and everything in it. */
void tu_tmpdir_free(void);
/* Write `text` to DIR/NAME (creating DIR/conf.d etc. as needed), mode 0644. */
void tu_write(const char *name, const char *text);
/* Write `len` bytes. */
void tu_write_bytes(const char *name, const void *data, size_t len);
/* The full path of NAME in the temporary folder (static buffer per call
 * slot: up to 4 live results). */
const char *tu_path(const char *name);
/* Copy a file into the temporary folder as NAME, mode 0644. */
void tu_copy(const char *from, const char *name);

#endif
