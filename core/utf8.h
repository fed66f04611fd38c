/*
 * utf8.h — making arbitrary bytes safe for JSON text.
 */
#ifndef CT_UTF8_H
#define CT_UTF8_H

#include <stddef.h>

/* Copy `len` bytes of `s`, replacing every byte that does not start a valid
 * UTF-8 sequence (and NUL) with U+FFFD; overlong forms, surrogates and code
 * points past U+10FFFF are not valid.  The result is always accepted by
 * jansson.  Returns a NUL-terminated string the caller frees; *out_len gets
 * its length. */
char *utf8_repair(const char *s, size_t len, size_t *out_len);

#endif
