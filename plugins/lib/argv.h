/*
 * argv.h — splitting a `command =` line into argv with shell-style quoting,
 * without a shell: no variables, globs, pipes or redirections.
 */
#ifndef CT_LIB_ARGV_H
#define CT_LIB_ARGV_H

#include <stddef.h>

/*
 * Split `line`.  Words are separated by blanks; 'single quotes' keep
 * everything literally; "double quotes" keep everything but a backslash
 * before \ " $ ` which escapes it; outside quotes a backslash escapes the next
 * character.  An unquoted word that is shell syntax (|, ;, &&, >, <, ...) is
 * an error, because nothing would interpret it.
 *
 * On success returns 0 and sets *argv_out to a NULL-terminated array; free
 * it with argv_free().  On failure returns CT_EINVAL with the reason in err.
 */
int argv_split(const char *line, char ***argv_out, size_t *argc_out, char *err, size_t err_size);
void argv_free(char **argv);

#endif
