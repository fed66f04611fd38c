/*
 * import.h — turning logrotate(8) configuration into caretaker jobs of the
 * logrotate plugin: the parser and writer behind
 * `caretaker import-logrotate FILE` (caretaker-import-logrotate.c).
 */
#ifndef CARETAKER_LOGROTATE_IMPORT_H
#define CARETAKER_LOGROTATE_IMPORT_H

#include <stddef.h>
#include <stdio.h>

/*
 * Reads logrotate configuration from `in` (named `in_name` in messages and
 * job names) and writes one INI section per block to `out`, each named
 * logrotate-NAME after the file (NAME-2, NAME-3 for later blocks).  Every
 * directive that has no equivalent goes to `warn` as one line
 * "FILE:LINE: warning: ..." and is left out.  *n_warnings is set to their
 * number.
 *
 * Returns 0; CT_EINVAL for text that is not logrotate configuration
 * (an unclosed block or script), with the reason in `err`; CT_EIO when
 * `out` could not be written.
 */
int import_logrotate(FILE *in, const char *in_name, FILE *out, FILE *warn, size_t *n_warnings,
                     char *err, size_t err_size);

#endif
